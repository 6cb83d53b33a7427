#!/usr/bin/python3
"""localfed: build and drive a vigil federation of any shape on one machine.

Used by deploy/run-local (through the command line below) and by the
integration tests (through tests/integration/harness.py, as a module).

For each node NAME under the base directory BASE:

    BASE/NAME/keys/          the node's key set (vigild keygen)
    BASE/NAME/admin.key      an admin identity admitted on its control socket
    BASE/NAME/vigild.conf    the daemon's configuration
    BASE/NAME/vigilctl.conf  a client profile: vigilctl -c BASE/NAME/vigilctl.conf
    BASE/NAME/vigild.log     the daemon's stderr (logfmt)
    BASE/NAME/vigild.pid     its process ID while it runs
    BASE/federation.json     the whole description, so later commands need
                             only --base

Each node gets its own database (PREFIX + NAME, '-' becoming '_') in a
PostgreSQL cluster run by deploy/pg. Node i of the list gets the control port
BASE_PORT + 2*i and, unless it is a station, the downlink port BASE_PORT +
2*i + 1. Nodes start top-down, and each child is enrolled at its parent
before it starts, so that the parent's ZAP handler admits its first Hello.

Command line (see --help):
    localfed.py --base var/local --pg-dir var/pg --pg-port 55432 \\
                --base-port 17100 --topology seven start
    localfed.py --base var/local stop | status | kill NAME | restart NAME
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

DEPLOY_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(DEPLOY_DIR)
PG_SCRIPT = os.path.join(DEPLOY_DIR, "pg")

# CONTRACT.md "The local federation": (name, tier, GB/T 28181 ID, parent).
SEVEN = [
    ("city", "city", "43010000002000000001", None),
    ("yuelu", "district", "43010400002000000001", "city"),
    ("furong", "district", "43010200002000000001", "city"),
    ("yuelu-1", "station", "43010401002000000001", "yuelu"),
    ("yuelu-2", "station", "43010402002000000001", "yuelu"),
    ("furong-1", "station", "43010201002000000001", "furong"),
    ("furong-2", "station", "43010202002000000001", "furong"),
]

# How `vigild migrate` logs in as the owner: deploy/pg's superuser, over
# the cluster's socket (host, port and dbname come from each node's
# conninfo). deploy/pg's cluster trusts that socket, so there is no
# secret to keep (README.md "Database roles" says why, and what a real
# deployment sets instead).
OWNER_CONNINFO = "user=postgres"

STOP_GRACE_S = 10.0
START_TIMEOUT_S = 30.0


class FederationError(Exception):
    """A step of building or driving the federation failed; says which."""


def _log(msg):
    print("localfed: " + msg, file=sys.stderr, flush=True)


def _run(argv, what, **kw):
    """Run ARGV, raise FederationError with its output if it fails."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, **kw)
    if r.returncode != 0:
        raise FederationError("%s failed (exit %d): %s\n%s" % (
            what, r.returncode, " ".join(argv), (r.stdout + r.stderr).strip()))
    return r.stdout


def _write_if_changed(path, text, mode=0o644):
    """Rewrite PATH only when its content changes, so that running twice
    leaves files (and their times) alone."""
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _ini_value(path, section, key):
    """The value of KEY in [SECTION] of a simple INI file, or None."""
    cur = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in ";#":
                continue
            if line.startswith("[") and line.endswith("]"):
                cur = line[1:-1].strip()
                continue
            if cur == section and "=" in line:
                k, v = line.split("=", 1)
                if k.strip() == key:
                    return v.strip()
    return None


