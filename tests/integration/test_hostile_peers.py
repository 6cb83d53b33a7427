#!/usr/bin/python3
"""test_hostile_peers: peers that do not play by the rules (issue 17, the
harness item 3), in the spirit of libzmq's own security tests. The
malformed frames of an admitted peer are test_malformed's, and unknown
and borrowed keys test_auth's; here:

  1 a CURVE client that expects another server key (an impostor in the
    middle, or the wrong parent configured): never answered
  2 NULL and 3 PLAIN clients on the downlink and the control socket:
    never answered; the daemon serves the others
  4 a station removed (`node remove`): its key is refused from then on,
    counted as a ZAP refusal
  5 200 raw TCP connections to the downlink and control sockets that send
    half a ZMTP greeting, or nothing, and hang: the real station keeps
    replicating (a camera reaches the city) and control keeps answering
  6 an admitted peer (yuelu-2's real key, the daemon stopped) replaying
    its Deltas: each change applied once, the replays counted as
    duplicates
  7 the same peer flooding Deltas far past its window without waiting
    for acks: the district queues at most twice its window (counted as
    beyond_window), its memory stays bounded, and every change sent is
    applied exactly once in the end

Topology: city, yuelu, yuelu-1 (running) and yuelu-2 (enrolled, never
started: the test plays it). After every case yuelu-1 is still online at
yuelu and yuelu answers status. Every case runs even if an earlier one
failed; the test fails at the end listing each failed case.
"""

import os
import socket
import sys
import time
import traceback

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402
from harness import SEVEN, TestFederation, step, wait_until  # noqa: E402
from test_delivery import sql  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1", "yuelu-2")]
ID = {n: i for n, _, i, _ in NODES}
ME = ID["yuelu-2"]
HEARTBEAT_MS = 500
WINDOW = 200          # yuelu's [link] window in this test


def status(fed):
    return fed.ctl_ok("yuelu", "status", timeout=10)


def counters(fed):
    return status(fed)["counters"]


def child_link(fed, child):
    return next(c for c in status(fed)["children"] if c["id"] == ID[child])


def yuelu1_online(fed):
    return child_link(fed, "yuelu-1")["online"] is True


