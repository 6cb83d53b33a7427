#!/usr/bin/python3
"""test_tree: the seven-node federation of CONTRACT.md comes up, and the
city's `tree` follows nodes going down and coming back.

* all seven nodes online at the city, with the right tiers and parents;
* kill -9 of a station: the city shows it offline within 5 s, and online
  again within 5 s of its restart;
* a district stopped: the city shows it offline and its stations stale
  (last-known state, with last_seen); restarted: the true state again, and
  a node online behind live links is seen now;
* a district killed with one of its stations: back, it shows the station
  offline, last seen about when the district went down.
"""

import calendar
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SEVEN, TestFederation, step, wait_until  # noqa: E402

# Fast heartbeats so that "offline within 5 s" holds with room to spare:
# 3 misses of 500 ms is 1.5 s, and even under the sanitizers.
HEARTBEAT_MS = 500
TIER = {n: t for n, t, _, _ in SEVEN}
ID = {n: i for n, _, i, _ in SEVEN}
PARENT_ID = {n: (ID[p] if p else None) for n, _, _, p in SEVEN}


LAST = {}      # the city's last answer, shown when a wait times out


def city_tree(fed):
    rc, doc = fed.ctl("city", "tree", timeout=10)
    LAST["answer"] = (rc, doc)
    if rc != 0 or not isinstance(doc, list):
        return None
    return {e.get("id"): e for e in doc}


def last_answer():
    return LAST.get("answer")


def check_shape(entry, name):
    for key in ("id", "tier", "name", "parent", "online", "last_seen", "stale", "cameras"):
        assert key in entry, "tree entry of %s lacks %r: %r" % (name, key, entry)
    assert entry["tier"] == TIER[name], "%s: tier %r, want %r" % (name, entry["tier"], TIER[name])
    assert entry["name"] == name, "%s: name %r" % (name, entry["name"])
    assert entry["parent"] == PARENT_ID[name], \
        "%s: parent %r, want %r" % (name, entry["parent"], PARENT_ID[name])


def all_online_and_fresh(fed):
    """The true state: every node online and none stale."""
    t = city_tree(fed)
    if t is None or len(t) != len(SEVEN):
        return None
    for name, _, node_id, _ in SEVEN:
        e = t.get(node_id)
        if e is None or e.get("online") is not True or e.get("stale"):
            return None
    return t


def seen_at(text):
    """A last_seen value ("2026-11-29T13:00:53.168Z") as seconds since the epoch."""
    return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + text[19:-1])


def online_at_city(fed, name, want):
    t = city_tree(fed)
    return t is not None and ID[name] in t and t[ID[name]].get("online") is want


