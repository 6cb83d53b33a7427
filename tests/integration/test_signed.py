"""Signed decisions (issue 15, Deliver 3; Art 19): a station applies only
what an ancestor with that authority signed.

Topology: city -> yuelu -> yuelu-1. Two city investigators hold a grant for
a yuelu-1 camera, approved at the city by yuelu's principal. yuelu plays
the compromised district, twice: as the superuser of its database (it writes
changes into its outbox for yuelu-1, as a district whose host is taken
would) and as a process holding its keys that speaks the link protocol to
yuelu-1 in its place (tests/integration/wire.py).

1. The chain of signing keys: yuelu-1 holds the keys of the city, yuelu and
   itself, checked from the city's key in its config; yuelu the city's and
   its own.
2. Grants yuelu forges: an unsigned "city" grant, one yuelu signed as
   itself, one signed with yuelu's key naming the city as signer, and two
   forged revocations of the real grant (unsigned, and signed by yuelu):
   each refused at yuelu-1, with a record in its access log naming Art 19
   and the reason, counted; none applied; the real grant still gives views.
3. Emergency orders yuelu forges in the city's name (unsigned; signed with
   yuelu's key naming the city): refused and recorded at yuelu-1, not kept,
   not acked.
4. View requests from a fake yuelu (yuelu's keys, link protocol): it sends
   a forged chain of keys in its Welcome (refused, the chain held stays),
   then requests for the city investigator: unsigned; signed by yuelu as the
   entry node (a district vouching for a city officer); signed with a key of
   its own in yuelu's name; a request the city really signed, replayed; one
   the city signed a minute ago. Each refused and recorded; only the fresh
   city-signed request is decided (granted, under the real grant).
5. The real yuelu back: the honest path still works and the link never
   stalled: a view from the city, then the real revocation (signed by the
   city) reaches yuelu-1 and views are refused.
6. A station that connected to its district before the district had a
   chain (both without one, the city away) gets the chain as soon as the
   district does, on the link already up.
"""

import json
import os
import sys
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402
from harness import SEVEN, TestFederation, auditor, psql, register_officers, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
CAMERA = "43010401001310000001"
OFFICERS = [
    ("city-inv-1", "city", "investigator,operator"),
    ("city-inv-2", "city", "investigator,operator"),
    ("yuelu-principal", "yuelu", "principal"),
]
HOUR_US = 3600 * 1000000


def now_us():
    return int(time.time() * 1000000)


def key_file(fed, name, f):
    with open(os.path.join(fed.node(name).key_dir, f)) as fh:
        return fh.read().strip()


def change(kind, body):
    return wire.f_bytes(wire.CHANGE[kind], body)


def plant(fed, change_bytes):
    """Write CHANGE_BYTES into yuelu's outbox for yuelu-1, as the superuser
    of yuelu's database would: the district sends it on as its own."""
    rc, out, err = psql(fed, "yuelu", "SELECT outbox_append('%s', ARRAY['\\x%s'::bytea])"
                        % (ID["yuelu-1"], change_bytes.hex()))
    assert rc == 0, "outbox_append at yuelu: %s" % err


def refusals(fed, node, action, ident):
    rc, out, err = psql(fed, node, "SELECT article || ' | ' || detail FROM audit_log WHERE outcome = 'refused' "
                        "AND action = '%s' AND request_id = '%s' ORDER BY seq" % (action, ident))
    assert rc == 0, err
    return [line for line in out.splitlines() if line]


def count(fed, node, query):
    rc, out, err = psql(fed, node, query)
    assert rc == 0, err
    return int(out)


def counters(fed, node):
    return fed.ctl_ok(node, "status")["counters"]


