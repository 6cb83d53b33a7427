#!/usr/bin/python3
"""A station rebuilt with an empty database (a disk replaced, the same keys)
gets from its district what it must act on (the snapshot towards a child,
lib/delivery/link_snapshot.c), and what it no longer holds is removed above it:

* the live grant for one of its cameras: once its catalog is registered
  again, the officers named in the grant view it without a new approval;
* the live emergency order over it: it keeps, logs and acks it again;
* not a grant revoked before the rebuild, nor one expired: nothing the
  station never needs travels.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, TestFederation, auditor, psql, register_officers, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
CAMERA = "43010401001310000001"

OFFICERS = [  # badge, unit, roles
    ("city-inv-1", "city", "investigator"),
    ("city-inv-2", "city", "investigator"),
    ("city-commander", "city", "commander"),
    ("yuelu-principal", "yuelu", "principal"),
]


def register_catalog(fed):
    fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
    fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
               "--responsible-entity", "Yuelu police", "--retention-days", "30")
    fed.ctl_ok("yuelu-1", "camera", "add", "--id", CAMERA, "--name", "north", "--system", "gov",
               "--site", "s1", "--stream-url", "rtsp://10.0.0.1/live")


def main():
    with TestFederation("rebuild", NODES, heartbeat_ms=500) as fed:
        fed.start()
        key = register_officers(fed, OFFICERS)

        def as_(badge, node, *args):
            return fed.ctl(node, *args, as_identity=key[badge])

        # Auditors read the records (lib/control/policy.c).
        city_auditor, y1_auditor = auditor(fed, "city"), auditor(fed, "yuelu-1")
        wait_until(lambda: {o["badge"] for o in fed.ctl("city", "officer", "list", as_identity=city_auditor)[1]}
                   >= {b for b, _, _ in OFFICERS}, 15, what="every officer known at the city")
        register_catalog(fed)
        wait_until(lambda: fed.ctl("city", "camera", "show", CAMERA)[0] == 0, 15, what="the camera at the city")

        def approved(valid_for=None):
            rc, doc = as_("city-inv-1", "city", "access", "request", "--camera", CAMERA, "--officer", "city-inv-1",
                          "--officer", "city-inv-2", "--case", "C", "--purpose", "theft", "--actions", "view-live",
                          "--approval-doc", "D")
            assert rc == 0, "request: %s" % doc
            assert as_("city-inv-2", "city", "access", "countersign", doc["id"])[0] == 0
            args = ["access", "approve", doc["id"]] + (["--valid-for", valid_for] if valid_for else [])
            rc, a = as_("yuelu-principal", "city", *args)
            assert rc == 0, "approve: %s" % a
            return doc["id"]

        live = approved()
        revoked = approved()
        expired = approved("2 seconds")
        rc, doc = as_("yuelu-principal", "city", "access", "revoke", revoked, "--reason", "closed")
        assert rc == 0, doc
        wait_until(lambda: as_("city-inv-1", "city", "view", CAMERA)[0] == 0, 15, what="a view under the grant")
        rc, doc = as_("city-commander", "city", "emergency", "declare", "--scope", ID["yuelu-1"],
                      "--duration", "30m", "--incident", "flood at the river bank", "--authority", "Changsha PSB",
                      "--officer", "city-inv-1", "--look-back", "2h")
        assert rc == 0, "declare: %s" % doc
        em = doc["id"]

        def acked():
            rc, d = as_("city-commander", "city", "emergency", "status", em)
            return rc == 0 and d["stations"][0]["acked"]
        wait_until(acked, 15, what="yuelu-1 acking the order")

        def yuelu1_log(action, key):
            rc, log = fed.ctl("yuelu-1", "audit", "list", "--limit", "500", as_identity=y1_auditor)
            assert rc == 0, log
            return [r for r in log if r["action"] == action and key in (r["request_id"], r["emergency_id"])]
        wait_until(lambda: yuelu1_log("grant.revoked", revoked), 15, what="the revocation at yuelu-1")
        time.sleep(2.5)         # the short grant expires
        step("a live grant, a revoked one, an expired one and an emergency at yuelu-1")

        y1 = fed.node("yuelu-1")
        assert not y1.stop(), "yuelu-1 did not stop"
        fed.pg("dropdb", fed.pg_dir, fed.pg_port, y1.dbname)
        fed.pg("createdb", fed.pg_dir, fed.pg_port, y1.dbname)
        y1.start()
        # Its officers went with its database: its auditor is registered again.
        with open(y1_auditor) as f:
            pub = next(line.split("=", 1)[1].strip() for line in f if line.startswith("public"))
        wait_until(lambda: fed.ctl("yuelu-1", "officer", "add", "--badge", "yuelu-1-auditor", "--name", "auditor",
                                   "--credential", "CRED-Y1-AUDITOR", "--roles", "operator",
                                   "--public-key", pub)[0] == 0, 15, what="the rebuilt yuelu-1 answering")
        wait_until(lambda: fed.ctl("yuelu-1", "status", as_identity=y1_auditor)[0] == 0, 10,
                   what="its auditor admitted again")
        step("yuelu-1 rebuilt with an empty database, same keys")

        wait_until(lambda: yuelu1_log("emergency.received", em), 15,
                   what="the live order at the rebuilt yuelu-1")
        wait_until(lambda: yuelu1_log("grant.received", live), 15, what="the live grant at the rebuilt yuelu-1")
        # The order's bounds come with it: whom it names, by unit, badge
        # and key, and its look-back (Art 19).
        rc, held, err = psql(fed, "yuelu-1", "SELECT named->0->>'badge', look_back FROM emergencies "
                             "WHERE id = '%s'" % em)
        assert rc == 0 and held == "city-inv-1|02:00:00", (held, err)
        assert not yuelu1_log("grant.received", revoked) and not yuelu1_log("grant.received", expired), \
            "a revoked or expired grant sent to the rebuilt station"
        # What the rebuilt station no longer holds is gone above it too: its
        # snapshot up (empty) removes, at the district, the rows that came
        # through it and were not in the snapshot, and the removals travel on
        # to the city.
        def catalog_gone():
            for node in ("yuelu", "city"):
                rc, doc = fed.ctl(node, "camera", "count", "--under", ID["yuelu-1"])
                rc2, sites = fed.ctl(node, "site", "list", "--under", ID["yuelu-1"])
                if rc != 0 or doc.get("count") != 0 or rc2 != 0 or sites:
                    return False
            return True
        wait_until(catalog_gone, 15, what="yuelu-1's old catalog removed at yuelu and the city")
        register_catalog(fed)
        wait_until(lambda: fed.ctl("city", "camera", "count", "--under", ID["yuelu-1"])[1].get("count") == 1, 15,
                   what="yuelu-1's camera registered again, at the city")
        rc, doc = as_("city-inv-1", "city", "view", CAMERA)
        assert rc == 0 and doc.get("station") == ID["yuelu-1"], "a view at the rebuilt station: %s" % doc
        rc, doc = as_("city-inv-2", "city", "view", CAMERA)
        assert rc == 0, "the second officer's view: %s" % doc
        wait_until(acked, 5, what="the order acked at the city after the rebuild")
        step("the rebuilt yuelu-1 holds the live grant (views work once its catalog is back) and the order")
    step("ok")


if __name__ == "__main__":
    main()
