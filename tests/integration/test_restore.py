#!/usr/bin/python3
"""test_restore: a database restored from a backup loses nothing silently
(issue 17, fault 3).

Topology: city, yuelu, yuelu-1 on the shared cluster. A backup here is a
copy of a stopped node's database (CREATE DATABASE ... TEMPLATE), a restore
puts that copy back in its place: what an operator does with a nightly
dump when a disk dies.

1. The station restored. After the backup yuelu-1 (its clock a day
   ahead, libfaketime) registers camera B, renames camera A and writes
   access-log records, which reach yuelu and the city. Its database
   is then restored: B and those records are gone from it, and its outbox
   numbers changes again from the backup's sequence, numbers yuelu has
   applied already. Before issue 17 yuelu trusted its applied sequence and
   skipped the new changes (camera C never arrived). Now yuelu-1 finds
   that yuelu applied more than it ever sent and begins a new epoch: a
   snapshot, after which the city's catalog is yuelu-1's (A and C, not B,
   and A with its old name: the station's state is the truth of its
   cameras). The rename lost had a version a day ahead of the restored
   version clock: yuelu-1 restamps its rows above it (the versions file
   beside its keys remembers what it reserved), or the snapshot would not
   replace it. The access-log
   records yuelu-1 lost are still held above it, and the records it writes
   after the restore (numbered again, with other hashes) are kept beside
   them as a fork at yuelu and the city, with one alarm, not dropped.
   An emergency ended and a grant revoked after the backup are live in the
   restored database: yuelu's snapshot down carries them ended and revoked
   (it carried live ones only, and yuelu-1 would have kept private systems
   linked and let officers view until they expired).

2. The district restored. After yuelu's backup, yuelu-1 writes records and
   registers camera D; they reach yuelu and the city, and yuelu-1's outbox
   is trimmed. yuelu's database is restored: its copies of those records
   and camera D are gone from it. The city applied more of yuelu's than
   yuelu's database ever numbered: yuelu begins a new epoch. yuelu-1's
   outbox no longer holds what yuelu lacks, so yuelu-1 sends a snapshot,
   which now carries its access log (before issue 17 it did not, and the
   copies were lost at yuelu for good): yuelu holds every record of
   yuelu-1 again, and its chain verifies; camera D is back at yuelu.

3. The district restored, a removal learnt from a snapshot (chaos seed 1
   found it). After yuelu's backup camera E is renamed; the rename reaches
   the city. yuelu goes down, E is removed at yuelu-1, and yuelu's
   database is restored: it holds E under its old name, at the old
   version, and its new epoch's snapshot up leaves the city's newer E be.
   yuelu-1's snapshot to yuelu lacks E, so yuelu removes it and tells the
   city. That removal carried yuelu's old version + 1, below the rename's,
   and the city kept E for good. It now carries at least the version
   clock yuelu-1 began its snapshot with, above every version of its rows
   before it: E goes at the city too.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, TestFederation, step, wait_until  # noqa: E402
from test_delivery import PSQL, backends_gone, drained, outbox_rows, sql, sql_int  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
CAM = {k: "430104010013100000%02d" % i for i, k in enumerate("ABCDE", start=1)}
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def set_clock(fed, name, seconds):
    """Step NAME's wall clock to SECONDS from the true time (libfaketime
    reads the file at every call; the monotonic clock is left)."""
    n = fed.node(name)
    with open(n.clock_file + ".new", "w") as f:
        f.write("%+d\n" % seconds)
    os.replace(n.clock_file + ".new", n.clock_file)
    time.sleep(1.2)


def admin_sql(fed, query):
    """QUERY in the cluster's maintenance database (CREATE/DROP DATABASE)."""
    r = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", fed.pg_dir, "-p", str(fed.pg_port),
                        "-U", "postgres", "-d", "postgres", "-tA", "-c", query],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise AssertionError("psql: %s: %s" % (query, r.stderr.strip()))


def backup(fed, name):
    """A copy of NAME's database as it is now (NAME stopped for it)."""
    n = fed.node(name)
    n.stop()
    backends_gone(fed, name)
    copy = n.dbname + "_bak"
    admin_sql(fed, 'DROP DATABASE IF EXISTS "%s"' % copy)
    admin_sql(fed, 'CREATE DATABASE "%s" TEMPLATE "%s"' % (copy, n.dbname))
    n.start()
    return copy


