"""Bounded emergency access (issue 15, Deliver 7 and 9: Art 19, 20(4),
23(5), 29(2)).

An emergency was a blanket pass: every officer of the declaring unit, any
role, any action, recorded footage of any period, copies without a
destination; declarations refused in C were not logged. Now, with a real
city, district and station:

* a declaration names who may act under it (--officer, --role of the
  command) and a look-back; one naming nobody, one by an admin, one with a
  malformed option: refused, and each attempt is a record in the city's
  access log, as the declaration and the end are;
* at the station, only an officer it names (by unit, badge and key:
  named directly, or holding the named role at the declaration) views
  under it; another investigator of the same unit is refused (Art 19);
* recorded material only inside [start - look-back, now] (Art 29(2)), with
  a time range (Art 20(4)); a copy or retrieval names its destination,
  which the station logs with the record (Art 20(4));
* an officer who gets the role after the declaration is not named by it.
"""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, auditor, TestFederation, psql, register_officers, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def log_rows(fed, name, where):
    """actor|action|outcome|article|destination|emergency_id of node NAME's
    access-log records WHERE (SQL), oldest first."""
    rc, out, err = psql(fed, name, "SELECT actor, action, outcome, coalesce(article, ''), "
                        "coalesce(destination, ''), coalesce(emergency_id, ''), coalesce(detail, '') "
                        "FROM audit_log WHERE %s ORDER BY seq" % where)
    assert rc == 0, err
    return [line.split("|") for line in out.splitlines() if line]


