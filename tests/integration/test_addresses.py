"""A camera's real address never leaves its station (issue 16, "The stream
gate": Art 19, 29(2); Art 5, 24(1)).

The catalog replicated every camera's stream URL and every private
system's reserved interface (Art 13) up to the district and the city,
where `camera list` and `system list` handed them to anyone admitted. Now,
on a real city, district and station:

* cameras imported at the station with their stream URLs and private
  systems with reserved interfaces (their credentials held at the station
  with `system credentials`) reach the district and the city, which say
  that each has one (has_stream, has_reserved_interface; STREAM yes/no in
  the plain list) and hold none: not in `camera list|show --json`,
  `system list|show --json`, nor anywhere in a pg_dump of their databases
  (text, or the bytes of a change in an outbox);
* the station still shows them to its own admin;
* a change with a stream URL (userinfo and all) that a station sends up
  anyway, as an old or a compromised one would (written into its outbox
  by hand), is stored at the district without it, and forwarded to the
  city without it;
* an emergency over the station links its private systems (one through
  a real RTSP server, two that fail): the report the city gets names no
  interface (no URL, no host in a reason, no absolute control URL of a
  stream), while the station keeps each in its linkages;
* the database enforces it where the data lives: an address written at
  the district by hand is not kept; migration 013 clears one a district
  held before it.
"""

import csv
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (PG_SCRIPT, SEVEN, SOURCE, TestFederation, auditor, free_port_block, psql,  # noqa: E402
                     register_officers, start_rtsp_server, step, stop_processes, wait_until)
import wire  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
ABOVE = ("yuelu", "city")
PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"
N_CAMERAS = 40

USER, PASSWORD = "linkage-user-q7", "pw-Zx81-secret"
INTERFACES = {"mall": "rtsp://192.0.2.77:8554/mall", "bank": "rtsp://cam-7.bank.example/vault"}
HOSTILE_URL = "rtsp://admin:hostile-Pw9@198.51.100.9:554/live"
HOSTILE_CAMERA = "%s00131%07d" % (ID["yuelu-1"][:8], 9000)


def camera_id(serial):
    return "%s00131%07d" % (ID["yuelu-1"][:8], serial)


