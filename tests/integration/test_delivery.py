#!/usr/bin/python3
"""test_delivery: reliable delivery, built once (DESIGN.md "Delivery"),
proven with real daemons, kill -9 and a wiped database.

One seven-node federation (CONTRACT.md) with fast heartbeats; the checks run
one after the other, each starting from "all seven online":

 1 kill -9 of the RECEIVER: `link probe --count 60000` at yuelu-1 while
   yuelu (its parent) is killed and restarted three times mid-stream. After
   the outbox drains, yuelu holds probes 1..60000 exactly, and its
   applied_seq for yuelu-1 advanced by exactly the sequences yuelu-1 wrote
   (link_accept() is what refuses a sequence applied twice; link_probes'
   primary key alone would hide duplicates).
 2 kill -9 of the SENDER: yuelu-1 killed while it writes and streams
   probes; restarted, it drains its outbox and yuelu has every committed
   probe (outbox_seq growth) exactly once, and no other.
 3 store and forward through a restarting district: yuelu stopped,
   yuelu-2 killed meanwhile, yuelu started: the city shows yuelu-2 offline,
   yuelu-1 online, none stale, and yuelu's outbox to the city drains; and
   (3b) yuelu-2 keeps a true last_seen (when yuelu last saw it), not null.
 6 applied together, one child's failure stays its own: the city holds
   yuelu's applied_seq row (a psql transaction), so the city's apply of
   a yuelu probe waits; meanwhile furong's epoch at the city is spoilt
   and furong sends a probe, yuelu another. Released, the first commits
   and the two wait in one gathered transaction, which fails at furong's
   link_accept: the city logs "applying alone" for both, yuelu's batch
   then commits alone (both its probes arrive, it never resynchronises),
   furong resynchronises, and a later probe of furong arrives. The row is
   held longer than [link] stall_seconds (STALL_SECONDS here) and than
   the bound for a silent peer: a transaction in flight is the database's
   work, not a stall (the city says it is busy), so neither yuelu nor the
   city logs "no progress" (issue 17).
 5 migrations apply once: schema_migrations is the same after a restart.
 4 a parent without state rebuilds from snapshots: the city's database is
   dropped and recreated; after its restart (and re-enrolment of its
   districts, whose keys lived in the wiped database) the city lists all
   seven online with the right parents and tiers, and logs "snapshot
   applied". Runs last: it changes the city's epoch.

Every check runs even if an earlier one failed (after waiting for the
federation to be whole again); the test fails at the end listing each
failed check. Kill times follow the stream's progress (what yuelu applied),
not the clock, so they land mid-stream on a fast or a slow machine.
"""

import os
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, TestFederation, step, wait_until  # noqa: E402

HEARTBEAT_MS = 250
MISSES = 3
STALL_SECONDS = 2
SILENT_STALLS = 4   # LINK_SILENT_STALLS, lib/delivery/link-impl.h
PSQL = "/usr/lib/postgresql/15/bin/psql"
PROBES = 60000
ID = {n: i for n, _, i, _ in SEVEN}
TIER = {n: t for n, t, _, _ in SEVEN}
PARENT_ID = {n: (ID[p] if p else None) for n, _, _, p in SEVEN}


# -- SQL ----------------------------------------------------------------------

def sql(fed, name, query):
    """QUERY in node NAME's database: a list of rows (lists of strings)."""
    n = fed.node(name)
    r = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", fed.pg_dir,
                        "-p", str(fed.pg_port), "-U", "postgres", "-d", n.dbname,
                        "-tA", "-F", "|", "-c", query],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30,
                       env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))
    if r.returncode != 0:
        raise AssertionError("psql at %s (%s): %s: %s" % (name, n.dbname, query, r.stderr.strip()))
    return [line.split("|") for line in r.stdout.splitlines() if line]


def sql_int(fed, name, query):
    rows = sql(fed, name, query)
    return int(rows[0][0]) if rows and rows[0][0] != "" else 0


def backends_gone(fed, name):
    """Wait until no session but ours is left on node NAME's database.

    A kill -9 stops the daemon, not the PostgreSQL backend serving it: a
    transaction whose statements and sync were already sent still commits
    after the kill.  Counting what was committed "at the kill" is only
    true once those backends have finished."""
    wait_until(lambda: sql_int(fed, name, "SELECT count(*) FROM pg_stat_activity "
                               "WHERE datname = current_database() "
                               "AND pid <> pg_backend_pid()") == 0,
               15, interval=0.05, what="%s's database sessions to end after its kill" % name)


