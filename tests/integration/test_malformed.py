#!/usr/bin/python3
"""test_malformed: garbage is counted, logged and survived.

Topology: city, yuelu, yuelu-1 (running) and yuelu-2 (enrolled, never
started). The test plays yuelu-2 with its real key on yuelu's downlink, and
an admin (yuelu's admin.key) on yuelu's control socket, and sends:

  1 random bytes            2 a truncated valid protobuf
  3 an oversize message (5 MiB: over WIRE_MAX_MESSAGE, 4 MiB, so counted
    and dropped; under ZMQ_MAXMSGSIZE, 8 MiB, so the connection stays)
  4 an envelope with a body nobody knows (field 99): wire-valid, counted
    as an unknown body (a newer peer's?), not as garbage; also a known body
    that does not belong on that socket
  5 a valid frame from the wrong origin (another node's ID)
  6 an envelope of another protocol version

After each: yuelu still runs, the counter lib/downlink.c or lib/control.c
increments for that case rose by exactly one (and its siblings did not), the
log has a line about it, yuelu answers `status`, and the real yuelu-1 stays
online in yuelu's tree. At the end the same fake connection says a proper
Hello and gets a Welcome (and the control connection a proper status), so
neither connection was dropped. A hostile 9 MiB message (libzmq
disconnects) leaves yuelu and yuelu-1 unaffected as well.

Every case runs even if an earlier one failed; the test fails at the end
listing each failed case.
"""

import json
import os
import random
import re
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402
from harness import TestFederation, step, wait_until  # noqa: E402

NODES = [
    ("city", "city", "43010000002000000001", None),
    ("yuelu", "district", "43010400002000000001", "city"),
    ("yuelu-1", "station", "43010401002000000001", "yuelu"),
    ("yuelu-2", "station", "43010402002000000001", "yuelu"),
]
ID = {n: i for n, _, i, _ in NODES}
HEARTBEAT_MS = 500
MIB = 1024 * 1024
WIRE_MAX_MESSAGE = 4 * MIB
CONTROL_OK, CONTROL_REFUSED, CONTROL_USAGE = 0, 1, 2

DOWNLINK_COUNTERS = ("downlink_malformed", "downlink_oversize", "downlink_unknown_body",
                     "downlink_wrong_origin", "downlink_refused_hello")
CONTROL_COUNTERS = ("control_malformed", "control_oversize", "control_unknown_body", "control_wrong_origin")

ME = ID["yuelu-2"]   # the station this test plays


def counters(fed):
    return fed.ctl_ok("yuelu", "status", timeout=10)["counters"]


def wait_log(fed, mark, pattern, what, timeout=5):
    rx = re.compile(pattern)

    def found():
        for line in fed.log_since("yuelu", mark).splitlines():
            if rx.search(line):
                return line
        return None
    return wait_until(found, timeout, what="%s in yuelu's log (/%s/)" % (what, pattern),
                      detail=lambda: fed.log_since("yuelu", mark)[-2000:])


def yuelu1_online(fed):
    e = fed.tree("yuelu").get(ID["yuelu-1"])
    return bool(e and e.get("online") is True)


def random_bytes(n, seed):
    r = random.Random(seed)
    # A first byte with wire type 7 (no such type): certain not to unpack,
    # whatever follows.
    return b"\x0f" + bytes(r.getrandbits(8) for _ in range(n - 1))


def oversize(origin, size):
    """A well-formed envelope of SIZE bytes or a little more: a Hello with
    a padding field nobody knows. Size alone must get it refused."""
    pad = b"\x00" * size
    return wire.envelope("hello", wire.message(wire.HELLO, {"node_id": origin}) + wire.f_bytes(99, pad),
                         origin=origin)


def other_version(origin):
    return wire.envelope("heartbeat", wire.message(wire.HEARTBEAT, {"sent_at_us": 1}),
                         origin=origin, version=2)


# (title, payload, counter, reply, log pattern). reply: "error" (an Error
# body with LINK_ERROR_MALFORMED) or None (dropped silently).
def downlink_cases():
    hello = wire.hello(ME)
    return [
        ("1 random bytes", random_bytes(512, 1), "downlink_malformed", "error",
         r"child=%s .*msg=\"malformed message dropped\" reason=\"envelope does not unpack" % ME),
        ("2 truncated Hello", hello[:len(hello) - 7], "downlink_malformed", "error",
         r"child=%s .*msg=\"malformed message dropped\" reason=\"envelope does not unpack" % ME),
        ("3 oversize (5 MiB)", oversize(ME, 5 * MIB), "downlink_oversize", "error",
         r"child=%s .*size=5\d{6} .*msg=\"malformed message dropped\" reason=\"envelope of \d+ bytes, "
         r"more than %d" % (ME, WIRE_MAX_MESSAGE)),
        ("4a unknown body (field 99)", wire.envelope(99, wire.message(wire.HEARTBEAT, {"sent_at_us": 1}),
                                                     origin=ME),
         "downlink_unknown_body", "error",
         r"child=%s .*msg=\"malformed message dropped\" reason=\"unknown body \(field 99\)" % ME),
        ("4b a body that does not belong on a downlink (control_request)",
         wire.control_request("status", origin=ME), "downlink_unknown_body", None,
         r"child=%s .*body=control_request msg=\"unexpected message dropped\"" % ME),
        ("5 wrong origin (yuelu-1's ID under yuelu-2's key)", wire.heartbeat(ID["yuelu-1"]),
         "downlink_wrong_origin", None,
         r"child=%s .*origin=\"?%s\"? msg=\"message from the wrong origin dropped\"" % (ME, ID["yuelu-1"])),
        ("6 protocol version 2", other_version(ME), "downlink_malformed", "error",
         r"child=%s .*msg=\"malformed message dropped\" reason=\"envelope version 2" % ME),
    ]


