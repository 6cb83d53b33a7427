#!/usr/bin/python3
"""test_backlog: store and forward is reported, and alarmed when a peer is
away long (issue 17, fault 5).

Topology: city, yuelu, yuelu-1; [link] backlog_alarm_seconds = 3. The
city is stopped; yuelu-1 registers cameras, which yuelu applies and keeps
for the city. yuelu's `status` shows the backlog for its parent growing,
with the age of the oldest change; past three seconds the alarm is
raised: an error in yuelu's log, `alarm` in status (and in the human
form), a `link.backlog.alarm` record in yuelu's access log. The city comes back:
the backlog drains to nothing, the alarm ends (logged, recorded), and the
city holds every camera. Then the other way: yuelu-1 is stopped, an
emergency order waits for it at yuelu, yuelu's status shows the child's backlog
and alarm, and the record of the child's alarm reaches the city's copy of
yuelu's access log while yuelu-1 is still away.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, TestFederation, auditor, step, wait_until  # noqa: E402
from test_delivery import sql  # noqa: E402
from test_restore import commander  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}


def link_of(fed, name, peer):
    """The `link` object of NAME's status for PEER (its parent or a child)."""
    rc, doc = fed.ctl(name, "status", timeout=10)
    assert rc == 0, doc
    if doc.get("parent") and doc["parent"].get("id") == ID[peer]:
        return doc["parent"]["link"]
    for c in doc.get("children", []):
        if c["id"] == ID[peer]:
            return c["link"]
    raise AssertionError("%s's status has no link to %s: %s" % (name, peer, doc))


def records(fed, name, outcome):
    return sql(fed, name, "SELECT detail FROM audit_log WHERE action = 'link.backlog.%s'" % outcome)


def main():
    with TestFederation("backlog", NODES, heartbeat_ms=500, link={"backlog_alarm_seconds": 3}) as fed:
        fed.start()
        fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
        fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu police", "--retention-days", "30")
        wait_until(lambda: link_of(fed, "yuelu", "city")["backlog"]["waiting"] == 0, 15,
                   what="nothing waiting for the city")
        assert link_of(fed, "yuelu", "city")["backlog"] == {"waiting": 0, "oldest_seconds": 0, "alarm": False}

        fed.node("city").stop()
        mark = fed.log_mark("yuelu")
        step("city stopped; yuelu-1 registers 20 cameras")
        for i in range(20):
            fed.ctl_ok("yuelu-1", "camera", "add", "--id", "4301040100131%07d" % (i + 1), "--name", "c%d" % i,
                       "--system", "gov", "--site", "s1")
        b = wait_until(lambda: (lambda b: b if b["waiting"] >= 20 else None)(link_of(fed, "yuelu", "city")["backlog"]),
                       15, what="yuelu's backlog for the city to count the cameras")
        assert not b["alarm"], "alarm raised at once: %s" % b
        b = wait_until(lambda: (lambda b: b if b["alarm"] else None)(link_of(fed, "yuelu", "city")["backlog"]), 15,
                       what="the store-and-forward alarm at yuelu")
        assert b["oldest_seconds"] >= 3 and b["waiting"] >= 20, b
        log = fed.log_since("yuelu", mark)
        assert "store and forward:" in log and "waiting for %s" % ID["city"] in log, log[-2000:]
        assert "level=error" in [x for x in log.splitlines() if "store and forward" in x][0]
        wait_until(lambda: records(fed, "yuelu", "alarm"), 10, what="the alarm in yuelu's access log")
        human = fed.node("yuelu").ctl("status", json_output=False)[1]
        assert "changes waiting" in str(human) and "ALARM" in str(human), human
        step("yuelu: %d changes waiting for the city for %d s, alarm raised, logged and recorded"
             % (b["waiting"], b["oldest_seconds"]))

        mark = fed.log_mark("yuelu")
        fed.node("city").start()
        wait_until(lambda: link_of(fed, "yuelu", "city")["backlog"] == {"waiting": 0, "oldest_seconds": 0,
                                                                          "alarm": False}, 30,
                   what="the backlog drained and the alarm ended")
        assert "caught up after" in fed.log_since("yuelu", mark)
        wait_until(lambda: records(fed, "yuelu", "cleared"), 10, what="the end in yuelu's access log")
        rc, doc = fed.ctl("city", "camera", "count")
        assert rc == 0 and doc.get("count") == 20, doc
        step("the city is back: every camera arrived, the alarm ended, logged and recorded")

        # A child away: what waits for it, alarmed; the record reaches the city.
        key = commander(fed)
        fed.node("yuelu-1").stop()
        fed.ctl_ok("city", "emergency", "declare", "--scope", ID["yuelu"], "--duration", "30m", "--incident",
                   "drill", "--authority", "Changsha PSB", "--officer", "city-inv-1", as_identity=key)
        wait_until(lambda: link_of(fed, "yuelu", "yuelu-1")["backlog"]["alarm"], 20,
                   what="the alarm for yuelu-1 at yuelu (the order waits for it)",
                   detail=lambda: link_of(fed, "yuelu", "yuelu-1"))
        step("yuelu-1 away: %s" % link_of(fed, "yuelu", "yuelu-1")["backlog"])
        fed.node("yuelu-1").start()
        wait_until(lambda: not link_of(fed, "yuelu", "yuelu-1")["backlog"]["alarm"], 30,
                   what="the child's alarm ended")
        rc, copy = fed.ctl("city", "audit", "list", "--node", ID["yuelu"], "--limit", "1000",
                           as_identity=auditor(fed, "city"))
        assert rc == 0, copy
        seen = [r for r in copy if r["action"] == "link.backlog.alarm"]
        assert any(ID["yuelu-1"] in (r.get("detail") or "") for r in seen), seen
        step("the child's alarm is in the city's copy of yuelu's access log")
    print("test_backlog: ok")


if __name__ == "__main__":
    main()
