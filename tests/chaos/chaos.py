#!/usr/bin/python3
"""chaos: seeded faults against a real federation, then the invariants
(issue 17, "The harness"; tests/chaos/README.md says what and why).

    tests/chaos/chaos.py [--runs N] [--seed S] [--duration SECONDS]
                         [--faults kill,partition,delay,cut,pgcrash,clock,restore]
                         [--long]

Each run builds a six-node federation (city; yuelu with yuelu-1 and
yuelu-2; furong with furong-1) on a PostgreSQL cluster of its own, with a
TCP proxy (tests/chaos/proxy.py) in every child's uplink. While the
stations write (cameras added, changed and removed; refusals on their
access logs), the city's commander declares and ends emergencies and
two investigators ask for access that yuelu's principal grants and
revokes, a schedule drawn from the run's seed injects faults: kill -9
of any node (restarted a little later), partitions of a link (blackhole or
reset, a second to tens of seconds; with --long, up to two minutes), delays,
connections cut mid-frame, PostgreSQL stopped with -m immediate, one
node's wall clock stepped back (seconds to an hour, through libfaketime,
the monotonic clock untouched) and a node's database restored from a
backup taken earlier in the run (the node stopped for the copy and for the
restore, as an operator would). Then
every fault is healed, the writes stop, and the invariants must hold
within the convergence time:

  catalog   every ancestor's copy of each station's sites, systems and
            cameras equals the station's (IDs and versions): nothing lost,
            nothing stale, nothing twice
  audit     every ancestor's copy of each node's access log equals the
            node's log (seq and hash), and every chain and copy verifies;
            of a node restored from a backup, every record of its log is
            held above it (as a copy, or kept as a fork after the restore)
  outbox    every outbox drained (everything sent was acknowledged)
  emergency every order the city's commander declared (and ended, while
            the faults went on) is at its district and each station in its
            scope in the city's version, ended or not; each station has
            acknowledged and acted on the version in force
  grants    every grant and revocation decided at the city is at yuelu and
            at yuelu-1 (whose camera it names) in the city's version
  links     every node's link to its parent is up, and the city's tree
            shows every node online
  dead      no dead letters (no fault here injects a bad change)

The same seed replays the same schedule (the run prints it: `--seed S
--runs 1` replays it). Run N of a multi-run uses seed S+N. The last line is
`N passed, N failed` (runs).
"""

import argparse
import os
import random
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from harness import (PG_SCRIPT, SEVEN, TestFederation, free_port_block, psql,  # noqa: E402
                     step)
from proxy import Proxy  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1", "yuelu-2", "furong", "furong-1")]
STATIONS = ["yuelu-1", "yuelu-2", "furong-1"]
ALL_FAULTS = ["kill", "partition", "delay", "cut", "pgcrash", "clock", "restore"]
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
PSQL = "/usr/lib/postgresql/15/bin/psql"


# -- the schedule ----------------------------------------------------------------

def schedule(seed, duration, faults, long_mode):
    """The faults of one run, from SEED alone: a list of (at, kind, target,
    length) sorted by time, AT and LENGTH in seconds."""
    rnd = random.Random(seed)
    names = [n[0] for n in NODES]
    children = [n[0] for n in NODES if n[3]]
    out = []
    t = rnd.uniform(0.5, 2.0)
    longest = 120.0 if long_mode else min(20.0, duration)
    while t < duration:
        kind = rnd.choice(faults)
        if kind == "kill":
            out.append((t, kind, rnd.choice(names), rnd.uniform(0.2, 4.0)))
        elif kind == "partition":
            out.append((t, kind, rnd.choice(children) + ":" + rnd.choice(["blackhole", "reset"]),
                        rnd.uniform(1.0, longest)))
        elif kind == "delay":
            out.append((t, kind, rnd.choice(children) + ":%.3f" % rnd.uniform(0.02, 0.5),
                        rnd.uniform(1.0, 8.0)))
        elif kind == "cut":
            out.append((t, kind, rnd.choice(children), 0.0))
        elif kind == "pgcrash":
            out.append((t, kind, "postgresql", rnd.uniform(0.5, 3.0)))
        elif kind == "clock":
            # Back: what makes wall-clock versions lose (issue 17, fault 4).
            out.append((t, kind, rnd.choice(names) + ":%d" % -rnd.choice([5, 90, 600, 3600]),
                        rnd.uniform(2.0, 10.0)))
        elif kind == "restore":
            # A backup now, restored LENGTH later (fault 3).
            out.append((t, kind, rnd.choice(names), rnd.uniform(3.0, 10.0)))
        t += rnd.uniform(0.5, 4.0)
    return out