def control_cases():
    req = wire.control_request("status", request_id=5)
    return [
        ("1 random bytes", random_bytes(512, 2), "control_malformed", CONTROL_USAGE,
         r"sub=control .*msg=\"malformed request dropped\" reason=\"envelope does not unpack"),
        ("2 truncated request", req[:len(req) - 3], "control_malformed", CONTROL_USAGE,
         r"sub=control .*msg=\"malformed request dropped\" reason=\"envelope does not unpack"),
        ("3 oversize (5 MiB)", wire.control_request("status", {"pad": "x" * (5 * MIB)}),
         "control_oversize", CONTROL_USAGE,
         r"sub=control .*msg=\"malformed request dropped\" reason=\"envelope of \d+ bytes, more than %d"
         % WIRE_MAX_MESSAGE),
        ("4a unknown body (field 99)", wire.envelope(99, wire.message(wire.CONTROL_REQUEST,
                                                                      {"command": "status"})),
         "control_unknown_body", CONTROL_USAGE,
         r"sub=control .*msg=\"malformed request dropped\" reason=\"unknown body \(field 99\)"),
        ("4b a body that is not a control request (heartbeat)", wire.heartbeat("admin"),
         "control_malformed", CONTROL_USAGE,
         r"sub=control .*body=heartbeat msg=\"not a control request\""),
        ("5 wrong origin (a node ID)", wire.control_request("status", origin=ID["yuelu-1"]),
         "control_wrong_origin", CONTROL_REFUSED,
         r"sub=control .*origin=%s msg=\"request from the wrong origin dropped\"" % ID["yuelu-1"]),
        ("6 protocol version 2", wire.envelope("control_request", wire.message(
            wire.CONTROL_REQUEST, {"request_id": 1, "command": "status"}), version=2),
         "control_malformed", CONTROL_USAGE,
         r"sub=control .*msg=\"malformed request dropped\" reason=\"envelope version 2"),
    ]


def after_each(fed, family, counter, before):
    """yuelu alive and answering, exactly COUNTER rose by one, yuelu-1 online."""
    assert fed.node("yuelu").alive(), "yuelu died"
    last = {}

    def rose():
        last["c"] = counters(fed)
        return last["c"][counter] > before[counter]
    wait_until(rose, 5, what="counters.%s to rise above %d" % (counter, before[counter]),
               detail=lambda: last.get("c"))
    now = last["c"]
    assert now[counter] == before[counter] + 1, \
        "counters.%s rose by %d, want 1" % (counter, now[counter] - before[counter])
    for k in family:
        if k != counter:
            assert now[k] == before[k], \
                "counters.%s changed (%d -> %d); only %s should have" % (k, before[k], now[k], counter)
    assert yuelu1_online(fed), "the real yuelu-1 is not online in yuelu's tree: %r" % fed.tree("yuelu")
    return now


def run_downlink_case(fed, peer, case):
    title, payload, counter, reply, pattern = case
    before = counters(fed)
    mark = fed.log_mark("yuelu")
    peer.send(payload)
    env = peer.recv(5 if reply else 1.5, want={"error", "welcome"})
    if reply == "error":
        assert env is not None, "no Error reply"
        assert env.body_name == "error", "reply %r, want an Error" % env
        err = env.get(wire.ERROR)
        assert err.get("code") == wire.LINK_ERROR_MALFORMED, \
            "Error code %r, want %d (LINK_ERROR_MALFORMED): %r" % (err.get("code"),
                                                                   wire.LINK_ERROR_MALFORMED, err)
        step("  Error reply: %s" % err.get("message"))
    else:
        assert env is None, "want no reply (dropped), got %r" % env
    line = wait_log(fed, mark, pattern, "a log line about it")
    now = after_each(fed, DOWNLINK_COUNTERS, counter, before)
    step("  %s %d -> %d; log: %s" % (counter, before[counter], now[counter], line.strip()[:300]))