def main():
    with TestFederation("tree", SEVEN, heartbeat_ms=HEARTBEAT_MS) as fed:
        step("starting seven nodes")
        fed.start()

        step("waiting for all seven online at the city")
        t = wait_until(lambda: all_online_and_fresh(fed), 30,
                       what="all seven online at the city", detail=last_answer)
        for name, _, node_id, _ in SEVEN:
            check_shape(t[node_id], name)
        assert t[ID["city"]]["last_seen"] is None or isinstance(t[ID["city"]]["last_seen"], str)

        # Each district sees itself and its own stations, not the other side.
        yt = fed.tree("yuelu")
        assert set(yt) >= {ID["yuelu"], ID["yuelu-1"], ID["yuelu-2"]}, yt
        assert ID["furong-1"] not in yt, "yuelu must not see furong's stations: %r" % yt

        st = fed.ctl_ok("yuelu", "status")
        assert st["id"] == ID["yuelu"] and st["tier"] == "district", st
        assert st["parent"] and st["parent"]["id"] == ID["city"] and st["parent"]["online"], st
        assert sorted(c["id"] for c in st["children"] if c["online"]) == \
            sorted([ID["yuelu-1"], ID["yuelu-2"]]), st

        # --under narrows the city's tree to one subtree.
        rc, sub = fed.ctl("city", "tree", "--under", ID["furong"])
        assert rc == 0, sub
        assert {e["id"] for e in sub} == {ID["furong"], ID["furong-1"], ID["furong-2"]}, sub

        step("kill -9 yuelu-1")
        fed.node("yuelu-1").kill()
        t0 = time.monotonic()
        wait_until(lambda: online_at_city(fed, "yuelu-1", False), 5,
                   what="yuelu-1 offline at the city within 5 s", detail=last_answer)
        step("city shows yuelu-1 offline after %.1f s" % (time.monotonic() - t0))
        e = city_tree(fed)[ID["yuelu-1"]]
        assert e["last_seen"], "an offline node keeps its last_seen: %r" % e

        step("restart yuelu-1")
        t0 = time.monotonic()
        fed.node("yuelu-1").start()
        wait_until(lambda: online_at_city(fed, "yuelu-1", True), 5,
                   what="yuelu-1 online at the city within 5 s of its restart", detail=last_answer)
        step("city shows yuelu-1 online after %.1f s" % (time.monotonic() - t0))

        step("stop yuelu (SIGTERM)")
        yuelu = fed.node("yuelu")
        assert not yuelu.stop(), "yuelu did not stop within 10 s of SIGTERM"
        assert yuelu.last_exit in (None, 0), "yuelu exited with %s" % yuelu.last_exit

        def yuelu_down_stations_stale():
            t = city_tree(fed)
            if t is None:
                return None
            y, s1, s2 = t.get(ID["yuelu"]), t.get(ID["yuelu-1"]), t.get(ID["yuelu-2"])
            if not (y and s1 and s2) or y.get("online") is not False:
                return None
            if not (s1.get("stale") and s2.get("stale")):
                return None
            return t
        t = wait_until(yuelu_down_stations_stale, 5,
                       what="yuelu offline and its stations stale at the city", detail=last_answer)
        for name in ("yuelu", "yuelu-1", "yuelu-2"):
            assert t[ID[name]]["last_seen"], "%s: last_seen missing: %r" % (name, t[ID[name]])
        for name in ("city", "furong", "furong-1", "furong-2"):
            e = t[ID[name]]
            assert e["online"] is True and not e["stale"], "%s affected: %r" % (name, e)

        step("restart yuelu")
        restarted = time.time()
        yuelu.start()
        t = wait_until(lambda: all_online_and_fresh(fed), 10,
                       what="true state (all online, none stale) after yuelu's restart",
                       detail=last_answer)
        step("all seven online and fresh again")
        # Online behind live links is seen now, not when it came online:
        # furong's stations came online long before yuelu's restart.
        for name in ("furong-1", "furong-2", "yuelu-1"):
            seen = seen_at(t[ID[name]]["last_seen"])
            assert seen >= restarted - 0.5, "%s online but last seen %s, before %s" % (
                name, t[ID[name]]["last_seen"], restarted)

        # A district that crashes, and a station that is gone when it comes
        # back: the station was last seen about when the district went down
        # (yuelu notes its children seen every 10 beats, 5 s here), not when
        # it came online.
        step("yuelu's stations online for 11 s, then kill -9 yuelu and yuelu-2")
        time.sleep(11)
        fed.node("yuelu-2").kill()
        yuelu.kill()
        killed = time.time()
        yuelu.start()

        def yuelu2_gone():
            t = city_tree(fed)
            if t is None:
                return None
            y, s2 = t.get(ID["yuelu"]), t.get(ID["yuelu-2"])
            if not (y and s2) or y.get("online") is not True or s2.get("online") is not False:
                return None
            return None if s2.get("stale") else t
        t = wait_until(yuelu2_gone, 10, what="yuelu back, yuelu-2 offline at the city",
                       detail=last_answer)
        seen = seen_at(t[ID["yuelu-2"]]["last_seen"])
        assert killed - 5 - 1.5 <= seen <= killed + 0.5, \
            "yuelu-2 last seen %s; yuelu and it were killed at %.3f" % (t[ID["yuelu-2"]]["last_seen"], killed)
        step("yuelu-2 last seen %.1f s before the kill" % (killed - seen))
    step("ok")


if __name__ == "__main__":
    main()