# -- the writes ------------------------------------------------------------------

class Writer(threading.Thread):
    """A station's operator at work: cameras added, renamed and removed, and
    an admin reading the access log (refused by the policy: a record)."""

    def __init__(self, fed, name, seed):
        super().__init__(daemon=True, name="writer-" + name)
        self.fed, self.name = fed, name
        self.rnd = random.Random(seed)
        self.stop = threading.Event()
        self.done = self.failed = 0
        self.ids = []
        self.serial = 0
        self.prefix = fed.node(name).id[:8]

    def ctl(self, *args):
        rc, _ = self.fed.ctl(self.name, *args, timeout=15)
        if rc == 0:
            self.done += 1
        else:
            self.failed += 1
        return rc

    def run(self):
        while not self.stop.is_set():
            r = self.rnd.random()
            if r < 0.5 or not self.ids:
                self.serial += 1
                cam = "%s00131%07d" % (self.prefix, self.serial)
                if self.ctl("camera", "add", "--id", cam, "--name", "camera %d" % self.serial,
                            "--system", "gov", "--site", "junction", "--status", "online") == 0:
                    self.ids.append(cam)
            elif r < 0.8:
                cam = self.rnd.choice(self.ids)
                self.ctl("camera", "update", cam, "--name", "renamed %d" % self.rnd.randrange(1 << 30))
            elif r < 0.9:
                cam = self.ids.pop(self.rnd.randrange(len(self.ids)))
                if self.ctl("camera", "remove", cam) != 0:
                    self.ids.append(cam)
            else:
                self.ctl("audit", "list", "--limit", "1")    # refused: a record in the log
            self.stop.wait(self.rnd.uniform(0.01, 0.1))


class Commander(threading.Thread):
    """The city's commander: emergencies declared over a district and most
    of them ended a little later, while the faults go on (an order or its
    end that a fault swallowed must still take effect, once)."""

    def __init__(self, fed, key, seed):
        super().__init__(daemon=True, name="commander")
        self.fed, self.key = fed, key
        self.rnd = random.Random(seed)
        self.stop = threading.Event()
        self.active = []
        self.declared = self.ended = 0
        self.refused = None                     # the last refusal, for the log

    def run(self):
        districts = [n.id for n in self.fed.nodes if n.tier == "district"]
        while not self.stop.wait(self.rnd.uniform(1.0, 4.0)):
            if self.active and self.rnd.random() < 0.6:
                em = self.active.pop(self.rnd.randrange(len(self.active)))
                rc, _ = self.fed.ctl("city", "emergency", "end", em, as_identity=self.key, timeout=15)
                if rc == 0:
                    self.ended += 1
                else:
                    self.active.append(em)      # tried again later
                continue
            rc, doc = self.fed.ctl("city", "emergency", "declare", "--scope", self.rnd.choice(districts),
                                   "--duration", "30m", "--incident", "chaos drill", "--authority", "Changsha PSB",
                                   "--officer", "city-inv-1", as_identity=self.key, timeout=15)
            if rc == 0 and isinstance(doc, dict) and doc.get("id"):
                self.active.append(doc["id"])
                self.declared += 1
            else:
                self.refused = doc


GRANT_CAMERA = "43010401001319999999"     # at yuelu-1, made at the start


class Granter(threading.Thread):
    """Lawful access under the faults (Art 20): two city investigators file
    and countersign a request for a yuelu-1 camera, yuelu's principal
    approves it, and most grants are revoked a little later. A step a
    fault refused is tried again a few times, then the request left as it
    is (the invariant judges what the city holds, not what was meant)."""

    def __init__(self, fed, keys, seed):
        super().__init__(daemon=True, name="granter")
        self.fed, self.keys = fed, keys
        self.rnd = random.Random(seed)
        self.stop = threading.Event()
        self.approved = self.revoked = 0

    def step(self, badge, *args):
        for _ in range(5):
            rc, doc = self.fed.ctl("city", *args, as_identity=self.keys[badge], timeout=15)
            if rc == 0:
                return doc
            if self.stop.wait(1.0):
                return None
        return None

    def run(self):
        n = 0
        while not self.stop.wait(self.rnd.uniform(0.5, 2.0)):
            n += 1
            doc = self.step("city-inv-1", "access", "request", "--camera", GRANT_CAMERA, "--officer", "city-inv-1",
                            "--officer", "city-inv-2", "--case", "CHAOS-%d" % n, "--purpose", "chaos",
                            "--actions", "view-live", "--approval-doc", "D-%d" % n)
            req = doc.get("id") if isinstance(doc, dict) else None
            if not req or not self.step("city-inv-2", "access", "countersign", req) or \
                    not self.step("yuelu-principal", "access", "approve", req):
                continue
            self.approved += 1
            if self.rnd.random() < 0.6 and not self.stop.wait(self.rnd.uniform(0.2, 3.0)) and \
                    self.step("yuelu-principal", "access", "revoke", req, "--reason", "chaos"):
                self.revoked += 1


