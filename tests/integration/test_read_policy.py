"""The read policy (issue 15, "The lock is real", Deliver 4 and 9):

Officers replicate up, so the city admits every officer in the city. Each
control command has a rule (roles and unit scope, lib/control/policy.c):

* a station's operator, admitted at the city, cannot read the city's access
  log, its requests, its officers (credential numbers) or an emergency's
  report: each is refused naming the rule, and each refusal is a record of
  the city's own access log;
* a city auditor reads them all;
* an investigator's `access list` shows only the requests naming them
  (filtered in the database, not refused); a district's principal, the
  requests for its cameras (those it may decide), not another district's;
  its deputy, those only while a delegation is live;
* a district auditor reads, at the city, the copy of the log of a station
  under the district (`audit list --node`), and is refused the copy of a
  station of another district, and the city's own log;
* an admin is not an officer: it reads no request, and its `view` is
  refused and logged (Art 29(2));
* the catalog: a registrar of the station registers cameras, an operator
  cannot (refused by rule, logged); anyone admitted reads it, but a
  camera's source address only an admin or registrar of its station; a
  registrar at the city is refused (only the owning station registers)
  and that attempt is logged too;
* vigilctl prints the rule, in --json and in human output.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, TestFederation, register_officers, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "furong", "yuelu-1", "furong-1")]
ID = {n: i for n, _, i, _ in NODES}
CAMERA = "43010401001310000001"

OFFICERS = [  # badge, unit, roles
    ("city-auditor", "city", "auditor"),
    ("yuelu-auditor", "yuelu", "auditor"),
    ("y1-operator", "yuelu-1", "operator"),
    ("city-inv-1", "city", "investigator"),
    ("city-inv-2", "city", "investigator"),
    ("city-inv-3", "city", "investigator"),
    ("y1-registrar", "yuelu-1", "registrar"),
    ("city-registrar", "city", "registrar"),
    ("yuelu-principal", "yuelu", "principal"),
    ("yuelu-deputy", "yuelu", "deputy"),
    ("furong-principal", "furong", "principal"),
]


def refused_by_rule(rc, doc, command, article, what):
    assert rc == 1 and doc.get("article") == article and (doc.get("rule") or "").startswith(command + ":") \
        and "refused" in doc.get("error", ""), "%s: want a refusal by rule %s (%s), got %s" \
        % (what, command, article, doc)


def main():
    with TestFederation("readpol", NODES, heartbeat_ms=500) as fed:
        fed.start()
        key = register_officers(fed, OFFICERS)

        def as_(badge, node, *args):
            return fed.ctl(node, *args, as_identity=key[badge])

        def city_log():
            rc, log = as_("city-auditor", "city", "audit", "list", "--limit", "1000")
            assert rc == 0, "the city auditor's audit list: %s" % log
            return log

        wait_until(lambda: as_("city-auditor", "city", "officer", "list")[0] == 0 and
                   {o["badge"] for o in as_("city-auditor", "city", "officer", "list")[1]}
                   >= {b for b, _, _ in OFFICERS}, 20, what="every officer known at the city")
        step("officers registered; the city knows them all")

        # A camera, and two requests at the city: inv-1 with inv-2, inv-3 with inv-2.
        fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
        fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu police", "--retention-days", "30")
        fed.ctl_ok("yuelu-1", "camera", "add", "--id", CAMERA, "--name", "north", "--system", "gov",
                   "--site", "s1", "--stream-url", "rtsp://10.0.0.1/live")
        wait_until(lambda: fed.ctl("city", "camera", "show", CAMERA)[0] == 0, 15, what="the camera at the city")
        req = {}
        for filer, other, case in (("city-inv-1", "city-inv-2", "C-1"), ("city-inv-3", "city-inv-2", "C-3")):
            rc, doc = as_(filer, "city", "access", "request", "--camera", CAMERA, "--officer", filer,
                          "--officer", other, "--case", case, "--purpose", "theft of " + case,
                          "--actions", "view-live", "--approval-doc", "D-" + case)
            assert rc == 0, "request by %s: %s" % (filer, doc)
            req[case] = doc["id"]

        # 1. A station's operator at the city: refused, by name of the rule.
        mark = len(city_log())
        for args, command in ((("audit", "list"), "audit.list"),
                              (("access", "list"), "access.list"),
                              (("officer", "list"), "officer.list"),
                              (("emergency", "report", "em-none"), "emergency.report"),
                              (("audit", "verify"), "audit.verify")):
            rc, doc = as_("y1-operator", "city", *args)
            refused_by_rule(rc, doc, command, "Art 5", "a station operator's %s at the city" % command)
            assert "CRED-" not in str(doc) and "theft" not in str(doc), "a refusal that leaks: %s" % doc
        step("a station operator is refused the city's log, requests, officers and reports, by rule")

        # ... and each attempt is on the city's record, with the rule.
        attempts = [(r["actor"], r["action"], r["outcome"], r["article"]) for r in city_log()[mark:]
                    if r["actor"] == "y1-operator"]
        for command in ("audit.list", "access.list", "officer.list", "emergency.report", "audit.verify"):
            assert ("y1-operator", command, "refused", "Art 5") in attempts, \
                "the city's log lacks the refused %s: %s" % (command, attempts)
        detail = [r["detail"] for r in city_log() if r["actor"] == "y1-operator" and r["action"] == "audit.list"]
        assert detail and "rule audit.list:" in detail[0] and "operator of %s" % ID["yuelu-1"] in detail[0], \
            "the record names the rule and the caller: %s" % detail
        step("every refused attempt is in the city's access log, naming the rule")

        # 2. The city's auditor reads them.
        rc, reqs = as_("city-auditor", "city", "access", "list")
        assert rc == 0 and {r["id"] for r in reqs} == set(req.values()), "the city auditor's access list: %s" % reqs
        rc, officers = as_("city-auditor", "city", "officer", "list")
        assert rc == 0 and any(o["credential"] == "CRED-Y1-OPERATOR" for o in officers), officers
        rc, doc = as_("city-auditor", "city", "emergency", "report", "em-none")
        assert rc == 1 and doc.get("rule") is None and "no such emergency" in doc.get("error", ""), \
            "the auditor's report of an unknown emergency: %s" % doc
        rc, doc = as_("city-auditor", "city", "audit", "verify")
        assert rc == 0 and doc.get("ok") is True, "the city auditor's audit verify: %s" % doc
        rc, doc = as_("city-auditor", "city", "audit", "list", "--limit", "1000000")
        assert rc == 2 and "--limit" in doc.get("error", ""), "an unbounded audit list: %s" % doc
        step("the city auditor reads the log, every request and the officers")

        # 3. An investigator sees the requests naming them, and only those.
        for badge, want in (("city-inv-1", {req["C-1"]}), ("city-inv-3", {req["C-3"]}),
                            ("city-inv-2", {req["C-1"], req["C-3"]})):
            rc, reqs = as_(badge, "city", "access", "list")
            assert rc == 0 and {r["id"] for r in reqs} == want, "%s's access list: %s" % (badge, reqs)
        step("investigators see only the requests naming them")

        # ... a district's principal those it may decide (yuelu-1's camera),
        # its deputy only while delegated; another district's, none.
        both = set(req.values())
        for badge, want in (("yuelu-principal", both), ("furong-principal", set()), ("yuelu-deputy", set())):
            rc, reqs = as_(badge, "city", "access", "list")
            assert rc == 0 and {r["id"] for r in reqs} == want, "%s's access list at the city: %s" % (badge, reqs)
        rc, doc = as_("yuelu-principal", "yuelu", "delegation", "add", "--deputy", "yuelu-deputy", "--until", "1d")
        assert rc == 0, "delegation: %s" % doc
        wait_until(lambda: {r["id"] for r in as_("yuelu-deputy", "city", "access", "list")[1]} == both, 15,
                   what="the delegated deputy seeing yuelu's requests at the city")
        step("a district's principal (and its delegated deputy) sees the requests it may decide")
        # The deputy reads on the principal's authority: with the power
        # unconferred, the delegation authorises nothing, reads included.
        fed.ctl_ok("city", "officer", "unconfer", "yuelu-principal", "--role", "principal", "--reason", "moved")
        wait_until(lambda: as_("yuelu-deputy", "city", "access", "list")[1] in ([], None), 15,
                   what="the deputy seeing nothing once the principal's power ended")
        step("… and the deputy nothing once the principal's power is unconferred")

        # 4. A district auditor: the copy of a station's log under the
        # district, yes; of another district's station, or the city's own
        # log, no. Records at yuelu-1 and furong-1 first: an operator's
        # refused attempt there is one.
        assert as_("y1-operator", "yuelu-1", "audit", "list")[0] == 1
        fed.ctl("furong-1", "view", CAMERA)     # an admin's view: refused, a record at furong-1
        # Wait for the very records just made: older ones (officer.add)
        # reach the city first, and a non-empty copy proves nothing.
        def copied(node, actor, action):
            rc, rows = as_("city-auditor", "city", "audit", "list", "--node", ID[node])
            return rc == 0 and any(r["actor"].startswith(actor) and r["action"] == action for r in rows or [])
        wait_until(lambda: copied("yuelu-1", "y1-operator", "audit.list") and copied("furong-1", "admin:", "view"),
                   20, what="the stations' new records copied at the city")
        rc, copy = as_("yuelu-auditor", "city", "audit", "list", "--node", ID["yuelu-1"])
        assert rc == 0 and any(r["actor"] == "y1-operator" and r["action"] == "audit.list" for r in copy), \
            "the yuelu auditor's copy of yuelu-1's log at the city: %s" % copy
        rc, doc = as_("yuelu-auditor", "city", "audit", "verify", "--node", ID["yuelu-1"])
        assert rc == 0 and doc.get("ok") is True, "the yuelu auditor verifying yuelu-1's copy: %s" % doc
        rc, doc = as_("yuelu-auditor", "city", "audit", "list", "--node", ID["furong-1"])
        refused_by_rule(rc, doc, "audit.list", "Art 5", "the yuelu auditor's copy of furong-1's log")
        rc, doc = as_("yuelu-auditor", "city", "audit", "list")
        refused_by_rule(rc, doc, "audit.list", "Art 5", "the yuelu auditor's audit list of the city")
        rc, doc = as_("yuelu-auditor", "city", "access", "list")
        refused_by_rule(rc, doc, "access.list", "Art 5", "the yuelu auditor's access list at the city")
        assert ("yuelu-auditor", "audit.list", "refused") in \
            [(r["actor"], r["action"], r["outcome"]) for r in city_log()], "the yuelu auditor's attempt unlogged"
        step("a district auditor reads its stations' logs at the city, not another district's")

        # 5. An admin is not an officer: no investigation, no view; the
        # attempts are on record.
        rc, doc = fed.ctl("city", "access", "list")
        refused_by_rule(rc, doc, "access.list", "Art 5", "an admin's access list")
        rc, doc = fed.ctl("city", "audit", "list")
        refused_by_rule(rc, doc, "audit.list", "Art 5", "an admin's audit list")
        rc, doc = fed.ctl("city", "view", CAMERA)
        refused_by_rule(rc, doc, "view", "Art 29(2)", "an admin's view")
        rc, doc = fed.ctl("city", "audit", "verify")
        assert rc == 0 and doc.get("ok") is True, "an admin checks the log's integrity: %s" % doc
        rc, mine = fed.ctl("city", "officer", "list")
        assert rc == 0 and {o["badge"] for o in mine} == {b for b, u, _ in OFFICERS if u == "city"}, \
            "an admin's officer list is of the officers registered at its node: %s" % mine
        views = [r for r in city_log() if r["action"] == "view" and r["actor"].startswith("admin:")]
        assert views and views[-1]["outcome"] == "refused" and views[-1]["article"] == "Art 29(2)" \
            and views[-1]["camera"] == CAMERA, "the admin's view attempt in the city's log: %s" % views
        step("an admin reads no request and gets no view; both attempts are logged")

        # 6. The catalog: writes for the station's admins and registrars;
        # reads for anyone admitted, the source address for its station's.
        cam2 = "43010401001310000002"
        add = ["camera", "add", "--id", cam2, "--name", "south", "--system", "gov", "--site", "s1",
               "--stream-url", "rtsp://10.0.0.2/live"]
        rc, doc = as_("y1-operator", "yuelu-1", *add)
        refused_by_rule(rc, doc, "camera.add", None, "an operator registering a camera")
        rc, doc = as_("y1-registrar", "yuelu-1", *add)
        assert rc == 0, "the station's registrar registering a camera: %s" % doc

        def shown(who, node):
            ident = key[who] if who else None
            rc, doc = fed.ctl(node, "camera", "show", cam2, as_identity=ident)
            return doc if rc == 0 else None
        for who, node, want in (("y1-registrar", "yuelu-1", "rtsp://10.0.0.2/live"),
                                (None, "yuelu-1", "rtsp://10.0.0.2/live"),      # the station's admin
                                ("y1-operator", "yuelu-1", None), ("y1-operator", "city", None),
                                ("city-auditor", "city", None), (None, "city", None)):
            doc = wait_until(lambda: shown(who, node), 15, what="camera %s at %s" % (cam2, node))
            assert "stream_url" in doc and doc["stream_url"] == want, \
                "camera show by %s at %s: stream_url %r, want %r" % (who or "the admin", node,
                                                                      doc.get("stream_url"), want)
        rc, doc = as_("city-registrar", "city", "camera", "add", "--id", "43010401001310000003", "--name", "x",
                      "--system", "gov", "--site", "s1")
        assert rc == 1 and "owning station" in doc.get("error", ""), "a registrar at the city: %s" % doc
        wait_until(lambda: as_("city-auditor", "city", "audit", "list", "--node", ID["yuelu-1"])[0] == 0 and
                   ("y1-operator", "camera.add", "refused") in
                   [(r["actor"], r["action"], r["outcome"])
                    for r in as_("city-auditor", "city", "audit", "list", "--node", ID["yuelu-1"])[1]],
                   15, what="the operator's refused camera add in yuelu-1's log (copied at the city)")
        assert ("city-registrar", "camera.add", "refused") in \
            [(r["actor"], r["action"], r["outcome"]) for r in city_log()], "the city registrar's attempt unlogged"
        counters = fed.ctl_ok("city", "status")["counters"]
        assert counters.get("control_refused", 0) >= 10, "status counters: %s" % counters
        step("catalog: the station's registrar writes, an operator cannot; addresses only for the station's own")

        # 7. vigilctl's human output names the rule too.
        r = subprocess.run([fed.vigilctl, "-c", fed.node("city").ctl_conf, "--as", key["y1-operator"],
                            "audit", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert r.returncode == 1 and "refused: Art 5" in r.stderr and "the rule: audit.list:" in r.stderr, \
            "human output of a refusal: %r" % r.stderr
        step("vigilctl prints the rule")


if __name__ == "__main__":
    main()
