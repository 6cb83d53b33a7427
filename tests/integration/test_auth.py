#!/usr/bin/python3
"""test_auth: only enrolled keys get in, and a key speaks only for its node.

Topology: city, yuelu, yuelu-1 (running) and yuelu-2 (enrolled at yuelu but
never started, so that this test can play it with its real key pair).

1. A valid CURVE key that is not enrolled exchanges not a single message:
   (a) on yuelu's downlink, a Hello claiming yuelu-2 gets no reply; the ZAP
   handler counts and logs the refusal with the peer's address; (b) the same
   on the control socket, and `vigilctl --as <unenrolled identity> status`
   fails.
2. yuelu-2's key presenting itself as yuelu-1 is refused with an Error, a log
   line and a counter, and the real yuelu-1 stays online. (A frame whose
   envelope origin is yuelu-1 as well is dropped as from the wrong origin.)
3. An ID outside the parent's prefix is refused: (a) `node enroll` at yuelu;
   (b) a Hello from an enrolled key claiming furong-1's ID; (c) `vigild
   --check` of a config whose [node] id is not under its [parent] id.

4. yuelu-2 re-enrolled with a new key while a connection with its old key
   is open: that connection's next message is dropped, counted and logged.

5. `node remove`: refused where it must be (not a child, a district with
   stations, Art 18 a station with a registered site); yuelu-2 removed
   while connected is cut off, refused by ZAP, forgotten up to the city,
   and let in again once enrolled again.

Every check runs even if an earlier one failed; the test fails at the end
listing each failed check.
"""

import os
import re
import shutil
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zmq  # noqa: E402

import wire  # noqa: E402
from harness import TestFederation, auditor, step, wait_until  # noqa: E402

NODES = [
    ("city", "city", "43010000002000000001", None),
    ("yuelu", "district", "43010400002000000001", "city"),
    ("yuelu-1", "station", "43010401002000000001", "yuelu"),
    ("yuelu-2", "station", "43010402002000000001", "yuelu"),
]
ID = {n: i for n, _, i, _ in NODES}
FURONG = "43010200002000000001"
FURONG_1 = "43010201002000000001"
OUTSIDE = "43019901002000000001"   # a station of a district that is not yuelu
HEARTBEAT_MS = 500
NO_REPLY_S = 3.0


def counters(fed, name):
    return fed.ctl_ok(name, "status", timeout=10)["counters"]


def counter_rose(fed, name, key, before, timeout=5):
    """Wait until counters[KEY] at NAME exceeds BEFORE; return the new value."""
    last = {}

    def rose():
        last["c"] = counters(fed, name)
        return last["c"].get(key, 0) > before
    wait_until(rose, timeout, what="counters.%s at %s to rise above %d" % (key, name, before),
               detail=lambda: last.get("c"))
    return last["c"][key]


def wait_log(fed, name, mark, pattern, what, timeout=5):
    """Wait for a line matching PATTERN (a regex) in NAME's log after MARK;
    return the line."""
    rx = re.compile(pattern)

    def found():
        for line in fed.log_since(name, mark).splitlines():
            if rx.search(line):
                return line
        return None
    return wait_until(found, timeout, what="%s in %s's log (/%s/)" % (what, name, pattern),
                      detail=lambda: fed.log_since(name, mark)[-2000:])


def station_online(fed, district, station):
    e = fed.tree(district).get(ID[station])
    return bool(e and e.get("online") is True)


def assert_yuelu1_online(fed, when):
    assert station_online(fed, "yuelu", "yuelu-1"), \
        "the real yuelu-1 is not online in yuelu's tree %s: %r" % (when, fed.tree("yuelu"))


def key_pair(node):
    return (wire.read_key(os.path.join(node.key_dir, "curve.pub")),
            wire.read_key(os.path.join(node.key_dir, "curve.key")))


def fresh_key_pair():
    pub, sec = zmq.curve_keypair()
    return pub.decode(), sec.decode()


# --- 1: unenrolled keys -------------------------------------------------------

