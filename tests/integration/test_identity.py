"""Identity, not text (issue 15, Deliver 1): the attack of the issue, end
to end.

Two city investigators hold an approved grant for a yuelu-1 camera. Their
badges are in yuelu-1's own access log. Then:

* yuelu-1's admin registers an officer under city-inv-1's badge with a key
  of the admin's own, and views as them at yuelu-1: refused (Art 29(2):
  the grant names city-inv-1 of the city with another key), and logged at
  yuelu-1;
* yuelu's admin registers city-inv-2's badge at the district: the city
  refuses the replica (its city-inv-2 stays as it was, key and unit), logs
  the refusal and raises a collision alarm; the copy views from yuelu:
  refused at yuelu-1;
* yuelu-1's admin registers a new badge with city-inv-1's public key (it
  is public): the city refuses that too (a key is one officer's);
* the real investigators still view, from the city;
* a view refused on the way down (a camera under no node here, at the
  city; the station silent, at yuelu) is logged at the node that refused
  it (Deliver 9).

On the code before issue 15 the first two views were granted (the station
matched the badge text).
"""

import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, auditor, TestFederation, psql, register_officers, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
CAMERA = "43010401001310000001"

OFFICERS = [
    ("city-inv-1", "city", "investigator"),
    ("city-inv-2", "city", "investigator"),
    ("yuelu-principal", "yuelu", "principal"),
]


