#!/usr/bin/python3
"""test_centre_codes: one node per centre code, and versions that never go
back (issue 17, faults 6 and 4), with real daemons: city, yuelu, yuelu-1.

* a second child of a centre code already enrolled is refused, naming the
  child that holds it: by vigilctl and by the database's own function;
* a hostile station (its database, hence its outbox, in someone else's
  hands) announces a node inside its own centre code, and removes one:
  yuelu refuses both with the reason, neither reaches yuelu's or the
  city's tree, and the station's real changes sent after them still
  arrive;
* a clock stepped back, across a restart: an officer was registered while
  yuelu-1's clock was a day ahead (its version, everywhere, and
  yuelu-1's version clock say so); yuelu-1 restarts, the officer is
  deactivated, and the deactivation's version is above the registration's,
  so yuelu and the city apply it (with the wall clock alone they kept the
  officer active).
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, TestFederation, psql, register_officers, step, wait_until  # noqa: E402
import wire  # noqa: E402

SHAPE = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in SEVEN}
FAKE = "43010401002000000099"      # inside yuelu-1's own centre code


def node_state(node_id, parent_id, tier, name, version):
    """A Change with a NodeState (vigil.proto: Change.node_state = 1)."""
    body = wire.message({"node_id": 1, "parent_id": 2, "tier": 3, "name": 4, "online": 5, "version": 7},
                        {"node_id": node_id, "parent_id": parent_id, "tier": wire.TIER[tier], "name": name,
                         "online": True, "version": version})
    return wire.f_bytes(1, body)


def node_removed(node_id, version):
    """A Change with a NodeRemoved (Change.node_removed = 2)."""
    return wire.f_bytes(2, wire.message({"node_id": 1, "version": 2}, {"node_id": node_id, "version": version}))


def sql_ok(fed, name, query):
    rc, out, err = psql(fed, name, query)
    assert rc == 0, "%s: %s: %s" % (name, query, err)
    return out


def main():
    with TestFederation("centre", SHAPE, heartbeat_ms=500) as fed:
        step("starting city, yuelu, yuelu-1")
        fed.start()
        wait_until(lambda: ID["yuelu-1"] in fed.tree("city") and fed.tree("city")[ID["yuelu-1"]]["online"],
                   20, what="yuelu-1 online at the city")

        # --- fault 6: the second enrolment ---------------------------------
        keys = os.path.join(fed.tmp, "twin-keys")
        out = subprocess.run([fed.vigild, "keygen", keys], check=True, stdout=subprocess.PIPE,
                             text=True).stdout.split()
        rc, doc = fed.ctl("yuelu", "node", "enroll", "43010401002000000002", "--public-key", out[0],
                          "--sign-key", out[1], "--name", "yuelu-1-twin")
        assert rc == 1, "a second child of yuelu-1's centre code was enrolled: %s" % doc
        want = "centre code 43010401 is already node %s's (yuelu-1)" % ID["yuelu-1"]
        assert want in doc.get("error", ""), "the refusal does not name yuelu-1: %s" % doc
        # The database refuses it too, to whoever calls its function.
        rc, _, err = psql(fed, "yuelu", "SELECT node_enroll('43010401002000000002', '%s', 'station', 'twin', "
                                        "repeat('t', 40), repeat('a', 64), 1, '\\x01', NULL, NULL, 'test')"
                          % ID["yuelu"])
        assert rc != 0 and want in err, "the database enrolled a twin: %s" % err
        rc, _, err = psql(fed, "yuelu", "INSERT INTO nodes (id, tier, name) VALUES "
                                        "('43010401002000000002', 'station', 'twin')")
        assert rc != 0 and "nodes_one_per_centre_code" in err, "a twin row went in: %s" % err
        step("a second child of a centre code held is refused, naming the child: vigilctl and the database")

        # --- fault 6: a hostile station -------------------------------------
        mark = fed.log_mark("yuelu")
        now_us = int(time.time() * 1e6)
        fabricated = [node_state(FAKE, ID["yuelu-1"], "station", "fake", now_us),
                      node_state("43010401002000000098", ID["yuelu-1"], "station", "fake-2", now_us),
                      node_removed(FAKE, now_us + 1)]
        arr = ",".join("'\\x%s'::bytea" % c.hex() for c in fabricated)
        sql_ok(fed, "yuelu-1", "SELECT outbox_append('%s', ARRAY[%s])" % (ID["yuelu"], arr))
        # Its real changes, after the fabricated ones.
        fed.ctl_ok("yuelu-1", "site", "add", "--code", "after-fake", "--name", "junction",
                   "--location-type", "junction")

        def site_at(name):
            rc, doc = fed.ctl(name, "site", "list")
            return rc == 0 and any(s.get("code") == "after-fake" for s in doc)
        wait_until(lambda: site_at("city"), 20, what="yuelu-1's site after the fabricated nodes at the city")
        for name in ("yuelu", "city"):
            t = fed.tree(name)
            assert FAKE not in t and "43010401002000000098" not in t, \
                "%s holds the fabricated node: %s" % (name, sorted(t))
            assert ID["yuelu-1"] in t and t[ID["yuelu-1"]]["online"], t
        logged = fed.log_since("yuelu", mark)
        assert logged.count("has no platforms below it") >= 3, \
            "yuelu did not say why it refused the fabricated changes:\n%s" % logged[-3000:]
        assert sql_ok(fed, "yuelu", "SELECT count(*) FROM nodes WHERE left(id, 8) = '43010401'") == "1"
        step("a station's fabricated nodes are refused with the reason; its real changes still arrive")

        # --- fault 4: a clock stepped back, across a restart ------------------
        register_officers(fed, [("y1-inv", "yuelu-1", "investigator")])

        def officer_at(name, active):
            out = sql_ok(fed, name, "SELECT active FROM officers WHERE badge = 'y1-inv'")
            return out == ("t" if active else "f")
        wait_until(lambda: officer_at("city", True), 20, what="y1-inv at the city")
        before = int(sql_ok(fed, "yuelu-1", "SELECT version FROM officers WHERE badge = 'y1-inv'"))
        fed.node("yuelu-1").stop()
        # The registration happened while yuelu-1's clock was a day ahead:
        # every copy holds that version, and so does yuelu-1's clock.
        ahead = int(time.time() * 1e6) + 86400 * 1000000
        assert ahead > before
        for name in ("yuelu-1", "yuelu", "city"):
            sql_ok(fed, name, "UPDATE officers SET version = %d WHERE badge = 'y1-inv'" % ahead)
        sql_ok(fed, "yuelu-1", "UPDATE version_clock SET last = %d" % ahead)
        fed.node("yuelu-1").start()
        step("yuelu-1 restarted with its clock a day behind the versions it issued")
        fed.ctl_ok("yuelu-1", "officer", "deactivate", "y1-inv", "--reason", "transferred")
        after = int(sql_ok(fed, "yuelu-1", "SELECT version FROM officers WHERE badge = 'y1-inv'"))
        assert after > ahead, "the deactivation's version %d is not above the registration's %d" % (after, ahead)
        wait_until(lambda: officer_at("yuelu", False) and officer_at("city", False), 20,
                   what="the deactivation applied at yuelu and the city")
        assert int(sql_ok(fed, "city", "SELECT version FROM officers WHERE badge = 'y1-inv'")) == after
        # And what yuelu-1 issues next stays above (reserved ahead, kept).
        assert int(sql_ok(fed, "yuelu-1", "SELECT last FROM version_clock")) >= after
        step("versions go on above the last issued across a restart: the deactivation wins everywhere")


if __name__ == "__main__":
    main()