# -- the invariants --------------------------------------------------------------

def rows(fed, name, query):
    rc, out, err = psql(fed, name, query)
    if rc != 0:
        raise RuntimeError("psql at %s: %s" % (name, err))
    return out.splitlines()


def ancestors(fed, name):
    out, n = [], fed.node(name).parent_node()
    while n:
        out.append(n.name)
        n = n.parent_node()
    return out


def check_catalog(fed):
    bad = []
    for s in STATIONS:
        sid = fed.node(s).id
        for table, key in (("cameras", "id"), ("sites", "code"), ("systems", "code")):
            q = ("SELECT %s || ' ' || version FROM %s WHERE station_id = '%s' ORDER BY %s, version"
                 % (key, table, sid, key))
            want = rows(fed, s, q)
            for a in ancestors(fed, s):
                got = rows(fed, a, q)
                if got != want:
                    sw, sg = set(want), set(got)
                    bad.append("%s of %s at %s: %d rows vs %d at the station (%d missing, e.g. %s; %d extra or "
                               "stale, e.g. %s%s)" % (table, s, a, len(got), len(want), len(sw - sg),
                                                     sorted(sw - sg)[:2], len(sg - sw), sorted(sg - sw)[:2],
                                                     "; duplicates" if len(sg) != len(got) else ""))
    return bad


def check_audit(fed, restored=()):
    bad = []
    for n in fed.nodes:
        if not n.parent:
            continue
        want = rows(fed, n.name, "SELECT seq || ' ' || encode(hash, 'hex') FROM audit_log ORDER BY seq")
        for a in ancestors(fed, n.name):
            got = rows(fed, a, "SELECT seq || ' ' || encode(hash, 'hex') FROM audit_copies WHERE node_id = '%s' "
                               "ORDER BY seq" % n.id)
            forks = rows(fed, a, "SELECT seq || ' ' || encode(hash, 'hex') FROM audit_forks WHERE node_id = '%s' "
                                 "ORDER BY seq" % n.id)
            if n.name in restored:
                # What it lost is still held above it; what it wrote after
                # the restore, numbered again, is kept as a fork.
                missing = sorted(set(want) - set(got) - set(forks), key=lambda r: int(r.split()[0]))
                if missing:
                    bad.append("access log of %s (restored) at %s: %d of its records not held, first %s"
                               % (n.name, a, len(missing), missing[0]))
            elif forks:
                bad.append("access log of %s at %s: %d records kept as a fork, and %s was never restored"
                           % (n.name, a, len(forks), n.name))
            elif got != want:
                bad.append("access log of %s at %s: %d records vs %d (first difference at %s)"
                           % (n.name, a, len(got), len(want),
                              next((w for w, g in zip(want, got) if w != g), "the end")))
            v = rows(fed, a, "SELECT coalesce(first_bad_seq::text, 'ok') FROM audit_verify_copy('%s')" % n.id)
            if v != ["ok"]:
                bad.append("the copy of %s's log at %s does not verify: first bad %s" % (n.name, a, v))
    for n in fed.nodes:
        v = rows(fed, n.name, "SELECT coalesce(first_bad_seq::text, 'ok') FROM audit_verify()")
        if v != ["ok"]:
            bad.append("the access log of %s does not verify: first bad %s" % (n.name, v))
    return bad


