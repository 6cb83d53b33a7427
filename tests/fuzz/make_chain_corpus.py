#!/usr/bin/python3
"""make_chain_corpus: write tests/fuzz/corpus/chain/ (fuzz_chain.c's seeds):
Welcomes with the chain a station gets (valid, forged, cut short) and
Deltas with signed and unsigned grants and orders, signed with the fixed
keys fuzz_chain.c uses (seeds of 32 bytes 0x01 city, 0x02 district, 0x03
station). Run it from the source root: tests/fuzz/make_chain_corpus.py"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import wire  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

CITY, DISTRICT, STATION = "43010000002000000001", "43010400002000000001", "43010401002000000001"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "chain")


def seed(b):
    sk = bytes([b]) * 32
    pk = Ed25519PrivateKey.from_private_bytes(sk).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sk.hex(), pk.hex()


CERT = {"node_id": 1, "sign_key": 2, "signer": 3, "signature": 4}


def cert(node, pk_hex, signer, sk_hex):
    return wire.signed(CERT, {"node_id": node, "sign_key": bytes.fromhex(pk_hex)}, "vigil.NodeCert", signer, sk_hex)


def welcome(certs):
    body = wire.message(wire.WELCOME, {"node_id": DISTRICT, "tier": 2, "name": "yuelu", "epoch": "e"})
    return wire.envelope("welcome", body + b"".join(wire.f_bytes(8, c) for c in certs), origin=DISTRICT)


def delta(change):
    return wire.envelope("delta", wire.f_bytes(1, change), origin=DISTRICT, seq=1)


def main():
    (city_sk, city_pk), (dist_sk, dist_pk), (st_sk, st_pk) = seed(1), seed(2), seed(3)
    good = [cert(DISTRICT, dist_pk, CITY, city_sk), cert(STATION, st_pk, DISTRICT, dist_sk)]
    grant = {"request_id": "r1", "version": 1, "cameras": ["43010401001310000001"], "actions": ["view-live"],
             "officers": ["a", "b"], "valid_until_us": 1 << 60, "filed_at": CITY}
    order = {"id": "E1", "version": 1, "scope": STATION, "starts_us": 1, "ends_us": 2, "incident": "i",
             "authority": "a", "declared_by": "c", "declared_at": CITY}
    view = {"request_id": 1, "officer": "a", "camera": "43010401001310000001", "action": "view-live",
            "entry_node": CITY, "officer_unit": CITY, "signed_at_us": 1}
    files = {
        "welcome_chain": welcome(good),
        "welcome_forged_city": welcome([cert(DISTRICT, dist_pk, CITY, dist_sk), good[1]]),
        "welcome_short": welcome(good[:1]),
        "welcome_sibling": welcome([good[0], cert("43010402002000000001", st_pk, DISTRICT, dist_sk)]),
        "delta_grant_signed": delta(wire.f_bytes(10, wire.signed(wire.GRANT, grant, "vigil.Grant", CITY, city_sk))),
        "delta_grant_unsigned": delta(wire.f_bytes(10, wire.message(wire.GRANT, grant))),
        "delta_order_signed": delta(wire.f_bytes(12, wire.signed(wire.EMERGENCY_ORDER, order,
                                                                 "vigil.EmergencyOrder", CITY, city_sk))),
        "view_signed": wire.envelope("view_request", wire.signed(wire.VIEW_REQUEST, view, "vigil.ViewRequest",
                                                                 CITY, city_sk, unsigned=("request_id",)),
                                     origin=DISTRICT),
    }
    os.makedirs(OUT, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d inputs to %s" % (len(files), OUT))


if __name__ == "__main__":
    main()