def restore(fed, name, copy):
    """NAME's database replaced by COPY (NAME stopped for it), restarted."""
    n = fed.node(name)
    n.stop()
    backends_gone(fed, name)
    admin_sql(fed, 'DROP DATABASE "%s" WITH (FORCE)' % n.dbname)
    admin_sql(fed, 'CREATE DATABASE "%s" TEMPLATE "%s"' % (n.dbname, copy))
    admin_sql(fed, 'DROP DATABASE "%s"' % copy)
    mark = fed.log_mark(name)
    n.start()
    return mark


def camera(fed, key):
    fed.ctl_ok("yuelu-1", "camera", "add", "--id", CAM[key], "--name", "cam " + key, "--system", "gov",
               "--site", "s1", "--stream-url", "rtsp://10.0.0.1/" + key)


def cameras(fed, name):
    """Which of CAM node NAME holds."""
    rows = sql(fed, name, "SELECT id FROM cameras WHERE id IN (%s)" % ", ".join("'%s'" % c for c in CAM.values()))
    held = {r[0] for r in rows}
    return {k for k, c in CAM.items() if c in held}


def camera_row(fed, name, key):
    rows = sql(fed, name, "SELECT name, version FROM cameras WHERE id = '%s'" % CAM[key])
    return tuple(rows[0]) if rows else None


def log_records(fed, name, what, n):
    """N access-log records at NAME, written as the daemon writes them."""
    sql(fed, name, "SELECT audit_append('test', 'view-live', 'ok', NULL, NULL, '%s', NULL, NULL, NULL, "
        "'record ' || i) FROM generate_series(1, %d) i" % (what, n))
    return sql_int(fed, name, "SELECT max(seq) FROM audit_log")


def copies(fed, at, of):
    return sql_int(fed, at, "SELECT count(*) FROM audit_copies WHERE node_id = '%s'" % ID[of])


def held_up_to(fed, at, of, seq):
    return sql_int(fed, at, "SELECT coalesce(max(seq), 0) FROM audit_copies WHERE node_id = '%s'"
                   % ID[of]) >= seq


def forks(fed, at, of):
    return sql_int(fed, at, "SELECT count(*) FROM audit_forks WHERE node_id = '%s'" % ID[of])


def fork_alarms(fed, at, of):
    return sql_int(fed, at, "SELECT count(*) FROM audit_alarms WHERE kind = 'fork' AND node_id = '%s'" % ID[of])


def verifies(fed, at, of):
    rows = sql(fed, at, "SELECT records, coalesce(first_bad_seq::text, '') FROM audit_verify_copy('%s')" % ID[of])
    return rows and rows[0][1] == "", rows


def same_records(fed, at, of, since):
    """The records of OF after SINCE held at AT as copies are OF's own."""
    mine = sql(fed, of, "SELECT seq, encode(hash, 'hex') FROM audit_log WHERE seq > %d ORDER BY seq" % since)
    held = sql(fed, at, "SELECT seq, encode(hash, 'hex') FROM audit_copies WHERE node_id = '%s' AND seq > %d "
               "ORDER BY seq" % (ID[of], since))
    return mine == held


def order(fed, name, em):
    """(version, ended) of emergency EM at NAME, or None."""
    rows = sql(fed, name, "SELECT version, ended_at IS NOT NULL FROM emergencies WHERE id = '%s'" % em)
    return tuple(rows[0]) if rows else None