def check_emergencies(fed, restored=()):
    """Every order the city holds is at its district and at each station
    in its scope as the city holds it (version, ended or not), and each
    station acknowledged and acted on the version in force. A city
    restored from a backup may hold an older version of an order than the
    nodes below it: an end it decided after the backup stays below it,
    signed (README: what a restore leaves)."""
    bad = []
    orders = rows(fed, "city", "SELECT id || ' ' || scope || ' ' || version || ' ' || (ended_at IS NOT NULL) "
                               "FROM emergencies ORDER BY id")
    for line in orders:
        em, scope, version, ended = line.split()
        want = "%s %s" % (version, ended)
        for n in fed.nodes:
            # The scope is a district: it, and the stations under it.
            if not (n.id == scope or (n.tier == "station" and n.id[:6] == scope[:6])):
                continue
            got = rows(fed, n.name, "SELECT version || ' ' || (ended_at IS NOT NULL) || ' ' || "
                                    "coalesce(acked_version::text, '-') || ' ' || coalesce(acted_version::text, '-') "
                                    "FROM emergencies WHERE id = '%s'" % em)
            if got and "city" in restored and int(got[0].split()[0]) > int(version):
                continue
            if not got or " ".join(got[0].split()[:2]) != want:
                bad.append("emergency %s at %s: %s, the city: %s" % (em, n.name, got[0] if got else "missing",
                                                                     want))
            elif n.tier == "station" and ended == "f" and got[0].split()[2:] != [version, version]:
                bad.append("emergency %s at %s: version %s in force, acknowledged %s, acted on %s"
                           % ((em, n.name, version) + tuple(got[0].split()[2:])))
    return bad


def check_grants(fed, restored=()):
    """Every grant (and revocation) the city decided is at yuelu and at
    yuelu-1, whose camera it names, in the city's version. A city restored
    from a backup has lost the decisions made after it, which stay below
    it as they were signed (nothing here decides them again)."""
    bad = []
    q = "SELECT request_id || ' ' || version || ' ' || revoked FROM grants ORDER BY request_id"
    want = rows(fed, "city", q)
    for name in ("yuelu", "yuelu-1"):
        got, city = rows(fed, name, q), want
        if "city" in restored:
            # Lost by the city, or held there in an older version than the
            # one below (a revocation after its backup): left as signed.
            mine = {r.split()[0]: int(r.split()[1]) for r in city}
            newer = {r.split()[0] for r in got if r.split()[0] not in mine or int(r.split()[1]) > mine[r.split()[0]]}
            got = [r for r in got if r.split()[0] not in newer]
            city = [r for r in city if r.split()[0] not in newer]
        if got != city:
            sw, sg = set(city), set(got)
            bad.append("grants at %s: %d vs %d at the city (missing or older: %s; not the city's: %s)"
                       % (name, len(got), len(city), sorted(sw - sg)[:2], sorted(sg - sw)[:2]))
    return bad


def check_outboxes(fed):
    bad = []
    for n in fed.nodes:
        c = rows(fed, n.name, "SELECT count(*) FROM outbox")
        if c != ["0"]:
            bad.append("%s: %s outbox rows not acknowledged" % (n.name, c[0]))
    return bad


def check_links(fed):
    bad = []
    for n in fed.nodes:
        rc, doc = fed.ctl(n.name, "status", timeout=10)
        if rc != 0:
            bad.append("%s: status: %s" % (n.name, doc))
            continue
        if n.parent:
            p = doc.get("parent") or {}
            if not p.get("online"):
                bad.append("%s: link to its parent not up: %s" % (n.name, p))
    rc, tree = fed.ctl("city", "tree", timeout=10)
    if rc != 0:
        bad.append("city: tree: %s" % tree)
    else:
        nodes = tree if isinstance(tree, list) else tree.get("nodes", [])
        for t in nodes:
            if not t.get("online", True):
                bad.append("city's tree: %s offline" % t.get("name", t.get("id")))
    return bad


def check_dead_letters(fed):
    bad = []
    for n in fed.nodes:
        if rows(fed, n.name, "SELECT to_regclass('dead_letters') IS NOT NULL") != ["t"]:
            continue
        c = rows(fed, n.name, "SELECT count(*) FROM dead_letters")
        if c != ["0"]:
            bad.append("%s: %s dead letters, and no fault injected a bad change" % (n.name, c[0]))
    return bad


INVARIANTS = [("links", check_links), ("outbox", check_outboxes), ("catalog", check_catalog),
              ("emergency", check_emergencies), ("grants", check_grants), ("audit", check_audit),
              ("dead", check_dead_letters)]