def stream_url(serial):
    return "rtsp://10.77.%d.%d:554/cam%d" % (serial // 200, serial % 200, serial)


def sql(fed, name, query):
    rc, out, err = psql(fed, name, query)
    assert rc == 0, "%s at %s: %s" % (query, name, err)
    return out


def dump(fed, name, *args):
    conninfo = subprocess.run([PG_SCRIPT, "conninfo", fed.pg_dir, str(fed.pg_port), fed.node(name).dbname],
                              check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    r = subprocess.run([PG_DUMP, "--no-owner", *args, "-d", conninfo], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 0, "pg_dump of %s: %s" % (name, r.stderr)
    return r.stdout


def secrets():
    """Every address and credential held at the station, and the pieces
    of them that would give one away."""
    out = [stream_url(i) for i in range(N_CAMERAS)] + list(INTERFACES.values())
    out += [u.split("/")[2] for u in INTERFACES.values()]
    out += ["10.77.0.1", "192.0.2.77", "cam-7.bank.example", USER, PASSWORD, HOSTILE_URL, "hostile-Pw9",
            "198.51.100.9"]
    return out


def leaks(text, also_rtsp=True):
    """What of secrets() (or any rtsp:// URL) TEXT holds, as it is or as
    the hex of bytea (a change kept in an outbox or a dead letter)."""
    hexed = text.lower()
    found = []
    for s in secrets() + (["rtsp://"] if also_rtsp else []):
        if s in text or s.encode().hex() in hexed:
            found.append(s)
    return found


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def hostile_change():
    """A Camera change with a stream URL and its userinfo, as a station
    built before the addresses stayed (or a compromised one) sends it."""
    camera = wire.message({"id": 1, "station_id": 2, "version": 3, "name": 5, "system_code": 6, "site_code": 7,
                           "stream_url": 8, "codec": 9, "status": 16},
                          {"id": HOSTILE_CAMERA, "station_id": ID["yuelu-1"], "version": 1 << 60,
                           "name": "hostile", "system_code": "gov", "site_code": "junction",
                           "stream_url": HOSTILE_URL, "codec": "H264", "status": "online"})
    return wire.f_bytes(6, camera)     # Change.camera


def main():
    servers = []
    with TestFederation("addresses", NODES, heartbeat_ms=500) as fed:
      try:
        fed.start()
        port = free_port_block("test_addresses_rtsp", 1)
        servers.append(start_rtsp_server(["--port", str(port), "--mounts", "1"]))
        INTERFACES["hotel"] = "rtsp://127.0.0.1:%d/cam0" % port
        s = "yuelu-1"
        fed.ctl_ok(s, "site", "add", "--code", "junction", "--name", "junction", "--location-type", "junction")
        fed.ctl_ok(s, "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu PSB", "--retention-days", "30")
        for code, ri in INTERFACES.items():
            fed.ctl_ok(s, "system", "add", "--code", code, "--name", code, "--builder-class", "private",
                       "--responsible-entity", "owner of " + code, "--retention-days", "30",
                       "--reserved-interface", ri)
            fed.ctl_ok(s, "system", "credentials", code, "--user", USER, "--password", PASSWORD)
        fed.ctl_ok(s, "system", "add", "--code", "shop", "--name", "shop", "--builder-class", "private",
                   "--responsible-entity", "owner of shop", "--retention-days", "30")
        path = write_csv(os.path.join(fed.tmp, "cameras.csv"), ["id", "name", "system", "site", "stream_url",
                                                                 "codec", "resolution", "status"],
                         ([camera_id(i), "camera %d" % i, "gov", "junction", stream_url(i) if i % 4 else "",
                           "H264", "1920x1080", "online"] for i in range(N_CAMERAS)))
        doc = fed.ctl_ok(s, "camera", "import", path, timeout=60)
        assert doc.get("imported") == N_CAMERAS and not doc.get("rejected"), doc
        with_stream = sorted(camera_id(i) for i in range(N_CAMERAS) if i % 4)
        step("yuelu-1: %d cameras (%d with a stream URL), %d private systems with reserved interfaces and "
             "credentials, 1 without" % (N_CAMERAS, len(with_stream), len(INTERFACES)))

        def arrived(name):
            rc, cams = fed.ctl(name, "camera", "list", "--under", ID[s])
            rc2, systems = fed.ctl(name, "system", "list")
            if rc != 0 or rc2 != 0 or len(cams) != N_CAMERAS or len(systems) != len(INTERFACES) + 2:
                return None
            return cams, systems

        for name in ABOVE:
            cams, systems = wait_until(lambda: arrived(name), 20, what="the catalog at %s" % name)
            text = json.dumps(cams) + json.dumps(systems)
            assert not leaks(text), "%s lists %s" % (name, leaks(text))
            assert all(c.get("stream_url") is None for c in cams), cams[:2]
            assert sorted(c["id"] for c in cams if c.get("has_stream")) == with_stream, \
                "has_stream at %s: %s" % (name, cams[:3])
            assert all(c.get("has_stream") is False for c in cams if c["id"] not in with_stream)
            assert all(c.get("codec") == "H264" and c.get("resolution") == "1920x1080" for c in cams)
            by_code = {y["code"]: y for y in systems}
            assert {k: y.get("has_reserved_interface") for k, y in by_code.items()} == \
                dict({"gov": False, "shop": False}, **{k: True for k in INTERFACES}), by_code
            assert all(y.get("reserved_interface") is None for y in systems)
            one = fed.ctl_ok(name, "camera", "show", with_stream[0])
            mall = fed.ctl_ok(name, "system", "show", "mall", "--station", ID[s])
            assert one.get("has_stream") is True and mall.get("has_reserved_interface") is True, (one, mall)
            assert not leaks(json.dumps(one) + json.dumps(mall)), (one, mall)
            _, plain = fed.node(name).ctl("camera", "list", "--under", ID[s], json_output=False)
            assert not leaks(plain) and " yes" in plain and " no" in plain, plain
            _, plain = fed.node(name).ctl("system", "list", json_output=False)
            assert not leaks(plain), plain
        step("district and city: list and show (--json and plain) say has_stream / has_reserved_interface, "
             "and no address")

        # Art 13: the private system without an interface is still flagged
        # above the station, from has_reserved_interface.
        for name in ABOVE:
            assert sql(fed, name, "SELECT string_agg(code, ',' ORDER BY code) FROM system_flags") == "shop"

        # The station keeps them, and shows them to its own admin.
        cams = fed.ctl_ok(s, "camera", "list")
        mine = {c["id"]: c.get("stream_url") for c in cams}
        assert mine[camera_id(1)] == stream_url(1) and mine[camera_id(0)] is None, cams[:2]
        assert fed.ctl_ok(s, "system", "show", "mall").get("reserved_interface") == INTERFACES["mall"]
        _, plain = fed.node(s).ctl("camera", "list", json_output=False)
        assert stream_url(1) in plain, plain
        step("yuelu-1 still lists its addresses for its admin")

        # A station that sends an address up anyway.
        sql(fed, s, "SELECT outbox_append('%s', ARRAY['\\x%s'::bytea])" % (ID["yuelu"], hostile_change().hex()))
        for name in ABOVE:
            wait_until(lambda: sql(fed, name, "SELECT count(*) FROM cameras WHERE id = '%s'" % HOSTILE_CAMERA) == "1",
                       20, what="the hostile change at %s" % name)
            assert sql(fed, name, "SELECT coalesce(stream_url, '-') || ' ' || has_stream || ' ' || codec "
                       "FROM cameras WHERE id = '%s'" % HOSTILE_CAMERA) == "- true H264"
        step("a change with a stream URL (userinfo and all) sent up by hand: kept and forwarded without it")

        # An emergency over the station: its report goes up without them.
        ids = register_officers(fed, [("city-commander", "city", "commander"),
                                      ("city-inv-1", "city", "investigator")])
        em = fed.ctl_ok("city", "emergency", "declare", "--scope", ID[s], "--duration", "30m", "--incident", "fire",
                        "--authority", "Changsha PSB", "--officer", "city-inv-1",
                        as_identity=ids["city-commander"])["id"]

        def done():
            rc, d = fed.ctl("city", "emergency", "status", em, as_identity=auditor(fed, "city"))
            st = d.get("stations", [{}])[0] if rc == 0 and d.get("stations") else {}
            return d if st.get("done") and st.get("linked", 0) + st.get("failed", 0) == len(INTERFACES) else None
        status = wait_until(done, 40, what="emergency %s acted on" % em)
        assert status["stations"][0]["linked"] == 1, status
        report = fed.ctl_ok("city", "emergency", "report", em, as_identity=auditor(fed, "city"))
        text = json.dumps(report) + json.dumps(status)
        assert not leaks(text), "the emergency report at the city holds %s: %s" % (leaks(text), text)
        got = {x["system"]: x for x in report["linkages"]}
        assert got["hotel"]["outcome"] == "linked" and got["hotel"]["streams"][0]["codec"], got["hotel"]
        assert all("url" not in x for x in got.values()), got
        assert sql(fed, s, "SELECT string_agg(system_code, ',' ORDER BY system_code) FROM linkages "
                   "WHERE url LIKE 'rtsp://%%'") == "bank,hotel,mall"
        fed.ctl_ok("city", "emergency", "end", em, as_identity=ids["city-commander"])
        step("emergency: 1 linked, 2 failed; the report at the city names no interface, the station's "
             "linkages keep them")

        for name in ABOVE:
            data = dump(fed, name, "--data-only")
            assert not leaks(data), "pg_dump --data-only of %s holds %s" % (name, leaks(data))
            whole = dump(fed, name)
            assert not leaks(whole, also_rtsp=False), "pg_dump of %s holds %s" % (name, leaks(whole, False))
        assert stream_url(1) in dump(fed, s, "--data-only")
        step("pg_dump of the district's and the city's databases: no address, no credential, no rtsp://")

        # Where the data lives: written at the district by hand, not kept.
        cam = with_stream[0]
        sql(fed, "yuelu", "UPDATE cameras SET stream_url = 'rtsp://10.99.0.1/x' WHERE id = '%s'" % cam)
        assert sql(fed, "yuelu", "SELECT coalesce(stream_url, '-') || ' ' || has_stream FROM cameras "
                   "WHERE id = '%s'" % cam) == "- true"
        # Migration 013 clears what a district held from before.
        sql(fed, "yuelu", "ALTER TABLE cameras DISABLE TRIGGER cameras_address_stays; "
            "UPDATE cameras SET stream_url = 'rtsp://10.99.0.2/old' WHERE id = '%s'; "
            "ALTER TABLE cameras ENABLE TRIGGER cameras_address_stays" % cam)
        assert sql(fed, "yuelu", "SELECT stream_url FROM cameras WHERE id = '%s'" % cam) == "rtsp://10.99.0.2/old"
        with open(os.path.join(SOURCE, "schema", "013_addresses_stay.sql")) as f:
            sql(fed, "yuelu", f.read())
        assert sql(fed, "yuelu", "SELECT count(*) FROM cameras WHERE stream_url IS NOT NULL") == "0"
        assert sql(fed, s, "SELECT count(*) FROM cameras WHERE stream_url IS NOT NULL") == str(len(with_stream))
        step("the district's database keeps no address written by hand; migration 013 clears an old one")
      finally:
        stop_processes(servers)
    print("test_addresses: OK")


if __name__ == "__main__":
    main()