def commander(fed):
    key = os.path.join(fed.tmp, "commander.key")
    pub = subprocess.run([fed.vigilctl, "officer", "keygen", key, "--name", "city-commander"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout.split()[0]
    fed.ctl_ok("city", "officer", "add", "--badge", "city-commander", "--name", "commander", "--credential", "C-1",
               "--roles", "operator", "--public-key", pub)
    fed.confer("city-commander", "city", "commander")
    inv = subprocess.run([fed.vigilctl, "officer", "keygen", os.path.join(fed.tmp, "inv.key"), "--name",
                          "city-inv-1"], check=True, stdout=subprocess.PIPE, text=True).stdout.split()[0]
    fed.ctl_ok("city", "officer", "add", "--badge", "city-inv-1", "--name", "investigator", "--credential", "C-2",
               "--roles", "investigator", "--public-key", inv)
    return key


def officers(fed):
    """city-inv-2 beside city-inv-1, and yuelu's principal (Art 19, 20)."""
    keys = {"city-inv-1": os.path.join(fed.tmp, "inv.key")}
    for badge, unit, cred in (("city-inv-2", "city", "C-3"), ("yuelu-principal", "yuelu", "C-4")):
        keys[badge] = os.path.join(fed.tmp, badge + ".key")
        pub = subprocess.run([fed.vigilctl, "officer", "keygen", keys[badge], "--name", badge], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.split()[0]
        fed.ctl_ok(unit, "officer", "add", "--badge", badge, "--name", badge, "--credential", cred, "--roles",
                   "operator" if unit == "yuelu" else "investigator", "--public-key", pub)
    fed.confer("yuelu-principal", "yuelu", "principal")
    return keys


def grant(fed, name, req):
    rows = sql(fed, name, "SELECT version, revoked FROM grants WHERE request_id = '%s'" % req)
    return tuple(rows[0]) if rows else None


def check_station_restored(fed):
    key = commander(fed)
    em = fed.ctl_ok("city", "emergency", "declare", "--scope", ID["yuelu"], "--duration", "30m", "--incident",
                    "drill", "--authority", "Changsha PSB", "--officer", "city-inv-1", as_identity=key)["id"]
    wait_until(lambda: order(fed, "yuelu-1", em) == order(fed, "city", em), 20,
               what="emergency %s live at yuelu-1" % em)
    camera(fed, "A")
    keys = officers(fed)
    wait_until(lambda: "A" in cameras(fed, "city"), 20, what="camera A at the city")
    req = fed.ctl_ok("city", "access", "request", "--camera", CAM["A"], "--officer", "city-inv-1", "--officer",
                     "city-inv-2", "--case", "R-1", "--purpose", "restore", "--actions", "view-live",
                     "--approval-doc", "D-1", as_identity=keys["city-inv-1"])["id"]
    fed.ctl_ok("city", "access", "countersign", req, as_identity=keys["city-inv-2"])
    fed.ctl_ok("city", "access", "approve", req, as_identity=keys["yuelu-principal"])
    wait_until(lambda: grant(fed, "yuelu-1", req) == grant(fed, "city", req) is not None, 20,
               what="the grant live at yuelu-1")
    k = log_records(fed, "yuelu-1", "before the backup", 3)
    wait_until(lambda: "A" in cameras(fed, "city") and held_up_to(fed, "city", "yuelu-1", k), 30,
               what="camera A and records 1..%d of yuelu-1 at the city" % k)
    copy = backup(fed, "yuelu-1")
    step("yuelu-1 backed up at access-log record %d" % k)
    # Its clock a day ahead while it works after the backup: the changes
    # the restore loses have versions a day above the backup's version
    # clock. Only the versions file (kept beside its keys) remembers them.
    set_clock(fed, "yuelu-1", 86400)

    camera(fed, "B")
    # The order ends and the grant is revoked after the backup: the
    # restored database holds both live.
    fed.ctl_ok("city", "emergency", "end", em, as_identity=key)
    fed.ctl_ok("city", "access", "revoke", req, "--reason", "case closed", as_identity=keys["yuelu-principal"])
    wait_until(lambda: grant(fed, "yuelu-1", req) == grant(fed, "city", req) and grant(fed, "city", req)[1] == "t",
               20, what="the revocation at yuelu-1")
    wait_until(lambda: order(fed, "yuelu-1", em) == order(fed, "city", em), 20,
               what="emergency %s ended at yuelu-1" % em)
    # A change of a camera the backup holds: lost with the restore, while
    # yuelu and the city hold it, with a version above the backup's.
    fed.ctl_ok("yuelu-1", "camera", "update", CAM["A"], "--name", "renamed after the backup")
    m = log_records(fed, "yuelu-1", "after the backup", 4)
    wait_until(lambda: "B" in cameras(fed, "city") and held_up_to(fed, "city", "yuelu-1", m), 30,
               what="camera B and records up to %d at the city" % m)
    wait_until(lambda: drained(fed, "yuelu-1", "yuelu"), 30, what="yuelu-1's outbox to yuelu trimmed")
    lost = sql(fed, "yuelu", "SELECT seq, encode(hash, 'hex') FROM audit_copies WHERE node_id = '%s' "
               "AND seq > %d ORDER BY seq" % (ID["yuelu-1"], k))
    assert len(lost) == m - k, "yuelu holds %r of yuelu-1's records after the backup" % lost

    set_clock(fed, "yuelu-1", 0)            # NTP puts it right
    mark = restore(fed, "yuelu-1", copy)
    step("yuelu-1 restored from its backup")
    wait_until(lambda: "new epoch" in fed.log_since("yuelu-1", mark), 20,
               what="yuelu-1 to find it was restored and begin a new epoch")
    assert "restored from a backup" in fed.log_since("yuelu-1", mark), fed.log_since("yuelu-1", mark)[-2000:]
    assert cameras(fed, "yuelu-1") == {"A"}, "yuelu-1 after the restore: %r" % cameras(fed, "yuelu-1")
    # Its parent's snapshot carries the order as ended (it carried live
    # orders only: yuelu-1 would have kept it live until it expired).
    wait_until(lambda: order(fed, "yuelu-1", em) == order(fed, "city", em), 20,
               what="the ended emergency ended again at the restored yuelu-1",
               detail=lambda: "yuelu-1 %r, city %r" % (order(fed, "yuelu-1", em), order(fed, "city", em)))
    assert order(fed, "city", em)[1] == "t"
    wait_until(lambda: grant(fed, "yuelu-1", req) == grant(fed, "city", req), 20,
               what="the revoked grant revoked again at the restored yuelu-1",
               detail=lambda: "yuelu-1 %r, city %r" % (grant(fed, "yuelu-1", req), grant(fed, "city", req)))

    camera(fed, "C")
    new = log_records(fed, "yuelu-1", "after the restore", 5)
    assert new >= k + 5, (new, k)
    wait_until(lambda: cameras(fed, "city") == {"A", "C"}, 30,
               what="the city's catalog to be yuelu-1's (A and C)",
               detail=lambda: "city %r, yuelu %r" % (cameras(fed, "city"), cameras(fed, "yuelu")))
    assert cameras(fed, "yuelu") == {"A", "C"}, "yuelu: %r" % cameras(fed, "yuelu")
    # Camera A is the station's again everywhere, name and version: the
    # rename the backup lost does not outrank it.
    wait_until(lambda: all(camera_row(fed, at, "A") == camera_row(fed, "yuelu-1", "A") for at in ("yuelu", "city")),
               30, what="camera A at yuelu and the city as yuelu-1 holds it",
               detail=lambda: "%r" % {at: camera_row(fed, at, "A") for at in ("yuelu-1", "yuelu", "city")})
    assert camera_row(fed, "yuelu-1", "A")[0] == "cam A"
    step("camera C arrived at yuelu and the city; B and A's rename went with the restored database")

    # The records lost by the restore are still held above it, untouched;
    # those written after it are kept beside them, at every tier.
    for at in ("yuelu", "city"):
        new = sql_int(fed, "yuelu-1", "SELECT max(seq) FROM audit_log")
        wait_until(lambda: forks(fed, at, "yuelu-1") == new - k, 30,
                   what="yuelu-1's %d records after the restore kept at %s" % (new - k, at),
                   detail=lambda: "forks at %s: %d" % (at, forks(fed, at, "yuelu-1")))
        now = sql(fed, at, "SELECT seq, encode(hash, 'hex') FROM audit_copies WHERE node_id = '%s' "
                  "AND seq > %d ORDER BY seq" % (ID["yuelu-1"], k))
        assert now == lost, "%s's copies of the lost records changed: %r, was %r" % (at, now, lost)
        assert fork_alarms(fed, at, "yuelu-1") == 1, "%s: %d fork alarms" % (at, fork_alarms(fed, at, "yuelu-1"))
    mine = sql(fed, "yuelu-1", "SELECT seq, encode(hash, 'hex') FROM audit_log WHERE seq > %d ORDER BY seq" % k)
    kept = sql(fed, "city", "SELECT seq, encode(hash, 'hex') FROM audit_forks WHERE node_id = '%s' ORDER BY seq"
               % ID["yuelu-1"])
    assert mine == kept, "the city's fork of yuelu-1 %r is not yuelu-1's log after the restore %r" % (kept, mine)
    step("the %d lost records are still held above yuelu-1; its %d new ones kept as a fork, one alarm"
         % (m - k, new - k))


def held_of(fed, at, of):
    """Every record of OF node AT holds: its copies and the forks kept."""
    return sql(fed, at, "SELECT 'copy', seq, encode(hash, 'hex') FROM audit_copies WHERE node_id = '%s' "
               "UNION ALL SELECT 'fork', seq, encode(hash, 'hex') FROM audit_forks WHERE node_id = '%s' "
               "ORDER BY 1, 2" % (ID[of], ID[of]))


def check_district_restored(fed):
    wait_until(lambda: drained(fed, "yuelu", "city"), 30, what="yuelu's outbox to the city drained")
    copy = backup(fed, "yuelu")
    base = held_of(fed, "yuelu", "yuelu-1")
    step("yuelu backed up holding %d records of yuelu-1" % len(base))
    camera(fed, "D")
    log_records(fed, "yuelu-1", "after the backup of the district", 6)
    log_records(fed, "yuelu", "the district own, after its backup", 2)
    wait_until(lambda: "D" in cameras(fed, "city") and drained(fed, "yuelu-1", "yuelu")
               and drained(fed, "yuelu", "city") and len(held_of(fed, "yuelu", "yuelu-1")) == len(base) + 6, 30,
               what="camera D and yuelu-1's 6 records at yuelu and the city, every outbox trimmed")
    before = held_of(fed, "yuelu", "yuelu-1")
    city_before = held_of(fed, "city", "yuelu-1")

    mark = restore(fed, "yuelu", copy)
    step("yuelu restored from its backup")
    wait_until(lambda: "new epoch" in fed.log_since("yuelu", mark), 20,
               what="yuelu to find it was restored and begin a new epoch")
    wait_until(lambda: held_of(fed, "yuelu", "yuelu-1") == before, 30,
               what="yuelu to hold every record of yuelu-1 again (from yuelu-1's snapshot)",
               detail=lambda: "yuelu holds %d of yuelu-1's %d" % (len(held_of(fed, "yuelu", "yuelu-1")),
                                                                 len(before)))
    ok, rows = verifies(fed, "yuelu", "yuelu-1")
    assert ok, "yuelu's copy of yuelu-1's log does not verify: %r" % rows
    wait_until(lambda: "D" in cameras(fed, "yuelu") and cameras(fed, "city") == cameras(fed, "yuelu-1"), 30,
               what="camera D back at yuelu, the city's catalog yuelu-1's")
    # The city lost nothing and holds nothing twice.
    assert held_of(fed, "city", "yuelu-1") == city_before, "the city's records of yuelu-1 changed"
    step("yuelu holds yuelu-1's %d records again, its copy verifies; camera D is back" % len(before))


def check_removal_after_district_restored(fed):
    camera(fed, "E")
    wait_until(lambda: "E" in cameras(fed, "city") and drained(fed, "yuelu-1", "yuelu")
               and drained(fed, "yuelu", "city"), 30, what="camera E at the city, every outbox trimmed")
    copy = backup(fed, "yuelu")
    fed.ctl_ok("yuelu-1", "camera", "update", CAM["E"], "--name", "E renamed")
    wait_until(lambda: (camera_row(fed, "city", "E") or ("",))[0] == "E renamed"
               and drained(fed, "yuelu-1", "yuelu") and drained(fed, "yuelu", "city"), 30,
               what="E's rename at the city, every outbox trimmed")
    fed.node("yuelu").stop()
    fed.ctl_ok("yuelu-1", "camera", "remove", CAM["E"])
    fed.node("yuelu-1").stop()
    city_mark = fed.log_mark("city")
    restore(fed, "yuelu", copy)
    # The restored district's snapshot reaches the city before it hears from
    # yuelu-1: the city keeps its newer E, as it should.
    wait_until(lambda: "snapshot applied" in fed.log_since("city", city_mark), 30,
               what="yuelu's snapshot after its restore applied at the city")
    assert (camera_row(fed, "yuelu", "E") or ("",))[0] == "cam E", \
        "yuelu's backup does not hold E under its old name: %r" % (camera_row(fed, "yuelu", "E"),)
    assert (camera_row(fed, "city", "E") or ("",))[0] == "E renamed", \
        "the city lost E's rename: %r" % (camera_row(fed, "city", "E"),)
    fed.node("yuelu-1").start()
    wait_until(lambda: "E" not in cameras(fed, "yuelu"), 30, what="E removed at yuelu (yuelu-1's snapshot)")
    wait_until(lambda: "E" not in cameras(fed, "city"), 30, what="E removed at the city as well",
               detail=lambda: "the city holds %r" % (camera_row(fed, "city", "E"),))
    step("a removal the restored yuelu learnt from yuelu-1's snapshot reached the city")


def main():
    with TestFederation("restore", NODES, heartbeat_ms=500) as fed:
        n = fed.node("yuelu-1")
        n.clock_file = os.path.join(fed.tmp, "clock-yuelu-1")
        with open(n.clock_file, "w") as f:
            f.write("+0\n")
        n.extra_env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": n.clock_file,
                       "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                       "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
        fed.start()
        fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
        fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu police", "--retention-days", "30")
        check_station_restored(fed)
        check_district_restored(fed)
        check_removal_after_district_restored(fed)
        # No daemon fell over on the way.
        for n in fed.nodes:
            assert n.alive(), "%s is not running" % n.name
        time.sleep(0.1)
    print("test_restore: ok")


if __name__ == "__main__":
    main()