def grant(req, version, signer=None, secret=None, filed_at=ID["city"], revoked=False, officers=None):
    officers = officers or ["city-inv-1", "city-inv-2"]
    # Named by unit, badge and key, as a real grant is (grant_add refuses
    # one that is not): what is forged here is only who decided it.
    named = [wire.message(wire.OFFICER_REF, {"unit": ID["city"], "badge": b, "public_key": "x" * 40})
             for b in officers]
    values = {"request_id": req, "version": version, "cameras": [CAMERA], "actions": ["view-live"],
              "officers": officers, "valid_until_us": now_us() + HOUR_US,
              "revoked": revoked, "purpose": "forged", "case_no": "X-1", "approved_by": "yuelu-principal",
              "filed_at": filed_at, "named": named}
    if signer:
        return change("grant", wire.signed(wire.GRANT, values, "vigil.Grant", signer, secret))
    return change("grant", wire.message(wire.GRANT, values))


def order(ident, signer=None, secret=None):
    values = {"id": ident, "version": now_us(), "scope": ID["yuelu-1"], "starts_us": now_us(),
              "ends_us": now_us() + HOUR_US, "incident": "forged", "authority": "forged",
              "declared_by": "nobody", "declared_at": ID["city"], "ended": False}
    if signer:
        return change("emergency_order", wire.signed(wire.EMERGENCY_ORDER, values, "vigil.EmergencyOrder",
                                                     signer, secret))
    return change("emergency_order", wire.message(wire.EMERGENCY_ORDER, values))


def check_chains(fed):
    st = fed.ctl_ok("yuelu-1", "status")
    assert st["signing_keys"] == {"complete": True, "nodes": [ID["city"], ID["yuelu"], ID["yuelu-1"]]}, st
    st = fed.ctl_ok("yuelu", "status")
    assert st["signing_keys"] == {"complete": True, "nodes": [ID["city"], ID["yuelu"]]}, st
    rc, out, _ = psql(fed, "yuelu-1", "SELECT string_agg(node_id || '<' || signer, ',' ORDER BY position) "
                      "FROM trust_chain")
    assert out == "%s<%s,%s<%s" % (ID["yuelu"], ID["city"], ID["yuelu-1"], ID["yuelu"]), out
    step("1: yuelu-1 holds the signing keys of the city, yuelu and itself, checked from the city's")


def check_forged_grants(fed, req, view):
    yuelu_sk = key_file(fed, "yuelu", "sign.key")
    c0 = counters(fed, "yuelu-1")["signature_refused"]
    cases = [
        ("forged-unsigned", grant("forged-unsigned", 1), "not signed"),
        ("forged-by-yuelu", grant("forged-by-yuelu", 1, ID["yuelu"], yuelu_sk),
         "signed by %s, not by %s" % (ID["yuelu"], ID["city"])),
        ("forged-as-city", grant("forged-as-city", 1, ID["city"], yuelu_sk), "not %s's" % ID["city"]),
        (req, grant(req, now_us() * 2, revoked=True), "not signed"),
        (req, grant(req, now_us() * 2 + 1, ID["yuelu"], yuelu_sk, revoked=True),
         "signed by %s, not by %s" % (ID["yuelu"], ID["city"])),
    ]
    for ident, data, why in cases:
        plant(fed, data)
    for k, (ident, data, why) in enumerate(cases):
        action = "grant.revoke" if ident == req else "grant.receive"
        got = wait_until(lambda: [r for r in refusals(fed, "yuelu-1", action, ident) if why in r], 15,
                         what="yuelu-1's record of refusing %s (%s)" % (ident, why),
                         detail=lambda: refusals(fed, "yuelu-1", action, ident))
        assert got[0].startswith("Art 19 | Art 19: grant %s refused" % ident), got
    for ident in ("forged-unsigned", "forged-by-yuelu", "forged-as-city"):
        assert count(fed, "yuelu-1", "SELECT count(*) FROM grants WHERE request_id = '%s'" % ident) == 0, \
            "forged grant %s applied at yuelu-1" % ident
    assert count(fed, "yuelu-1", "SELECT count(*) FROM grants WHERE request_id = '%s' AND NOT revoked" % req) == 1, \
        "a forged revocation revoked the real grant"
    c1 = counters(fed, "yuelu-1")["signature_refused"]
    assert c1 >= c0 + len(cases), "signature_refused %d -> %d" % (c0, c1)
    rc, doc = view()
    assert rc == 0, "the real grant no longer gives a view after the forgeries: %s" % doc
    step("2: 3 forged grants and 2 forged revocations refused and recorded at yuelu-1 (Art 19), none applied; "
         "signature_refused %d -> %d; the real grant still gives views" % (c0, c1))