def _pid_alive(pid, conf):
    """True if PID runs and is the vigild of CONF (guards against reuse of a
    stale pid file's number by some other process)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except (OSError, IndexError):
        return False
    return any(a.endswith(b"vigild") for a in argv) and conf.encode() in argv


class Node:
    """One node of a Federation: its files, its process, its vigilctl."""

    def __init__(self, fed, index, name, tier, node_id, parent):
        self.fed = fed
        self.index = index
        self.name = name
        self.tier = tier
        self.id = node_id
        self.parent = parent            # parent's name, or None at the top
        self.dir = os.path.join(fed.base, name)
        self.key_dir = os.path.join(self.dir, "keys")
        self.conf = os.path.join(self.dir, "vigild.conf")
        self.ctl_conf = os.path.join(self.dir, "vigilctl.conf")
        self.admin_key = os.path.join(self.dir, "admin.key")
        # Art 19: at the city (no tier above) two distinct admins confer
        # principal and commander, so the city has a second admin.
        self.admin2_key = os.path.join(self.dir, "admin2.key") if tier == "city" else None
        self.log = os.path.join(self.dir, "vigild.log")
        self.pid_file = os.path.join(self.dir, "vigild.pid")
        self.control_port = fed.base_port + 2 * index
        self.downlink_port = (fed.base_port + 2 * index + 1
                              if tier != "station" else None)
        # A station has no downlink: its second port is its stream gate's.
        self.gate_port = fed.base_port + 2 * index + 1 if tier == "station" else None
        self.dbname = (fed.db_prefix + name).replace("-", "_")
        # Where this node's uplink connects, if not straight to its parent's
        # downlink: tests/chaos puts a TCP proxy it controls in between.
        self.parent_endpoint = None
        self._proc = None               # Popen when this process started it
        self.last_exit = None           # exit status of the last process we reaped

    # -- files -------------------------------------------------------------

    @property
    def public_key(self):
        with open(os.path.join(self.key_dir, "curve.pub")) as f:
            return f.read().strip()

    @property
    def sign_key(self):
        """The node's Ed25519 signing key (sign.pub, hex): enrolled with its
        CURVE key; the city's is every other node's [parent] root_sign_key."""
        with open(os.path.join(self.key_dir, "sign.pub")) as f:
            return f.read().strip()

    def root_node(self):
        n = self
        while n.parent_node():
            n = n.parent_node()
        return n

    @property
    def admin_public_key(self):
        return _ini_value(self.admin_key, "identity", "public")

    @property
    def admin_public_keys(self):
        keys = [self.admin_public_key]
        if self.admin2_key:
            keys.append(_ini_value(self.admin2_key, "identity", "public"))
        return " ".join(keys)

    @property
    def control_endpoint(self):
        return "tcp://127.0.0.1:%d" % self.control_port

    @property
    def gate_url(self):
        """rtsp://HOST:PORT of the station's stream gate (None above)."""
        return "rtsp://127.0.0.1:%d" % self.gate_port if self.gate_port else None

    @property
    def downlink_endpoint(self):
        return ("tcp://127.0.0.1:%d" % self.downlink_port
                if self.downlink_port else None)

    def parent_node(self):
        return self.fed.node(self.parent) if self.parent else None

    def children(self):
        return [n for n in self.fed.nodes if n.parent == self.name]

    def keygen(self):
        """Create the node's keys and admin identity unless they exist
        (both keygens refuse to overwrite, and keeping keys keeps
        enrolments valid)."""
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.exists(os.path.join(self.key_dir, "curve.pub")):
            _run([self.fed.vigild, "keygen", self.key_dir],
                 "keygen for %s" % self.name)
        if not os.path.exists(self.admin_key):
            _run([self.fed.vigilctl, "keygen", self.admin_key,
                  "--name", "admin-" + self.name],
                 "admin identity for %s" % self.name)
        if self.admin2_key and not os.path.exists(self.admin2_key):
            _run([self.fed.vigilctl, "keygen", self.admin2_key,
                  "--name", "admin2-" + self.name],
                 "second admin identity for %s" % self.name)

    def write_configs(self):
        f = self.fed
        # The daemon logs in as a role of its own, named as its database
        # (`vigild migrate` creates it: a member of vigil_writer only); the
        # owner's conninfo is in no file the daemon reads (migrate()).
        conninfo = "host=%s port=%d dbname=%s user=%s" % (
            f.pg_dir, f.pg_port, self.dbname, self.dbname)
        lines = [
            "; %s: written by deploy/localfed.py; rewritten at every start" % self.name,
            "[node]",
            "id = " + self.id,
            "name = " + self.name,
            "tier = " + self.tier,
            "key_dir = " + self.key_dir,
            "",
        ]
        p = self.parent_node()
        if p:
            lines += [
                "[parent]",
                "id = " + p.id,
                "endpoint = " + (self.parent_endpoint or p.downlink_endpoint),
                "public_key = " + p.public_key,
                "root_sign_key = " + self.root_node().sign_key,
                "",
            ]
        lines += ["[listen]", "control = " + self.control_endpoint]
        if self.downlink_endpoint:
            lines.append("downlink = " + self.downlink_endpoint)
        lines += ["", "[database]", "conninfo = " + conninfo, ""]
        if self.gate_port:
            lines += ["[gate]", "listen = 127.0.0.1:%d" % self.gate_port]
            lines += ["%s = %s" % (k, v) for k, v in sorted(f.gate.items())]
            lines.append("")
        for section, keys in (("link", f.link), ("emergency", f.emergency)):
            if keys:
                lines.append("[%s]" % section)
                lines += ["%s = %s" % (k, v) for k, v in sorted(keys.items())]
                lines.append("")
        lines += ["[control]", "admin_keys = " + self.admin_public_keys, "",
                  "[log]", "level = " + f.log_level, ""]
        # vigild's INI reader takes lines of at most 197 characters: say so
        # here rather than let a long base path fail inside the daemon.
        for line in lines:
            if len(line) > 197:
                raise FederationError("%s: line too long for vigild.conf (%d > 197 "
                                      "characters; use a shorter base or PostgreSQL "
                                      "directory): %s" % (self.name, len(line), line))
        _write_if_changed(self.conf, "\n".join(lines))
        _write_if_changed(self.ctl_conf, "\n".join([
            "; vigilctl profile for node %s (%s)" % (self.name, self.id),
            "[vigilctl]",
            "endpoint = " + self.control_endpoint,
            "server_key = " + self.public_key,
            "identity = admin.key",
            ""]))

    # -- process -----------------------------------------------------------

    @property
    def pid(self):
        """The running daemon's PID, or None."""
        if self._proc is not None:
            return self._proc.pid if self._proc.poll() is None else None
        try:
            with open(self.pid_file) as fh:
                pid = int(fh.read().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _pid_alive(pid, self.conf) else None

    def alive(self):
        return self.pid is not None

    def migrate(self):
        """`vigild migrate`: the schema and the daemon's role, as the owner
        (OWNER_CONNINFO), before the daemon starts; idempotent."""
        _run([self.fed.vigild, "migrate", "-c", self.conf, "--owner", OWNER_CONNINFO],
             "vigild migrate for %s" % self.name)

    def start(self, wait=True, timeout=START_TIMEOUT_S):
        """Migrate, then start the daemon unless it already runs; wait
        until its control socket answers `status`."""
        if self.alive():
            return
        self.migrate()
        log = open(self.log, "ab")
        log.write(("--- localfed: starting %s at %s\n" % (
            self.name, time.strftime("%Y-%m-%dT%H:%M:%S"))).encode())
        log.flush()
        env = dict(os.environ)
        env.update(self.fed.env)
        env.update(getattr(self, "extra_env", {}))   # a test's own, for this node (tests/chaos: its clock)
        # A session of its own: a Ctrl-C at the terminal that ran run-local
        # must not reach the daemons, which outlive it.
        self._proc = subprocess.Popen(
            [self.fed.vigild, "-c", self.conf],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            cwd=self.dir, env=env, start_new_session=True)
        log.close()
        with open(self.pid_file, "w") as fh:
            fh.write("%d\n" % self._proc.pid)
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout=START_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise FederationError("%s exited while starting; last lines of %s:\n%s"
                                      % (self.name, self.log, self.log_tail()))
            rc, doc = self.ctl("status", timeout=5)
            if rc == 0 and isinstance(doc, dict) and doc.get("id") == self.id:
                return doc
            last = doc
            time.sleep(0.1)
        raise FederationError("%s did not answer status within %.0f s (last answer: %s); "
                              "last lines of %s:\n%s" % (self.name, timeout, last,
                                                         self.log, self.log_tail()))

    def _signal(self, sig):
        pid = self.pid
        if pid is None:
            return False
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return False
        return True

    def _wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None:
                try:
                    self._proc.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    continue
                return True
            if not self.alive():
                return True
            time.sleep(0.05)
        return not self.alive()

    def _forget(self):
        if self._proc is not None and self._proc.poll() is not None:
            self.last_exit = self._proc.returncode
        self._proc = None
        try:
            os.unlink(self.pid_file)
        except FileNotFoundError:
            pass

    def stop(self, grace=STOP_GRACE_S):
        """SIGTERM, wait up to GRACE seconds, then SIGKILL. True if it had to
        be killed (a clean stop is part of the contract)."""
        killed = False
        if self._signal(signal.SIGTERM) and not self._wait_exit(grace):
            _log("%s did not stop within %.0f s of SIGTERM: SIGKILL" % (self.name, grace))
            self._signal(signal.SIGKILL)
            self._wait_exit(5)
            killed = True
        self._forget()
        return killed

    def kill(self):
        """kill -9, as a crash would."""
        self._signal(signal.SIGKILL)
        self._wait_exit(5)
        self._forget()

    def restart(self, wait=True):
        self.stop()
        self.start(wait=wait)

    def log_tail(self, n=20):
        try:
            with open(self.log, errors="replace") as fh:
                return "".join(fh.readlines()[-n:])
        except FileNotFoundError:
            return "(no log)"

    # -- vigilctl ----------------------------------------------------------

    def ctl(self, *args, as_identity=None, json_output=True, timeout=30):
        """Run vigilctl against this node. Returns (exit status, parsed JSON
        document); if stdout is not JSON, the document is
        {"error": <output>, "article": None, "raw": True}."""
        argv = [self.fed.vigilctl, "-c", self.ctl_conf]
        if as_identity:
            argv += ["--as", as_identity]
        if json_output:
            argv.append("--json")
        argv += [str(a) for a in args]
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=timeout)
        except FileNotFoundError:
            return 127, {"error": "%s not found: build first" % self.fed.vigilctl,
                         "article": None, "raw": True}
        except subprocess.TimeoutExpired:
            return 124, {"error": "vigilctl %s timed out after %d s"
                         % (" ".join(map(str, args)), timeout), "article": None, "raw": True}
        if not json_output:
            return r.returncode, r.stdout
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            doc = {"error": (r.stdout + r.stderr).strip(), "article": None, "raw": True}
        return r.returncode, doc

    def describe(self):
        return {"name": self.name, "tier": self.tier, "id": self.id,
                "parent": self.parent, "control_port": self.control_port,
                "downlink_port": self.downlink_port, "gate_port": self.gate_port, "dbname": self.dbname}


