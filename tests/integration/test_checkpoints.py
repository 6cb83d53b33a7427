#!/usr/bin/python3
"""Signed checkpoints of the access log (DESIGN.md "Audit"; schema/functions/audit.sql):

* yuelu-1 signs the head of its log when it grows (at most every 10 s:
  with a batch of the log sent up, or by itself); the checkpoint goes up
  with the log: the city holds it, and `audit checkpoints --node yuelu-1
  --key-file yuelu-1's sign.pub` at the city checks, in vigilctl, that the
  signature is yuelu-1's and that the city's copy has that hash at that
  record; yuelu-1's own log checks the same way;
* the city, with no parent to send its log to, signs its own head too;
* with another node's key, the signatures do not verify (exit 1);
* the city's copy rewritten at the city (as superuser, round the triggers)
  no longer matches what yuelu-1 signed (exit 1), though nothing else
  changed;
* vigilctl recomputes the chain from the records it fetches, trusting no
  hash the node says it holds: a record's content changed at yuelu-1 (as
  superuser, its stored hashes left alone) fails, naming that record;
* no checkpoint at all fails (exit 1, saying so), and so does a stale
  list: records that no checkpoint covers, the first older than a minute;
  without the node's key nothing is verified (exit 1);
* checkpoints are append-only, even for the database owner.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, TestFederation, auditor, psql, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}


def main():
    with TestFederation("checkpoints", NODES, heartbeat_ms=500) as fed:
        fed.start()
        for i in range(3):      # three records in yuelu-1's log
            r = subprocess.run([fed.vigilctl, "keygen", os.path.join(fed.tmp, "o%d.key" % i), "--name", "o%d" % i],
                               stdout=subprocess.PIPE, text=True, check=True)
            fed.ctl_ok("yuelu-1", "officer", "add", "--badge", "y1-op-%d" % i, "--name", "operator",
                       "--credential", "C%d" % i, "--roles", "operator",
                       "--public-key", r.stdout.strip().splitlines()[0])
        # Checkpoints are checked against the records (audit.records):
        # auditors read them, not admins. Registered first: a registration
        # is a record too.
        readers = {at: auditor(fed, at) for at in ("yuelu-1", "city")}
        head = fed.ctl_ok("yuelu-1", "audit", "verify")["records"]   # an admin counts; auditors read records
        own_key = os.path.join(fed.node("yuelu-1").key_dir, "sign.pub")
        other_key = os.path.join(fed.node("yuelu").key_dir, "sign.pub")

        def checkpoints(at, key, node=ID["yuelu-1"]):
            return fed.ctl(at, "audit", "checkpoints", "--node", node, "--key-file", key, as_identity=readers[at])

        def signed_head(at):
            rc, doc = checkpoints(at, own_key)
            cps = doc.get("checkpoints") or []
            return doc if cps and cps[-1]["seq"] == head else None
        # Signed with a batch sent up, or by the 2 s sweep, at most every
        # 10 s (lib/audit.c).
        doc = wait_until(lambda: signed_head("city"), 30, what="yuelu-1's checkpoint of record %d at the city" % head)
        assert doc["verified"] is True and all(c["signature_valid"] and c["matches_held"]
                                               for c in doc["checkpoints"]), doc
        rc, own = checkpoints("yuelu-1", own_key)
        assert rc == 0 and own["verified"] is True and own["checkpoints"][-1]["seq"] == head, own
        step("yuelu-1 signed record %d; checked at the city against its copy, and at yuelu-1" % head)

        # The city has no parent to send its log to: it signs its own head.
        r = subprocess.run([fed.vigilctl, "keygen", os.path.join(fed.tmp, "c.key"), "--name", "c"],
                           stdout=subprocess.PIPE, text=True, check=True)
        fed.ctl_ok("city", "officer", "add", "--badge", "city-op", "--name", "operator", "--credential", "C9",
                   "--roles", "operator", "--public-key", r.stdout.strip().splitlines()[0])
        city_head = fed.ctl_ok("city", "audit", "verify")["records"]
        city_key = os.path.join(fed.node("city").key_dir, "sign.pub")

        def city_signed():
            rc, d = checkpoints("city", city_key, node=ID["city"])
            cps = d.get("checkpoints") or []
            return d if rc == 0 and cps and cps[-1]["seq"] == city_head and d["verified"] else None
        wait_until(city_signed, 30, what="the city's checkpoint of its own record %d" % city_head)
        step("the city signed its own log's head")

        rc, doc = checkpoints("city", other_key)
        assert rc == 1 and doc["verified"] is False and not doc["checkpoints"][-1]["signature_valid"], doc
        rc, out = fed.node("city").ctl("audit", "checkpoints", "--node", ID["yuelu-1"], json_output=False,
                                       as_identity=readers["city"])
        assert rc == 1 and "NOT checked" in out, "without a key: %s" % out
        step("another node's key does not verify them; without a key nothing is claimed (exit 1)")

        # No checkpoint held: nothing vouches for the log (issue 15).
        rc, doc = checkpoints("city", own_key, node="43010402002000000001")
        assert rc == 1 and doc["verified"] is False and "no checkpoint" in doc["reason"], doc
        step("no checkpoint: exit 1, saying so")

        # A record's content changed in yuelu-1's own log, its stored hash
        # left as it was: the node's held hash at the checkpoint still
        # matches, the recomputation does not.
        rc, _, err = psql(fed, "yuelu-1", "SET session_replication_role = replica; "
                                         "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
        assert rc == 0, err
        rc, doc = checkpoints("yuelu-1", own_key)
        assert rc == 1 and doc["verified"] is False and doc["first_bad_seq"] == 2 \
            and "record 2" in doc["reason"], doc
        assert doc["checkpoints"][-1]["matches_held"] is True, doc     # what the old check trusted
        step("a record changed at yuelu-1: recomputed here, record 2 named")

        rc, _, err = psql(fed, "city", "SET session_replication_role = replica; UPDATE audit_copies "
                                      "SET hash = sha256('rewritten') WHERE node_id = '%s' AND seq = %d"
                                      % (ID["yuelu-1"], head))
        assert rc == 0, err
        rc, doc = checkpoints("city", own_key)
        assert rc == 1 and doc["verified"] is False and doc["checkpoints"][-1]["matches_held"] is False \
            and doc["checkpoints"][-1]["signature_valid"] is True and doc["first_bad_seq"] == head, doc
        step("the city's copy rewritten at the city no longer matches what yuelu-1 signed")

        # Stale: a record in the city's copy of yuelu-1's log, correctly
        # chained, written five minutes ago, that no checkpoint covers
        # (here put there by the superuser; in life, a node that stopped
        # signing or checkpoints held back).
        rc, _, err = psql(fed, "city", "SET session_replication_role = replica; "
                                      "UPDATE audit_copies SET hash = sha256(prev_hash || audit_canonical_copy(audit_copies)) "
                                      "WHERE node_id = '%s' AND seq = %d" % (ID["yuelu-1"], head))
        assert rc == 0, err
        rc, doc = checkpoints("city", own_key)
        assert rc == 0 and doc["verified"] is True, doc
        rc, _, err = psql(fed, "city", "INSERT INTO audit_copies (node_id, seq, at, actor, action, outcome, "
                                      "prev_hash, hash, via) SELECT node_id, seq + 1, now() - interval '5 minutes', "
                                      "'x', 'view', 'ok', hash, '\\x', via FROM audit_copies WHERE node_id = '%s' "
                                      "AND seq = %d" % (ID["yuelu-1"], head))
        assert rc == 0, err
        rc, _, err = psql(fed, "city", "SET session_replication_role = replica; UPDATE audit_copies "
                                      "SET hash = sha256(prev_hash || audit_canonical_copy(audit_copies)) "
                                      "WHERE node_id = '%s' AND seq = %d" % (ID["yuelu-1"], head + 1))
        assert rc == 0, err
        rc, doc = checkpoints("city", own_key)
        assert rc == 1 and doc["stale"] is True and doc["first_bad_seq"] is None \
            and "record" in doc["reason"] and "%d" % (head + 1) in doc["reason"], doc
        step("a record older than a minute that no checkpoint covers: stale, exit 1")

        rc, _, err = psql(fed, "city", "UPDATE audit_checkpoints SET seq = seq + 1")
        assert rc != 0 and "append-only" in err, "UPDATE of checkpoints: %s" % err
        rc, _, err = psql(fed, "city", "SET ROLE vigil_writer; DELETE FROM audit_checkpoints")
        assert rc != 0 and "permission denied" in err, "vigil_writer deleting checkpoints: %s" % err
        step("checkpoints are append-only")
    step("ok")


if __name__ == "__main__":
    main()