def check_unenrolled_downlink(fed):
    yuelu = fed.node("yuelu")
    pub, sec = fresh_key_pair()
    before = counters(fed, "yuelu")["zap_refused_downlink"]
    mark = fed.log_mark("yuelu")
    with wire.Peer(yuelu.downlink_endpoint, yuelu.public_key, pub, sec) as p:
        p.send(wire.hello(ID["yuelu-2"]))
        got = p.recv_raw(NO_REPLY_S)
        assert got is None, ("an unenrolled key got a reply on yuelu's downlink: %r"
                             % (wire.Envelope(got),))
    now = counter_rose(fed, "yuelu", "zap_refused_downlink", before)
    line = wait_log(fed, "yuelu", mark,
                    r"sub=zap .*domain=downlink .*peer=127\.0\.0\.1 .*key=\"?%s\"? .*refused"
                    % re.escape(pub), "the ZAP refusal of the unenrolled key")
    step("  zap_refused_downlink %d -> %d; log: %s" % (before, now, line.strip()))
    st = fed.ctl_ok("yuelu", "status")
    y2 = [c for c in st["children"] if c["id"] == ID["yuelu-2"]]
    assert y2 and y2[0]["online"] is False, \
        "yuelu-2 (never started) must stay offline after an unenrolled key claimed it: %r" % y2


def check_unenrolled_control(fed):
    yuelu = fed.node("yuelu")
    ident = os.path.join(fed.tmp, "intruder.key")
    if not os.path.exists(ident):
        subprocess.run([fed.vigilctl, "keygen", ident, "--name", "intruder"], check=True,
                       stdout=subprocess.DEVNULL)
    pub, sec = wire.identity_keys(ident)
    before = counters(fed, "yuelu")["zap_refused_control"]
    mark = fed.log_mark("yuelu")
    with wire.Peer(yuelu.control_endpoint, yuelu.public_key, pub, sec) as p:
        p.send(wire.control_request("status", request_id=42))
        got = p.recv_raw(NO_REPLY_S)
        assert got is None, ("an unenrolled identity got a reply on yuelu's control socket: %r"
                             % (wire.Envelope(got),))
    now = counter_rose(fed, "yuelu", "zap_refused_control", before)
    line = wait_log(fed, "yuelu", mark,
                    r"sub=zap .*domain=control .*peer=127\.0\.0\.1 .*key=\"?%s\"? .*refused"
                    % re.escape(pub), "the ZAP refusal of the unenrolled identity")
    step("  zap_refused_control %d -> %d; log: %s" % (before, now, line.strip()))

    t0 = time.monotonic()
    rc, doc = yuelu.ctl("status", as_identity=ident, timeout=30)
    step("  vigilctl --as intruder.key status: exit %d after %.1f s: %s"
         % (rc, time.monotonic() - t0, doc))
    assert rc != 0, "vigilctl --as <unenrolled identity> status exited 0: %r" % doc
    assert not (isinstance(doc, dict) and doc.get("id") == ID["yuelu"]), \
        "vigilctl --as <unenrolled identity> got yuelu's status: %r" % doc


# --- 2: another station's key -------------------------------------------------

def check_borrowed_key(fed):
    yuelu = fed.node("yuelu")
    pub, sec = key_pair(fed.node("yuelu-2"))
    assert_yuelu1_online(fed, "before the impersonation")
    c0 = counters(fed, "yuelu")
    mark = fed.log_mark("yuelu")
    with wire.Peer(yuelu.downlink_endpoint, yuelu.public_key, pub, sec) as p:
        # The envelope's origin is the node the key authenticates (else it
        # is dropped as from the wrong origin, below); the Hello claims yuelu-1.
        p.send(wire.hello(ID["yuelu-1"], origin=ID["yuelu-2"]))
        env = p.recv(5, want={"error", "welcome"})
        assert env is not None, "no reply to a Hello claiming yuelu-1 with yuelu-2's key (want an Error)"
        assert env.body_name == "error", \
            "a Hello claiming yuelu-1 with yuelu-2's key was answered with %r, not an Error" % env
        err = env.get(wire.ERROR)
        assert err.get("code") == wire.LINK_ERROR_REFUSED and "refused" in err.get("message", ""), \
            "Error should say refused (code %d): %r" % (wire.LINK_ERROR_REFUSED, err)
        step("  Error reply: %r" % err)
        line = wait_log(fed, "yuelu", mark,
                        r"claimed=%s .*refused Hello: key enrolled for another node" % ID["yuelu-1"],
                        "the refusal of the borrowed key")
        step("  log: %s" % line.strip())
        now = counter_rose(fed, "yuelu", "downlink_refused_hello", c0["downlink_refused_hello"])
        step("  downlink_refused_hello %d -> %d" % (c0["downlink_refused_hello"], now))

        # Full impersonation (origin yuelu-1 too): dropped, no answer.
        mark = fed.log_mark("yuelu")
        p.send(wire.hello(ID["yuelu-1"], origin=ID["yuelu-1"]))
        env = p.recv(2, want={"error", "welcome"})
        assert env is None, "a frame with origin yuelu-1 under yuelu-2's key was answered: %r" % env
        counter_rose(fed, "yuelu", "downlink_wrong_origin", c0["downlink_wrong_origin"])
        wait_log(fed, "yuelu", mark, r"child=%s .*origin=\"?%s.*wrong origin"
                 % (ID["yuelu-2"], ID["yuelu-1"]), "the wrong-origin drop")
    # Past the point where missed heartbeats would have shown: the real
    # yuelu-1 never lost its session.
    time.sleep(3 * HEARTBEAT_MS / 1000 + 0.5)
    assert_yuelu1_online(fed, "after yuelu-2's key claimed to be yuelu-1")
    st = fed.ctl_ok("yuelu", "status")
    y2 = [c for c in st["children"] if c["id"] == ID["yuelu-2"]]
    assert y2 and y2[0]["online"] is False, "yuelu-2 must not be online after a refused Hello: %r" % y2