def outbox_seq(fed, name, peer):
    return sql_int(fed, name, "SELECT coalesce(max(last_seq), 0) FROM outbox_seq "
                   "WHERE peer_id = '%s'" % ID[peer])


def applied_seq(fed, name, peer):
    """(epoch, last_seq) of PEER at node NAME, or (None, 0)."""
    rows = sql(fed, name, "SELECT epoch, last_seq FROM applied_seq WHERE peer_id = '%s'" % ID[peer])
    return (rows[0][0], int(rows[0][1])) if rows else (None, 0)


def outbox_rows(fed, name, peer):
    """Changes NAME's outbox holds for PEER (a row holds a batch of them)."""
    return sql_int(fed, name, "SELECT coalesce(sum(cardinality(changes)), 0) FROM outbox "
                   "WHERE peer_id = '%s'" % ID[peer])


def link_state(fed, child, parent):
    """What says whether CHILD's uplink to PARENT is drained, for messages."""
    out = {}
    try:
        out["%s outbox rows for %s" % (child, parent)] = outbox_rows(fed, child, parent)
        out["%s outbox_seq for %s" % (child, parent)] = outbox_seq(fed, child, parent)
    except AssertionError as e:
        out[child] = str(e)
    try:
        out["%s applied_seq for %s" % (parent, child)] = applied_seq(fed, parent, child)
    except AssertionError as e:
        out[parent] = str(e)
    return out


def drained(fed, child, parent):
    """CHILD's outbox to PARENT is empty and PARENT applied all CHILD wrote.
    Returns the applied sequence (true) or None; a database not reachable
    (a node restarting does not matter here: PostgreSQL stays up) raises."""
    if outbox_rows(fed, child, parent) != 0:
        return None
    last = outbox_seq(fed, child, parent)
    _, applied = applied_seq(fed, parent, child)
    return ("drained", applied) if applied == last else None


def probe_ids(fed, at, origin):
    return {int(r[0]) for r in sql(fed, at, "SELECT DISTINCT probe_id FROM link_probes "
                                   "WHERE origin = '%s'" % ID[origin])}


def probe_stats(fed, at, origin, probe_id):
    rows = sql(fed, at, "SELECT count(*), count(DISTINCT number), coalesce(min(number), 0), "
               "coalesce(max(number), 0) FROM link_probes WHERE origin = '%s' AND probe_id = %d"
               % (ID[origin], probe_id))
    return tuple(int(x) for x in rows[0])


# -- the federation's state -----------------------------------------------------

LAST = {}


def city_tree(fed):
    rc, doc = fed.ctl("city", "tree", timeout=10)
    LAST["tree"] = (rc, doc)
    if rc != 0 or not isinstance(doc, list):
        return None
    return {e.get("id"): e for e in doc}


def last_tree():
    return LAST.get("tree")


def whole(fed):
    """All seven online, fresh, with the right parents and tiers."""
    t = city_tree(fed)
    if t is None or len(t) != len(SEVEN):
        return None
    for name, _, node_id, _ in SEVEN:
        e = t.get(node_id)
        if (e is None or e.get("online") is not True or e.get("stale")
                or e.get("parent") != PARENT_ID[name] or e.get("tier") != TIER[name]
                or e.get("name") != name):
            return None
    return t


def wait_whole(fed, timeout, what):
    for n in fed.nodes:
        if not n.alive():
            n.start()
    return wait_until(lambda: whole(fed), timeout, interval=0.2, what=what, detail=last_tree)