class Federation:
    """A federation of vigild nodes under one base directory.

    NODES is a list of (name, tier, id, parent_name_or_None), parents before
    children. Nothing happens until setup() or start()."""

    def __init__(self, base, nodes, pg_dir, pg_port, base_port,
                 build=None, db_prefix="vigil_", heartbeat_ms=None,
                 link=None, log_level="info", env=None, emergency=None, gate=None):
        self.base = os.path.abspath(base)
        self.pg_dir = os.path.abspath(pg_dir)
        self.pg_port = int(pg_port)
        self.base_port = int(base_port)
        self.build = os.path.abspath(build or os.environ.get("VIGIL_BUILD")
                                     or os.path.join(SOURCE_DIR, "build"))
        self.vigild = os.path.join(self.build, "cmd", "vigild", "vigild")
        self.vigilctl = os.path.join(self.build, "cmd", "vigilctl", "vigilctl")
        self.db_prefix = db_prefix
        self.link = dict(link or {})
        self.emergency = dict(emergency or {})   # [emergency] keys
        self.gate = dict(gate or {})             # [gate] keys beyond listen (stations)
        if heartbeat_ms is not None:
            self.link["heartbeat_ms"] = int(heartbeat_ms)
        self.log_level = log_level
        self.env = dict(env or {})
        self.nodes = []
        self._by_name = {}
        for i, spec in enumerate(nodes):
            if isinstance(spec, dict):
                spec = (spec["name"], spec["tier"], spec["id"], spec.get("parent"))
            name, tier, node_id, parent = spec
            if name in self._by_name:
                raise FederationError("node %s listed twice" % name)
            if parent is not None and parent not in self._by_name:
                raise FederationError("node %s: parent %s must be listed before it"
                                      % (name, parent))
            n = Node(self, i, name, tier, node_id, parent)
            self.nodes.append(n)
            self._by_name[name] = n

    # -- description on disk (for the command line) -------------------------

    def describe(self):
        return {"base": self.base, "pg_dir": self.pg_dir, "pg_port": self.pg_port,
                "base_port": self.base_port, "build": self.build,
                "db_prefix": self.db_prefix, "link": self.link,
                "emergency": self.emergency, "gate": self.gate, "log_level": self.log_level,
                "nodes": [n.describe() for n in self.nodes]}

    def save(self):
        os.makedirs(self.base, exist_ok=True)
        _write_if_changed(os.path.join(self.base, "federation.json"),
                          json.dumps(self.describe(), indent=2) + "\n")

    @classmethod
    def load(cls, base, build=None):
        path = os.path.join(os.path.abspath(base), "federation.json")
        try:
            with open(path) as f:
                d = json.load(f)
        except FileNotFoundError:
            raise FederationError("%s not found: no federation was set up under %s"
                                  % (path, base)) from None
        return cls(d["base"], d["nodes"], d["pg_dir"], d["pg_port"], d["base_port"],
                   build=build or d["build"], db_prefix=d["db_prefix"],
                   link=d.get("link"), log_level=d.get("log_level", "info"),
                   emergency=d.get("emergency"), gate=d.get("gate"))

    # -- access ------------------------------------------------------------

    def node(self, name):
        try:
            return self._by_name[name]
        except KeyError:
            raise FederationError("no node named %s" % name) from None

    def ctl(self, name, *args, as_identity=None, timeout=30):
        """vigilctl --json against node NAME: (exit status, parsed JSON)."""
        return self.node(name).ctl(*args, as_identity=as_identity, timeout=timeout)

    def confer(self, badge, unit, role, timeout=20):
        """Art 19: confer ROLE (principal, commander) on officer BADGE of
        node UNIT the way the regulation wants it: by an admin of the node
        above UNIT, or at the city by its two admins. Waits until the node
        above knows the officer (officers replicate up) and until UNIT holds
        the live conferral. Returns the conferral's ID."""
        n = self.node(unit)
        at = n.parent or unit
        deadline = time.time() + timeout
        while True:
            rc, doc = self.ctl(at, "officer", "confer", badge, "--role", role)
            if rc == 0:
                break
            if "no active officer" not in str(doc) or time.time() > deadline:
                raise FederationError("officer confer %s --role %s at %s: %s" % (badge, role, at, doc))
            time.sleep(0.2)
        if not n.parent:
            doc = self.ctl_ok(at, "officer", "confer", badge, "--role", role,
                              as_identity=n.admin2_key)
        while True:
            rc, held = self.ctl(unit, "officer", "conferrals")
            if rc == 0 and any(c["badge"] == badge and c["role"] == role and c["live"]
                               for c in held or []):
                return doc["id"]
            if time.time() > deadline:
                raise FederationError("conferral of %s on %s never live at %s: %s" % (role, badge, unit, held))
            time.sleep(0.2)

    def ctl_ok(self, name, *args, as_identity=None, timeout=30):
        """Like ctl(), but returns only the document and raises
        FederationError unless vigilctl exits 0."""
        rc, doc = self.ctl(name, *args, as_identity=as_identity, timeout=timeout)
        if rc != 0:
            raise FederationError("vigilctl %s at %s: exit %d: %s"
                                  % (" ".join(map(str, args)), name, rc, doc))
        return doc

    # -- building ----------------------------------------------------------

    def pg(self, *args):
        return _run([PG_SCRIPT] + [str(a) for a in args], "deploy/pg " + " ".join(map(str, args)))

    def setup(self):
        """Keys, identities, databases and configuration files; idempotent."""
        for exe in (self.vigild, self.vigilctl):
            if not os.access(exe, os.X_OK):
                raise FederationError("%s not found: build first (ninja -C %s)"
                                      % (exe, self.build))
        self.save()
        for n in self.nodes:
            n.keygen()
        for n in self.nodes:
            self.pg("createdb", self.pg_dir, self.pg_port, n.dbname)
        for n in self.nodes:
            n.write_configs()

    def enroll(self, child):
        """Enrol CHILD at its parent; an 'already enrolled' answer is fine."""
        parent = child.parent_node()
        rc, doc = parent.ctl("node", "enroll", child.id, "--public-key",
                             child.public_key, "--sign-key", child.sign_key,
                             "--name", child.name)
        if rc == 0:
            return
        msg = str(doc.get("error", doc)) if isinstance(doc, dict) else str(doc)
        if "already" in msg.lower():
            return
        raise FederationError("enrolling %s at %s failed (exit %d): %s"
                              % (child.name, parent.name, rc, msg))

    def start(self, wait=True):
        """Set up, then start every node top-down, enrolling each child at
        its parent first. Nodes that already run are left alone."""
        self.setup()
        for n in self.nodes:
            if n.parent:
                self.enroll(n)
            if n.alive():
                _log("%s already runs (pid %d)" % (n.name, n.pid))
                continue
            n.start(wait=wait)
            _log("%s started (pid %d, control %s)" % (n.name, n.pid, n.control_endpoint))

    def stop(self):
        """Stop every node, children first (so parents see clean goodbyes)."""
        forced = []
        for n in reversed(self.nodes):
            if n.alive():
                if n.stop():
                    forced.append(n.name)
            else:
                n._forget()
        return forced

    def drop_databases(self):
        for n in self.nodes:
            try:
                self.pg("dropdb", self.pg_dir, self.pg_port, n.dbname)
            except FederationError as e:
                _log(str(e))

    def status(self):
        """One dict per node: name, id, tier, pid, control endpoint and, if
        it runs, its `vigilctl status` answer."""
        out = []
        for n in self.nodes:
            d = {"name": n.name, "id": n.id, "tier": n.tier, "pid": n.pid,
                 "control": n.control_endpoint, "status": None}
            if d["pid"]:
                rc, doc = n.ctl("status", timeout=5)
                d["status"] = doc if rc == 0 else {"error": doc}
            out.append(d)
        return out

    def remove(self):
        """Stop everything and delete the base directory."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


# -- command line -----------------------------------------------------------

def _parse_node(s):
    parts = s.split(":")
    if len(parts) not in (3, 4):
        raise argparse.ArgumentTypeError("--node wants NAME:TIER:ID[:PARENT], not %r" % s)
    return (parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 and parts[3] else None)


def _print_status(fed):
    rows = fed.status()
    print("%-10s %-9s %-20s %-8s %-22s %s" % ("NODE", "TIER", "ID", "PID", "CONTROL", "LINKS"))
    for r in rows:
        st = r["status"]
        links = "-"
        if isinstance(st, dict) and "children" in st:
            parts = []
            if st.get("parent"):
                parts.append("parent " + ("up" if st["parent"].get("online") else "DOWN"))
            ch = st.get("children") or []
            if ch:
                parts.append("%d/%d children up" % (sum(1 for c in ch if c.get("online")), len(ch)))
            links = ", ".join(parts) or "-"
        elif st is not None:
            err = st.get("error")
            if isinstance(err, dict):
                err = err.get("error")
            links = "not answering: %s" % err
        print("%-10s %-9s %-20s %-8s %-22s %s" % (
            r["name"], r["tier"], r["id"], r["pid"] or "stopped", r["control"], links))
    return 0 if all(r["pid"] for r in rows) else 3


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build and drive a local vigil federation.")
    ap.add_argument("--base", required=True, help="base directory (one folder per node)")
    ap.add_argument("--build", help="build directory (default $VIGIL_BUILD or build/)")
    ap.add_argument("--pg-dir", help="deploy/pg cluster directory (start)")
    ap.add_argument("--pg-port", type=int, help="PostgreSQL port (start)")
    ap.add_argument("--base-port", type=int, help="first TCP port (start)")
    ap.add_argument("--topology", choices=["seven"], help="a ready-made topology")
    ap.add_argument("--node", action="append", type=_parse_node, default=[],
                    metavar="NAME:TIER:ID[:PARENT]", help="a node (repeat; parents first)")
    ap.add_argument("--heartbeat-ms", type=int)
    ap.add_argument("--db-prefix", default="vigil_")
    ap.add_argument("--json", action="store_true", help="status as JSON")
    ap.add_argument("command", choices=["start", "stop", "status", "kill", "restart",
                                        "stop-node", "start-node"])
    ap.add_argument("name", nargs="?", help="node name (kill, restart, stop-node, start-node)")
    a = ap.parse_args(argv)

    try:
        if a.command == "start":
            nodes = list(SEVEN) if a.topology == "seven" else []
            nodes += a.node
            if not nodes or a.pg_dir is None or a.pg_port is None or a.base_port is None:
                ap.error("start needs --pg-dir, --pg-port, --base-port and "
                         "--topology or --node")
            fed = Federation(a.base, nodes, a.pg_dir, a.pg_port, a.base_port,
                             build=a.build, db_prefix=a.db_prefix,
                             heartbeat_ms=a.heartbeat_ms)
            fed.start()
            return 0
        base_json = os.path.join(os.path.abspath(a.base), "federation.json")
        if a.command in ("stop", "status") and not os.path.exists(base_json):
            print("localfed: no federation under %s" % a.base)
            return 0 if a.command == "stop" else 3
        fed = Federation.load(a.base, build=a.build)
        if a.command == "stop":
            forced = fed.stop()
            _log("stopped %d node(s)%s" % (len(fed.nodes), (
                "; had to SIGKILL: " + ", ".join(forced)) if forced else ""))
            return 0
        if a.command == "status":
            if a.json:
                print(json.dumps(fed.status(), indent=2))
                return 0
            return _print_status(fed)
        if not a.name:
            ap.error("%s needs a node name" % a.command)
        n = fed.node(a.name)
        if a.command == "kill":
            n.kill()
        elif a.command == "restart":
            n.restart()
        elif a.command == "stop-node":
            n.stop()
        elif a.command == "start-node":
            n.start()
        return 0
    except FederationError as e:
        _log(str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
