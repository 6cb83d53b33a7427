"""Emergency (issue "Emergency"), the part built so far: declare, the order
down, forced linkage at the stations, reports up, status at the command.

Real RTSP servers (deploy/rtsp-server) stand in for private systems'
reserved interfaces: at yuelu-1 an open one and one with digest
authentication (credentials held at the station) near the incident, and an
open one 5 km away; at yuelu-2 one nobody listens on and one that answers
garbage, near the incident; at furong-1 an open one (outside the scope).
The city's commander declares over yuelu with a 1 km radius while yuelu-2
is down:

* yuelu-1 acks and links exactly its two systems in the radius, each with
  H264 from the SDP; the far one is untouched;
* yuelu-2 is listed as not answered until it returns, then acks and reports
  both failures with their reasons (refused, bad response);
* furong-1 is not in scope; only a commander may declare (Art 19).
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SEVEN, TestFederation, auditor, free_port_block, start_rtsp_server, step,  # noqa: E402
                     stop_processes, wait_until)

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "furong", "yuelu-1", "yuelu-2", "furong-1")]
ID = {n: i for n, _, i, _ in NODES}
NEAR = (28.2000, 112.9400)

def register(fed, station, code, url, lat, lon, serial):
    fed.ctl_ok(station, "site", "add", "--code", "site-" + code, "--name", code, "--location-type", "street",
               "--latitude", lat, "--longitude", lon)
    fed.ctl_ok(station, "system", "add", "--code", code, "--name", code, "--builder-class", "private",
               "--responsible-entity", "owner of " + code, "--retention-days", "30", "--reserved-interface", url)
    cam = "%s00131%07d" % (ID[station][:8], serial)
    fed.ctl_ok(station, "camera", "add", "--id", cam, "--name", code, "--system", code, "--site", "site-" + code)


def main():
    servers = []
    # "emerg": a port block far from the other tests' (they start side by side).
    with TestFederation("emerg", NODES, heartbeat_ms=500) as fed:
        try:
            fed.start()
            # Ports for the servers once the federation holds its own.
            base = free_port_block("test_emergency_rtsp", 5)
            plain, digest, junk, dead = base, base + 1, base + 2, base + 3
            servers.append(start_rtsp_server(["--port", str(plain), "--mounts", "4"]))
            servers.append(start_rtsp_server(["--port", str(digest), "--mounts", "1", "--user", "linkage",
                                         "--password", "s3cret"]))
            servers.append(start_rtsp_server(["--port", str(junk), "--garbage"]))
            u = "rtsp://127.0.0.1:%d/cam%d"
            register(fed, "yuelu-1", "mall-a", u % (plain, 0), NEAR[0] + 0.001, NEAR[1], 1)
            register(fed, "yuelu-1", "hotel-b", u % (digest, 0), NEAR[0], NEAR[1] + 0.002, 2)
            register(fed, "yuelu-1", "far-c", u % (plain, 1), NEAR[0] + 0.05, NEAR[1], 3)     # ~5.5 km
            fed.ctl_ok("yuelu-1", "system", "credentials", "hotel-b", "--user", "linkage", "--password", "s3cret")
            register(fed, "yuelu-2", "dead-d", u % (dead, 0), NEAR[0] - 0.002, NEAR[1], 1)
            register(fed, "yuelu-2", "junk-e", u % (junk, 0), NEAR[0], NEAR[1] - 0.003, 2)
            register(fed, "furong-1", "other-f", u % (plain, 2), NEAR[0], NEAR[1], 1)
            key = os.path.join(fed.tmp, "commander.key")
            pub = subprocess.run([fed.vigilctl, "officer", "keygen", key, "--name", "city-commander"],
                                 check=True, stdout=subprocess.PIPE, text=True).stdout.split()[0]
            fed.ctl_ok("city", "officer", "add", "--badge", "city-commander", "--name", "commander",
                       "--credential", "C-1", "--roles", "operator", "--public-key", pub)
            # Art 19: a commander is conferred (at the city by its two admins).
            fed.confer("city-commander", "city", "commander")
            inv = os.path.join(fed.tmp, "inv.key")
            ipub = subprocess.run([fed.vigilctl, "officer", "keygen", inv, "--name", "city-inv-1"],
                                  check=True, stdout=subprocess.PIPE, text=True).stdout.split()[0]
            fed.ctl_ok("city", "officer", "add", "--badge", "city-inv-1", "--name", "inv", "--credential", "C-2",
                       "--roles", "investigator", "--public-key", ipub)
            for node in ("city", "yuelu-1", "furong-1"):   # who reads the logs (lib/control/policy.c)
                auditor(fed, node)
            wait_until(lambda: fed.ctl("city", "camera", "count")[1].get("count") == 6, 15,
                       what="the cameras at the city")
            step("six private systems behind real RTSP servers at three stations")

            args = ["emergency", "declare", "--scope", ID["yuelu"], "--near", "%f,%f" % NEAR, "--radius", "1000",
                    "--duration", "30m", "--incident", "fire at the Lushan road market",
                    "--authority", "Changsha Municipal Public Security Bureau", "--officer", "city-inv-1"]
            rc, doc = fed.ctl("city", *args, as_identity=inv)
            assert rc == 1 and doc.get("article") == "Art 19", "an investigator declaring: %s" % doc
            fed.node("yuelu-2").kill()
            rc, doc = fed.ctl("city", *args, as_identity=key)
            assert rc == 0 and doc.get("state") == "active" and \
                [s["id"] for s in doc.get("stations", [])] == [ID["yuelu-1"], ID["yuelu-2"]], "declare: %s" % doc
            em = doc["id"]
            t0 = time.monotonic()

            def station(doc, name):
                return next(s for s in doc["stations"] if s["id"] == ID[name])

            def y1_done():
                rc, d = fed.ctl("city", "emergency", "status", em, as_identity=key)
                return d if rc == 0 and station(d, "yuelu-1")["done"] else None
            doc = wait_until(y1_done, 20, what="yuelu-1 linked and reported at the city")
            step("yuelu-1 reported to the city %.2f s after the declaration" % (time.monotonic() - t0))
            ids = [s["id"] for s in doc["stations"]]
            assert ids == [ID["yuelu-1"], ID["yuelu-2"]], "stations in scope: %s" % ids
            y1 = station(doc, "yuelu-1")
            assert y1["acked"] and y1["linked"] == 2 and y1["failed"] == 0, "yuelu-1: %s" % y1
            assert "details" not in y1, "status carries counts and failures, not every linkage: %s" % y1
            report = fed.ctl_ok("city", "emergency", "report", em, as_identity=key)
            linked = {d["system"]: d for d in report["linkages"] if d["station"] == ID["yuelu-1"]}
            assert set(linked) == {"mall-a", "hotel-b"}, "linked at yuelu-1: %s" % sorted(linked)
            for d in linked.values():
                assert d["outcome"] == "linked" and d["streams"][0]["codec"] == "H264" \
                    and d["streams"][0]["clock_rate"] == 90000, d
            assert doc["not_answered"] == [ID["yuelu-2"]], "not answered: %s" % doc["not_answered"]
            step("yuelu-1 linked exactly its two systems in the radius (H264); yuelu-2 has not answered")

            # Art 23(5): the station's log of the order goes up with what it
            # records of the linkage, not at its next sweep (every 2 s).
            def city_copies(action):
                rc, copy = fed.ctl("city", "audit", "list", "--node", ID["yuelu-1"], "--limit", "1000",
                                   as_identity=auditor(fed, "city"))
                return [r for r in copy if r["action"] == action and r["emergency_id"] == em] if rc == 0 else []
            wait_until(lambda: city_copies("emergency.received"), 1.0,
                       what="the city holding yuelu-1's record of the order within 1 s of its report")
            # Each linkage is a use of the owner's system (Art 19), logged
            # in the commander's name (a record per batch the station puts
            # on record), and goes up with the rest.
            def linked_systems():
                found = {}
                for r in city_copies("emergency.link"):
                    assert (r["actor"], r["outcome"], r["article"]) == ("city-commander", "ok", "Art 13"), r
                    assert r["detail"].startswith("systems "), r
                    for item in r["detail"][len("systems "):].split(", "):
                        code, _, owner = item.partition(" (")
                        found[code] = owner.rstrip(")")
                return found if set(found) == {"mall-a", "hotel-b"} else None
            owners = wait_until(linked_systems, 1.0, what="the city holding yuelu-1's records of both linkages")
            assert all(owners.values()), "each linked system names its owner: %s" % owners
            step("the city holds yuelu-1's log of the order and of both linkages as it reports")

            fed.node("yuelu-2").start()

            def y2_done():
                rc, d = fed.ctl("city", "emergency", "status", em, as_identity=key)
                return d if rc == 0 and station(d, "yuelu-2")["done"] else None
            doc = wait_until(y2_done, 30, what="yuelu-2 acting on the order once back")
            y2 = station(doc, "yuelu-2")
            outcomes = {d["system"]: d["outcome"] for d in y2["failures"]}
            assert y2["acked"] and y2["linked"] == 0 and y2["failed"] == 2 and \
                outcomes == {"dead-d": "refused", "junk-e": "bad_response"}, "yuelu-2: %s" % y2
            assert doc["not_answered"] == [] and doc["totals"] == {"acked": 2, "linked": 2, "failed": 2}, doc
            step("yuelu-2, back, acked and reported its failures: refused, bad response")

            # Art 19: the command's officers view within scope, radius and
            # time without an approval; each such view names the emergency.
            near_cam, far_cam = "%s00131%07d" % (ID["yuelu-1"][:8], 1), "%s00131%07d" % (ID["yuelu-1"][:8], 3)
            rc, v = fed.ctl("city", "view", near_cam, as_identity=inv)
            assert rc == 0 and v.get("ticket"), "a view under the emergency: %s" % v
            pub = os.path.join(fed.node("yuelu-1").key_dir, "sign.pub")
            rc, t = fed.node("city").ctl("ticket", "verify", v["ticket"], "--key-file", pub)
            assert rc == 0 and t.get("emergency") == em and t.get("grant") is None, "ticket basis: %s" % t
            rc, v = fed.ctl("city", "view", far_cam, as_identity=inv)
            assert rc == 1 and v.get("article") == "Art 29(2)", "outside the radius: %s" % v
            rc, log = fed.ctl("yuelu-1", "audit", "list", "--limit", "50", as_identity=auditor(fed, "yuelu-1"))
            assert any(r["camera"] == near_cam and r["outcome"] == "ok" and r["emergency_id"] == em for r in log), \
                "the view under the emergency in yuelu-1's log: %s" % log
            step("under the emergency: a view without approval (ticket names it), refused outside the radius")

            rc, doc = fed.ctl("city", "emergency", "end", em, as_identity=key)
            assert rc == 0 and doc.get("state") == "ended", "end: %s" % doc

            def undone():
                rc, d = fed.ctl("city", "emergency", "status", em, as_identity=key)
                return d if rc == 0 and station(d, "yuelu-1")["unlinked"] == 2 else None
            doc = wait_until(undone, 20, what="yuelu-1's linkages undone and reported")
            assert doc["state"] == "ended", doc
            wait_until(lambda: len(city_copies("emergency.unlink")) == 2, 1.0,
                       what="the city holding yuelu-1's two unlinking records within 1 s of the report")
            rc, v = fed.ctl("city", "view", near_cam, as_identity=inv)
            assert rc == 1 and v.get("article") == "Art 29(2)", "a view after the end: %s" % v
            step("ended: yuelu-1 undid both linkages (its log of it at the city); views under it refused")

            # The after-action report: linkages, failures, the owners'
            # notifications, the accesses under it (from yuelu-1's log copy).
            def report():
                rc, d = fed.ctl("city", "emergency", "report", em, as_identity=key)
                return d if rc == 0 and d.get("accesses") else None
            rep = wait_until(report, 20, what="the access under the emergency in the city's report")
            got = {(x["station"], x["system"]): x for x in rep["linkages"]}
            assert sorted(got) == sorted([(ID["yuelu-1"], "hotel-b"), (ID["yuelu-1"], "mall-a"),
                                          (ID["yuelu-2"], "dead-d"), (ID["yuelu-2"], "junk-e")]), sorted(got)
            mall = got[(ID["yuelu-1"], "mall-a")]
            assert mall["outcome"] == "linked" and mall["responsible_entity"] == "owner of mall-a" \
                and "To owner of mall-a" in (mall["notification"] or "") and em in mall["notification"], mall
            assert got[(ID["yuelu-2"], "dead-d")]["notification"] is None, "a failed linkage notifies nobody"
            acc = rep["accesses"]
            assert any(a["actor"] == "city-inv-1" and a["camera"] == near_cam and a["outcome"] == "ok" for a in acc), acc
            assert rep["state"] == "ended" and rep["ended_at"], rep
            step("report: 2 linked with their owners' notifications, 2 failed, %d accesses, ended" % len(acc))

            # A station cut off from its parent ends it on its own timer.
            rc, doc = fed.ctl("city", "emergency", "declare", "--scope", ID["furong"], "--duration", "4s",
                              "--incident", "drill", "--authority", "Changsha PSB", "--role", "investigator",
                              as_identity=key)
            assert rc == 0, doc
            em2 = doc["id"]
            wait_until(lambda: any(s["done"] and s["linked"] == 1 for s in
                                   fed.ctl("city", "emergency", "status", em2, as_identity=key)[1].get("stations", [])), 20,
                       what="furong-1 linking under the drill")
            fed.node("furong").kill()
            wait_until(lambda: any(r["action"] == "emergency.unlink" and r["emergency_id"] == em2 for r in
                                   fed.ctl("furong-1", "audit", "list", "--limit", "50", as_identity=auditor(fed, "furong-1"))[1]), 15,
                       what="furong-1 undoing its linkage at expiry, cut off from furong")
            step("furong-1, cut off from its parent, undid its linkage at expiry on its own clock")
        finally:
            stop_processes(servers)
    step("ok")


if __name__ == "__main__":
    main()
