#!/usr/bin/python3
"""A database the daemon cannot undo (issue 15, Deliver 5 and 3; Art 19,
20, 23(5); schema/README.md "Roles"):

* `vigild migrate` (run by the harness before each start) applies the
  schema as the owner and makes the daemon's login role; vigild logs in as
  that role, a member of vigil_writer only. In yuelu-1's database, with
  the very conninfo the daemon uses, that role cannot INSERT INTO grants,
  UPDATE officers, do either after RESET ROLE, SET ROLE to the owner or
  the superuser, or change or remove the access log, its head or its
  alarms; it reads what it needs. It cannot connect to the city's
  database either (one cluster holds both here).
* audit_head only advances along the chain, even for the superuser's
  session (a trigger): not by two, not to a hash the log does not hold.
* vigild refuses to start on a schema that is not its own ("run `vigild
  migrate`") and as a role that can reach the owner (the superuser);
  `vigild migrate` refuses to make a daemon of a role that is a member
  of the owner.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, TestFederation, psql, step  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
PSQL = "/usr/lib/postgresql/15/bin/psql"


def conninfo_of(node):
    """[database] conninfo of NODE's vigild.conf: what the daemon logs in with."""
    with open(node.conf) as f:
        for line in f:
            if line.startswith("conninfo = "):
                return line.split(" = ", 1)[1].strip()
    raise AssertionError("no conninfo in %s" % node.conf)


def as_daemon(node, query, dbname=None):
    """QUERY as NODE's daemon role: (exit status, output, errors)."""
    ci = conninfo_of(node)
    if dbname:
        ci = ci.replace("dbname=%s" % node.dbname, "dbname=%s" % dbname)
    r = subprocess.run([PSQL, "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", ci, "-c", query],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def refused(node, query, why="permission denied"):
    rc, out, err = as_daemon(node, query)
    assert rc != 0 and why in err, "the daemon's role did %r (exit %d): %s %s" % (query, rc, out, err)


def main():
    with TestFederation("dbroles", NODES, heartbeat_ms=500) as fed:
        fed.start()
        st = fed.node("yuelu-1")
        role = st.dbname
        r = subprocess.run([fed.vigilctl, "keygen", os.path.join(fed.tmp, "op.key"), "--name", "op"],
                           stdout=subprocess.PIPE, text=True, check=True)
        fed.ctl_ok("yuelu-1", "officer", "add", "--badge", "y1-op", "--name", "operator", "--credential", "C1",
                   "--roles", "operator", "--public-key", r.stdout.strip().splitlines()[0])

        rc, out, err = as_daemon(st, "SELECT session_user, current_user, "
                                     "(SELECT rolsuper FROM pg_roles WHERE rolname = session_user)")
        assert rc == 0 and out == "%s|%s|f" % (role, role), (out, err)
        rc, out, err = as_daemon(st, "SELECT count(*) FROM grants; SELECT count(*) FROM officers")
        assert rc == 0, err
        step("yuelu-1's daemon logs in as %s, no superuser; it reads grants and officers" % role)

        refused(st, "INSERT INTO grants (request_id, version, cameras, actions, officers, valid_until) "
                    "VALUES ('forged', 1, '{}', '{view-live}', '{x}', now() + interval '1 day')")
        refused(st, "UPDATE officers SET roles = '{principal}'")
        refused(st, "INSERT INTO officers (badge, name, unit, credential, roles, public_key, version) "
                    "VALUES ('ghost', 'g', 'x', 'c', '{principal}', 'k', 1)")
        # Snapshot bookkeeping touches only rows that came through a child
        # (row security): an officer registered here stays.
        rc, out, err = as_daemon(st, "DELETE FROM officers; UPDATE officers SET snapshot_mark = true; "
                                     "SELECT count(*) FROM officers WHERE NOT snapshot_mark")
        assert rc == 0 and out == "1", (out, err)
        refused(st, "UPDATE emergencies SET ends_at = now() + interval '1 year'")
        refused(st, "RESET ROLE; INSERT INTO grants (request_id) VALUES ('forged')")
        refused(st, "RESET ROLE; UPDATE officers SET active = true")
        refused(st, "SET ROLE vigil_owner")
        refused(st, "SET ROLE postgres")
        step("it cannot write grants, officers or emergencies (bar a snapshot's marks on rows from below), "
             "before or after RESET ROLE, "
             "nor SET ROLE to the owner or the superuser")

        for q in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                  "UPDATE audit_head SET seq = seq + 1", "DELETE FROM audit_head",
                  "INSERT INTO audit_head (one, seq, hash) VALUES (true, 0, '\\x00')",
                  "UPDATE audit_alarms SET detail = 'x'", "DELETE FROM audit_alarms",
                  "DELETE FROM audit_copies", "DELETE FROM audit_checkpoints",
                  "DELETE FROM schema_migrations"):
            refused(st, q)
        step("nor change or remove the access log, its head, its alarms, the copies, the checkpoints "
             "or the record of migrations")

        rc, out, err = as_daemon(st, "SELECT 1", dbname=fed.node("city").dbname)
        assert rc != 0 and "permission denied for database" in err, (rc, out, err)
        step("nor connect to the city's database in the same cluster")

        # The head of the chain, even for the superuser's session.
        rc, out, err = psql(fed, "yuelu-1", "UPDATE audit_head SET seq = seq + 2")
        assert rc != 0 and "only advances to the next record" in err, err
        rc, out, err = psql(fed, "yuelu-1", "UPDATE audit_head SET seq = seq + 1, hash = sha256('forged')")
        assert rc != 0 and "does not hold" in err, err
        step("audit_head only advances along the chain, even for the superuser")

        # A stale schema: the daemon refuses, naming the fix.
        st.stop()
        rc, _, err = psql(fed, "yuelu-1", "UPDATE schema_function_files SET sha256 = 'old' "
                                          "WHERE name = 'functions/privileges.sql'")
        assert rc == 0, err
        r = subprocess.run([fed.vigild, "-c", st.conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        assert r.returncode == 1 and "run `vigild migrate" in r.stderr \
            and "functions/privileges.sql" in r.stderr, (r.returncode, r.stderr[-600:])
        step("a schema not its own: vigild refuses to start, saying run `vigild migrate`")

        # As the superuser: refused.
        su_conf = os.path.join(fed.tmp, "superuser.conf")
        with open(st.conf) as f, open(su_conf, "w") as g:
            g.write(f.read().replace("user=%s" % role, "user=postgres"))
        r = subprocess.run([fed.vigild, "-c", su_conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        assert r.returncode == 1 and "a superuser" in r.stderr, (r.returncode, r.stderr[-600:])
        step("as the superuser: vigild refuses to start")

        # A daemon role that can reach the owner: migrate refuses it.
        rc, _, err = psql(fed, "yuelu-1", "GRANT vigil_owner TO %s" % role)
        assert rc == 0, err
        r = subprocess.run([fed.vigild, "migrate", "-c", st.conf, "--owner", "user=postgres"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        assert r.returncode == 1 and "can reach vigil_owner" in r.stderr, (r.returncode, r.stderr)
        rc, _, err = psql(fed, "yuelu-1", "REVOKE vigil_owner FROM %s" % role)
        assert rc == 0, err
        step("a daemon role that can reach the owner: vigild migrate refuses it")

        # Migrated again, it starts (and the log still verifies).
        st.start()
        rc, doc = fed.ctl("yuelu-1", "audit", "verify")
        assert rc == 0 and doc["ok"] is True, doc
        step("migrated again: yuelu-1 starts; its log verifies")
    step("ok")


if __name__ == "__main__":
    main()
