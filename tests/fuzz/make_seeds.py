#!/usr/bin/env python3
"""Writes the text seed corpora of the fuzz targets issue 17 (harness item
4) added: args, files, import, rtspread, sqlarray, zap (make_seeds.c writes
change and link). Each seed begins with the target's selector byte (see
the target's opening comment). Rerun after changing an input format:
  ninja -C build cmd/vigild/vigild cmd/vigilctl/vigilctl
  tests/fuzz/make_seeds.py build tests/fuzz/corpus
(it makes a fresh key set and identity with them)."""
import os
import struct
import subprocess
import sys
import tempfile

build, out = sys.argv[1], sys.argv[2]
src = os.path.dirname(os.path.abspath(__file__))


def seed(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# args: 0 time, 1 duration, 2 --near with --radius after a newline
for name, t in [("iso", "2026-11-28T10:00:00Z"), ("iso_minutes", "2026-11-28T10:00"), ("minutes", "30m"),
                ("hours", "8h"), ("days", "7d"), ("days_overflow", "9223372036854775807d"),
                ("year_too_long", "99999999999-01-01T00:00:00Z"), ("word", "x")]:
    # days_overflow: signed overflow in vtime_parse before issue 17 (UBSan)
    seed("args", "time_" + name, b"\x00" + t.encode())
for i, d in enumerate(["90s", "30m", "2h", "1d", "0", "100001s", "-1m", "5x"]):
    seed("args", "duration_%d" % i, b"\x01" + d.encode())
for name, a in [("ok", "28.18,112.94\n500"), ("radius_0", "28.18,112.94\n0"), ("nan", "nan,1\n5"),
                ("radius_inf", "1,2\ninf"), ("off_the_earth", "91,0\n5"), ("radius_unit", "1,2\n5m"),
                ("trailing", "1,2x\n5"), ("no_radius", "1,2")]:
    # nan .. trailing were accepted before issue 17 (fuzz_args found them)
    seed("args", "near_" + name, b"\x02" + a.encode())

# files: 0 vigild.conf, 1 identity, 2 key directory, 3 key strings, 4 key set
with open(os.path.join(src, "../../deploy/vigild.conf.example"), "rb") as f:
    seed("files", "conf_station", b"\x00" + f.read())
for tier in ("city", "district", "station"):
    p = os.path.join(src, "../../deploy/examples", tier, "vigild.conf")
    if os.path.exists(p):
        with open(p, "rb") as f:
            seed("files", "conf_" + tier + "_example", b"\x00" + f.read())
seed("files", "conf_broken", b"\x00[node]\nid = 4301\ntier = moon\n[node]\n")
with tempfile.TemporaryDirectory() as t:
    subprocess.run([os.path.join(build, "cmd/vigild/vigild"), "keygen", t + "/k"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(build, "cmd/vigilctl/vigilctl"), "keygen", t + "/admin.id", "--name", "admin"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(t + "/admin.id", "rb") as f:
        ident = f.read()
    parts = []
    for n in ("curve.pub", "curve.key", "sign.pub", "sign.key", "credentials.key"):
        with open(os.path.join(t, "k", n), "rb") as f:
            parts.append(f.read())
seed("files", "identity", b"\x01" + ident)
seed("files", "identity_no_secret", b"\x01" + b"\n".join(l for l in ident.split(b"\n") if not l.startswith(b"secret")))
seed("files", "keys", b"\x02" + b"\x00".join(parts))
seed("files", "keys_no_credentials", b"\x02" + b"\x00".join(parts[:4]))
seed("files", "keys_swapped", b"\x02" + b"\x00".join([parts[1], parts[0]] + parts[2:]))
seed("files", "key_strings", b"\x03" + parts[2].strip())
seed("files", "keyset", b"\x04" + b"43010401001310000001\n43010401001310000002\n43010401001310000001\n\n\n")

# import: 0 site, 1 system, 2 camera; the header's line, then rows
seed("import", "site", b"\x00code,name,address,latitude,longitude,category,location_type,signage\n"
     b"S001,Gate,1 Lushan Rd,28.18,112.94,7.3,street,true\nS002,\"Quoted, name\",x,91,0,7.99,moon,maybe\n")
seed("import", "system", b"\x01code,name,builder_class,responsible_entity,commissioned_on\n"
     b"SYS1,Gate system,government,Yuelu PSB,2026-01-02\nSYS2,x,private,,2026-13-45\n")
seed("import", "camera", b"\x02id,name,system,site,codec,resolution,latitude,longitude\n"
     b"43010401001310000001,Gate 1,SYS1,S001,H.264,1920x1080,28.18,112.94\n"
     b"43019901001310000001,Elsewhere,SYS1,S001,H.266,1x1,0,0\n43010401001310000002,short\n")
seed("import", "unknown_column", b"\x02id,nmae\n43010401001310000001,x\n")
seed("import", "twice", b"\x00code,code\nA,B\n")
seed("import", "broken_quote", b"\x00code,name\n\"S1,x\n")
# A rejection quoting a long value was cut inside a character before issue
# 17 (its reason lost as "error": null; fuzz_import found it).
seed("import", "code_cut_mid_character", b"\x00code\n" + "\u00e9".encode() * 300 + b"\n")


# rtspread: byte 0 = number of split points (then 2 bytes each), or 0x80 | URL
def rtsp(name, resp, splits):
    seed("rtspread", name, bytes([len(splits)]) + b"".join(struct.pack(">H", s) for s in splits) + resp)


ok = (b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://h/x/\r\nContent-Type: application/sdp\r\n"
      b"Content-Length: 40\r\n\r\nv=0\r\nm=video 0 RTP/AVP 96\r\na=control:s0\r\n")
rtsp("describe_split", ok, [1, 17, 60, 130])
rtsp("describe_whole", ok, [])
rtsp("status_only", b"RTSP/1.0 404 Not Found\r\n\r\n", [10, 24, 25])
rtsp("unauthorized", b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm=\"c\", "
     b"nonce=\"n\"\r\n\r\n", [5, 40])
rtsp("leading_zeros", b"RTSP/1.0 200 OK\r\nContent-Length: 0004\r\n\r\nabcd", [30, 40])
rtsp("lf_only", b"RTSP/1.0 200 OK\nCSeq: 3\n\n", [3])
for i, u in enumerate(["rtsp://user:pass@10.0.0.5:554/Streaming/Channels/101", "rtsp://[fe80::1]:8554/x",
                       "rtsp://h", "rtsp://h:99999/", "http://h/", "rtsp://:1/", "rtsp://a@b@c/"]):
    seed("rtspread", "url_%d" % i, b"\x80" + u.encode())


# sqlarray: PostgreSQL's array_send: ndim, has_null, elemtype, then (dim, lbound), then (len, bytes)
def arr(elems, oid=17):
    b = struct.pack(">iiI", 1, int(any(e is None for e in elems)), oid) + struct.pack(">ii", len(elems), 1)
    for e in elems:
        b += struct.pack(">i", -1) if e is None else struct.pack(">i", len(e)) + e
    return b


seed("sqlarray", "two", arr([b"\x1a\x02\x08\x01", b"abc"]))
seed("sqlarray", "null", arr([b"x", None, b""]))
seed("sqlarray", "empty", struct.pack(">iiI", 0, 0, 17))
seed("sqlarray", "cut", arr([b"abcdef"])[:-3])
seed("sqlarray", "two_dims", struct.pack(">iiI", 2, 0, 17) + struct.pack(">iiii", 1, 1, 1, 1) + struct.pack(">i", 1) + b"x")
seed("sqlarray", "count_lies", struct.pack(">iiI", 1, 0, 17) + struct.pack(">ii", 3, 1) + struct.pack(">i", 1) + b"x")


# zap: frames, each a length byte and its bytes
def zap(frames):
    return b"".join(bytes([len(f)]) + f for f in frames)


key = bytes(range(32))
seed("zap", "curve", zap([b"1.0", b"1", b"downlink", b"127.0.0.1", b"", b"CURVE", key]))
seed("zap", "curve_admitted", zap([b"1.0", b"1", b"control", b"127.0.0.1", b"", b"CURVE", b"\x00" * 32]))
seed("zap", "plain", zap([b"1.0", b"2", b"control", b"10.1.1.1", b"", b"PLAIN", b"admin", b"secret"]))
seed("zap", "null", zap([b"1.0", b"3", b"", b"", b"", b"NULL"]))
seed("zap", "short_key", zap([b"1.0", b"4", b"downlink", b"a", b"", b"CURVE", key[:31]]))
seed("zap", "few_frames", zap([b"1.0", b"5"]))