# --- 3: IDs outside the prefix ---------------------------------------------------

def check_enroll_outside(fed):
    pub, _ = fresh_key_pair()
    rc, doc = fed.ctl("yuelu", "node", "enroll", OUTSIDE, "--public-key", pub,
                      "--sign-key", fed.node("yuelu-2").sign_key, "--name", "x")
    step("  enroll %s at yuelu: exit %d %r" % (OUTSIDE, rc, doc))
    assert rc == 1, "enrolling %s at yuelu: exit %d, want 1: %r" % (OUTSIDE, rc, doc)
    msg = doc.get("error", "") if isinstance(doc, dict) else str(doc)
    assert OUTSIDE in msg, "the refusal does not name the ID %s: %r" % (OUTSIDE, msg)
    assert "prefix" in msg and "430104" in msg, \
        "the refusal does not state the rule (under yuelu's prefix 430104): %r" % msg
    assert OUTSIDE not in fed.tree("yuelu"), "%s appears in yuelu's tree after a refused enrolment" % OUTSIDE


def check_hello_outside(fed):
    yuelu = fed.node("yuelu")
    pub, sec = key_pair(fed.node("yuelu-2"))
    before = counters(fed, "yuelu")["downlink_refused_hello"]
    mark = fed.log_mark("yuelu")
    with wire.Peer(yuelu.downlink_endpoint, yuelu.public_key, pub, sec) as p:
        p.send(wire.hello(FURONG_1, origin=ID["yuelu-2"]))
        env = p.recv(5, want={"error", "welcome"})
        assert env is not None, "no reply to a Hello claiming %s (outside yuelu)" % FURONG_1
        assert env.body_name == "error", "a Hello claiming %s was answered with %r" % (FURONG_1, env)
        err = env.get(wire.ERROR)
        assert err.get("code") == wire.LINK_ERROR_REFUSED and FURONG_1 in err.get("message", ""), \
            "the Error should refuse and name %s: %r" % (FURONG_1, err)
        step("  Error reply: %r" % err)
    line = wait_log(fed, "yuelu", mark,
                    r"claimed=%s .*refused Hello: ID outside this node's prefix" % FURONG_1,
                    "the refusal of an ID outside the prefix")
    step("  log: %s" % line.strip())
    counter_rose(fed, "yuelu", "downlink_refused_hello", before)
    assert_yuelu1_online(fed, "after a Hello from outside the prefix")