def converge(fed, timeout, restored=()):
    """Poll every invariant until all hold (True) or TIMEOUT passes (the
    last failures are printed; False). RESTORED: the nodes whose database
    was restored from a backup."""
    deadline = time.monotonic() + timeout
    last = []
    while True:
        last = []
        for name, fn in INVARIANTS:
            try:
                found = fn(fed, restored) if fn in (check_audit, check_grants, check_emergencies) else fn(fed)
                last += ["%s: %s" % (name, b) for b in found]
            except Exception as e:         # a node still starting, PostgreSQL recovering
                last.append("%s: %s" % (name, e))
            if last:
                break
        if not last:
            return True, []
        if time.monotonic() > deadline:
            return False, last
        time.sleep(1.0)


# -- one run ---------------------------------------------------------------------

class Run:
    def __init__(self, seed, args):
        self.seed, self.args = seed, args
        self.events = schedule(seed, args.duration, args.faults, args.long)

    def start(self):
        fed = self.fed = TestFederation("chaos%d" % self.seed, NODES, private_pg=True, heartbeat_ms=500)
        children = [n for n in fed.nodes if n.parent]
        base = free_port_block("chaos-proxy-%d" % self.seed, len(children))
        self.proxies = {}
        for i, n in enumerate(children):
            p = n.parent_node()
            self.proxies[n.name] = Proxy(base + i, p.downlink_port, name=n.name)
            n.parent_endpoint = "tcp://127.0.0.1:%d" % (base + i)
        self.restored = set()
        self.backups = {}
        if "clock" in self.args.faults:
            # Each node's wall clock: an offset in a file libfaketime reads
            # at every call; the monotonic clock (libuv's timers) is
            # left alone, as NTP leaves it.
            for n in fed.nodes:
                n.clock_file = os.path.join(fed.tmp, "clock-%s" % n.name)
                self.set_clock(n, 0)
                n.extra_env = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": n.clock_file,
                               "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                               "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
        fed.start()
        # The city's commander (Art 19: conferred by its two admins).
        self.commander_key = os.path.join(fed.tmp, "commander.key")
        pub = subprocess.run([fed.vigilctl, "officer", "keygen", self.commander_key, "--name", "city-commander"],
                             check=True, stdout=subprocess.PIPE, text=True).stdout.split()[0]
        fed.ctl_ok("city", "officer", "add", "--badge", "city-commander", "--name", "commander",
                   "--credential", "C-1", "--roles", "operator", "--public-key", pub)
        fed.confer("city-commander", "city", "commander")
        # Two investigators at the city, a principal at yuelu (conferred by
        # the city): who files, countersigns and approves (Art 19, 20).
        self.officer_keys = {}
        for badge, unit, cred in (("city-inv-1", "city", "C-2"), ("city-inv-2", "city", "C-3"),
                                  ("yuelu-principal", "yuelu", "C-4")):
            path = self.officer_keys[badge] = os.path.join(fed.tmp, badge + ".key")
            pub = subprocess.run([fed.vigilctl, "officer", "keygen", path, "--name", badge], check=True,
                                 stdout=subprocess.PIPE, text=True).stdout.split()[0]
            fed.ctl_ok(unit, "officer", "add", "--badge", badge, "--name", badge, "--credential", cred,
                       "--roles", "operator" if unit == "yuelu" else "investigator", "--public-key", pub)
        fed.confer("yuelu-principal", "yuelu", "principal")
        for s in STATIONS:
            fed.ctl_ok(s, "site", "add", "--code", "junction", "--name", "junction", "--location-type", "junction")
            fed.ctl_ok(s, "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                       "--responsible-entity", "PSB", "--retention-days", "30")
        fed.ctl_ok("yuelu-1", "camera", "add", "--id", GRANT_CAMERA, "--name", "granted", "--system", "gov",
                   "--site", "junction", "--status", "online")
        deadline = time.monotonic() + 30
        while fed.ctl("city", "camera", "show", GRANT_CAMERA)[0] != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the camera for grants never reached the city")
            time.sleep(0.2)

    @staticmethod
    def set_clock(n, seconds):
        with open(n.clock_file + ".new", "w") as f:
            f.write("%+d\n" % seconds)
        os.replace(n.clock_file + ".new", n.clock_file)

    def admin_sql(self, query):
        fed = self.fed
        r = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", fed.pg_dir, "-p", str(fed.pg_port),
                            "-U", "postgres", "-d", "postgres", "-tA", "-c", query],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql: %s: %s" % (query, r.stderr.strip()))

    def backup(self, target):
        """Stop TARGET, copy its database (a cold backup), start it again.
        PostgreSQL down: raises, and the caller tries again."""
        n = self.fed.node(target)
        copy = n.dbname + "_bak"
        if n.alive():
            n.stop()
        for _ in range(100):                # its backends end just after it
            try:
                self.admin_sql('DROP DATABASE IF EXISTS "%s"' % copy)
                self.admin_sql('CREATE DATABASE "%s" TEMPLATE "%s"' % (copy, n.dbname))
                break
            except RuntimeError as e:
                if "is being accessed by other users" not in str(e):
                    raise
                time.sleep(0.1)
        self.backups[target] = copy
        n.start(wait=False)

    def restore(self, target):
        """TARGET's database replaced by its backup (the backup consumed)."""
        n = self.fed.node(target)
        if n.alive():
            n.stop()
        for _ in range(100):
            try:
                self.admin_sql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % n.dbname)
                self.admin_sql('ALTER DATABASE "%s" RENAME TO "%s"' % (self.backups.pop(target), n.dbname))
                break
            except RuntimeError as e:
                if "is being accessed by other users" not in str(e):
                    raise
                time.sleep(0.1)
        self.restored.add(target)
        n.start(wait=False)

    def inject(self, kind, target, length, timers):
        fed = self.fed
        if kind == "kill":
            fed.node(target).kill()
            timers.append((time.monotonic() + length, "start", target))
        elif kind == "partition":
            link, mode = target.split(":")
            self.proxies[link].partition(mode)
            timers.append((time.monotonic() + length, "heal", link))
        elif kind == "delay":
            link, secs = target.split(":")
            self.proxies[link].delay(float(secs))
            timers.append((time.monotonic() + length, "heal", link))
        elif kind == "cut":
            self.proxies[target].cut()
        elif kind == "pgcrash":
            subprocess.run([PG_SCRIPT, "crash", fed.pg_dir], check=True, stdout=subprocess.DEVNULL)
            timers.append((time.monotonic() + length, "pgstart", None))
        elif kind == "clock":
            name, secs = target.split(":")
            self.set_clock(fed.node(name), int(secs))
            timers.append((time.monotonic() + length, "clock", name))
        elif kind == "restore":
            # One backup per node at a time: a second is the first's restore.
            if target not in self.backups and not any(x[1] in ("backup", "restore") and x[2] == target
                                                      for x in timers):
                timers.append((time.monotonic(), "backup", target))
                timers.append((time.monotonic() + length, "restore", target))

    def undo(self, what, target):
        fed = self.fed
        if what == "start":
            n = fed.node(target)
            if not n.alive():
                try:
                    n.start(wait=False)
                except Exception as e:      # PostgreSQL down: vigild migrate fails; tried again
                    return e
        elif what == "heal":
            self.proxies[target].heal()
        elif what == "pgstart":
            subprocess.run([PG_SCRIPT, "start", fed.pg_dir, str(fed.pg_port)], check=True,
                           stdout=subprocess.DEVNULL)
        elif what == "clock":
            self.set_clock(fed.node(target), 0)     # stepped forward to the true time again
        elif what in ("backup", "restore"):
            if what == "restore" and target not in self.backups:
                return RuntimeError("no backup yet")     # the backup waits for PostgreSQL
            try:
                (self.backup if what == "backup" else self.restore)(target)
            except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                return e
        return None

    def run(self):
        print("chaos: seed %d: %d faults over %.0f s: %s" % (
            self.seed, len(self.events), self.args.duration,
            ", ".join("%.1fs %s %s%s" % (t, k, x, " %.1fs" % d if d else "") for t, k, x, d in self.events)),
            flush=True)
        self.start()
        writers = [Writer(self.fed, s, self.seed * 7 + i) for i, s in enumerate(STATIONS)]
        commander = Commander(self.fed, self.commander_key, self.seed * 7 + 99)
        granter = Granter(self.fed, self.officer_keys, self.seed * 7 + 98)
        actors = writers + [commander, granter]
        for w in actors:
            w.start()
        t0 = time.monotonic()
        timers = []
        events = list(self.events)
        while events or (timers and time.monotonic() - t0 < self.args.duration + 130):
            now = time.monotonic()
            if events and now - t0 >= events[0][0]:
                _, kind, target, length = events.pop(0)
                self.inject(kind, target, length, timers)
                continue
            due = [x for x in timers if x[0] <= now]
            for x in due:
                timers.remove(x)
                if self.undo(x[1], x[2]) is not None:
                    timers.append((now + 0.5, x[1], x[2]))
            if not events and not timers:
                break
            time.sleep(0.05)
        # Everything healed: PostgreSQL up, proxies forwarding, nodes running.
        subprocess.run([PG_SCRIPT, "start", self.fed.pg_dir, str(self.fed.pg_port)], check=True,
                       stdout=subprocess.DEVNULL)
        for p in self.proxies.values():
            p.heal()
        for n in self.fed.nodes:
            for _ in range(20):
                try:
                    if not n.alive():
                        n.start()
                    break
                except Exception:
                    time.sleep(0.5)
        for w in actors:
            w.stop.set()
        for w in actors:
            w.join(60)
        writes = sum(w.done for w in writers)
        step("%d emergencies declared, %d ended%s; %d grants approved, %d revoked" % (
            commander.declared, commander.ended,
            "; last refusal: %s" % commander.refused if commander.refused else "",
            granter.approved, granter.revoked))
        t1 = time.monotonic()
        if self.restored:
            step("restored from a backup: %s" % ", ".join(sorted(self.restored)))
        ok, problems = converge(self.fed, self.args.converge, self.restored)
        took = time.monotonic() - t1
        for n in self.fed.nodes:
            if not n.alive():
                ok = False
                problems.append("%s is not running (exit %s):\n%s" % (n.name, n.last_exit, n.log_tail(15)))
        if ok and self.args.selfcheck:
            problems += self.selfcheck()
            ok = not problems
        return ok, problems, writes, took

    def selfcheck(self):
        """The invariants can fail: one camera and one access-log record
        taken out of the city's copies behind vigil's back (triggers off,
        as the database's owner) must be found, each by its invariant."""
        fed, sid = self.fed, self.fed.node("yuelu-1").id
        psql(fed, "city", "SET session_replication_role = replica; "
                          "DELETE FROM cameras WHERE id = (SELECT max(id) FROM cameras WHERE station_id = '%s'); "
                          "DELETE FROM audit_copies WHERE node_id = '%s' AND seq = "
                          "(SELECT max(seq) FROM audit_copies WHERE node_id = '%s')" % (sid, sid, sid))
        out = []
        for name, fn in (("catalog", check_catalog), ("audit", check_audit)):
            found = fn(fed)
            if not any("at city" in b for b in found):
                out.append("selfcheck: the %s invariant missed a row removed from the city's copy (%s)"
                           % (name, found))
        if not out:
            step("selfcheck: a camera and an access-log record removed at the city: both invariants found it")
        return out

    def close(self, failed):
        for p in getattr(self, "proxies", {}).values():
            p.close()
        fed = getattr(self, "fed", None)
        if fed:
            fed.failed = failed
            return fed.cleanup()
        return []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of faults per run")
    ap.add_argument("--converge", type=float, default=120.0, help="seconds the invariants may take to hold")
    ap.add_argument("--faults", default=",".join(ALL_FAULTS))
    ap.add_argument("--long", action="store_true", help="partitions up to two minutes")
    ap.add_argument("--selfcheck", action="store_true",
                    help="after the run, break the city's copies and check the invariants say so")
    args = ap.parse_args()
    args.faults = [f for f in args.faults.split(",") if f]
    for f in args.faults:
        if f not in ALL_FAULTS:
            ap.error("unknown fault %s (known: %s)" % (f, ", ".join(ALL_FAULTS)))
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1 << 30)
    print("chaos: base seed %d (replay one run: tests/chaos/chaos.py --seed SEED --runs 1)" % seed, flush=True)
    passed = failed = 0
    for i in range(args.runs):
        r = Run(seed + i, args)
        ok, problems, writes, took = False, ["did not finish"], 0, 0.0
        try:
            ok, problems, writes, took = r.run()
        except Exception:
            problems = [traceback.format_exc()]
        problems = problems + r.close(not ok)
        if ok and not problems:
            passed += 1
            step("seed %d: ok (%d writes; invariants held %.1f s after the last fault)" % (seed + i, writes, took))
        else:
            failed += 1
            step("seed %d: FAILED; replay: tests/chaos/chaos.py --seed %d --runs 1 --duration %g" % (
                seed + i, seed + i, args.duration))
            for p in problems[:20]:
                print("  " + p, flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
