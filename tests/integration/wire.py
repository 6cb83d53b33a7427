"""wire: hand-encoded vigil protobuf for the integration tests, and a fake
peer that speaks it over CURVE.

The tests must be able to send what no well-behaved client would (bytes
that do not unpack, a body nobody knows, someone else's origin), so the
encoding is written out here rather than generated from proto/vigil.proto:
varints and length-delimited fields, nothing more. The field numbers below
are those of vigil.proto; fields are only ever added there, never
renumbered, so these stay valid.

Decoding is minimal: an Envelope becomes its version, origin, seq, the field
number of its body and that body's fields ({number: value}; a field seen
more than once keeps a list).
"""

import zmq

# Envelope (vigil.proto)
ENV_VERSION, ENV_ORIGIN, ENV_SEQ = 1, 2, 3
BODY = {
    "hello": 10, "welcome": 11, "heartbeat": 12, "ack": 13, "delta": 14,
    "snapshot_begin": 15, "snapshot_chunk": 16, "snapshot_end": 17,
    "error": 18, "control_request": 19, "control_reply": 20, "resend_request": 21,
    "view_request": 22, "view_reply": 23,
}
BODY_NAME = {v: k for k, v in BODY.items()}
WIRE_VERSION = 1
TIER = {"city": 1, "district": 2, "station": 3}

# lib/link.h: the codes of an Error body on a link
LINK_ERROR_RESYNC, LINK_ERROR_REFUSED, LINK_ERROR_MALFORMED = 1, 2, 3

# Field numbers of the bodies the tests build or read.
HELLO = {"node_id": 1, "tier": 2, "name": 3, "software": 4, "epoch": 5,
         "last_applied_down": 6, "parent_epoch": 7}
WELCOME = {"node_id": 1, "tier": 2, "name": 3, "last_applied_up": 4,
           "has_up_state": 5, "epoch": 6, "heartbeat_ms": 7}
CONTROL_REQUEST = {"request_id": 1, "command": 2, "args": 3}
ARG = {"name": 1, "value": 2}
CONTROL_REPLY = {"request_id": 1, "status": 2, "json": 3, "error": 4, "article": 5}
ERROR = {"code": 1, "message": 2, "article": 3}
HEARTBEAT = {"sent_at_us": 1}
# Signed decisions (issue 15): what a compromised node would forge.
CHANGE = {"grant": 10, "emergency_order": 12}
GRANT = {"request_id": 1, "version": 2, "cameras": 3, "actions": 4, "officers": 5, "rec_from_us": 6,
         "rec_to_us": 7, "valid_until_us": 8, "revoked": 9, "purpose": 10, "destination": 11,
         "case_no": 12, "approved_by": 13, "filed_at": 14, "named": 15, "signer": 16, "signature": 17}
OFFICER_REF = {"unit": 1, "badge": 2, "public_key": 3}
EMERGENCY_ORDER = {"id": 1, "version": 2, "scope": 3, "starts_us": 7, "ends_us": 8, "incident": 9,
                   "authority": 10, "declared_by": 11, "declared_at": 12, "ended": 13,
                   "signer": 17, "signature": 18}
VIEW_REQUEST = {"request_id": 1, "officer": 2, "officer_key": 3, "camera": 4, "action": 5, "from_us": 6,
                "to_us": 7, "entry_node": 8, "officer_unit": 9, "destination": 10, "signed_at_us": 11,
                "signer": 12, "signature": 13}
VIEW_REPLY = {"request_id": 1, "granted": 2, "url": 3, "ticket": 4, "expires_at_us": 5, "error": 6,
              "article": 7, "station": 8}

WT_VARINT, WT_FIXED64, WT_LEN, WT_FIXED32 = 0, 1, 2, 5


class DecodeError(ValueError):
    pass


# --- encoding ---------------------------------------------------------------

def varint(n):
    if n < 0:
        n += 1 << 64            # int64 as protobuf writes it: ten bytes
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire_type):
    return varint((field << 3) | wire_type)


