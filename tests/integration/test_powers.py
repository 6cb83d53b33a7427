"""Powers come from above (issue 15, Deliver 2, and the request half of
Deliver 9).

* `officer add --roles principal` (or commander) is refused, Art 19,
  pointing to `officer confer`, and logged;
* an admin of yuelu cannot confer on yuelu's own officer (the tier above
  does); a city admin confers principal on yuelu-principal: live at the
  city and carried down to yuelu (yuelu-principal delegates there);
* at the city: the first admin's conferral of city-principal is pending,
  the same admin again is refused, city-principal approves nothing while
  pending; the second admin makes it live;
* the obvious single-admin attempts to bring about a view: a yuelu admin
  invents two investigators and a "principal" at yuelu; they file and
  countersign; the invented principal's approval is refused (Art 19); the
  admin's own approve, file and view attempts are refused (Art 20(1), 29(2))
  and logged at yuelu; no view comes of it;
* bounds: an approval for longer than [access] max_approval_hours and a
  delegation longer than max_delegation_days are refused (Art 19);
* `officer unconfer` at the city ends yuelu-principal's power, at the city
  and at yuelu;
* an unconferred commander cannot declare;
* yuelu rebuilt with an empty database gets the live conferral of its
  commander in its snapshot from the city (and not the revoked one).

On the code before issue 15, `officer add --roles principal` was accepted
and the invented principal approved.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, auditor, TestFederation, register_officers, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
CAMERA = "43010401001310000001"


def keygen(fed, path, name):
    return subprocess.run([fed.vigilctl, "officer", "keygen", path, "--name", name], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.split()[0]


def add(fed, node, badge, roles):
    add.n = getattr(add, "n", 0) + 1
    path = os.path.join(fed.tmp, "%s-%s-%d.key" % (node, badge, add.n))
    rc, doc = fed.ctl(node, "officer", "add", "--badge", badge, "--name", badge, "--credential", "C-" + badge,
                      "--roles", roles, "--public-key", keygen(fed, path, badge))
    return rc, doc, path


def main():
    with TestFederation("powers", NODES, heartbeat_ms=500) as fed:
        fed.start()
        city2 = fed.node("city").admin2_key

        # --- registering a power is refused ------------------------------
        rc, doc, _ = add(fed, "yuelu", "yuelu-principal", "principal")
        assert rc == 1 and doc.get("article") == "Art 19" and "officer confer" in doc["error"], \
            "principal registered by an admin: %s" % doc
        rc, doc, _ = add(fed, "city", "city-commander", "commander,operator")
        assert rc == 1 and doc.get("article") == "Art 19", "commander registered by an admin: %s" % doc
        step("officer add refuses principal and commander (Art 19)")

        key = register_officers(fed, [("city-inv-1", "city", "investigator"),
                                      ("city-inv-2", "city", "investigator"),
                                      ("yuelu-deputy", "yuelu", "deputy")])
        rc, doc, ypath = add(fed, "yuelu", "yuelu-principal", "operator")
        assert rc == 0, doc
        rc, doc, cpath = add(fed, "city", "city-principal", "operator")
        assert rc == 0, doc
        rc, doc, kpath = add(fed, "yuelu", "yuelu-commander", "operator")
        assert rc == 0, doc
        key.update({"yuelu-principal": ypath, "city-principal": cpath, "yuelu-commander": kpath})

        # --- conferred from the tier above --------------------------------
        rc, doc = fed.ctl("yuelu", "officer", "confer", "yuelu-principal", "--role", "principal")
        assert rc == 1 and doc.get("article") == "Art 19" and "tier above" in doc["error"], \
            "yuelu's admin conferred on yuelu's officer: %s" % doc
        rc, doc = fed.ctl("city", "officer", "confer", "yuelu-principal", "--role", "principal",
                          as_identity=key["yuelu-principal"])
        assert rc == 1, "an officer conferred: %s" % doc
        fed.confer("yuelu-principal", "yuelu", "principal")
        rc, doc = fed.ctl("yuelu", "delegation", "add", "--deputy", "yuelu-deputy", "--until", "1d",
                          as_identity=key["yuelu-principal"])
        assert rc == 0, "delegation by the conferred principal at yuelu: %s" % doc
        step("yuelu's own admin may not confer; a city admin does; the conferral reaches yuelu")

        # --- at the city, two distinct admins -----------------------------
        rc, doc = fed.ctl("city", "officer", "confer", "city-principal", "--role", "principal")
        assert rc == 0 and doc["state"] == "pending", "first city admin: %s" % doc
        rc, doc2 = fed.ctl("city", "officer", "confer", "city-principal", "--role", "principal")
        assert rc == 1 and doc2.get("article") == "Art 19" and "second, different admin" in doc2["error"], \
            "the same admin twice: %s" % doc2
        fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
        fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu police", "--retention-days", "30")
        fed.ctl_ok("yuelu-1", "camera", "add", "--id", CAMERA, "--name", "north", "--system", "gov",
                   "--site", "s1", "--stream-url", "rtsp://10.0.0.1/live")
        wait_until(lambda: fed.ctl("city", "camera", "show", CAMERA)[0] == 0, 15, what="the camera at the city")

        def request(node, a, b):
            rc, doc = fed.ctl(node, "access", "request", "--camera", CAMERA, "--officer", a, "--officer", b,
                              "--case", "K-1", "--purpose", "p", "--actions", "view-live", "--approval-doc", "D",
                              as_identity=key[a])
            assert rc == 0, "request at %s: %s" % (node, doc)
            fed.ctl_ok(node, "access", "countersign", doc["id"], as_identity=key[b])
            return doc["id"]
        req = request("city", "city-inv-1", "city-inv-2")
        rc, doc = fed.ctl("city", "access", "approve", req, as_identity=key["city-principal"])
        assert rc == 1 and doc.get("article") == "Art 19", "approved while pending: %s" % doc
        rc, doc = fed.ctl("city", "officer", "confer", "city-principal", "--role", "principal", as_identity=city2)
        assert rc == 0 and doc["state"] == "live", "second city admin: %s" % doc
        # --- bounds ---------------------------------------------------------
        rc, doc = fed.ctl("city", "access", "approve", req, "--valid-for", "30 days",
                          as_identity=key["city-principal"])
        assert rc == 1 and doc.get("article") == "Art 19" and "at most" in doc["error"], \
            "approval of 30 days: %s" % doc
        rc, doc = fed.ctl("city", "access", "approve", req, "--valid-for", "2 hours",
                          as_identity=key["city-principal"])
        assert rc == 0 and doc["state"] == "approved", "approval by the live city principal: %s" % doc
        rc, doc = fed.ctl("yuelu", "delegation", "add", "--deputy", "yuelu-deputy", "--until", "90d",
                          as_identity=key["yuelu-principal"])
        assert rc == 1 and doc.get("article") == "Art 19" and "at most" in doc["error"], \
            "a delegation of 90 days: %s" % doc
        step("at the city: pending after one admin, the same admin refused, live after a second; "
             "approval and delegation bounded")

        # --- one admin alone cannot bring about a view --------------------
        fakes = {}
        for badge, roles in (("y-inv-a", "investigator"), ("y-inv-b", "investigator"), ("y-boss", "deputy")):
            rc, doc, fakes[badge] = add(fed, "yuelu", badge, roles)
            assert rc == 0, doc
        key.update(fakes)
        wait_until(lambda: fed.ctl("yuelu", "status", as_identity=fakes["y-boss"])[0] == 0, 10,
                   what="the invented officers admitted at yuelu")
        req2 = request("yuelu", "y-inv-a", "y-inv-b")
        rc, doc = fed.ctl("yuelu", "access", "approve", req2, as_identity=fakes["y-boss"])
        assert rc == 1 and doc.get("article") == "Art 19", "an invented deputy approved: %s" % doc
        rc, doc = fed.ctl("yuelu", "officer", "confer", "y-boss", "--role", "principal")
        assert rc == 1 and doc.get("article") == "Art 19", "yuelu's admin conferred: %s" % doc
        rc, doc = fed.ctl("yuelu", "access", "approve", req2)
        assert rc == 1 and doc.get("article") == "Art 19", "the admin approved: %s" % doc
        rc, doc = fed.ctl("yuelu", "access", "request", "--camera", CAMERA, "--officer", "y-inv-a",
                          "--officer", "y-inv-b", "--case", "K", "--purpose", "p", "--actions", "view-live",
                          "--approval-doc", "D")
        assert rc == 1 and doc.get("article") == "Art 20(1)", "the admin filed: %s" % doc
        rc, doc = fed.ctl("yuelu", "view", CAMERA)
        assert rc == 1 and doc.get("article") == "Art 29(2)", "the admin viewed: %s" % doc
        rc, doc = fed.ctl("yuelu", "view", CAMERA, as_identity=fakes["y-inv-a"])
        assert rc == 1, "an invented investigator viewed: %s" % doc
        rc, log = fed.ctl("yuelu", "audit", "list", "--limit", "100", as_identity=auditor(fed, "yuelu"))
        admin = [(r["action"], r["article"]) for r in log if r["actor"].startswith("admin:")
                 and r["outcome"] == "refused"]
        for want in (("officer.add", "Art 19"), ("officer.confer", "Art 19"), ("access.approve", "Art 19"),
                     ("access.request", "Art 20(1)"), ("view", "Art 29(2)")):
            assert want in admin, "%s not logged at yuelu: %s" % (want, admin)
        step("one yuelu admin with invented officers: no approval, no view; every attempt logged at yuelu")

        # A city admin alone cannot make a "district" of yuelu's centre code
        # (whose principal one city admin could confer, over yuelu's
        # cameras): one node per centre code.
        twin_dir = os.path.join(fed.tmp, "twin-keys")
        out = subprocess.run([fed.vigild, "keygen", twin_dir], check=True, stdout=subprocess.PIPE,
                             text=True).stdout.split()
        rc, doc = fed.ctl("city", "node", "enroll", "43010400002000000099", "--public-key", out[0],
                          "--sign-key", out[1], "--name", "twin")
        assert rc == 1 and "one node per centre code" in doc.get("error", ""), "a twin of yuelu enrolled: %s" % doc
        rc, doc = fed.ctl("yuelu", "node", "enroll", "43010401002000000099", "--public-key", out[0],
                          "--sign-key", out[1], "--name", "twin")
        assert rc == 1 and "one node per centre code" in doc.get("error", ""), "a twin of yuelu-1 enrolled: %s" % doc
        step("a second node under a centre code already held is refused (a city admin gets no yuelu of their own)")
        rc, log = fed.ctl("city", "audit", "list", "--limit", "200", as_identity=auditor(fed, "city"))
        assert any(r["action"] == "node.enroll" and r["outcome"] == "refused" and r["actor"].startswith("admin:")
                   for r in log), "the twin's refusal is not in the city's log: %s" % log[-5:]
        # Nor can one admin read every investigation through an auditor of
        # their own: the auditor is conferred from above too.
        sneaky = os.path.join(fed.tmp, "sneaky.key")
        rc, doc = fed.ctl("city", "officer", "add", "--badge", "sneaky-aud", "--name", "sneaky", "--credential",
                          "C-SNEAKY", "--roles", "auditor", "--public-key", keygen(fed, sneaky, "sneaky-aud"))
        assert rc == 1 and doc.get("article") == "Art 19", "an admin registered an auditor: %s" % doc
        step("… and logged at the city; an admin registers no auditor of their own (Art 5, 19: conferred)")

        # --- unconfer ------------------------------------------------------
        rc, doc = fed.ctl("city", "officer", "unconfer", "yuelu-principal", "--role", "principal",
                          "--reason", "retired")
        assert rc == 0 and doc["state"] == "revoked", "unconfer: %s" % doc
        req3 = request("city", "city-inv-1", "city-inv-2")
        rc, doc = fed.ctl("city", "access", "approve", req3, as_identity=key["yuelu-principal"])
        assert rc == 1 and doc.get("article") == "Art 19", "approved after unconfer: %s" % doc

        def gone_at_yuelu():
            rc, held = fed.ctl("yuelu", "officer", "conferrals")
            return rc == 0 and not any(c["badge"] == "yuelu-principal" and c["live"] for c in held or [])
        wait_until(gone_at_yuelu, 10, what="the unconferral at yuelu")
        rc, doc = fed.ctl("yuelu", "delegation", "add", "--deputy", "yuelu-deputy", "--until", "1d",
                          as_identity=key["yuelu-principal"])
        assert rc == 1 and doc.get("article") == "Art 19", "delegated after unconfer: %s" % doc
        rc, doc = fed.ctl("yuelu", "emergency", "declare", "--scope", ID["yuelu-1"], "--duration", "10m",
                          "--incident", "x", "--authority", "y", "--officer", "yuelu-commander",
                          as_identity=key["yuelu-commander"])
        assert rc == 1 and doc.get("article") == "Art 19", "an unconferred commander declared: %s" % doc
        fed.confer("yuelu-commander", "yuelu", "commander")
        rc, doc = fed.ctl("yuelu", "emergency", "declare", "--scope", ID["yuelu-1"], "--duration", "10m",
                          "--incident", "x", "--authority", "y", "--officer", "yuelu-commander",
                          as_identity=key["yuelu-commander"])
        assert rc == 0, "a conferred commander declares: %s" % doc
        # 4 conferrals of powers, and 3 of the auditors who read here (the
        # city's by its two admins, yuelu's by one).
        rc, log = fed.ctl("city", "audit", "list", "--limit", "200", as_identity=auditor(fed, "city"))
        confers = [(r["action"], r["outcome"]) for r in log if r["action"] in ("officer.confer", "officer.unconfer")]
        assert confers.count(("officer.confer", "ok")) == 4 + 3 and ("officer.unconfer", "ok") in confers \
            and ("officer.confer", "refused") in confers, confers
        rc, ylog = fed.ctl("yuelu", "audit", "list", "--limit", "200", as_identity=auditor(fed, "yuelu"))
        dele = [(r["actor"], r["outcome"], r["article"]) for r in ylog if r["action"] in ("delegate", "delegation.add")]
        assert dele == [("yuelu-principal", "ok", None), ("yuelu-principal", "refused", "Art 19"),
                        ("yuelu-principal", "refused", "Art 19")], "delegations at yuelu: %s" % dele
        approvals = [(r["actor"], r["outcome"], r["article"]) for r in log if r["action"] in ("approve", "access.approve")]
        assert approvals == [("city-principal", "refused", "Art 19"), ("city-principal", "refused", "Art 19"),
                             ("city-principal", "ok", None), ("yuelu-principal", "refused", "Art 19")], \
            "approvals at the city: %s" % approvals
        for node in ("city", "yuelu"):
            rc, doc = fed.ctl(node, "audit", "verify")
            assert rc == 0 and doc.get("ok") is True, "%s verify: %s" % (node, doc)
        step("unconferred: no approval at the city, no delegation at yuelu; a commander only when conferred; "
             "every attempt logged")

        # --- a district rebuilt empty gets its live conferrals from above ---
        with open(key["yuelu-commander"]) as f:
            kpub = [ln.split("=", 1)[1].strip() for ln in f if ln.startswith("public")][0]
        y = fed.node("yuelu")
        assert not y.stop(), "yuelu did not stop"
        fed.pg("dropdb", fed.pg_dir, fed.pg_port, y.dbname)
        fed.pg("createdb", fed.pg_dir, fed.pg_port, y.dbname)
        y.start()

        def held_at_yuelu():
            rc, held = fed.ctl("yuelu", "officer", "conferrals")
            return rc == 0 and [(c["badge"], c["role"]) for c in held or [] if c["state"] == "live"]
        # (yuelu's auditor, conferred by the city for the reads above, comes too)
        wait_until(lambda: set(held_at_yuelu() or []) - {("yuelu-auditor", "auditor")}
                   == {("yuelu-commander", "commander")}, 15,
                   what="the live conferral in yuelu's snapshot from the city")
        fed.ctl_ok("yuelu", "officer", "add", "--badge", "yuelu-commander", "--name", "yuelu-commander",
                   "--credential", "C-yuelu-commander", "--roles", "operator", "--public-key", kpub)
        wait_until(lambda: fed.ctl("yuelu", "status", as_identity=key["yuelu-commander"])[0] == 0, 10,
                   what="yuelu-commander registered again at yuelu")
        rc, doc = fed.ctl("yuelu", "emergency", "declare", "--scope", ID["yuelu-1"], "--duration", "10m",
                          "--incident", "x", "--authority", "y", "--officer", "yuelu-commander",
                          as_identity=key["yuelu-commander"])
        assert rc == 0, "the commander after yuelu's rebuild: %s" % doc
        step("yuelu rebuilt with an empty database: the city's live conferral comes down in the snapshot "
             "(the revoked one does not)")
    step("ok")


if __name__ == "__main__":
    main()
