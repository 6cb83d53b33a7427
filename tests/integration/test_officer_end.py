#!/usr/bin/python3
"""An officer's powers end, and a deputy's authority is withdrawn (Art 19,
20), decided where the row lives and carried up:

* the yuelu principal withdraws the deputy's delegation at yuelu (the deputy
  may not, nor may it be withdrawn at the city, where it is a replica); the
  city learns it, and the deputy, who approved under it a moment before,
  approves nothing more (Art 19);
* an admin of the city makes an investigator inactive, saying why: their
  key is refused at once, a countersigned request naming them can no longer
  be approved (Art 20(2)), and they cannot be named in a new one; a
  connection they opened before is refused at its next request; made
  active again, they get in again;
* an officer is made inactive only at the node where they are registered;
  yuelu's deputy made inactive at yuelu is refused at the city too, once
  the change has travelled up;
* every step, and every refusal, is in the access log, chain intact.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402
from harness import SEVEN, TestFederation, auditor, register_officers, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
CAMERA = "43010401001310000001"

OFFICERS = [  # badge, unit, roles
    ("city-inv-1", "city", "investigator"),
    ("city-inv-2", "city", "investigator"),
    ("yuelu-principal", "yuelu", "principal"),
    ("yuelu-deputy", "yuelu", "deputy"),
]


def main():
    with TestFederation("offend", NODES, heartbeat_ms=500) as fed:
        fed.start()
        key = register_officers(fed, OFFICERS)

        def as_(badge, node, *args):
            return fed.ctl(node, *args, as_identity=key[badge])

        def officer_at(node, badge):
            rc, doc = fed.ctl(node, "officer", "list", as_identity=auditor(fed, node))
            return next((o for o in doc if o["badge"] == badge), None) if rc == 0 else None

        wait_until(lambda: all(officer_at("city", b) for b, _, _ in OFFICERS), 15,
                   what="every officer known at the city")
        fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
        fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu police", "--retention-days", "30")
        fed.ctl_ok("yuelu-1", "camera", "add", "--id", CAMERA, "--name", "north", "--system", "gov",
                   "--site", "s1", "--stream-url", "rtsp://10.0.0.1/live")
        wait_until(lambda: fed.ctl("city", "camera", "show", CAMERA)[0] == 0, 15, what="the camera at the city")

        def countersigned(*officers):
            args = ["access", "request", "--camera", CAMERA, "--case", "C", "--purpose", "theft",
                    "--actions", "view-live", "--approval-doc", "D"]
            for o in officers:
                args += ["--officer", o]
            rc, doc = as_(officers[0], "city", *args)
            assert rc == 0, "request: %s" % doc
            rc, c = as_(officers[1], "city", "access", "countersign", doc["id"])
            assert rc == 0, "countersign: %s" % c
            return doc["id"]

        # --- a delegation withdrawn ---------------------------------------
        rc, doc = as_("yuelu-principal", "yuelu", "delegation", "add", "--deputy", "yuelu-deputy", "--until", "1d")
        assert rc == 0, "delegation: %s" % doc
        dlg = doc["id"]

        def delegation_at_city():
            rc, doc = fed.ctl("city", "delegation", "list", as_identity=auditor(fed, "city"))
            return next((d for d in doc if d["id"] == dlg), None) if rc == 0 else None
        wait_until(lambda: (delegation_at_city() or {}).get("live"), 15, what="the live delegation at the city")
        req1 = countersigned("city-inv-1", "city-inv-2")
        rc, doc = as_("yuelu-deputy", "city", "access", "approve", req1)
        assert rc == 0 and doc["state"] == "approved", "the deputy under a live delegation: %s" % doc

        rc, doc = as_("yuelu-deputy", "yuelu", "delegation", "revoke", dlg)
        assert rc == 1 and doc.get("article") == "Art 19", "the deputy withdrawing: %s" % doc
        rc, doc = as_("yuelu-principal", "city", "delegation", "revoke", dlg)
        assert rc == 1 and doc.get("article") == "Art 19" and ID["yuelu"] in doc["error"], \
            "withdrawn where it is a replica: %s" % doc
        rc, doc = as_("yuelu-principal", "yuelu", "delegation", "revoke", dlg, "--reason", "deputy reassigned")
        assert rc == 0 and doc == {"id": dlg, "state": "revoked"}, "revoke: %s" % doc
        rc, doc = as_("yuelu-principal", "yuelu", "delegation", "revoke", dlg)
        assert rc == 1 and "already revoked" in doc["error"], "revoked twice: %s" % doc
        d = wait_until(lambda: (lambda d: d if d and d["revoked"] else None)(delegation_at_city()), 15,
                       what="the withdrawal at the city")
        assert d["live"] is False, d
        req2 = countersigned("city-inv-1", "city-inv-2")
        rc, doc = as_("yuelu-deputy", "city", "access", "approve", req2)
        assert rc == 1 and doc.get("article") == "Art 19" and "no live delegation" in doc["error"], \
            "the deputy after the withdrawal: %s" % doc
        rc, doc = as_("yuelu-principal", "city", "access", "approve", req2)
        assert rc == 0, "the principal still approves: %s" % doc
        step("delegation withdrawn at yuelu by its principal; the deputy approves nothing more at the city")

        # --- an officer made inactive -------------------------------------
        req3 = countersigned("city-inv-1", "city-inv-2")
        assert as_("city-inv-2", "city", "status")[0] == 0, "city-inv-2 is let in while active"
        rc, doc = fed.ctl("city", "officer", "deactivate", "city-inv-2")
        assert rc == 2, "a deactivation without a reason: %s" % doc
        rc, doc = as_("city-inv-1", "city", "officer", "deactivate", "city-inv-2", "--reason", "x")
        assert rc == 1 and "admin" in doc["error"], "an officer deactivating another: %s" % doc
        # A connection city-inv-2 holds open across the deactivation.
        city = fed.node("city")
        held = wire.Peer(city.control_endpoint, city.public_key, *wire.identity_keys(key["city-inv-2"]))
        held.send(wire.control_request("status", request_id=1))
        env = held.recv(5, want={"control_reply"})
        assert env and env.get(wire.CONTROL_REPLY).get("status") == 0, "held connection: %r" % env
        rc, doc = fed.ctl("city", "officer", "deactivate", "city-inv-2", "--reason", "transferred to Hunan PSB")
        assert rc == 0 and doc == {"id": "city-inv-2", "state": "inactive"}, "deactivate: %s" % doc
        rc, doc = as_("city-inv-2", "city", "status")
        assert rc == 1 and "not enrolled" in doc.get("error", ""), "an inactive officer let in: %s" % doc
        held.send(wire.control_request("access.list", request_id=2))
        env = held.recv(5, want={"control_reply"})
        reply = env.get(wire.CONTROL_REPLY) if env else {}
        assert reply.get("status") == 1 and "no longer admitted" in reply.get("error", ""), \
            "a request on a connection opened before the deactivation: %r" % reply
        held.close()
        rc, doc = as_("yuelu-principal", "city", "access", "approve", req3)
        assert rc == 1 and doc.get("article") == "Art 20(2)" and "city-inv-2" in doc["error"], \
            "approving a request naming an inactive officer: %s" % doc
        rc, doc = as_("city-inv-1", "city", "access", "request", "--camera", CAMERA, "--officer", "city-inv-1",
                      "--officer", "city-inv-2", "--case", "C", "--purpose", "p", "--actions", "view-live",
                      "--approval-doc", "D")
        assert rc == 1 and doc.get("article") == "Art 20(2)", "naming an inactive officer: %s" % doc
        assert officer_at("city", "city-inv-2")["active"] is False
        rc, doc = fed.ctl("city", "officer", "deactivate", "city-inv-2", "--reason", "again")
        assert rc == 1 and "already inactive" in doc["error"], doc
        rc, doc = fed.ctl("city", "officer", "reactivate", "city-inv-2", "--reason", "back from leave")
        assert rc == 0 and doc["state"] == "active", "reactivate: %s" % doc
        assert as_("city-inv-2", "city", "status")[0] == 0, "city-inv-2 let in again once active"
        step("city-inv-2 made inactive: locked out at once, no approval of a request naming them; active again")

        # --- only where registered; carried up ----------------------------
        rc, doc = fed.ctl("city", "officer", "deactivate", "yuelu-deputy", "--reason", "x")
        assert rc == 1 and ("registered at %s" % ID["yuelu"]) in doc["error"], "deactivated at the city: %s" % doc
        assert as_("yuelu-deputy", "city", "status")[0] == 0, "yuelu-deputy is let in at the city while active"
        rc, doc = fed.ctl("yuelu", "officer", "deactivate", "yuelu-deputy", "--reason", "retired")
        assert rc == 0, "deactivate at yuelu: %s" % doc
        assert as_("yuelu-deputy", "yuelu", "status")[0] == 1, "yuelu-deputy let in at yuelu when inactive"
        wait_until(lambda: officer_at("city", "yuelu-deputy")["active"] is False, 15,
                   what="yuelu-deputy inactive at the city")
        wait_until(lambda: as_("yuelu-deputy", "city", "status")[0] == 1, 5,
                   what="yuelu-deputy refused at the city")
        step("an officer of yuelu is made inactive only at yuelu; the city follows")

        # --- the log ------------------------------------------------------
        rc, log = fed.ctl("city", "audit", "list", "--limit", "200", as_identity=auditor(fed, "city"))
        acts = [(r["action"], r["outcome"]) for r in log if r["action"] in ("officer.deactivate",
                                                                          "officer.reactivate")]
        # The first: city-inv-1, no admin, refused by the policy (and logged).
        assert acts == [("officer.deactivate", "refused"), ("officer.deactivate", "ok"),
                        ("officer.deactivate", "refused"), ("officer.reactivate", "ok"),
                        ("officer.deactivate", "refused")], acts
        why = [r["detail"] for r in log if r["action"] == "officer.deactivate" and r["outcome"] == "ok"]
        assert why == ["city-inv-2 (city inv 2): transferred to Hunan PSB"], why
        approvals = [(r["actor"], r["outcome"], r["article"]) for r in log
                     if r["action"] == "approve" and r["request_id"] in (req2, req3)]
        assert approvals == [("yuelu-deputy", "refused", "Art 19"), ("yuelu-principal", "ok", None),
                             ("yuelu-principal", "refused", "Art 20(2)")], approvals
        rc, ylog = fed.ctl("yuelu", "audit", "list", "--limit", "200", as_identity=auditor(fed, "yuelu"))
        revokes = [(r["actor"], r["outcome"], r["article"]) for r in ylog if r["action"] == "delegation.revoke"]
        assert revokes == [("yuelu-deputy", "refused", "Art 19"), ("yuelu-principal", "ok", None),
                           ("yuelu-principal", "refused", None)], revokes
        for node in ("city", "yuelu"):
            rc, doc = fed.ctl(node, "audit", "verify")
            assert rc == 0 and doc.get("ok") is True, "%s verify: %s" % (node, doc)
        step("every step and refusal in the access logs, chains intact")
    step("ok")


if __name__ == "__main__":
    main()
