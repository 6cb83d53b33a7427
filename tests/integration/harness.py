"""harness: an isolated vigil federation for one integration test.

Each test gets its own base directory (a temporary folder), its own database
names (prefixed with the test's name, so tests can share one PostgreSQL
cluster), its own TCP ports (a free block picked from a hash of the test's
name) and, when tests/run did not provide a cluster (VIGIL_TEST_PG_DIR and
VIGIL_TEST_PG_PORT), a private PostgreSQL cluster of its own, so that a
single test can be run by hand:

    VIGIL_BUILD=build /usr/bin/python3 tests/integration/test_tree.py

Usage:

    from harness import TestFederation, SEVEN, wait_until, step

    with TestFederation("tree", SEVEN, heartbeat_ms=500) as fed:
        fed.start()
        rc, doc = fed.ctl("city", "tree")

Leaving the with-block (normally, by an exception, by SIGTERM from meson's
timeout or at interpreter exit) stops every daemon and drops the databases.
It then fails the test if a daemon did not exit cleanly on SIGTERM or wrote
a sanitizer report into its log. On failure the base directory is kept and
its path printed, with the end of each node's log.
"""

import atexit
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib

SOURCE = os.environ.get("VIGIL_SOURCE") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE, "deploy"))

from localfed import SEVEN, Federation, FederationError  # noqa: E402

__all__ = ["TestFederation", "SEVEN", "Federation", "FederationError",
           "wait_until", "step", "free_port_block", "PG_SCRIPT", "auditor"]

PG_SCRIPT = os.path.join(SOURCE, "deploy", "pg")
BUILD = os.path.abspath(os.environ.get("VIGIL_BUILD") or os.path.join(SOURCE, "build"))

# Tests take ports from this range: above run-local's 17100-17199 and below
# the kernel's ephemeral range, which outgoing connections (vigilctl, the
# uplinks) draw from. A port in that range, freed by a killed node, can be
# taken as the source port of some connection, and the node's restart then
# fails with "Address already in use".
def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


PORT_LO = 20000
PORT_HI = max(PORT_LO + 1000, min(32000, _ephemeral_low()))

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "WARNING: ThreadSanitizer")

_T0 = time.monotonic()


def step(msg):
    """Log one step of a test, with the seconds since it started."""
    print("[%7.2fs] %s" % (time.monotonic() - _T0, msg), flush=True)


def wait_until(predicate, timeout, interval=0.1, what=None, detail=None):
    """Call PREDICATE every INTERVAL seconds until it returns something
    true, and return that. After TIMEOUT seconds raise AssertionError naming
    WHAT and the last value the predicate returned, or, if given, what
    DETAIL() returns then (e.g. the last answer the predicate looked at)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s (last: %r)"
                                 % (timeout, what or getattr(predicate, "__name__", "?"),
                                    detail() if detail else last))
        time.sleep(interval)


def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# Blocks this process holds: (file, ...) kept open, so their locks last as
# long as the test runs.
_PORT_LOCKS = []
PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), "vigil-test-ports")


def _reserve(base, count):
    """Lock every 50-port slot of BASE..BASE+COUNT-1 against the other tests
    (a free port is only free until someone binds it: two tests starting at
    once used to pick the same block). False, holding nothing, if another
    test holds one."""
    os.makedirs(PORT_LOCK_DIR, exist_ok=True)
    held = []
    for slot in range(base // 50, (base + count - 1) // 50 + 1):
        f = open(os.path.join(PORT_LOCK_DIR, "%d.lock" % slot), "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            for h in held:
                h.close()
            return False
        held.append(f)
    _PORT_LOCKS.extend(held)
    return True


def free_port_block(key, count):
    """COUNT consecutive free ports, starting from a place derived from KEY so
    that tests running side by side start far apart, and reserved for this
    process (_reserve)."""
    span = PORT_HI - PORT_LO - count
    start = PORT_LO + (zlib.crc32(key.encode()) % (span // 50)) * 50
    for i in range(span // 50):
        base = PORT_LO + (start - PORT_LO + i * 50) % span
        base -= base % 50
        if all(_port_free(p) for p in range(base, base + count)) and _reserve(base, count):
            return base
    raise RuntimeError("no block of %d free ports between %d and %d" % (count, PORT_LO, PORT_HI))


# -- RTSP servers standing in for reserved interfaces ----------------------

RTSP_SERVER = os.path.join(SOURCE, "deploy", "rtsp-server")


def start_rtsp_server(args):
    """Start deploy/rtsp-server with ARGS (Debian's Python: the GStreamer
    bindings) and wait for its "ready" line; the caller stops it with
    stop_processes()."""
    p = subprocess.Popen(["/usr/bin/python3", RTSP_SERVER] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        p.kill()
        raise AssertionError("rtsp-server %s did not start: %s %s" % (args, line, p.stderr.read()))
    return p


def stop_processes(procs):
    """SIGTERM each of PROCS, then wait; kill what has not stopped in 10 s."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def _safe(name):
    return "".join(c if c.isalnum() else "_" for c in name.lower())


