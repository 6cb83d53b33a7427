"""Lawful access (issue "Lawful access"), the part at the filing node:

* officers registered by an admin of their unit's node replicate up: the
  city knows yuelu's principal and deputy, and admits them by their keys;
  an officer nobody registered cannot get in;
* a single-officer request is refused with Art 20(1); a request without an
  approval document with Art 20(3); an officer without a credential on file
  cannot be named (Art 20(2));
* two city investigators file and countersign a request for a yuelu-1
  camera; the furong principal may not approve it (Art 19), nor a yuelu
  deputy whose delegation has expired (Art 19); the yuelu principal
  approves; then revokes;
* every step, refusals included, is in the city's access log, whose chain
  verifies; changing one record directly in the database (as superuser) is
  found by `audit verify` at exactly that record; the log refuses UPDATE
  and DELETE even from the database owner.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, FederationError, TestFederation, psql, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "furong", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
CAMERA = "43010401001310000001"

OFFICERS = [  # badge, unit, roles
    ("city-inv-1", "city", "investigator,operator"),
    ("city-inv-2", "city", "investigator,operator"),
    ("city-principal", "city", "principal"),
    ("yuelu-principal", "yuelu", "principal"),
    ("yuelu-deputy", "yuelu", "deputy"),
    ("furong-principal", "furong", "principal"),
    ("city-op", "city", "operator"),
    # The records are read by auditors (lib/control/policy.c): an admin reads none.
    ("city-auditor", "city", "auditor"),
    ("y1-auditor", "yuelu-1", "auditor"),
]


def main():
    with TestFederation("access", NODES, heartbeat_ms=500) as fed:
        fed.start()
        ids = os.path.join(fed.tmp, "officers")
        os.makedirs(ids)
        key = {}
        for badge, unit, roles in OFFICERS + [("intruder", None, None)]:
            path = os.path.join(ids, badge + ".key")
            r = subprocess.run([fed.vigilctl, "keygen", path, "--name", badge], stdout=subprocess.PIPE,
                               text=True, check=True)
            key[badge] = (path, r.stdout.strip().splitlines()[0])
            if unit:
                # Art 19: a principal is conferred from above, not registered.
                fed.ctl_ok(unit, "officer", "add", "--badge", badge, "--name", badge.replace("-", " "),
                           "--credential", "CRED-" + badge.upper(),
                           "--roles", "operator" if roles in ("principal", "auditor") else roles,
                           "--public-key", key[badge][1])
        for badge, unit, roles in OFFICERS:
            if roles in ("principal", "auditor"):
                fed.confer(badge, unit, roles)
        step("6 officers registered at their units; the principals conferred from above")

        def as_(badge, node, *args):
            return fed.ctl(node, *args, as_identity=key[badge][0])

        # Officers replicate up: the city knows yuelu's and furong's.
        def city_knows():
            rc, doc = as_("city-auditor", "city", "officer", "list")
            return rc == 0 and {o["badge"] for o in doc} >= {b for b, _, _ in OFFICERS}
        wait_until(city_knows, 15, what="every officer known at the city")
        rc, doc = as_("yuelu-principal", "yuelu", "delegation", "add", "--deputy", "yuelu-deputy",
                      "--from", "2020-01-01T00:00:00Z", "--until", "2020-01-02T00:00:00Z")
        assert rc == 0, "delegation: %s" % doc
        wait_until(lambda: as_("city-auditor", "city", "delegation", "list")[1] not in ([], None), 15,
                   what="the (expired) delegation known at the city")
        step("officers and the delegation replicated to the city")

        # An identity nobody registered cannot exchange a single message.
        rc, doc = as_("intruder", "city", "access", "list")
        assert rc != 0, "an unregistered identity was answered: %s" % doc
        # An officer acts as themselves on a request; an admin cannot file one.
        rc, doc = fed.ctl("city", "access", "request", "--camera", CAMERA, "--officer", "city-inv-1",
                          "--officer", "city-inv-2", "--case", "C1", "--purpose", "p", "--actions", "view-live",
                          "--approval-doc", "D1")
        assert rc == 1 and doc.get("article") == "Art 20(1)", "admin filing: %s" % doc

        # A camera for the request.
        fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
        fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu police", "--retention-days", "30")
        fed.ctl_ok("yuelu-1", "camera", "add", "--id", CAMERA, "--name", "north", "--system", "gov",
                   "--site", "s1", "--stream-url", "rtsp://10.0.0.1/live")
        wait_until(lambda: fed.ctl("city", "camera", "show", CAMERA)[0] == 0, 15, what="the camera at the city")

        base = ["access", "request", "--camera", CAMERA, "--case", "2026-YL-0042", "--purpose",
                "theft investigation", "--actions", "view-live"]
        rc, doc = as_("city-inv-1", "city", *(base + ["--officer", "city-inv-1", "--approval-doc", "D1"]))
        assert rc == 1 and doc.get("article") == "Art 20(1)", "single officer: %s" % doc
        rc, doc = as_("city-inv-1", "city", *(base + ["--officer", "city-inv-1", "--officer", "city-inv-2"]))
        assert rc == 1 and doc.get("article") == "Art 20(3)", "no approval document: %s" % doc
        rc, doc = as_("city-inv-1", "city", *(base + ["--officer", "city-inv-1", "--officer", "nobody",
                                                      "--approval-doc", "D1"]))
        assert rc == 1 and doc.get("article") == "Art 20(2)", "unregistered officer: %s" % doc
        rc, doc = as_("city-inv-1", "city", "access", "request", "--camera", CAMERA, "--officer", "city-inv-1",
                      "--officer", "city-inv-2", "--case", "C", "--purpose", "p", "--actions", "copy",
                      "--approval-doc", "D1")
        assert rc == 1 and doc.get("article") == "Art 20(4)", "copy without range and destination: %s" % doc
        step("Art 20(1), 20(2), 20(3), 20(4) refusals")
        # Cameras named by a query, resolved to IDs when filed.
        rc, doc = as_("city-inv-1", "city", "access", "request", "--under", ID["yuelu-1"], "--officer", "city-inv-1",
                      "--officer", "city-inv-2", "--case", "C9", "--purpose", "p", "--actions", "view-live",
                      "--approval-doc", "D9")
        assert rc == 0, "request --under: %s" % doc
        for bad in ("%", "4301%", ID["yuelu-1"][:8]):
            rc, d = as_("city-inv-1", "city", "access", "request", "--under", bad, "--officer", "city-inv-1",
                        "--officer", "city-inv-2", "--case", "C-X", "--purpose", "p", "--actions", "view-live",
                        "--approval-doc", "D")
            assert rc != 0 and "--under must be a node ID" in json.dumps(d), "--under %r: %s" % (bad, d)
        rc, reqs = as_("city-auditor", "city", "access", "list")
        assert [r["cameras"] for r in reqs if r["id"] == doc["id"]] == [[CAMERA]], "resolved cameras: %s" % reqs

        rc, doc = as_("city-inv-1", "city", *(base + ["--officer", "city-inv-1", "--officer", "city-inv-2",
                                                      "--approval-doc", "岳麓分局 批 2026-118"]))
        assert rc == 0 and doc.get("state") == "filed", "request: %s" % doc
        req = doc["id"]
        rc, doc = as_("yuelu-principal", "city", "access", "approve", req)
        assert rc == 1 and doc.get("article") == "Art 20(1)", "approved before countersigning: %s" % doc
        rc, doc = as_("city-inv-1", "city", "access", "countersign", req)
        assert rc == 1 and doc.get("article") == "Art 20(1)", "filer countersigning: %s" % doc
        rc, doc = as_("city-inv-2", "city", "access", "countersign", req)
        assert rc == 0 and doc.get("state") == "countersigned", "countersign: %s" % doc
        rc, doc = as_("furong-principal", "city", "access", "approve", req)
        assert rc == 1 and doc.get("article") == "Art 19", "furong principal: %s" % doc
        rc, doc = as_("yuelu-deputy", "city", "access", "approve", req)
        assert rc == 1 and doc.get("article") == "Art 19" and "delegation" in doc.get("error", ""), \
            "deputy with an expired delegation: %s" % doc
        rc, doc = as_("city-inv-2", "city", "access", "approve", req)
        assert rc == 1 and doc.get("article") == "Art 19", "investigator approving: %s" % doc
        rc, doc = as_("yuelu-principal", "city", "access", "approve", req)
        assert rc == 0 and doc.get("state") == "approved", "yuelu principal: %s" % doc
        step("countersigned, refused to furong's principal and an expired deputy (Art 19), approved")

        # Views: routed from the city down to yuelu-1, which alone decides.
        rc, doc = as_("city-inv-1", "city", "view", CAMERA)
        t0 = time.monotonic()
        while rc != 0 and time.monotonic() - t0 < 15:   # the grant is on its way down
            time.sleep(0.2)
            rc, doc = as_("city-inv-1", "city", "view", CAMERA)
        # The answer names the station's gate with the ticket in it, never
        # the camera's own address (Art 5; test_gate.py plays it).
        assert rc == 0 and doc.get("url") == fed.node("yuelu-1").gate_url + "/t/" + doc.get("ticket", "") \
            and "10.0.0.1" not in str(doc) and doc.get("station") == ID["yuelu-1"], \
            "view by a named officer: %s" % doc
        # The ticket: signed by yuelu-1, checked offline with its sign.pub.
        ticket = doc.get("ticket")
        pub = os.path.join(fed.node("yuelu-1").key_dir, "sign.pub")
        rc, tdoc = fed.node("city").ctl("ticket", "verify", ticket, "--key-file", pub)
        assert rc == 0 and tdoc.get("valid") is True and tdoc.get("officer") == "city-inv-1" \
            and tdoc.get("camera") == CAMERA and tdoc.get("action") == "view-live" and tdoc.get("grant") == req \
            and tdoc.get("officer_key") == key["city-inv-1"][1], "ticket: %s" % tdoc
        other = os.path.join(fed.node("yuelu").key_dir, "sign.pub")
        rc, tdoc = fed.node("city").ctl("ticket", "verify", ticket, "--key-file", other)
        assert rc == 1 and tdoc.get("valid") is False, "another station's key accepted the ticket: %s" % tdoc
        rc, tdoc = fed.node("city").ctl("ticket", "verify", ticket, "--key-file", pub, "--now", "2h")
        assert rc == 1 and "expired" in tdoc.get("reason", ""), "a ticket in two hours: %s" % tdoc
        rc, doc = as_("city-inv-2", "city", "view", CAMERA)
        assert rc == 0, "view by the second officer: %s" % doc
        rc, doc = as_("city-principal", "city", "view", CAMERA)
        assert rc == 1 and doc.get("article") == "Art 29(2)", "view by an officer not on the grant: %s" % doc
        rc, doc = as_("city-op", "city", "view", CAMERA)
        assert rc == 1 and doc.get("article") == "Art 29(2)", "view by an operator not on the grant: %s" % doc
        rc, doc = as_("city-inv-1", "city", "view", CAMERA, "--action", "copy")
        assert rc == 1 and doc.get("article") == "Art 29(2)", "an action not granted: %s" % doc
        rc, doc = fed.ctl("city", "view", CAMERA)
        assert rc == 1 and doc.get("article") == "Art 29(2)", "an admin's view: %s" % doc
        step("views: granted to the two officers at the city, refused to others (Art 29(2))")

        rc, doc = as_("yuelu-principal", "city", "access", "revoke", req, "--reason", "case closed")
        assert rc == 0 and doc.get("state") == "revoked", "revoke: %s" % doc
        wait_until(lambda: as_("city-inv-1", "city", "view", CAMERA)[0] == 1, 15,
                   what="views refused at yuelu-1 after the revocation")
        rc, doc = as_("city-inv-1", "city", "view", CAMERA)
        assert doc.get("article") == "Art 29(2)", "after revoke: %s" % doc
        # A grant that expires: refused after its time, at the station.
        # It also grants recorded material of one afternoon, and only that.
        rc, doc = as_("city-inv-1", "city", "access", "request", "--camera", CAMERA, "--officer", "city-inv-1",
                      "--officer", "city-inv-2", "--case", "C2", "--purpose", "p", "--approval-doc", "D2",
                      "--actions", "view-live,view-recorded", "--from", "2026-11-20T14:00:00Z",
                      "--to", "2026-11-20T18:00:00Z")
        req2 = doc["id"]
        assert rc == 0, "request with recorded material: %s" % doc
        assert as_("city-inv-2", "city", "access", "countersign", req2)[0] == 0
        rc, doc = as_("yuelu-principal", "city", "access", "approve", req2, "--valid-for", "4 seconds")
        assert rc == 0, "short approval: %s" % doc
        wait_until(lambda: as_("city-inv-1", "city", "view", CAMERA)[0] == 0, 10,
                   what="a view under the short grant")
        rc, doc = as_("city-inv-1", "city", "view", CAMERA, "--action", "view-recorded",
                      "--from", "2026-11-20T15:00:00Z", "--to", "2026-11-20T15:30:00Z")
        assert rc == 0 and doc.get("ticket"), "recorded material within the range: %s" % doc
        rc, doc = as_("city-inv-1", "city", "view", CAMERA, "--action", "view-recorded",
                      "--from", "2026-11-20T17:30:00Z", "--to", "2026-11-20T19:00:00Z")
        assert rc == 1 and doc.get("article") == "Art 29(2)", "recorded material past the range: %s" % doc
        time.sleep(4.2)
        rc, doc = as_("city-inv-1", "city", "view", CAMERA)
        assert rc == 1 and doc.get("article") == "Art 29(2)", "after the grant expired: %s" % doc
        step("an expired grant lets nobody view")

        # All of it is in yuelu-1's own log.
        rc, ylog = as_("y1-auditor", "yuelu-1", "audit", "list", "--limit", "100")
        views = [(r["actor"], r["action"], r["outcome"]) for r in ylog if r["camera"] == CAMERA]
        assert ("city-inv-1", "view-live", "ok") in views and ("city-principal", "view-live", "refused") in views \
            and ("city-inv-1", "copy", "refused") in views, "yuelu-1's log: %s" % views
        assert [r["action"] for r in ylog if r["request_id"] == req and r["action"].startswith("grant.")] == \
            ["grant.received", "grant.revoked"], "yuelu-1's grant records: %s" % ylog
        rc, doc = fed.ctl("yuelu-1", "audit", "verify")
        assert rc == 0 and doc.get("ok") is True, "yuelu-1 verify: %s" % doc
        step("revoked: views refused; yuelu-1's log holds every view and refusal, chain intact")

        # The log travels up: the city holds yuelu-1's records, chain intact.
        last = ylog[-1]["seq"]
        wait_until(lambda: (fed.ctl("city", "audit", "verify", "--node", ID["yuelu-1"])[1] or {}).get("records", 0)
                   >= last, 15, what="yuelu-1's log copied to the city")
        rc, doc = fed.ctl("city", "audit", "verify", "--node", ID["yuelu-1"])
        assert rc == 0 and doc.get("ok") is True, "the city's copy of yuelu-1's log: %s" % doc
        rc, copy = as_("city-auditor", "city", "audit", "list", "--node", ID["yuelu-1"], "--limit", "1000")
        assert [(r["seq"], r["hash"]) for r in copy] == [(r["seq"], r["hash"]) for r in ylog], \
            "the city's copy differs from yuelu-1's log"
        step("the city's copy of yuelu-1's log equals it (%d records) and verifies" % len(copy))

        # yuelu-1 rewrites its history consistently (its own verify passes);
        # its parent finds the fork when the next record arrives.
        rc, _, err = psql(fed, "yuelu-1", """
            SET session_replication_role = replica;
            UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 2;
            DO $$ DECLARE r audit_log; prev bytea; BEGIN
                SELECT hash INTO prev FROM audit_log WHERE seq = 1;
                FOR r IN SELECT * FROM audit_log WHERE seq >= 2 ORDER BY seq LOOP
                    UPDATE audit_log SET prev_hash = prev, hash = sha256(prev || audit_canonical(r))
                        WHERE seq = r.seq RETURNING hash INTO prev;
                END LOOP;
                UPDATE audit_head SET hash = prev;
            END $$;""")
        assert rc == 0, err
        rc, doc = fed.ctl("yuelu-1", "audit", "verify")
        assert rc == 0 and doc.get("ok") is True, "a consistent rewrite verifies locally: %s" % doc
        as_("city-inv-1", "city", "view", CAMERA)           # a new record at yuelu-1
        wait_until(lambda: (fed.ctl("yuelu", "audit", "verify", "--node", ID["yuelu-1"])[1] or {}).get("alarms", 0)
                   >= 1, 15, what="yuelu flags yuelu-1's rewritten log as a fork")
        rc, doc = fed.ctl("yuelu", "audit", "verify", "--node", ID["yuelu-1"])
        assert doc.get("ok") is False, "fork: %s" % doc
        wait_until(lambda: "access log alarm" in fed.log_since("yuelu", 0) and "kind=fork" in fed.log_since("yuelu", 0),
                   10, what="the fork alarm in yuelu's log")
        step("a rewritten history is flagged as a fork by yuelu")
        rc, _, err = psql(fed, "yuelu-1", "SET session_replication_role = replica; "
                                         "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
        assert rc == 0, err
        rc, doc = fed.ctl("yuelu-1", "audit", "verify")
        assert rc == 0 and doc.get("ok") is False and doc.get("first_bad_seq") == 3, "station tampered: %s" % doc
        step("one record changed at yuelu-1 as superuser: its verify names record 3")

        # The access log: every step, refusals included, chained.
        rc, log = as_("city-auditor", "city", "audit", "list", "--limit", "100")
        assert rc == 0, log
        steps = [(r["actor"], r["action"], r["outcome"], r["article"]) for r in log if r["request_id"] == req]
        want = [("city-inv-1", "request", "ok", None), ("yuelu-principal", "approve", "refused", "Art 20(1)"),
                ("city-inv-1", "countersign", "refused", "Art 20(1)"), ("city-inv-2", "countersign", "ok", None),
                ("furong-principal", "approve", "refused", "Art 19"), ("yuelu-deputy", "approve", "refused", "Art 19"),
                ("city-inv-2", "access.approve", "refused", "Art 19"), ("yuelu-principal", "approve", "ok", None),
                ("yuelu-principal", "revoke", "ok", None)]
        steps = [x for x in steps if not x[1].startswith("grant.")]
        assert steps == want, "the log of %s:\n%s" % (req, "\n".join(map(str, steps)))
        refusals = [r for r in log if r["action"] == "request" and r["outcome"] == "refused"]
        assert len(refusals) >= 4, "refused requests not logged: %s" % refusals
        rc, doc = fed.ctl("city", "audit", "verify")
        assert rc == 0 and doc.get("ok") is True and doc.get("records") == len(log), "verify: %s" % doc

        # Append-only, even for the database owner; a superuser who goes
        # round the triggers is found at exactly that record.
        rc, _, err = psql(fed, "city", "UPDATE audit_log SET actor = 'x' WHERE seq = 3")
        assert rc != 0 and "append-only" in err, "UPDATE of the log: %s" % err
        rc, _, err = psql(fed, "city", "DELETE FROM audit_log WHERE seq = 3")
        assert rc != 0 and "append-only" in err, "DELETE from the log: %s" % err
        rc, _, err = psql(fed, "city", "SET session_replication_role = replica; "
                                      "UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 5")
        assert rc == 0, err
        rc, doc = fed.ctl("city", "audit", "verify")
        assert rc == 0 and doc.get("ok") is False and doc.get("first_bad_seq") == 5, "tampered: %s" % doc
        step("access log: %d records, chain verified; tampering found at record 5" % len(log))

        # The daemon works as vigil_writer, which may not change the log...
        rc, _, err = psql(fed, "city", "SET ROLE vigil_writer; UPDATE audit_log SET purpose = 'x' WHERE seq = 1")
        assert rc != 0 and "permission denied" in err, "vigil_writer updating the log: %s" % err
        rc, _, err = psql(fed, "city", "SET ROLE vigil_writer; TRUNCATE audit_log")
        assert rc != 0 and "permission denied" in err, "vigil_writer truncating the log: %s" % err
        # ... and it is that role the daemon works as: without its right to
        # append, the city can log nothing, so it decides nothing.
        psql(fed, "city", "REVOKE INSERT ON audit_log FROM vigil_writer")
        rc, doc = as_("city-inv-1", "city", "access", "countersign", req)
        psql(fed, "city", "GRANT INSERT ON audit_log TO vigil_writer")
        assert rc == 1 and "permission denied" in doc.get("error", ""), "the daemon's role: %s" % doc
        step("the daemon's role (vigil_writer) cannot update or truncate the log")
    step("ok")


if __name__ == "__main__":
    try:
        main()
    except FederationError as e:
        raise SystemExit("test_access: %s" % e)