def main():
    with TestFederation("embound", NODES, heartbeat_ms=500) as fed:
        fed.start()
        ids = register_officers(fed, [("city-commander", "city", "commander"),
                                      ("city-inv-1", "city", "investigator,operator"),
                                      ("city-inv-2", "city", "investigator"),
                                      ("city-duty", "city", "registrar")])
        station = ID["yuelu-1"]
        fed.ctl_ok("yuelu-1", "site", "add", "--code", "sq", "--name", "square", "--location-type", "street",
                   "--latitude", "28.2", "--longitude", "112.94")
        fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "city", "--retention-days", "30")
        cam = "%s00131%07d" % (station[:8], 1)
        fed.ctl_ok("yuelu-1", "camera", "add", "--id", cam, "--name", "square", "--system", "gov", "--site", "sq")
        wait_until(lambda: fed.ctl("city", "camera", "count")[1].get("count") == 1, 15, what="the camera at the city")
        wait_until(lambda: len(fed.ctl("city", "officer", "list", as_identity=auditor(fed, "city"))[1]) >= 4, 10, what="the officers at the city")

        base = ["emergency", "declare", "--scope", ID["yuelu"], "--duration", "30m", "--incident", "flood",
                "--authority", "Changsha Municipal Public Security Bureau"]
        cmd = ids["city-commander"]

        # Art 19: an emergency names who may act under it.
        rc, doc = fed.ctl("city", *base, as_identity=cmd)
        assert rc == 1 and doc.get("article") == "Art 19" and "--officer" in doc.get("error", ""), doc
        rc, doc = fed.ctl("city", *base, "--officer", "city-inv-1", "--look-back", "25h", as_identity=cmd)
        assert rc == 1 and doc.get("article") == "Art 19" and "24 hours" in doc.get("error", ""), doc
        rc, doc = fed.ctl("city", *base, "--officer", "city-inv-1")          # an admin
        assert rc == 1 and doc.get("article") == "Art 19", doc
        rc, doc = fed.ctl("city", *base, "--officer", "city-inv-1", "--look-back", "soon", as_identity=cmd)
        assert rc == 2, doc
        rc, doc = fed.ctl("city", *base, "--role", "principal", as_identity=cmd)
        assert rc == 1 and "no active officer" in doc.get("error", ""), doc
        refused = log_rows(fed, "city", "action = 'emergency.declare' AND outcome = 'refused'")
        assert len(refused) == 5, "every refused declaration on record at the city: %s" % refused
        assert [r[0] for r in refused].count("city-commander") == 4 and refused[2][0].startswith("admin:"), refused
        step("declarations naming nobody, looking back 25 h, by an admin, malformed: refused, all five logged")

        rc, doc = fed.ctl("city", *base, "--officer", "city-inv-1", "--role", "registrar", "--look-back", "1h",
                          as_identity=cmd)
        assert rc == 0 and doc.get("state") == "active", doc
        em = doc["id"]
        assert doc.get("named") == ["city-duty", "city-inv-1"] and doc.get("roles") == ["registrar"] and \
            doc.get("look_back_s") == 3600, "the command sees whom it named: %s" % doc
        ok = log_rows(fed, "city", "action = 'emergency.declare' AND outcome = 'ok'")
        assert len(ok) == 1 and ok[0][5] == em and "city-duty" in ok[0][6] and "city-inv-1" in ok[0][6], ok
        # A later registrar is not named: the command resolved the role when it declared.
        late = register_officers(fed, [("city-late", "city", "registrar")])
        wait_until(lambda: fed.ctl("yuelu-1", "status")[0] == 0 and
                   log_rows(fed, "yuelu-1", "action = 'emergency.received' AND emergency_id = '%s'" % em), 10,
                   what="the order at yuelu-1")
        step("declared for city-inv-1 and the registrars of the city, looking back 1 h; the order at the station")

        def view(who, *args):
            return fed.ctl("city", "view", cam, *args, as_identity=ids.get(who) or late.get(who))

        rc, v = view("city-inv-1")
        assert rc == 0 and v.get("ticket"), "a named officer views: %s" % v
        rc, v = view("city-duty")
        assert rc == 0 and v.get("ticket"), "a registrar of the city (the named role) views: %s" % v
        rc, v = view("city-inv-2")
        assert rc == 1 and v.get("article") == "Art 19" and em in v.get("error", ""), \
            "an investigator of the city it does not name: %s" % v
        rc, v = view("city-late")
        assert rc == 1 and v.get("article") == "Art 19", "the role given after the declaration: %s" % v
        step("live: city-inv-1 and city-duty view; city-inv-2 and a later registrar refused (Art 19)")

        now = datetime.datetime.now(datetime.timezone.utc)
        rc, v = view("city-inv-1", "--action", "view-recorded", "--from", iso(now - datetime.timedelta(minutes=50)),
                     "--to", iso(now - datetime.timedelta(seconds=5)))
        assert rc == 0 and v.get("ticket"), "recorded within the look-back: %s" % v
        rc, v = view("city-inv-1", "--action", "view-recorded", "--from", iso(now - datetime.timedelta(hours=3)),
                     "--to", iso(now - datetime.timedelta(hours=2)))
        assert rc == 1 and v.get("article") == "Art 29(2)", "recorded before the look-back: %s" % v
        rc, v = view("city-inv-1", "--action", "view-recorded", "--from", iso(now - datetime.timedelta(minutes=5)),
                     "--to", iso(now + datetime.timedelta(hours=1)))
        assert rc == 1 and v.get("article") == "Art 29(2)", "recorded material of the future: %s" % v
        rc, v = view("city-inv-1", "--action", "view-recorded")
        assert rc == 1 and v.get("article") == "Art 20(4)", "recorded without a range: %s" % v
        rng = ["--from", iso(now - datetime.timedelta(minutes=10)), "--to", iso(now - datetime.timedelta(seconds=5))]
        rc, v = view("city-inv-1", "--action", "copy", *rng)
        assert rc == 1 and v.get("article") == "Art 20(4)" and "destination" in v.get("error", ""), \
            "a copy without a destination: %s" % v
        rc, v = view("city-inv-1", "--action", "retrieve", *rng, "--destination", "evidence room 3, case F-7")
        assert rc == 0 and v.get("ticket"), "a retrieval with its destination: %s" % v
        step("recorded: within the look-back only, with a range; a copy needs its destination (Art 20(4))")

        rows = log_rows(fed, "yuelu-1", "camera = '%s' AND emergency_id = '%s'" % (cam, em))
        got = [(r[0], r[1], r[2], r[3]) for r in rows]
        assert ("city-inv-2", "view-live", "refused", "Art 19") in got, got
        assert ("city-inv-1", "copy", "refused", "Art 20(4)") in got, got
        retrieve = [r for r in rows if r[1] == "retrieve" and r[2] == "ok"]
        assert len(retrieve) == 1 and retrieve[0][4] == "evidence room 3, case F-7", rows
        step("yuelu-1's log: each view and refusal under %s, the retrieval with where it went" % em)

        rc, doc = fed.ctl("city", "emergency", "end", em, as_identity=ids["city-inv-1"])
        assert rc == 1 and doc.get("article") == "Art 19", doc
        rc, doc = fed.ctl("city", "emergency", "end", em)                    # an admin
        assert rc == 1, doc
        rc, doc = fed.ctl("city", "emergency", "end", em, as_identity=cmd)
        assert rc == 0 and doc.get("state") == "ended", doc
        ends = log_rows(fed, "city", "action = 'emergency.end'")
        assert [r[2] for r in ends] == ["refused", "refused", "ok"], ends
        wait_until(lambda: view("city-inv-1")[0] == 1, 10, what="views refused after the end")
        step("end: refused to an investigator and an admin (logged), done by the commander; views end with it")
    step("ok")


if __name__ == "__main__":
    main()