class TestFederation(Federation):
    """A Federation owned by one test: temporary base, prefixed databases,
    its own ports, cleanup guaranteed. NAME is short (it prefixes the
    database names, which PostgreSQL limits to 63 bytes). With
    private_pg=True the test gets a PostgreSQL cluster of its own even when
    a shared one is available (a test that restarts PostgreSQL needs that)."""

    def __init__(self, name, nodes, private_pg=False, heartbeat_ms=None,
                 link=None, log_level="info", keep=None, gate=None):
        self.test_name = name
        self.nodes = []
        self._cleaned = False
        self.failed = False
        atexit.register(self.cleanup)
        self.tmp = tempfile.mkdtemp(prefix="vigil-%s-" % _safe(name))
        os.chmod(self.tmp, 0o755)       # the postgres user must reach a cluster in it
        self.keep = keep if keep is not None else bool(os.environ.get("VIGIL_KEEP_TEST_DIR"))
        self.own_pg = None
        shared_dir = os.environ.get("VIGIL_TEST_PG_DIR")
        shared_port = os.environ.get("VIGIL_TEST_PG_PORT")
        if shared_dir and shared_port and not private_pg:
            pg_dir, pg_port = shared_dir, int(shared_port)
        else:
            pg_dir = os.path.join(self.tmp, "pg")
            pg_port = free_port_block("pg-" + name, 1)
            self.own_pg = pg_dir
            step("private PostgreSQL in %s port %d" % (pg_dir, pg_port))
            # Started before the nodes' ports are picked, so they avoid it.
            subprocess.run([PG_SCRIPT, "start", pg_dir, str(pg_port)], check=True,
                           stdout=subprocess.DEVNULL)
        base_port = free_port_block(name, 2 * len(nodes) + 2)
        super().__init__(os.path.join(self.tmp, "nodes"), nodes, pg_dir, pg_port, base_port,
                         build=BUILD, db_prefix="t_%s_" % _safe(name),
                         heartbeat_ms=heartbeat_ms, link=link, log_level=log_level, gate=gate)
        # meson's timeout sends SIGTERM: turn it into SystemExit so that
        # finally-blocks and atexit run and no daemon is left behind.
        signal.signal(signal.SIGTERM, _sigterm)

    def setup(self):
        # Fresh databases every run: a crashed earlier run may have left some.
        for n in self.nodes:
            self.pg("dropdb", self.pg_dir, self.pg_port, n.dbname)
        super().setup()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
        problems = self.cleanup()
        if problems and exc_type is None:
            raise AssertionError("; ".join(problems))
        return False

    def dump_logs(self, lines=30):
        for n in self.nodes:
            print("----- %s (%s) %s" % (n.name, n.id, n.log), flush=True)
            print(n.log_tail(lines), flush=True)

    def cleanup(self):
        """Stop every daemon, drop the databases, stop a private cluster.
        Returns a list of problems found (unclean exits, sanitizer
        reports); safe to call more than once."""
        if self._cleaned:
            return []
        self._cleaned = True
        problems = []
        for n in reversed(self.nodes):
            if n.alive():
                if n.stop():
                    problems.append("%s did not stop within 10 s of SIGTERM" % n.name)
                elif n.last_exit not in (None, 0):
                    problems.append("%s exited with status %s after SIGTERM"
                                    % (n.name, n.last_exit))
        for n in self.nodes:
            try:
                with open(n.log, errors="replace") as f:
                    text = f.read()
            except FileNotFoundError:
                continue
            for mark in SANITIZER_MARKS:
                if mark in text:
                    problems.append("%s: sanitizer report in %s" % (n.name, n.log))
                    break
        if self.own_pg:
            subprocess.run([PG_SCRIPT, "stop", self.own_pg], stdout=subprocess.DEVNULL)
        else:
            self.drop_databases()
        if problems or self.failed:
            self.dump_logs()
            for p in problems:
                print("PROBLEM: " + p, flush=True)
        if (problems or self.failed) or self.keep:
            print("test files kept in %s" % self.tmp, flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return problems

    # -- helpers for the tests ---------------------------------------------

    def start_except(self, *names):
        """Like start(), but the nodes NAMES are only enrolled at their
        parents, not started: a test can then play one of them with its
        key (tests/integration/wire.py)."""
        self.setup()
        for n in self.nodes:
            if n.parent:
                self.enroll(n)
            if n.name not in names and not n.alive():
                n.start()

    def log_mark(self, name):
        """Where node NAME's log ends now; pass it to log_since()."""
        try:
            return os.path.getsize(self.node(name).log)
        except FileNotFoundError:
            return 0

    def log_since(self, name, mark):
        """What node NAME logged after MARK (from log_mark())."""
        with open(self.node(name).log, errors="replace") as f:
            f.seek(mark)
            return f.read()

    def tree(self, name, *args):
        """The `tree` answer of node NAME as {id: entry}; raises unless it
        answers."""
        doc = self.ctl_ok(name, "tree", *args, timeout=10)
        return {e["id"]: e for e in doc}


PSQL = "/usr/lib/postgresql/15/bin/psql"


def psql(fed, name, query):
    """QUERY in node NAME's database as its owner (superuser): (exit status,
    output, errors); for what only a person at the database can do."""
    out = subprocess.run([PG_SCRIPT, "conninfo", fed.pg_dir, str(fed.pg_port), fed.node(name).dbname],
                         check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    r = subprocess.run([PSQL, "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", out, "-c", query],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


CONFERRED = ("principal", "commander", "auditor")


def register_officers(fed, officers):
    """For each (badge, unit, roles): an identity file, registered by an
    admin of node UNIT with credential CRED-<BADGE>. Principal and
    commander are not registered but conferred from above (Art 19,
    Federation.confer), once every officer is registered; an officer with
    only those is registered as an operator. Returns {badge: file}."""
    folder = os.path.join(fed.tmp, "officers")
    os.makedirs(folder, exist_ok=True)
    files = {}
    powers = []
    for badge, unit, roles in officers:
        path = os.path.join(folder, badge + ".key")
        r = subprocess.run([fed.vigilctl, "keygen", path, "--name", badge], stdout=subprocess.PIPE,
                           text=True, check=True)
        files[badge] = path
        listed = roles.split(",")
        plain = [x for x in listed if x not in CONFERRED] or ["operator"]
        add = ["officer", "add", "--badge", badge, "--name", badge.replace("-", " "),
               "--credential", "CRED-" + badge.upper(), "--public-key", r.stdout.strip().splitlines()[0]]
        # A build before issue 15 registers the powers as roles (for
        # checking that a test fails there); this one refuses them.
        if plain != listed and fed.ctl(unit, *add, "--roles", roles)[0] == 0:
            continue
        powers += [(badge, unit, x) for x in listed if x in CONFERRED]
        fed.ctl_ok(unit, *add, "--roles", ",".join(plain))
    for badge, unit, role in powers:
        fed.confer(badge, unit, role)
    return files


def auditor(fed, name):
    """The identity file of an auditor of node NAME (badge NAME-auditor),
    registered there the first time it is asked for. The access log,
    requests, officers and delegations are read by auditors
    (lib/control/policy.c), not by an admin."""
    held = fed.__dict__.setdefault("_auditors", {})
    if name not in held:
        path = register_officers(fed, [(name + "-auditor", name, "auditor")])[name + "-auditor"]
        # The node answers the registration before its roster has reloaded.
        wait_until(lambda: fed.ctl(name, "status", as_identity=path)[0] == 0, 10,
                   what="%s-auditor admitted at %s" % (name, name))
        held[name] = path
    return held[name]


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)