def start_probe(fed, name, count):
    n = fed.node(name)
    return subprocess.Popen([fed.vigilctl, "-c", n.ctl_conf, "--timeout", "120000", "--json",
                             "link", "probe", "--count", str(count)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def reap_probe(proc, what):
    """The probe's answer, whatever it is (its parent or itself died under
    it: a failure or a timeout is expected and not judged)."""
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    step("%s: vigilctl exit %s: %s" % (what, proc.returncode, (out or "").strip()[:200]))


def assert_new_probe(fed, before_ids):
    new = probe_ids(fed, "yuelu", "yuelu-1") - before_ids
    assert len(new) == 1, ("expected exactly one new probe_id from yuelu-1 at yuelu, found %r"
                           % sorted(new))
    return new.pop()


# -- the checks -------------------------------------------------------------------

def check_receiver_crash(fed):
    """1: nothing lost, nothing applied twice across kill -9 of the receiver."""
    yuelu = fed.node("yuelu")
    out_before = outbox_seq(fed, "yuelu-1", "yuelu")
    epoch_before, applied_before = applied_seq(fed, "yuelu", "yuelu-1")
    assert applied_before == out_before, (
        "before the probe yuelu must have applied all yuelu-1 wrote: applied %d, outbox_seq %d"
        % (applied_before, out_before))
    ids_before = probe_ids(fed, "yuelu", "yuelu-1")
    mark = fed.log_mark("yuelu")

    step("1: link probe --count %d at yuelu-1; kill -9 yuelu mid-stream, three times" % PROBES)
    t0 = time.monotonic()
    proc = start_probe(fed, "yuelu-1", PROBES)
    busy_kills = 0
    # Each kill when yuelu applied some more of the stream: spread over the
    # run whatever the machine's speed (the outbox is written in ~0.3 s, the
    # stream takes a few seconds).
    for threshold in (2000, 20000, 40000):
        wait_until(lambda: applied_seq(fed, "yuelu", "yuelu-1")[1] - applied_before >= threshold,
                   30, interval=0.01, what="yuelu applying %d probes" % threshold,
                   detail=lambda: link_state(fed, "yuelu-1", "yuelu"))
        yuelu.kill()
        written = outbox_seq(fed, "yuelu-1", "yuelu") - out_before
        pending = outbox_rows(fed, "yuelu-1", "yuelu")
        _, applied = applied_seq(fed, "yuelu", "yuelu-1")
        step("1: killed yuelu at %.2f s: yuelu-1 wrote %d, %d not acked; yuelu applied %d"
             % (time.monotonic() - t0, written, pending, applied - applied_before))
        if pending > 0:
            busy_kills += 1
        yuelu.start()
    assert busy_kills > 0, ("no kill of yuelu hit a stream in flight (yuelu-1's outbox was "
                            "empty at every kill): the check proved nothing")

    step("1: waiting for yuelu-1's outbox to drain")
    wait_until(lambda: drained(fed, "yuelu-1", "yuelu")
               and outbox_seq(fed, "yuelu-1", "yuelu") - out_before >= PROBES,
               60, interval=0.2, what="yuelu-1's outbox for yuelu drained after the kills",
               detail=lambda: link_state(fed, "yuelu-1", "yuelu"))
    step("1: drained %.1f s after the probe started" % (time.monotonic() - t0))
    reap_probe(proc, "1: probe")

    out_after = outbox_seq(fed, "yuelu-1", "yuelu")
    epoch_after, applied_after = applied_seq(fed, "yuelu", "yuelu-1")
    total = sql_int(fed, "yuelu-1", "SELECT count(*) FROM outbox")
    assert total == 0, "yuelu-1's outbox: expected 0 rows, found %d" % total
    assert epoch_after == epoch_before, ("yuelu's applied_seq for yuelu-1 changed epoch %r -> %r"
                                         % (epoch_before, epoch_after))
    assert applied_after - applied_before == out_after - out_before, (
        "yuelu's applied_seq for yuelu-1 must advance by exactly the %d sequences yuelu-1 wrote; "
        "it advanced by %d (applied %d -> %d, outbox_seq %d -> %d)"
        % (out_after - out_before, applied_after - applied_before, applied_before, applied_after,
           out_before, out_after))
    assert out_after - out_before == PROBES, (
        "yuelu-1 wrote %d sequences for yuelu during the probe, expected exactly %d (one per probe)"
        % (out_after - out_before, PROBES))
    pid = assert_new_probe(fed, ids_before)
    got = probe_stats(fed, "yuelu", "yuelu-1", pid)
    assert got == (PROBES, PROBES, 1, PROBES), (
        "link_probes at yuelu for probe %d: expected (rows, distinct numbers, min, max) = %r, "
        "found %r" % (pid, (PROBES, PROBES, 1, PROBES), got))
    log = fed.log_since("yuelu", mark)
    step("1: ok: %d probes, applied_seq +%d; yuelu logged %d refused changes, %d gaps"
         % (PROBES, applied_after - applied_before, log.count("change refused"),
            log.count("gap, asking for a resend")))


def check_sender_crash(fed):
    """2: kill -9 of the sender mid-stream: every committed probe arrives once."""
    station = fed.node("yuelu-1")
    out_before = outbox_seq(fed, "yuelu-1", "yuelu")
    epoch_before, applied_before = applied_seq(fed, "yuelu", "yuelu-1")
    assert applied_before == out_before, (
        "before the probe yuelu must have applied all yuelu-1 wrote: applied %d, outbox_seq %d"
        % (applied_before, out_before))
    ids_before = probe_ids(fed, "yuelu", "yuelu-1")

    step("2: link probe --count %d at yuelu-1; kill -9 yuelu-1 mid-stream" % PROBES)
    t0 = time.monotonic()
    proc = start_probe(fed, "yuelu-1", PROBES)
    # Kill once yuelu applied the first probes: the stream is in flight then,
    # and on a slow machine later transactions are still being written.
    wait_until(lambda: applied_seq(fed, "yuelu", "yuelu-1")[1] - applied_before >= 1000, 30,
               interval=0.01, what="yuelu applying yuelu-1's first 1000 probes",
               detail=lambda: link_state(fed, "yuelu-1", "yuelu"))
    station.kill()
    # Its answer can never come: the request died with the daemon.
    proc.kill()
    backends_gone(fed, "yuelu-1")
    committed = outbox_seq(fed, "yuelu-1", "yuelu") - out_before
    pending = outbox_rows(fed, "yuelu-1", "yuelu")
    step("2: killed yuelu-1 at %.2f s: %d probes committed, %d of them not acked"
         % (time.monotonic() - t0, committed, pending))
    reap_probe(proc, "2: probe")
    assert committed > 0, "no probe committed before the kill"
    station.start()

    wait_until(lambda: drained(fed, "yuelu-1", "yuelu"), 60, interval=0.2,
               what="yuelu-1's outbox for yuelu drained after its restart",
               detail=lambda: link_state(fed, "yuelu-1", "yuelu"))
    out_after = outbox_seq(fed, "yuelu-1", "yuelu")
    epoch_after, applied_after = applied_seq(fed, "yuelu", "yuelu-1")
    assert out_after - out_before == committed, (
        "yuelu-1's outbox_seq moved after its restart: %d sequences at the kill, %d now"
        % (committed, out_after - out_before))
    assert epoch_after == epoch_before, ("yuelu's applied_seq for yuelu-1 changed epoch %r -> %r"
                                         % (epoch_before, epoch_after))
    assert applied_after - applied_before == committed, (
        "yuelu's applied_seq for yuelu-1 must advance by the %d committed sequences; it advanced "
        "by %d" % (committed, applied_after - applied_before))
    pid = assert_new_probe(fed, ids_before)
    got = probe_stats(fed, "yuelu", "yuelu-1", pid)
    want = (committed, committed, 1, committed)
    assert got == want, ("link_probes at yuelu for probe %d: expected (rows, distinct numbers, "
                         "min, max) = %r (the committed probes), found %r" % (pid, want, got))
    step("2: ok: %d committed probes arrived exactly once" % committed)


def check_store_and_forward(fed):
    """3: a station lost while its district is down is reported up later."""
    yuelu, y2 = fed.node("yuelu"), fed.node("yuelu-2")
    step("3: stop yuelu, kill -9 yuelu-2, start yuelu")
    assert not yuelu.stop(), "yuelu did not stop within 10 s of SIGTERM"
    y2.kill()
    t0 = time.monotonic()
    yuelu.start()

    def shown():
        t = city_tree(fed)
        if t is None:
            return None
        e1, e2, ey = t.get(ID["yuelu-1"]), t.get(ID["yuelu-2"]), t.get(ID["yuelu"])
        if not (e1 and e2 and ey):
            return None
        if (e2.get("online") is False and e1.get("online") is True and ey.get("online") is True
                and not (e1.get("stale") or e2.get("stale") or ey.get("stale"))):
            return t
        return None
    # The district gives its children misses*heartbeat after its start to
    # come back; then it calls yuelu-2 offline and tells the city.
    limit = MISSES * HEARTBEAT_MS / 1000.0 + 5
    t = wait_until(shown, limit, interval=0.1,
                   what="the city showing yuelu-2 offline, yuelu and yuelu-1 online, none stale",
                   detail=last_tree)
    step("3: city shows it %.1f s after yuelu's start" % (time.monotonic() - t0))
    wait_until(lambda: drained(fed, "yuelu", "city"), 10, interval=0.1,
               what="yuelu's outbox to the city drained",
               detail=lambda: link_state(fed, "yuelu", "city"))
    rows = outbox_rows(fed, "yuelu", "city")
    assert rows == 0, "yuelu's outbox to the city: expected 0 rows, found %d" % rows
    step("3: yuelu's outbox to the city drained")
    # An offline node keeps the time it was last seen (CONTRACT.md, tree):
    # yuelu saw yuelu-2 online until yuelu itself stopped.
    city_e = t[ID["yuelu-2"]]
    seen_at = {"city tree": city_e.get("last_seen")}
    problem = None
    if not city_e.get("last_seen") or city_e["last_seen"].startswith("1970"):
        seen_at["yuelu tree"] = fed.tree("yuelu").get(ID["yuelu-2"], {}).get("last_seen")
        for at in ("yuelu", "city"):
            seen_at["%s nodes.last_seen" % at] = sql(
                fed, at, "SELECT coalesce(last_seen::text, 'NULL') FROM nodes WHERE id = '%s'"
                % ID["yuelu-2"])
        problem = ("3b: yuelu-2 shown offline without a true last_seen after yuelu's restart "
                   "(expected the time yuelu last saw it, found %r)" % seen_at)
    step("3: restart yuelu-2")
    y2.start()
    wait_whole(fed, 10, "all seven online after yuelu-2's restart")
    if problem:
        raise AssertionError(problem)
    step("3: ok")


def check_migrations_once(fed):
    """5: a restart applies no migration again."""
    q = ("SELECT name, applied_at::text FROM schema_migrations ORDER BY name")
    before = sql(fed, "yuelu", q)
    assert before, "schema_migrations at yuelu is empty"
    step("5: restart yuelu (%d migrations recorded)" % len(before))
    fed.node("yuelu").restart()
    after = sql(fed, "yuelu", q)
    assert after == before, ("schema_migrations at yuelu changed across a restart: before %r, "
                             "after %r" % (before, after))
    wait_whole(fed, 10, "all seven online after yuelu's restart")
    step("5: ok")


def check_city_rebuilds(fed):
    """4: the city's database wiped: the districts rebuild it with snapshots."""
    city = fed.node("city")
    old_epoch = sql(fed, "city", "SELECT value FROM node_settings WHERE key = 'epoch'")
    step("4: stop the city, drop and recreate its database")
    assert not city.stop(), "the city did not stop within 10 s of SIGTERM"
    fed.pg("dropdb", fed.pg_dir, fed.pg_port, city.dbname)
    fed.pg("createdb", fed.pg_dir, fed.pg_port, city.dbname)
    mark = fed.log_mark("city")
    city.start()
    new_epoch = sql(fed, "city", "SELECT value FROM node_settings WHERE key = 'epoch'")
    assert new_epoch != old_epoch, "the recreated database kept the epoch %r" % old_epoch
    # The districts' keys were enrolled in the wiped database: the city's
    # ZAP handler admits them only once an admin enrols them again.
    t0 = time.monotonic()
    for name in ("yuelu", "furong"):
        fed.enroll(fed.node(name))
    step("4: districts re-enrolled at the city")
    wait_until(lambda: whole(fed), 10, interval=0.2,
               what="all seven online at the rebuilt city, right parents and tiers, within 10 s",
               detail=last_tree)
    step("4: city whole again %.1f s after re-enrolment" % (time.monotonic() - t0))
    # A snapshot's pages commit one by one: the tree can be whole before
    # its SnapshotEnd is applied (and logged), so wait for both lines.
    def applied_lines():
        log = fed.log_since("city", mark)
        lines = [line for line in log.splitlines() if "snapshot applied" in line]
        return lines if all(any(ID[n] in line for line in lines) for n in ("yuelu", "furong")) else None
    applied = wait_until(applied_lines, 10, interval=0.2,
                         what="'snapshot applied' from yuelu and furong in the city's log",
                         detail=lambda: [line for line in fed.log_since("city", mark).splitlines()
                                         if "snapshot" in line])
    step("4: ok: %d snapshots applied" % len(applied))


def check_gather_failure(fed):
    """6: see the module's docstring."""
    step("6: hold yuelu's applied_seq row at the city")
    mark = fed.log_mark("city")
    mark_y = fed.log_mark("yuelu")
    before_y = probe_ids(fed, "city", "yuelu")
    n = fed.node("city")
    holder = subprocess.Popen([PSQL, "-X", "-q", "-h", fed.pg_dir, "-p", str(fed.pg_port), "-U", "postgres",
                               "-d", n.dbname], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, text=True)
    probes = []
    try:
        holder.stdin.write("BEGIN;\nSELECT 1 FROM applied_seq WHERE peer_id = '%s' FOR UPDATE;\n" % ID["yuelu"])
        holder.stdin.flush()
        wait_until(lambda: sql_int(fed, "city", "SELECT count(*) FROM pg_stat_activity WHERE state = "
                                   "'idle in transaction' AND datname = current_database()") > 0,
                   10, interval=0.1, what="the psql holding yuelu's row")
        probes.append(start_probe(fed, "yuelu", 1))
        wait_until(lambda: sql_int(fed, "city", "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                                   "'Lock' AND datname = current_database()") > 0,
                   20, interval=0.1, what="the city's apply of yuelu's probe waiting for the row")
        sql(fed, "city", "UPDATE applied_seq SET epoch = 'spoilt-by-test' WHERE peer_id = '%s'" % ID["furong"])
        probes.append(start_probe(fed, "furong", 1))
        probes.append(start_probe(fed, "yuelu", 1))
        # Both sent, waiting behind the held apply; longer than a stall, and
        # than the sender's bound for a peer that says nothing (the city
        # says it is busy).
        time.sleep(SILENT_STALLS * STALL_SECONDS + 1.0)
        step("6: release the row")
        holder.stdin.write("COMMIT;\n")
        holder.stdin.flush()
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    for p in probes:
        reap_probe(p, "6: probe")
    wait_until(lambda: len(probe_ids(fed, "city", "yuelu") - before_y) >= 2, 30, interval=0.2,
               what="both yuelu probes at the city")
    wait_until(lambda: any(ID["furong"] in line and "resynchronising" in line
                           for line in fed.log_since("city", mark).splitlines()), 30, interval=0.2,
               what="furong resynchronised at the city")
    log = fed.log_since("city", mark)
    alone = [line for line in log.splitlines() if "applying alone" in line]
    assert any(ID["yuelu"] in line for line in alone) and any(ID["furong"] in line for line in alone), (
        "the city did not log 'applying alone' for both yuelu and furong:\n" + "\n".join(alone))
    resyncs = [line for line in log.splitlines() if "resynchronising" in line]
    assert not any(ID["yuelu"] in line for line in resyncs), (
        "yuelu resynchronised, its sibling's failure was not its own:\n" + "\n".join(resyncs))
    stalls = [line for line in (log + fed.log_since("yuelu", mark_y)).splitlines() if "no progress" in line]
    assert not stalls, "a transaction in flight was taken for a stall:\n" + "\n".join(stalls)
    step("6: furong's links recover: a new probe of furong arrives")
    before_f = probe_ids(fed, "city", "furong")
    reap_probe(start_probe(fed, "furong", 1), "6: furong probe after")
    wait_until(lambda: len(probe_ids(fed, "city", "furong") - before_f) >= 1, 30, interval=0.2,
               what="furong's probe at the city after its resync")
    step("6: ok: applied alone after the gathered failure; only furong resynchronised")


CHECKS = [
    ("1 receiver kill -9", check_receiver_crash),
    ("2 sender kill -9", check_sender_crash),
    ("3 store and forward", check_store_and_forward),
    ("6 gathered apply, one child's failure", check_gather_failure),
    ("5 migrations once", check_migrations_once),
    ("4 city rebuilt from snapshots", check_city_rebuilds),
]


def main():
    failed = []
    with TestFederation("delivery", SEVEN, heartbeat_ms=HEARTBEAT_MS,
                        link={"heartbeat_misses": MISSES, "stall_seconds": STALL_SECONDS}) as fed:
        step("starting seven nodes")
        fed.start()
        wait_whole(fed, 30, "all seven online at the city")
        for what, check in CHECKS:
            try:
                check(fed)
            except Exception as e:  # noqa: BLE001 - every check runs, all are reported
                traceback.print_exc()
                failed.append("%s: %s" % (what, e))
                step("FAILED: %s" % what)
                try:
                    wait_whole(fed, 20, "all seven online before the next check")
                except Exception as e2:  # noqa: BLE001
                    failed.append("(recovery after %s: %s)" % (what, e2))
                    break
        if failed:
            fed.failed = True
    if failed:
        raise AssertionError("failed checks:\n  " + "\n  ".join(failed))
    step("ok")


if __name__ == "__main__":
    main()