def keygen(fed, path, name):
    return subprocess.run([fed.vigilctl, "officer", "keygen", path, "--name", name], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.split()[0]


def main():
    with TestFederation("identity", NODES, heartbeat_ms=500) as fed:
        fed.start()
        key = register_officers(fed, OFFICERS)

        def as_(badge, node, *args):
            return fed.ctl(node, *args, as_identity=key[badge])

        fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
        fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu police", "--retention-days", "30")
        fed.ctl_ok("yuelu-1", "camera", "add", "--id", CAMERA, "--name", "north", "--system", "gov",
                   "--site", "s1", "--stream-url", "rtsp://10.0.0.1/live")
        wait_until(lambda: fed.ctl("city", "camera", "show", CAMERA)[0] == 0, 15, what="the camera at the city")
        rc, doc = as_("city-inv-1", "city", "access", "request", "--camera", CAMERA, "--officer", "city-inv-1",
                      "--officer", "city-inv-2", "--case", "2026-YL-7", "--purpose", "theft", "--actions",
                      "view-live", "--approval-doc", "D7")
        assert rc == 0, "request: %s" % doc
        req = doc["id"]
        fed.ctl_ok("city", "access", "countersign", req, as_identity=key["city-inv-2"])
        fed.ctl_ok("city", "access", "approve", req, as_identity=key["yuelu-principal"])
        wait_until(lambda: as_("city-inv-1", "city", "view", CAMERA)[0] == 0, 15,
                   what="the grant at yuelu-1 (city-inv-1 views)")
        step("city-inv-1 and city-inv-2 hold an approved grant for %s" % CAMERA)

        # --- 1: a station admin copies a badge, with the admin's own key -----
        fake1 = os.path.join(fed.tmp, "fake-inv-1.key")
        fed.ctl_ok("yuelu-1", "officer", "add", "--badge", "city-inv-1", "--name", "not the investigator",
                   "--credential", "FAKE-1", "--roles", "investigator",
                   "--public-key", keygen(fed, fake1, "city-inv-1"))
        wait_until(lambda: fed.ctl("yuelu-1", "status", as_identity=fake1)[0] == 0, 10,
                   what="the copy admitted at yuelu-1")
        rc, doc = fed.ctl("yuelu-1", "view", CAMERA, as_identity=fake1)
        assert rc == 1 and doc.get("article") == "Art 29(2)" and "another unit or key" in doc["error"], \
            "a badge copied at the station views under the city's grant: %s" % doc
        rc, log = fed.ctl("yuelu-1", "audit", "list", "--limit", "50", as_identity=auditor(fed, "yuelu-1"))
        refused = [r for r in log if r["actor"] == "city-inv-1" and r["outcome"] == "refused"
                   and r["camera"] == CAMERA]
        assert refused and refused[-1]["article"] == "Art 29(2)", "the refusal at yuelu-1: %s" % log[-5:]
        step("a copy of city-inv-1 registered at yuelu-1 with another key is refused there, and logged")

        # --- 2: a district admin copies a badge: refused at the city ------
        real2 = {o["badge"]: o for o in fed.ctl_ok("city", "officer", "list", as_identity=auditor(fed, "city"))}["city-inv-2"]
        fake2 = os.path.join(fed.tmp, "fake-inv-2.key")
        fed.ctl_ok("yuelu", "officer", "add", "--badge", "city-inv-2", "--name", "not the investigator",
                   "--credential", "FAKE-2", "--roles", "investigator",
                   "--public-key", keygen(fed, fake2, "city-inv-2"))

        def alarmed():
            rc, out, _ = psql(fed, "city", "SELECT count(*) FROM audit_alarms WHERE kind = 'collision' "
                                           "AND node_id = '%s' AND detail LIKE '%%city-inv-2%%'" % ID["yuelu"])
            return rc == 0 and out == "1"
        wait_until(alarmed, 15, what="the collision alarm at the city")
        now2 = {o["badge"]: o for o in fed.ctl_ok("city", "officer", "list", as_identity=auditor(fed, "city"))}["city-inv-2"]
        assert (now2["unit"], now2["public_key"], now2["name"]) == (real2["unit"], real2["public_key"],
                                                                   real2["name"]), \
            "the city's city-inv-2 was overwritten: %s" % now2
        rc, log = fed.ctl("city", "audit", "list", "--limit", "100", as_identity=auditor(fed, "city"))
        rep = [r for r in log if r["action"] == "officer.replicate" and r["outcome"] == "refused"]
        assert rep and rep[-1]["actor"] == ID["yuelu"] and "city-inv-2" in rep[-1]["detail"], \
            "the refused replica not in the city's log: %s" % rep
        assert fed.ctl("city", "status", as_identity=fake2)[0] != 0, "the copy is admitted at the city"
        assert fed.ctl("city", "status", as_identity=key["city-inv-2"])[0] == 0, "the real one is locked out"
        wait_until(lambda: fed.ctl("yuelu", "status", as_identity=fake2)[0] == 0, 10,
                   what="the copy admitted at yuelu")
        rc, doc = fed.ctl("yuelu", "view", CAMERA, as_identity=fake2)
        assert rc == 1 and doc.get("article") == "Art 29(2)", "a badge copied at the district views: %s" % doc
        step("a copy of city-inv-2 at yuelu: refused at the city (alarm, logged, not overwritten), "
             "refused at yuelu-1")

        # --- 3: another badge with a real officer's (public) key ----------
        real1_key = {o["badge"]: o for o in fed.ctl_ok("city", "officer", "list", as_identity=auditor(fed, "city"))}["city-inv-1"]["public_key"]
        fed.ctl_ok("yuelu-1", "officer", "add", "--badge", "ghost", "--name", "ghost", "--credential", "G-1",
                   "--roles", "investigator", "--public-key", real1_key)

        def key_alarmed():
            rc, out, _ = psql(fed, "city", "SELECT count(*) FROM audit_alarms WHERE kind = 'collision' "
                                           "AND detail LIKE '%%officer ghost%%'")
            return rc == 0 and out == "1"
        wait_until(key_alarmed, 15, what="the key collision alarm at the city")
        badges = {o["badge"] for o in fed.ctl_ok("city", "officer", "list", as_identity=auditor(fed, "city"))}
        assert "ghost" not in badges, "a second badge for one key at the city"
        step("a new badge with city-inv-1's key: refused at the city, alarm")

        # --- the real officer still views, from any tier --------------------
        rc, doc = as_("city-inv-1", "city", "view", CAMERA)
        assert rc == 0 and doc.get("ticket"), "the real city-inv-1 from the city: %s" % doc
        rc, doc = as_("city-inv-2", "city", "view", CAMERA)
        assert rc == 0, "the real city-inv-2 from the city: %s" % doc
        step("the real investigators still view")

        # --- views refused on the way down are logged where refused --------
        nowhere = "43010200001310000009"            # under furong, which is not here
        rc, doc = as_("city-inv-1", "city", "view", nowhere)
        assert rc == 1 and "not under this node" in doc["error"], "a camera under no node: %s" % doc
        y1 = fed.node("yuelu-1")
        y1._signal(signal.SIGSTOP)                   # the station stops answering
        try:
            rc, doc = as_("city-inv-1", "city", "view", CAMERA)
            assert rc == 1, "a view with the station stopped: %s" % doc
        finally:
            y1._signal(signal.SIGCONT)

        def refused_at(node, camera):
            rc, log = fed.ctl(node, "audit", "list", "--limit", "200", as_identity=auditor(fed, node))
            return [r for r in log or [] if r["camera"] == camera and r["outcome"] == "refused"
                    and r["actor"] == "city-inv-1" and ("refused at %s" % ID[node]) in (r["detail"] or "")]
        wait_until(lambda: refused_at("city", nowhere), 10, what="the refusal logged at the city")
        wait_until(lambda: refused_at("yuelu", CAMERA), 10, what="the refusal logged at yuelu")
        for node in ("city", "yuelu", "yuelu-1"):
            rc, doc = fed.ctl(node, "audit", "verify")
            assert rc == 0 and doc.get("ok") is True, "%s verify: %s" % (node, doc)
        step("views refused on the way down (no such node, the station silent) logged where refused; "
             "every log verifies")
    step("ok")


if __name__ == "__main__":
    main()