def rss_kib(fed, name):
    with open("/proc/%d/status" % fed.node(name).pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def my_keys(fed):
    y2 = fed.node("yuelu-2")
    return (wire.read_key(os.path.join(y2.key_dir, "curve.pub")),
            wire.read_key(os.path.join(y2.key_dir, "curve.key")))


def silent_socket(endpoint, mechanism):
    """A DEALER speaking MECHANISM (NULL or PLAIN) at a CURVE server."""
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if mechanism == "PLAIN":
        s.setsockopt(zmq.PLAIN_USERNAME, b"admin")
        s.setsockopt(zmq.PLAIN_PASSWORD, b"admin")
    s.connect(endpoint)
    return s


def never_answered(sock, data, what):
    sock.send(data)
    if sock.poll(2000, zmq.POLLIN):
        raise AssertionError("%s: answered: %r" % (what, sock.recv()[:200]))


# -- the cases ------------------------------------------------------------------

def wrong_server_key(fed):
    y = fed.node("yuelu")
    pub, sec = my_keys(fed)
    # The city's key where yuelu's belongs: an impostor, or a wrong config.
    with wire.Peer(y.downlink_endpoint, fed.node("city").public_key, pub, sec) as p:
        p.send(wire.hello(ME, name="yuelu-2"))
        env = p.recv(2)
        assert env is None, "a client expecting another server key got %r" % env
    assert child_link(fed, "yuelu-2")["online"] is False


def null_and_plain(fed):
    y = fed.node("yuelu")
    for mech in ("NULL", "PLAIN"):
        for ep, data in ((y.downlink_endpoint, wire.hello(ME, name="yuelu-2")),
                         (y.control_endpoint, wire.control_request("status", request_id=5))):
            s = silent_socket(ep, mech)
            try:
                never_answered(s, data, "%s on %s" % (mech, ep))
            finally:
                s.close(0)
    assert child_link(fed, "yuelu-2")["online"] is False


def removed_key(fed):
    """A throwaway station enrolled, admitted, removed, refused."""
    y = fed.node("yuelu")
    kdir = os.path.join(fed.tmp, "gone-keys")
    import subprocess
    subprocess.run([fed.vigild, "keygen", kdir], check=True, stdout=subprocess.DEVNULL)
    gone_pub = wire.read_key(os.path.join(kdir, "curve.pub"))
    gone_sec = wire.read_key(os.path.join(kdir, "curve.key"))
    sign = wire.read_key(os.path.join(kdir, "sign.pub"))
    gone = "43010409002000000001"
    fed.ctl_ok("yuelu", "node", "enroll", gone, "--public-key", gone_pub, "--sign-key", sign, "--name", "gone")
    with wire.Peer(y.downlink_endpoint, y.public_key, gone_pub, gone_sec) as p:
        p.send(wire.hello(gone, name="gone"))
        env = p.recv(5, want={"welcome", "error"})
        assert env is not None and env.body_name == "welcome", "the enrolled key: %r" % env
    fed.ctl_ok("yuelu", "node", "remove", gone, "--reason", "decommissioned")
    before = counters(fed)["zap_refused_downlink"]
    with wire.Peer(y.downlink_endpoint, y.public_key, gone_pub, gone_sec) as p:
        p.send(wire.hello(gone, name="gone"))
        env = p.recv(2)
        assert env is None, "a removed station's key was answered: %r" % env
    wait_until(lambda: counters(fed)["zap_refused_downlink"] > before, 5,
               what="the removed key counted as refused")


def half_open_flood(fed):
    y, y1 = fed.node("yuelu"), fed.node("yuelu-1")
    socks = []
    try:
        for i in range(200):
            ep = (y.downlink_endpoint if i % 2 else y.control_endpoint).replace("tcp://", "")
            host, port = ep.rsplit(":", 1)
            s = socket.create_connection((host, int(port)), timeout=5)
            if i % 4 < 2:
                s.send(b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x03")   # half a ZMTP 3 greeting
            socks.append(s)
        t0 = time.monotonic()
        st = status(fed)
        took = time.monotonic() - t0
        assert took < 3, "status took %.1f s behind 200 hanging connections" % took
        cam = "43010401001310000077"
        fed.ctl_ok("yuelu-1", "camera", "add", "--id", cam, "--name", "through the flood", "--system", "gov",
                   "--site", "s1")
        wait_until(lambda: fed.ctl("city", "camera", "show", cam)[0] == 0, 10,
                   what="yuelu-1's camera at the city while 200 connections hang at yuelu")
        step("  200 hanging connections: status in %.2f s, yuelu-1's camera at the city" % took)
        assert st["id"] == ID["yuelu"]
    finally:
        for s in socks:
            s.close()


def probe(number, probe_id):
    body = wire.message({"origin": 1, "probe_id": 2, "number": 3, "sent_at_us": 4},
                        {"origin": ME, "probe_id": probe_id, "number": number, "sent_at_us": 1})
    return wire.message({"link_probe": 3}, {"link_probe": body})


def delta(seq, changes):
    body = wire.message({"changes": 2}, {"changes": changes})
    return wire.envelope("delta", body, origin=ME, seq=seq)


def welcomed(fed, p, epoch):
    p.send(wire.hello(ME, name="yuelu-2", epoch=epoch))
    env = p.recv(10, want={"welcome", "error"})
    assert env is not None and env.body_name == "welcome", "no Welcome: %r" % env
    # No state yet: a snapshot first (empty), as a new child's.
    p.send(wire.envelope("snapshot_begin", wire.message({"seq": 1, "epoch": 2}, {"seq": 0, "epoch": epoch}),
                         origin=ME))
    p.send(wire.envelope("snapshot_end", wire.message({"seq": 1, "items": 2}, {"seq": 0, "items": 0}), origin=ME))


def probes_at_yuelu(probe_id):
    return ("SELECT count(*), count(DISTINCT number) FROM link_probes WHERE origin = '%s' AND probe_id = %d"
            % (ME, probe_id))


def replay(fed):
    y = fed.node("yuelu")
    pub, sec = my_keys(fed)
    with wire.Peer(y.downlink_endpoint, y.public_key, pub, sec) as p:
        welcomed(fed, p, "E-replay")
        before = child_link(fed, "yuelu-2")["link"]["duplicates"]
        for seq in range(1, 11):
            p.send(delta(seq, [probe(seq, 901)]))
        for seq in range(1, 11):            # every one again, and again
            p.send(delta(seq, [probe(seq, 901)]))
        p.send(delta(3, [probe(3, 901), probe(4, 901), probe(5, 901)]))
        wait_until(lambda: sql(fed, "yuelu", probes_at_yuelu(901)) == [["10", "10"]], 10,
                   what="the 10 probes applied at yuelu",
                   detail=lambda: sql(fed, "yuelu", probes_at_yuelu(901)))
        time.sleep(1)
        assert sql(fed, "yuelu", probes_at_yuelu(901)) == [["10", "10"]], "a replay applied twice"
        dup = child_link(fed, "yuelu-2")["link"]["duplicates"] - before
        assert dup >= 11, "replays counted as duplicates: %d" % dup
        step("  10 changes sent 2 times and a stale overlap: applied once each, %d duplicates counted" % dup)


def flood(fed):
    y = fed.node("yuelu")
    pub, sec = my_keys(fed)
    rss0 = rss_kib(fed, "yuelu")
    per, total = 50, 40000               # changes per Delta, in all: 200 windows
    pad = b"x" * 200
    with wire.Peer(y.downlink_endpoint, y.public_key, pub, sec) as p:
        welcomed(fed, p, "E-flood")
        seq = 1
        while seq <= total:
            ch = [wire.message({"origin": 1, "probe_id": 2, "number": 3, "sent_at_us": 4, "padding": 5},
                               {"origin": ME, "probe_id": 902, "number": n, "sent_at_us": 1, "padding": pad})
                  for n in range(seq, seq + per)]
            p.send(delta(seq, [wire.message({"link_probe": 3}, {"link_probe": c}) for c in ch]))
            seq += per
            if seq % 5000 == 1:
                p.send(wire.heartbeat(ME))      # alive, as a peer must be
        p.send(wire.heartbeat(ME))
        time.sleep(1)
        p.send(wire.heartbeat(ME))
        time.sleep(1)
        link = child_link(fed, "yuelu-2")["link"]
        rss1 = rss_kib(fed, "yuelu")
        assert link["beyond_window"] >= 1, "nothing past the window was dropped: %r" % link
        # 40,000 changes of ~250 bytes held at once would be ~10 MB of
        # envelopes; twice a window of 200 is ~100 kB.
        # Under AddressSanitizer freed memory stays in its quarantine (up
        # to 256 MB): RSS says nothing there; the inbox bound is still
        # checked by beyond_window and by what is applied below.
        if not os.environ.get("ASAN_OPTIONS"):
            assert rss1 - rss0 < 8 * 1024, "yuelu grew %d KiB under the flood" % (rss1 - rss0)
        applied = int(sql(fed, "yuelu", probes_at_yuelu(902))[0][1])
        assert applied <= total and applied < total, "everything taken at once: %d" % applied
        step("  %d changes at once: %d applied so far, %d Deltas dropped past the window, RSS +%d KiB"
             % (total, applied, link["beyond_window"], rss1 - rss0))
        # Now as a sender should: from what the district acknowledges or
        # asks for again, a window at a time.
        deadline = time.monotonic() + 60
        seen = []
        while int(sql(fed, "yuelu", probes_at_yuelu(902))[0][1]) < total:
            assert time.monotonic() < deadline, "the flood never fully applied: %r; last messages %r" % (
                sql(fed, "yuelu", probes_at_yuelu(902)), seen[-5:])
            p.send(wire.heartbeat(ME))
            env = p.recv(0.3, want={"resend_request", "ack", "error"})
            if env is None:
                continue
            seen.append((env.body_name, env.get({"seq": 1, "from_seq": 1, "message": 2})))
            assert env.body_name != "error", "the district gave up on the peer: %r" % seen[-1:]
            if env.body_name == "ack":
                base = env.get({"seq": 1}).get("seq", 0) + 1
            else:
                base = env.get({"from_seq": 1}).get("from_seq", 1)
            for s in range(base, min(base + WINDOW, total + 1), per):
                ch = [wire.message({"origin": 1, "probe_id": 2, "number": 3, "sent_at_us": 4},
                                   {"origin": ME, "probe_id": 902, "number": n, "sent_at_us": 1})
                      for n in range(s, min(s + per, total + 1))]
                p.send(delta(s, [wire.message({"link_probe": 3}, {"link_probe": c}) for c in ch]))
        count, distinct = (int(x) for x in sql(fed, "yuelu", probes_at_yuelu(902))[0])
        assert count == distinct == total, "applied %d rows, %d distinct, of %d" % (count, distinct, total)
        step("  in the end all %d applied exactly once" % total)


CASES = [
    ("a client expecting another server key", wrong_server_key),
    ("NULL and PLAIN clients on both sockets", null_and_plain),
    ("a removed station's key", removed_key),
    ("200 half-open TCP connections", half_open_flood),
    ("an admitted peer replaying its Deltas", replay),
    ("an admitted peer flooding past its window", flood),
]


def main():
    failed = []
    with TestFederation("hostile", NODES, heartbeat_ms=HEARTBEAT_MS, link={"window": WINDOW}) as fed:
        step("starting city, yuelu, yuelu-1; yuelu-2 enrolled only (this test plays it)")
        fed.start_except("yuelu-2")
        fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
        fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu police", "--retention-days", "30")
        wait_until(lambda: yuelu1_online(fed), 15, what="yuelu-1 online at yuelu")
        for title, fn in CASES:
            step(title)
            try:
                fn(fed)
                assert fed.node("yuelu").alive(), "yuelu is not running"
                assert yuelu1_online(fed), "yuelu-1 offline at yuelu"
            except Exception:
                traceback.print_exc()
                failed.append(title)
        if failed:
            fed.failed = True
    if failed:
        print("FAILED CASES:\n  " + "\n  ".join(failed), flush=True)
        sys.exit(1)
    step("ok")


if __name__ == "__main__":
    main()