def vigild_check(fed, conf):
    r = subprocess.run([fed.vigild, "-c", conf, "--check"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    return r.returncode, r.stdout.strip()


def check_config_outside(fed):
    src = fed.node("yuelu-1").conf
    d = os.path.join(fed.tmp, "badconf")
    os.makedirs(d, exist_ok=True)
    good = os.path.join(d, "good.conf")
    shutil.copy(src, good)
    rc, out = vigild_check(fed, good)
    assert rc == 0 and "configuration OK" in out, \
        "the unchanged copy of yuelu-1's config should pass --check: exit %d: %s" % (rc, out)

    with open(src) as f:
        text = f.read()
    pattern = r"(\[parent\]\s*\nid = )%s" % ID["yuelu"]
    assert re.search(pattern, text), "no [parent] id line in %s:\n%s" % (src, text)

    # yuelu-1 (430104...) under furong (prefix 430102): same tiers, wrong prefix.
    bad = os.path.join(d, "outside.conf")
    with open(bad, "w") as f:
        f.write(re.sub(pattern, r"\g<1>" + FURONG, text))
    rc, out = vigild_check(fed, bad)
    step("  --check, parent furong: exit %d: %s" % (rc, out))
    assert rc == 1, "vigild --check of yuelu-1 under furong: exit %d, want 1: %s" % (rc, out)
    assert ID["yuelu-1"] in out and FURONG in out and "prefix" in out, \
        "the message should name %s, %s and the prefix rule: %s" % (ID["yuelu-1"], FURONG, out)

    # A station directly under the city: a tier skipped.
    bad2 = os.path.join(d, "skip.conf")
    with open(bad2, "w") as f:
        f.write(re.sub(pattern, r"\g<1>" + ID["city"], text))
    rc, out = vigild_check(fed, bad2)
    step("  --check, parent city: exit %d: %s" % (rc, out))
    assert rc == 1, "vigild --check of a station under the city: exit %d, want 1: %s" % (rc, out)
    assert ID["city"] in out, "the message should name the parent ID %s: %s" % (ID["city"], out)


def assert_welcomed(p, name, what):
    """A Hello as NAME on peer P is answered with a Welcome."""
    p.send(wire.hello(ID[name], origin=ID[name]))
    env = p.recv(5, want={"error", "welcome"})
    assert env is not None and env.body_name == "welcome", "%s: %r" % (what, env)


# --- 4: a key withdrawn while its connection is open -------------------------

def check_rekeyed_open_connection(fed):
    """yuelu-2's key is connected and welcomed; yuelu-2 is re-enrolled with
    a new key (the old one leaked): the open connection is cut off at its
    next message, counted and logged, not only the next connection."""
    yuelu = fed.node("yuelu")
    pub, sec = key_pair(fed.node("yuelu-2"))
    c0 = counters(fed, "yuelu")
    with wire.Peer(yuelu.downlink_endpoint, yuelu.public_key, pub, sec) as p:
        assert_welcomed(p, "yuelu-2", "yuelu-2's own key not welcomed")
        new_pub, _ = fresh_key_pair()
        mark = fed.log_mark("yuelu")
        fed.ctl_ok("yuelu", "node", "enroll", ID["yuelu-2"], "--public-key", new_pub,
                   "--sign-key", fed.node("yuelu-2").sign_key, "--name", "yuelu-2")
        p.send(wire.hello(ID["yuelu-2"], origin=ID["yuelu-2"]))
        env = p.recv(NO_REPLY_S, want={"error", "welcome"})
        assert env is None, "the old key's open connection was answered after re-enrolment: %r" % env
        now = counter_rose(fed, "yuelu", "downlink_unenrolled", c0["downlink_unenrolled"])
        step("  downlink_unenrolled %d -> %d" % (c0["downlink_unenrolled"], now))
        wait_log(fed, "yuelu", mark, r"key no longer enrolled", "the drop of the withdrawn key's message")
    # The real key back, for whatever runs after.
    fed.ctl_ok("yuelu", "node", "enroll", ID["yuelu-2"], "--public-key", pub,
               "--sign-key", fed.node("yuelu-2").sign_key, "--name", "yuelu-2")


# --- 5: a child platform removed ---------------------------------------------

def check_node_remove(fed):
    """Removing a child at its parent: refused for what is not a child of
    it, for a district that still has stations, and (Art 18) for a station
    that still registers a site; yuelu-2, connected, is removed with a
    reason: its open connection is cut off, its key refused on a new one,
    the trees of yuelu and the city forget it; the log says who and why;
    enrolled again, it gets in again."""
    yuelu = fed.node("yuelu")
    rc, doc = fed.ctl("yuelu", "node", "remove", ID["yuelu-2"])
    assert rc == 2, "a removal without a reason: %s" % doc
    rc, doc = fed.ctl("yuelu", "node", "remove", ID["yuelu"], "--reason", "x")
    assert rc == 1 and "not a child platform enrolled here" in doc["error"], doc
    rc, doc = fed.ctl("city", "node", "remove", ID["yuelu"], "--reason", "x")
    assert rc == 1 and "under it" in doc["error"], "a district with stations: %s" % doc
    fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
    wait_until(lambda: fed.ctl("yuelu", "site", "show", "s1", "--station", ID["yuelu-1"])[0] == 0, 10,
               what="yuelu-1's site at yuelu")
    rc, doc = fed.ctl("yuelu", "node", "remove", ID["yuelu-1"], "--reason", "x")
    assert rc == 1 and doc.get("article") == "Art 18" and "1 site(s)" in doc["error"], doc
    assert_yuelu1_online(fed, "after its refused removal")

    pub, sec = key_pair(fed.node("yuelu-2"))
    c0 = counters(fed, "yuelu")
    with wire.Peer(yuelu.downlink_endpoint, yuelu.public_key, pub, sec) as p:
        assert_welcomed(p, "yuelu-2", "yuelu-2 not welcomed")
        wait_until(lambda: station_online(fed, "yuelu", "yuelu-2"), 5, what="yuelu-2 online at yuelu")
        rc, doc = fed.ctl("yuelu", "node", "remove", ID["yuelu-2"], "--reason", "merged into yuelu-1")
        assert rc == 0 and doc == {"id": ID["yuelu-2"], "state": "removed"}, "remove: %s" % doc
        p.send(wire.hello(ID["yuelu-2"], origin=ID["yuelu-2"]))
        env = p.recv(NO_REPLY_S, want={"error", "welcome"})
        assert env is None, "the removed node's open connection was answered: %r" % env
        counter_rose(fed, "yuelu", "downlink_unenrolled", c0["downlink_unenrolled"])
    with wire.Peer(yuelu.downlink_endpoint, yuelu.public_key, pub, sec) as p:
        p.send(wire.hello(ID["yuelu-2"], origin=ID["yuelu-2"]))
        assert p.recv_raw(NO_REPLY_S) is None, "the removed node's key got an answer on a new connection"
    counter_rose(fed, "yuelu", "zap_refused_downlink", c0["zap_refused_downlink"])
    assert ID["yuelu-2"] not in fed.tree("yuelu"), "yuelu still lists yuelu-2"
    assert ID["yuelu-2"] not in [c["id"] for c in fed.ctl_ok("yuelu", "status")["children"]]
    wait_until(lambda: ID["yuelu-2"] not in fed.tree("city"), 5, what="the city forgetting yuelu-2")
    log = fed.ctl_ok("yuelu", "audit", "list", "--limit", "50", as_identity=auditor(fed, "yuelu"))
    removals = [(r["action"], r["outcome"], r["detail"]) for r in log if r["action"] == "node.remove"]
    assert removals[-1] == ("node.remove", "ok", "%s (yuelu-2): merged into yuelu-1" % ID["yuelu-2"]) and \
        [o for _, o, _ in removals] == ["refused", "refused", "ok"], removals
    # Enrolled again (same key): it gets in again.
    fed.ctl_ok("yuelu", "node", "enroll", ID["yuelu-2"], "--public-key", pub,
               "--sign-key", fed.node("yuelu-2").sign_key, "--name", "yuelu-2")
    with wire.Peer(yuelu.downlink_endpoint, yuelu.public_key, pub, sec) as p:
        assert_welcomed(p, "yuelu-2", "yuelu-2 enrolled again, not welcomed")


CHECKS = [
    ("1a unenrolled key on the downlink", check_unenrolled_downlink),
    ("1b unenrolled identity on the control socket", check_unenrolled_control),
    ("2 a station presenting another station's key", check_borrowed_key),
    ("3a node enroll of an ID outside the prefix", check_enroll_outside),
    ("3b Hello claiming an ID outside the prefix", check_hello_outside),
    ("3c vigild --check of a node outside its parent's prefix", check_config_outside),
    ("4 a key re-enrolled while its connection is open", check_rekeyed_open_connection),
    ("5 a child platform removed", check_node_remove),
]


def main():
    failed = []
    with TestFederation("auth", NODES, heartbeat_ms=HEARTBEAT_MS) as fed:
        step("starting city, yuelu, yuelu-1; yuelu-2 enrolled only")
        fed.start_except("yuelu-2")
        wait_until(lambda: station_online(fed, "yuelu", "yuelu-1"), 15,
                   what="yuelu-1 online at yuelu")
        for title, check in CHECKS:
            step("CHECK %s" % title)
            try:
                check(fed)
                step("  ok")
            except Exception as e:  # noqa: BLE001 -- report every check
                traceback.print_exc()
                step("  FAILED: %s" % e)
                failed.append("%s: %s" % (title, e))
            assert fed.node("yuelu").alive(), "yuelu died during check %s" % title
        if failed:
            fed.failed = True       # keep the files and dump the logs
    if failed:
        print("FAILED CHECKS:\n  " + "\n  ".join(failed), flush=True)
        sys.exit(1)
    step("ok")


if __name__ == "__main__":
    main()