def check_forged_orders(fed):
    yuelu_sk = key_file(fed, "yuelu", "sign.key")
    cases = [("E-forged-unsigned", order("E-forged-unsigned"), "not signed"),
             ("E-forged-as-city", order("E-forged-as-city", ID["city"], yuelu_sk), "not %s's" % ID["city"])]
    for ident, data, why in cases:
        plant(fed, data)
    for ident, data, why in cases:
        got = wait_until(lambda: [r for r in refusals(fed, "yuelu-1", "emergency.receive", ident) if why in r], 15,
                         what="yuelu-1's record of refusing order %s" % ident,
                         detail=lambda: refusals(fed, "yuelu-1", "emergency.receive", ident))
        assert got[0].startswith("Art 19 | Art 19: emergency order %s refused" % ident), got
        assert count(fed, "yuelu-1", "SELECT count(*) FROM emergencies WHERE id = '%s'" % ident) == 0, \
            "forged order %s kept at yuelu-1" % ident
    assert count(fed, "yuelu-1", "SELECT count(*) FROM linkages") == 0
    step("3: 2 forged emergency orders refused and recorded at yuelu-1, neither kept nor acted on")


class FakeDistrict:
    """A ROUTER on yuelu's downlink endpoint with yuelu's CURVE keys: what a
    process holding the district's keys can say to its station."""

    def __init__(self, fed):
        y = fed.node("yuelu")
        self.id = ID["yuelu"]
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.CURVE_SERVER, 1)
        self.sock.setsockopt(zmq.CURVE_SECRETKEY, key_file(fed, "yuelu", "curve.key").encode())
        self.sock.bind(y.downlink_endpoint)
        self.routing = None
        self.welcome_extra = b""
        self.replies = {}
        self.beat = 0.0
        self.welcomed = False

    def serve(self, seconds):
        """Answer Hello with Welcome, beat, collect ViewReplies, SECONDS long."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if time.monotonic() - self.beat > 0.2 and self.welcomed:
                self.send(wire.heartbeat(self.id, now_us()))
                self.beat = time.monotonic()
            if not self.sock.poll(50, zmq.POLLIN):
                continue
            frames = self.sock.recv_multipart()
            self.routing = frames[0]
            env = wire.Envelope(frames[-1])
            if env.body_name == "hello":
                body = wire.message(wire.WELCOME, {"node_id": self.id, "tier": wire.TIER["district"],
                                                   "name": "yuelu", "last_applied_up": 0, "has_up_state": True,
                                                   "epoch": "fake", "heartbeat_ms": 500})
                self.send(wire.envelope("welcome", body + self.welcome_extra, origin=self.id))
                self.welcomed = True
            elif env.body_name == "view_reply":
                self.replies[env.get(wire.VIEW_REPLY).get("request_id")] = env.get(wire.VIEW_REPLY)

    def send(self, data):
        self.sock.send_multipart([self.routing, data])

    def ask(self, request_id, body, timeout=8):
        self.send(wire.envelope("view_request", body, origin=self.id))
        deadline = time.monotonic() + timeout
        while request_id not in self.replies and time.monotonic() < deadline:
            self.serve(0.1)
        return self.replies.get(request_id)

    def close(self):
        self.sock.close(0)
        self.ctx.term()


def cert(node_id, sign_key_hex, signer, secret_hex):
    return wire.signed({"node_id": 1, "sign_key": 2, "signer": 3, "signature": 4},
                       {"node_id": node_id, "sign_key": bytes.fromhex(sign_key_hex)}, "vigil.NodeCert",
                       signer, secret_hex)


def check_forged_views(fed, officer_key):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
    mole = Ed25519PrivateKey.generate()
    mole_sk = mole.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption()).hex()
    mole_pk = mole.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    city_sk, yuelu_sk = key_file(fed, "city", "sign.key"), key_file(fed, "yuelu", "sign.key")
    c0 = counters(fed, "yuelu-1")

    fed.node("yuelu").stop()
    fake = FakeDistrict(fed)
    try:
        # A chain in which yuelu certifies itself in the city's name.
        fake.welcome_extra = (wire.f_bytes(8, cert(ID["yuelu"], mole_pk, ID["city"], mole_sk)) +
                              wire.f_bytes(8, cert(ID["yuelu-1"], key_file(fed, "yuelu-1", "sign.pub"),
                                                   ID["yuelu"], mole_sk)))
        deadline = time.monotonic() + 15
        while not fake.welcomed and time.monotonic() < deadline:     # yuelu-1 finds its parent gone, says Hello
            fake.serve(0.2)
        assert fake.welcomed, "yuelu-1 did not say Hello to the fake yuelu"
        fake.serve(1.0)
        c1 = counters(fed, "yuelu-1")
        assert c1["chain_refused"] > c0["chain_refused"], "the forged chain was not refused: %r" % c1
        st = fed.ctl_ok("yuelu-1", "status")
        assert st["signing_keys"]["nodes"] == [ID["city"], ID["yuelu"], ID["yuelu-1"]], st
        step("4a: the fake yuelu's chain (yuelu certified in the city's name) refused; the chain held stays")

        def req(rid, **over):
            v = {"request_id": rid, "officer": "city-inv-1", "officer_key": officer_key, "camera": CAMERA,
                 "action": "view-live", "entry_node": ID["city"], "officer_unit": ID["city"],
                 "signed_at_us": now_us()}
            v.update(over)
            return v

        def signed(v, signer, secret):
            return wire.signed(wire.VIEW_REQUEST, v, "vigil.ViewRequest", signer, secret, unsigned=("request_id",))

        cases = [
            (1, wire.message(wire.VIEW_REQUEST, req(1)), "not signed"),
            (2, signed(req(2, entry_node=ID["yuelu"]), ID["yuelu"], yuelu_sk), "outside its own subtree"),
            (3, signed(req(3, entry_node=ID["yuelu"], officer_unit=ID["yuelu"]), ID["yuelu"], mole_sk),
             "not %s's" % ID["yuelu"]),
            (4, signed(req(4, signed_at_us=now_us() - 60 * 1000000), ID["city"], city_sk), "outside the 30 s"),
        ]
        for rid, body, why in cases:
            r = fake.ask(rid, body)
            assert r is not None, "no answer to forged request %d" % rid
            assert not r.get("granted") and why in r.get("error", "") and r.get("article") == "Art 19", \
                "forged request %d: %r" % (rid, r)
        # A request the city really signed (a district passes every one on):
        # decided once; the same bytes again (another hop ID) are a replay.
        honest = req(5)
        r = fake.ask(5, signed(honest, ID["city"], city_sk))
        assert r and r.get("granted") and r.get("ticket"), "the city-signed request was not granted: %r" % r
        honest["request_id"] = 6
        r = fake.ask(6, signed(honest, ID["city"], city_sk))
        assert r and not r.get("granted") and "replay" in r.get("error", ""), "a replay: %r" % r
    finally:
        fake.close()
    rc, out, _ = psql(fed, "yuelu-1", "SELECT count(*) FROM audit_log WHERE action = 'view' AND "
                      "outcome = 'refused' AND article = 'Art 19' AND actor = 'city-inv-1'")
    assert int(out) >= 5, "refused view requests recorded at yuelu-1: %s" % out
    c2 = counters(fed, "yuelu-1")
    step("4b: 5 forged view requests refused at yuelu-1 and recorded (Art 19): unsigned, a district vouching "
         "for a city officer, a key not yuelu's, stale, a replay; the city-signed one granted once "
         "(signature_refused %d -> %d)" % (c0["signature_refused"], c2["signature_refused"]))
    fed.node("yuelu").start()


def main():
    with TestFederation("signed", NODES, heartbeat_ms=500) as fed:
        fed.start()
        ids = register_officers(fed, OFFICERS)
        fed.ctl_ok("yuelu-1", "site", "add", "--code", "s1", "--name", "junction", "--location-type", "junction")
        fed.ctl_ok("yuelu-1", "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu police", "--retention-days", "30")
        fed.ctl_ok("yuelu-1", "camera", "add", "--id", CAMERA, "--name", "north", "--system", "gov",
                   "--site", "s1", "--stream-url", "rtsp://10.0.0.1/live")
        wait_until(lambda: fed.ctl("city", "camera", "show", CAMERA)[0] == 0, 15, what="the camera at the city")

        def city_knows():
            rc, doc = fed.ctl("city", "officer", "list", as_identity=auditor(fed, "city"))
            return rc == 0 and {o["badge"] for o in doc} >= {b for b, _, _ in OFFICERS}
        wait_until(city_knows, 15, what="the officers known at the city")
        check_chains(fed)

        def as_(badge, *args):
            return fed.ctl("city", *args, as_identity=ids[badge])
        rc, doc = as_("city-inv-1", "access", "request", "--camera", CAMERA, "--officer", "city-inv-1",
                      "--officer", "city-inv-2", "--case", "2026-YL-7", "--purpose", "theft", "--actions",
                      "view-live", "--approval-doc", "D7")
        assert rc == 0, doc
        req = doc["id"]
        assert as_("city-inv-2", "access", "countersign", req)[0] == 0
        rc, doc = as_("yuelu-principal", "access", "approve", req)
        assert rc == 0 and doc["state"] == "approved", doc

        def view():
            return as_("city-inv-1", "view", CAMERA)
        wait_until(lambda: view()[0] == 0, 15, what="the honest view through the signed grant")
        assert count(fed, "yuelu-1", "SELECT count(*) FROM signed_changes WHERE kind = 'grant' AND id = '%s'"
                     % req) == 1, "the city's signed grant is not kept whole at yuelu-1"

        check_forged_grants(fed, req, view)
        check_forged_orders(fed)
        with open(ids["city-inv-1"]) as f:
            officer_key = [ln.split("=", 1)[1].strip() for ln in f if ln.startswith("public")][0]
        check_forged_views(fed, officer_key)

        wait_until(lambda: view()[0] == 0, 20, what="the honest view once the real yuelu is back")
        rc, doc = as_("yuelu-principal", "access", "revoke", req)
        assert rc == 0, doc
        wait_until(lambda: view()[0] == 1, 15, what="views refused after the real (signed) revocation")
        step("5: the real yuelu back: honest view granted, the city's signed revocation applied at yuelu-1")

        for name in ("city", "yuelu-1", "yuelu"):
            fed.node(name).stop()
        for name in ("yuelu", "yuelu-1"):
            assert psql(fed, name, "DELETE FROM trust_chain")[0] == 0
        fed.node("yuelu").start()
        fed.node("yuelu-1").start()
        wait_until(lambda: [c for c in fed.ctl_ok("yuelu", "status")["children"]
                            if c["id"] == ID["yuelu-1"] and c["online"]], 15, what="yuelu-1 online at yuelu")
        keys = fed.ctl_ok("yuelu-1", "status")["signing_keys"]
        assert keys == {"complete": False, "nodes": [ID["yuelu-1"]]}, keys
        fed.node("city").start()
        wait_until(lambda: fed.ctl_ok("yuelu-1", "status")["signing_keys"]["complete"], 15,
                   what="yuelu-1's chain once yuelu has one", detail=lambda: fed.ctl_ok("yuelu-1", "status"))
        step("6: yuelu-1, up before yuelu had a chain, got it from yuelu the moment yuelu did")
    step("ok")


if __name__ == "__main__":
    main()