def run_control_case(fed, peer, case):
    title, payload, counter, status, pattern = case
    before = counters(fed)
    mark = fed.log_mark("yuelu")
    peer.send(payload)
    env = peer.recv(5, want={"control_reply"})
    assert env is not None, "no ControlReply"
    r = env.get(wire.CONTROL_REPLY)
    assert r.get("status") == status and r.get("error"), \
        "ControlReply status %r (want %d) with an error message: %r" % (r.get("status"), status, r)
    step("  reply: status %d, %s" % (r["status"], r["error"][:200]))
    line = wait_log(fed, mark, pattern, "a log line about it")
    now = after_each(fed, CONTROL_COUNTERS, counter, before)
    step("  %s %d -> %d; log: %s" % (counter, before[counter], now[counter], line.strip()[:300]))


def check(failed, title, fn, *args):
    step("CHECK %s" % title)
    try:
        fn(*args)
        step("  ok")
    except Exception as e:  # noqa: BLE001 -- report every case
        traceback.print_exc()
        step("  FAILED: %s" % e)
        failed.append("%s: %s" % (title, e))


def final_hello(fed, peer):
    peer.send(wire.hello(ME, name="yuelu-2"))
    env = peer.recv(10, want={"welcome", "error"})
    assert env is not None, "no answer to a proper Hello after the garbage"
    assert env.body_name == "welcome", "a proper Hello after the garbage got %r, not a Welcome" % env
    w = env.get(wire.WELCOME)
    assert w.get("node_id") == ID["yuelu"], "Welcome from %r, want yuelu: %r" % (w.get("node_id"), w)
    step("  Welcome: %r" % w)
    st = fed.ctl_ok("yuelu", "status")
    y2 = [c for c in st["children"] if c["id"] == ME]
    assert y2 and y2[0]["online"] is True, "yuelu-2 (played by the test) not online after Welcome: %r" % y2


def final_status(fed, peer):
    peer.send(wire.control_request("status", request_id=77))
    env = peer.recv(10, want={"control_reply"})
    assert env is not None, "no answer to a proper status request after the garbage"
    r = env.get(wire.CONTROL_REPLY)
    assert r.get("status") == CONTROL_OK and r.get("request_id") == 77, "status reply %r" % r
    doc = json.loads(r["json"])
    assert doc.get("id") == ID["yuelu"], "status of %r, want yuelu: %r" % (doc.get("id"), doc)


def hostile_size(fed):
    """9 MiB: past ZMQ_MAXMSGSIZE, libzmq drops the connection. The daemon
    and its other peers carry on."""
    y, y2 = fed.node("yuelu"), fed.node("yuelu-2")
    pub = wire.read_key(os.path.join(y2.key_dir, "curve.pub"))
    sec = wire.read_key(os.path.join(y2.key_dir, "curve.key"))
    before = counters(fed)
    with wire.Peer(y.downlink_endpoint, y.public_key, pub, sec) as p:
        p.send(oversize(ME, 9 * MIB))
        time.sleep(1)
    assert y.alive(), "yuelu died after a 9 MiB message"
    now = counters(fed)
    step("  downlink counters before %r after %r" % (
        {k: before[k] for k in DOWNLINK_COUNTERS}, {k: now[k] for k in DOWNLINK_COUNTERS}))
    assert yuelu1_online(fed), "yuelu-1 not online after a 9 MiB message: %r" % fed.tree("yuelu")


def main():
    failed = []
    with TestFederation("malformed", NODES, heartbeat_ms=HEARTBEAT_MS) as fed:
        step("starting city, yuelu, yuelu-1; yuelu-2 enrolled only (this test plays it)")
        fed.start_except("yuelu-2")
        wait_until(lambda: yuelu1_online(fed), 15, what="yuelu-1 online at yuelu")
        y = fed.node("yuelu")
        y2 = fed.node("yuelu-2")
        pub = wire.read_key(os.path.join(y2.key_dir, "curve.pub"))
        sec = wire.read_key(os.path.join(y2.key_dir, "curve.key"))
        with wire.Peer(y.downlink_endpoint, y.public_key, pub, sec) as peer:
            for case in downlink_cases():
                check(failed, "downlink %s" % case[0], run_downlink_case, fed, peer, case)
            check(failed, "downlink: a proper Hello on the same connection gets a Welcome",
                  final_hello, fed, peer)
        apub, asec = wire.identity_keys(y.admin_key)
        with wire.Peer(y.control_endpoint, y.public_key, apub, asec) as peer:
            for case in control_cases():
                check(failed, "control %s" % case[0], run_control_case, fed, peer, case)
            check(failed, "control: a proper status on the same connection is answered",
                  final_status, fed, peer)
        check(failed, "downlink: a hostile 9 MiB message", hostile_size, fed)
        # Past the time missed heartbeats would take: yuelu-1 never dropped.
        time.sleep(3 * HEARTBEAT_MS / 1000 + 0.5)
        check(failed, "yuelu-1 still online at the end",
              lambda: (assert_true(yuelu1_online(fed), "yuelu-1 offline at the end: %r"
                                   % fed.tree("yuelu"))))
        if failed:
            fed.failed = True
    if failed:
        print("FAILED CHECKS:\n  " + "\n  ".join(failed), flush=True)
        sys.exit(1)
    step("ok")


def assert_true(cond, msg):
    assert cond, msg


if __name__ == "__main__":
    main()