def f_uint(field, value):
    return key(field, WT_VARINT) + varint(int(value))


def f_bytes(field, value):
    if isinstance(value, str):
        value = value.encode()
    return key(field, WT_LEN) + varint(len(value)) + value


def message(fields, values):
    """Encode VALUES ({name: value}) with the field numbers of FIELDS; ints
    (and bools) are varints, str/bytes are length-delimited; None is
    left out, as an unset optional field is."""
    out = b""
    for name, value in values.items():
        if value is None:
            continue
        num = fields[name]
        for v in (value if isinstance(value, list) else [value]):   # a list: a repeated field
            if isinstance(v, (bool, int)):
                out += f_uint(num, int(v))
            else:
                out += f_bytes(num, v)
    return out


def signed(fields, values, type_name, signer, secret_hex, unsigned=()):
    """VALUES encoded as MESSAGE (FIELDS, in field-number order), signed as
    lib/wire/decision.c signs: Ed25519 over "vigil decision v1" 0 TYPE 0
    SIGNER 0 and the message without signer, signature and the UNSIGNED
    fields. SECRET_HEX: a sign.key (its first 32 bytes are the seed)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    order = sorted(values, key=lambda n: fields[n])
    body = {n: values[n] for n in order if n not in ("signer", "signature") and n not in unsigned}
    msg = b"vigil decision v1\0" + type_name.encode() + b"\0" + signer.encode() + b"\0" + message(fields, body)
    sig = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret_hex)[:32]).sign(msg)
    out = dict((n, values[n]) for n in order)
    out["signer"] = signer
    out["signature"] = sig
    return message(fields, dict(sorted(out.items(), key=lambda kv: fields[kv[0]])))


def envelope(body, body_bytes=b"", origin=None, version=WIRE_VERSION, seq=None):
    """An Envelope: BODY is a body name ("hello") or a bare field number
    (99: a body nobody knows)."""
    num = BODY[body] if isinstance(body, str) else int(body)
    out = b""
    if version is not None:
        out += f_uint(ENV_VERSION, version)
    if origin is not None:
        out += f_bytes(ENV_ORIGIN, origin)
    if seq is not None:
        out += f_uint(ENV_SEQ, seq)
    return out + f_bytes(num, body_bytes)


def hello(node_id, origin=None, tier="station", name="fake", software="tests/integration",
          epoch="", last_applied_down=0, parent_epoch=""):
    body = message(HELLO, {"node_id": node_id, "tier": TIER[tier], "name": name,
                           "software": software, "epoch": epoch,
                           "last_applied_down": last_applied_down,
                           "parent_epoch": parent_epoch})
    return envelope("hello", body, origin=node_id if origin is None else origin)


def heartbeat(origin, sent_at_us=1):
    return envelope("heartbeat", message(HEARTBEAT, {"sent_at_us": sent_at_us}), origin=origin)


def control_request(command, args=None, request_id=1, origin=None):
    body = message(CONTROL_REQUEST, {"request_id": request_id, "command": command})
    for name, value in (args or {}).items():
        body += f_bytes(CONTROL_REQUEST["args"], message(ARG, {"name": name, "value": value}))
    return envelope("control_request", body, origin=origin)


# --- decoding ---------------------------------------------------------------

def read_varint(buf, i):
    shift = n = 0
    while True:
        if i >= len(buf):
            raise DecodeError("varint runs past the end")
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, i
        shift += 7
        if shift >= 70:
            raise DecodeError("varint longer than 10 bytes")


def fields(buf):
    """The fields of one message as a list of (number, value): an int for
    varints and fixed-width fields, bytes for length-delimited ones."""
    out, i = [], 0
    while i < len(buf):
        k, i = read_varint(buf, i)
        num, wt = k >> 3, k & 7
        if num == 0:
            raise DecodeError("field number 0")
        if wt == WT_VARINT:
            v, i = read_varint(buf, i)
        elif wt == WT_FIXED64:
            if i + 8 > len(buf):
                raise DecodeError("fixed64 runs past the end")
            v, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wt == WT_FIXED32:
            if i + 4 > len(buf):
                raise DecodeError("fixed32 runs past the end")
            v, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        elif wt == WT_LEN:
            n, i = read_varint(buf, i)
            if i + n > len(buf):
                raise DecodeError("length-delimited field %d runs past the end" % num)
            v, i = bytes(buf[i:i + n]), i + n
        else:
            raise DecodeError("wire type %d" % wt)
        out.append((num, v))
    return out


def field_map(buf):
    """{number: value}; a number seen more than once maps to a list."""
    m = {}
    for num, v in fields(buf):
        if num in m:
            m[num] = (m[num] if isinstance(m[num], list) else [m[num]]) + [v]
        else:
            m[num] = v
    return m


def named(body_fields, numbers):
    """Body fields by name (NUMBERS is e.g. ERROR), strings decoded."""
    out = {}
    for name, num in numbers.items():
        if num in body_fields:
            v = body_fields[num]
            out[name] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    return out


class Envelope:
    """A decoded Envelope: version, origin, seq, body (field number),
    body_name and fields (the body's {number: value})."""

    def __init__(self, buf):
        self.version = self.origin = self.seq = None
        self.body = None
        self.fields = {}
        for num, v in fields(buf):
            if num == ENV_VERSION:
                self.version = v
            elif num == ENV_ORIGIN:
                self.origin = v.decode("utf-8", "replace")
            elif num == ENV_SEQ:
                self.seq = v
            elif num >= 10:
                if not isinstance(v, bytes):
                    raise DecodeError("body field %d is not a message" % num)
                self.body = num
                self.fields = field_map(v)
        self.body_name = BODY_NAME.get(self.body, str(self.body))

    def get(self, numbers):
        """The body's fields by name, e.g. env.get(wire.ERROR)."""
        return named(self.fields, numbers)

    def __repr__(self):
        return "Envelope(origin=%r, body=%s, fields=%r)" % (self.origin, self.body_name,
                                                             self.fields)


# --- keys and a fake peer ---------------------------------------------------

def read_key(path):
    with open(path) as f:
        return f.read().strip()


def identity_keys(path):
    """(public, secret) of an identity file ([identity] public=, secret=)."""
    pub = sec = None
    with open(path) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == "public":
                pub = v.strip()
            elif k.strip() == "secret":
                sec = v.strip()
    if not (pub and sec):
        raise ValueError("%s: no public/secret key" % path)
    return pub, sec


class Peer:
    """A DEALER that connects with CURVE (server key SERVER_KEY, our key
    pair PUBLIC/SECRET) and sends and receives single-frame messages, as
    vigild's uplink and vigilctl do."""

    def __init__(self, endpoint, server_key, public, secret, ctx=None):
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.CURVE_SERVERKEY, server_key.encode())
        self.sock.setsockopt(zmq.CURVE_PUBLICKEY, public.encode())
        self.sock.setsockopt(zmq.CURVE_SECRETKEY, secret.encode())
        self.sock.setsockopt(zmq.SNDTIMEO, 5000)
        self.sock.connect(endpoint)

    def send(self, data):
        self.sock.send(data)

    def recv_raw(self, timeout):
        """The next message's bytes, or None if nothing arrives within
        TIMEOUT seconds."""
        if self.sock.poll(int(timeout * 1000), zmq.POLLIN):
            return self.sock.recv()
        return None

    def recv(self, timeout, want=None):
        """The next Envelope (skipping those whose body is not in WANT, a
        set of body names, e.g. the parent's heartbeats), or None."""
        import time
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            raw = self.recv_raw(left)
            if raw is None:
                return None
            env = Envelope(raw)
            if want is None or env.body_name in want:
                return env

    def close(self):
        self.sock.close(0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
