#!/usr/bin/python3
"""test_pg_restart: the daemons survive a restart of their PostgreSQL server.

A three-level federation (city, yuelu, yuelu-1) on a private cluster (a
restart of the shared test cluster would disturb tests running beside this
one). A link probe streams from yuelu-1 to yuelu while PostgreSQL
restarts: afterwards every probe whose transaction committed at yuelu-1 has
arrived at yuelu exactly once (nothing committed is lost, nothing applied
twice). Every daemon still runs, answers, and can write again: a new station
is enrolled at yuelu (a database write), started, and the city sees it
online.

While PostgreSQL is down (stopped for a few seconds): `status` still
answers, saying since when the database is unreachable; every other command
is refused at once with that reason instead of waiting out vigilctl's
timeout, and what was refused is not done later (an enrolment refused then
is not there after the reconnect).
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (PG_SCRIPT, SEVEN, FederationError, TestFederation,  # noqa: E402
                     step, wait_until)
from test_delivery import (applied_seq, drained, outbox_seq, probe_ids,  # noqa: E402
                           probe_stats, reap_probe, start_probe)

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1", "yuelu-2")]
ID = {n: i for n, _, i, _ in NODES}


def online_at_city(fed, names):
    rc, doc = fed.ctl("city", "tree", timeout=10)
    if rc != 0 or not isinstance(doc, list):
        return None
    on = {e.get("id") for e in doc if e.get("online") is True and not e.get("stale")}
    return all(ID[n] in on for n in names)


def main():
    with TestFederation("pgrestart", NODES, private_pg=True, heartbeat_ms=500) as fed:
        late = fed.node("yuelu-2")
        step("starting city, yuelu, yuelu-1 (yuelu-2 waits)")
        fed.setup()
        for n in fed.nodes:
            if n is late:
                continue
            if n.parent:
                fed.enroll(n)
            n.start()
        wait_until(lambda: online_at_city(fed, ["city", "yuelu", "yuelu-1"]), 30,
                   what="city, yuelu, yuelu-1 online at the city")

        seq_before = outbox_seq(fed, "yuelu-1", "yuelu")
        ids_before = probe_ids(fed, "yuelu", "yuelu-1")
        probe = start_probe(fed, "yuelu-1", 150000)
        time.sleep(0.4)
        step("restarting PostgreSQL while a probe streams")
        t0 = time.monotonic()
        subprocess.run([PG_SCRIPT, "restart", fed.pg_dir], check=True)
        step("PostgreSQL back after %.1f s" % (time.monotonic() - t0))
        reap_probe(probe, "probe across the restart")
        wait_until(lambda: drained(fed, "yuelu-1", "yuelu"), 60, interval=0.3,
                   what="yuelu-1's outbox to yuelu drained after the restart")
        committed = outbox_seq(fed, "yuelu-1", "yuelu") - seq_before
        _, applied = applied_seq(fed, "yuelu", "yuelu-1")
        new = probe_ids(fed, "yuelu", "yuelu-1") - ids_before
        assert committed > 0, "no probe committed at yuelu-1 before or after the restart"
        assert len(new) == 1, "expected one new probe at yuelu, found %r" % sorted(new)
        count, distinct, _, _ = probe_stats(fed, "yuelu", "yuelu-1", new.pop())
        assert count == distinct == committed, (
            "committed at yuelu-1: %d probes; arrived at yuelu: %d rows, %d distinct"
            % (committed, count, distinct))
        assert applied == outbox_seq(fed, "yuelu-1", "yuelu"), "applied_seq does not match the outbox"
        step("%d committed probes arrived exactly once" % committed)

        time.sleep(1)
        for n in fed.nodes:
            if n is not late:
                assert n.alive(), "%s died when PostgreSQL restarted:\n%s" % (n.name, n.log_tail())

        step("stopping PostgreSQL for a while")
        subprocess.run([PG_SCRIPT, "stop", fed.pg_dir], check=True, stdout=subprocess.DEVNULL)
        try:
            def db_down_at(name):
                rc, st = fed.ctl(name, "status", timeout=10)
                d = st.get("database", {}) if rc == 0 and isinstance(st, dict) else {}
                return st if d.get("connected") is False and d.get("down_since") else None
            st = wait_until(lambda: db_down_at("yuelu"), 10,
                            what="yuelu's status saying its database is down")
            step("yuelu status: database %r" % st["database"])
            t0 = time.monotonic()
            rc, doc = fed.ctl("yuelu", "tree", timeout=10)
            took = time.monotonic() - t0
            assert rc == 1 and "database is unreachable since" in doc.get("error", ""), (rc, doc)
            assert took < 3, "tree took %.1f s to be refused (vigilctl's timeout is 5 s)" % took
            rc, doc = fed.ctl("yuelu", "node", "enroll", late.id, "--public-key",
                              late.public_key, "--sign-key", late.sign_key, "--name", late.name,
                              timeout=10)
            assert rc == 1 and "nothing was done" in doc.get("error", ""), (rc, doc)
            step("tree and enroll refused in %.2f s: %s" % (took, doc["error"]))
        finally:
            subprocess.run([PG_SCRIPT, "start", fed.pg_dir, str(fed.pg_port)], check=True,
                           stdout=subprocess.DEVNULL)
        wait_until(lambda: (fed.ctl("yuelu", "status")[1].get("database") or {}).get("connected"),
                   15, what="yuelu reconnected to PostgreSQL")
        time.sleep(1)   # what a queued request would have done, it would have done by now
        assert late.id not in fed.tree("yuelu"), "the enrolment refused while down was done later"

        # A write must go through again: enrolling is an INSERT at yuelu.
        last_error = []

        def enrolled():
            try:
                fed.enroll(late)
                return True
            except FederationError as e:    # retried until the deadline
                last_error[:] = [str(e)]
                return None
        try:
            wait_until(enrolled, 15, interval=0.5, what="enrolling yuelu-2 after the restart")
        except AssertionError as e:
            raise AssertionError("%s: %s" % (e, last_error)) from None
        late.start()
        wait_until(lambda: online_at_city(fed, ["city", "yuelu", "yuelu-1", "yuelu-2"]), 15,
                   what="all four online at the city after the restart")
        step("all four online")
    step("ok")


if __name__ == "__main__":
    main()
