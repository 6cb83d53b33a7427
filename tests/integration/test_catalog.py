#!/usr/bin/python3
"""test_catalog: register at the station, see it at every tier.

What a user of `vigilctl` sees, on a five-node federation (city; yuelu with
yuelu-1 and yuelu-2; furong with furong-1):

* the sample files deploy/samples/{sites,systems,cameras}.csv import cleanly
  at yuelu-1 (with a progress bar on a terminal), names in Chinese intact at
  the city;
* 10,000 cameras imported at yuelu-1 are counted, listed and shown in `tree`
  at the city within seconds; a rename and a deletion follow;
* a CSV with a camera in a hotel guest room is refused with Art 8(2) and its
  line, nothing imported; --skip-bad imports the good rows and lists the bad;
* retention under 15 days (Art 23(6)), a camera ID of another station and
  registering at a district are refused; a private system without a reserved
  interface is accepted and flagged (Art 13);
* kill -9 of the district yuelu, twice, during a 30,000-camera import at
  yuelu-1: afterwards the city's and yuelu's copies of yuelu-1's cameras
  equal the station's exactly (IDs and versions, no duplicates);
* the city's database wiped while the federation holds cameras: the city
  rebuilds every station's catalog from snapshots.

VIGIL_CATALOG_SEED fixes the moments of the kills (printed otherwise).
"""

import csv
import os
import pty
import random
import select
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (PG_SCRIPT, SEVEN, SOURCE, FederationError,  # noqa: E402
                     TestFederation, step, wait_until)

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "furong", "yuelu-1", "yuelu-2", "furong-1")]
ID = {n: i for n, _, i, _ in NODES}
STATIONS = ["yuelu-1", "yuelu-2", "furong-1"]
Y1 = ID["yuelu-1"]
SAMPLES = os.path.join(SOURCE, "deploy", "samples")

# How long a change may take to reach the city (the brief: "within
# seconds"); generous enough for the sanitizer build.
PROPAGATION_S = 15


def camera_id(station, serial, kind=131):
    """A GB/T 28181 camera ID under STATION: its centre code (8 digits),
    industry 00, type KIND, a 7-digit serial."""
    return "%s00%03d%07d" % (ID[station][:8], kind, serial)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def cameras_csv(path, station, first, count, site="s-junction", system="sys-gov"):
    return write_csv(path, ["id", "name", "system", "site", "stream_url", "status"], (
        [camera_id(station, first + i), "camera %d" % (first + i), system, site,
         "rtsp://10.43.%d.%d/cam%d" % ((first + i) // 250 % 250, (first + i) % 250, first + i),
         "online"] for i in range(count)))


def count(fed, name, under=Y1):
    rc, doc = fed.ctl(name, "camera", "count", "--under", under, timeout=20)
    if rc != 0 or not isinstance(doc, dict):
        return None
    return doc.get("count")


def expect_count(fed, name, want, under=Y1, timeout=PROPAGATION_S):
    last = {}

    def ok():
        last["n"] = count(fed, name, under)
        return last["n"] == want
    t0 = time.monotonic()
    wait_until(ok, timeout, interval=0.2, what="camera count --under %s at %s == %d" % (under, name, want),
               detail=lambda: last.get("n"))
    return time.monotonic() - t0


# -- direct database reads (the comparison must not trust vigilctl) -----------

PSQL = next((p for p in ("/usr/lib/postgresql/15/bin/psql", shutil.which("psql") or "")
             if p and os.access(p, os.X_OK)), None)


def conninfo(fed, name):
    return subprocess.run([PG_SCRIPT, "conninfo", fed.pg_dir, str(fed.pg_port), fed.node(name).dbname],
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


def sql(fed, name, query):
    """Rows of QUERY in node NAME's database, as lists of strings."""
    r = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-d", conninfo(fed, name), "-c", query],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("psql at %s failed: %s\n%s" % (name, query, r.stderr))
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def catalog_of(fed, name, station):
    """What node NAME holds of STATION's catalog: cameras (id, version),
    sites and systems (code, version), in order, duplicates kept."""
    st = ID[station]
    return {
        "cameras": sql(fed, name, "SELECT id, version FROM cameras WHERE station_id = '%s' "
                                  "ORDER BY id, version" % st),
        "sites": sql(fed, name, "SELECT code, version FROM sites WHERE station_id = '%s' "
                                "ORDER BY code, version" % st),
        "systems": sql(fed, name, "SELECT code, version FROM systems WHERE station_id = '%s' "
                                  "ORDER BY code, version" % st),
    }


def diff(a, b):
    """A short description of how two catalogs differ, or None."""
    out = []
    for k in a:
        if a[k] != b[k]:
            sa, sb = set(map(tuple, a[k])), set(map(tuple, b[k]))
            out.append("%s: %d vs %d rows, %d only in the first (e.g. %s), %d only in the second "
                       "(e.g. %s)%s" % (k, len(a[k]), len(b[k]), len(sa - sb), sorted(sa - sb)[:3],
                                        len(sb - sa), sorted(sb - sa)[:3],
                                        ", duplicates" if len(sa) != len(a[k]) or len(sb) != len(b[k])
                                        else ""))
    return "; ".join(out) or None


def expect_equal_catalog(fed, at, station, timeout):
    """Wait until node AT holds exactly STATION's catalog; return seconds."""
    last = {}
    t0 = time.monotonic()

    def same():
        want = catalog_of(fed, station, station)
        last["d"] = diff(want, catalog_of(fed, at, station))
        return last["d"] is None
    wait_until(same, timeout, interval=0.5, what="%s's copy of %s's catalog equal to the station's"
               % (at, station), detail=lambda: last.get("d"))
    return time.monotonic() - t0


# -- vigilctl helpers ------------------------------------------------------------

def ok(fed, name, *args, timeout=60):
    rc, doc = fed.ctl(name, *args, timeout=timeout)
    assert rc == 0, "vigilctl %s at %s: exit %d: %s" % (" ".join(map(str, args)), name, rc, doc)
    return doc


def import_ok(fed, name, kind, path, timeout=120):
    doc = ok(fed, name, kind, "import", path, timeout=timeout)
    assert doc.get("rejected_count") == 0 and doc.get("rejected") == [], \
        "%s import %s at %s: rejected %s" % (kind, path, name, doc)
    return doc


def data_rows(path):
    with open(path, newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def import_on_terminal(fed, name, kind, path):
    """`vigilctl KIND import PATH` without --json on a pseudo-terminal, as
    an operator runs it: (exit status, everything it printed)."""
    n = fed.node(name)
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(fed.vigilctl, [fed.vigilctl, "-c", n.ctl_conf, kind, "import", path])
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:         # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


# -- the parts ---------------------------------------------------------------------

def part_samples(fed):
    """The sample files of deploy/samples import cleanly at yuelu-1."""
    counts = {}
    for kind, file in (("site", "sites.csv"), ("system", "systems.csv"), ("camera", "cameras.csv")):
        path = os.path.join(SAMPLES, file)
        rc, out = import_on_terminal(fed, "yuelu-1", kind, path)
        assert rc == 0, "deploy/samples/%s does not import cleanly at yuelu-1 (exit %d):\n%s" % (file, rc, out)
        assert "importing" in out and "100%" in out, "no progress bar on a terminal:\n%r" % out
        counts[kind] = data_rows(path)
        assert "%d imported, 0 rejected" % counts[kind] in out, "%s: unexpected summary:\n%s" % (file, out)
        if kind == "system":
            # A sample private system has no reserved interface (Art 13).
            assert "Art 13" in out, "no Art 13 flag for the private system without interface:\n%s" % out
    step("samples imported at yuelu-1: %s" % counts)
    with open(os.path.join(SAMPLES, "cameras.csv"), newline="") as f:
        first = next(csv.DictReader(f))
    expect_count(fed, "city", counts["camera"])
    doc = ok(fed, "city", "camera", "show", first["id"])
    assert doc.get("name") == first["name"] and doc.get("station") == Y1, \
        "sample camera at the city: %s, want name %r" % (doc, first["name"])
    return counts["camera"]


def part_ten_thousand(fed, tmp, base):
    """10,000 cameras at yuelu-1, seen at the city."""
    path = cameras_csv(os.path.join(tmp, "ten-thousand.csv"), "yuelu-1", 100000, 10000)
    t0 = time.monotonic()
    doc = import_ok(fed, "yuelu-1", "camera", path)
    t_import = time.monotonic() - t0
    assert doc.get("imported") == 10000, "imported %r, want 10000" % doc.get("imported")
    want = base + 10000
    assert count(fed, "yuelu-1") == want, "yuelu-1 counts %r, want %d" % (count(fed, "yuelu-1"), want)
    t_city = expect_count(fed, "city", want)
    step("10,000 cameras: import %.1f s, at the city %.1f s later" % (t_import, t_city))

    rows = ok(fed, "city", "camera", "list", "--under", Y1, "--limit", 5)
    assert isinstance(rows, list) and len(rows) == 5, "camera list --limit 5 at the city: %r" % rows
    for r in rows:
        for key in ("id", "name", "station", "category", "status", "stream_url"):
            assert key in r, "camera list entry lacks %r: %r" % (key, r)
        assert r["station"] == Y1 and r["id"].startswith(Y1[:8]), "camera list at the city: %r" % r

    tree = fed.tree("city")
    for name, n in (("yuelu-1", want), ("yuelu", want), ("city", want)):
        assert tree[ID[name]].get("cameras") == n, \
            "tree at the city: %s has cameras=%r, want %d" % (name, tree[ID[name]].get("cameras"), n)
    assert tree[ID["yuelu-2"]].get("cameras") == 0, "tree: yuelu-2 %r" % tree[ID["yuelu-2"]]
    return want


def part_rename_remove(fed, total):
    cam = camera_id("yuelu-1", 100007)
    ok(fed, "yuelu-1", "camera", "update", cam, "--name", "麓山南路口 北向")
    t0 = time.monotonic()

    def renamed():
        rc, doc = fed.ctl("city", "camera", "show", cam)
        return rc == 0 and doc.get("name") == "麓山南路口 北向"
    wait_until(renamed, PROPAGATION_S, interval=0.1, what="the rename of %s at the city" % cam,
               detail=lambda: fed.ctl("city", "camera", "show", cam))
    t_rename = time.monotonic() - t0

    # A status change alone travels as a CameraStatus delta (its size is
    # checked in tests/unit/test_catalog.c); the city shows the new status
    # with the rename kept.
    ok(fed, "yuelu-1", "camera", "update", cam, "--status", "fault")
    wait_until(lambda: fed.ctl("city", "camera", "show", cam)[1].get("status") == "fault",
               PROPAGATION_S, interval=0.1, what="the status of %s at the city" % cam)
    rc, doc = fed.ctl("city", "camera", "show", cam)
    assert doc.get("name") == "麓山南路口 北向", "status delta lost the rename: %s" % doc

    ok(fed, "yuelu-1", "camera", "remove", cam)
    rc, doc = fed.ctl("yuelu-1", "camera", "show", cam)
    assert rc == 1, "removed camera still shown at yuelu-1: %s" % doc
    t0 = time.monotonic()
    wait_until(lambda: fed.ctl("city", "camera", "show", cam)[0] == 1, PROPAGATION_S, interval=0.1,
               what="the removal of %s at the city" % cam,
               detail=lambda: fed.ctl("city", "camera", "show", cam))
    t_remove = time.monotonic() - t0
    expect_count(fed, "city", total - 1)
    step("rename at the city after %.2f s, removal after %.2f s" % (t_rename, t_remove))
    return total - 1


def part_hotel_room(fed, tmp, total):
    """Art 8(2): no camera in a hotel guest room; a bad row stops the file."""
    ok(fed, "yuelu-1", "site", "add", "--code", "hotel-room-1208", "--name", "某酒店 1208 客房",
       "--location-type", "hotel-guest-room", "--signage", "no")
    rows = [[camera_id("yuelu-1", 200000 + i), "hotel camera %d" % i, "sys-gov", "s-hotel-lobby"]
            for i in range(40)]
    bad = 17                                    # 0-based data row: CSV line 19
    rows[bad][3] = "hotel-room-1208"
    path = write_csv(os.path.join(tmp, "hotel.csv"), ["id", "name", "system", "site"], rows)
    line = bad + 2
    rc, doc = fed.ctl("yuelu-1", "camera", "import", path)
    assert rc == 1, "a file with a camera in a hotel guest room: exit %d, want 1: %s" % (rc, doc)
    rej = doc.get("rejected")
    assert isinstance(rej, list) and len(rej) == 1 and doc.get("rejected_count") == 1, \
        "rejected list: %r" % doc
    r = rej[0]
    assert r.get("line") == line and r.get("article") == "Art 8(2)", \
        "rejection %r, want line %d with Art 8(2)" % (r, line)
    for key in ("line", "field", "error", "article"):
        assert key in r, "rejection lacks %r: %r" % (key, r)
    assert doc.get("imported") == 0, "imported %r from a refused file" % doc.get("imported")
    assert count(fed, "yuelu-1") == total, "the refused file changed the count at yuelu-1"
    rc, doc2 = fed.ctl("yuelu-1", "camera", "show", rows[0][0])
    assert rc == 1, "a row of the refused file was registered: %s" % doc2

    rc, doc = fed.ctl("yuelu-1", "camera", "import", path, "--skip-bad")
    assert rc == 0, "--skip-bad: exit %d: %s" % (rc, doc)
    assert doc.get("imported") == 39 and [x.get("line") for x in doc.get("rejected", [])] == [line] \
        and doc["rejected"][0].get("article") == "Art 8(2)", "--skip-bad: %s" % doc
    total += 39
    assert count(fed, "yuelu-1") == total
    rc, _ = fed.ctl("yuelu-1", "camera", "show", rows[bad][0])
    assert rc == 1, "the camera in the hotel guest room was registered"
    expect_count(fed, "city", total)
    step("hotel guest room refused with Art 8(2) at line %d; --skip-bad imported 39" % line)
    return total


def part_rules(fed, tmp, total):
    # Art 23(6): retention under 15 days, by hand and in a file.
    rc, doc = fed.ctl("yuelu-1", "system", "add", "--code", "sys-short", "--name", "short retention",
                      "--builder-class", "government", "--responsible-entity", "岳麓分局",
                      "--retention-days", 14)
    assert rc == 1 and doc.get("article") == "Art 23(6)", "retention 14 days by hand: %d %s" % (rc, doc)
    hdr = ["code", "name", "builder_class", "responsible_entity", "reserved_interface", "retention_days"]
    path = write_csv(os.path.join(tmp, "systems-bad.csv"), hdr, [
        ["sys-ok", "ok", "government", "岳麓分局", "", "30"],
        ["sys-7", "seven days", "private", "某物业公司", "rtsp://10.43.9.9/ri", "7"]])
    rc, doc = fed.ctl("yuelu-1", "system", "import", path)
    assert rc == 1 and [(r.get("line"), r.get("field"), r.get("article")) for r in doc.get("rejected", [])] \
        == [(3, "retention_days", "Art 23(6)")], "retention 7 days in a file: %d %s" % (rc, doc)
    rc, _ = fed.ctl("yuelu-1", "system", "show", "sys-ok")
    assert rc == 1, "sys-ok registered from a refused file"

    # Art 13: a private system without a reserved interface: accepted, flagged.
    path = write_csv(os.path.join(tmp, "systems-private.csv"), hdr, [
        ["sys-mall", "步步高广场 商场监控", "private", "步步高商业", "", "30"]])
    doc = import_ok(fed, "yuelu-1", "system", path)
    w = doc.get("warnings")
    assert doc.get("imported") == 1 and isinstance(w, list) and len(w) == 1 \
        and w[0].get("article") == "Art 13" and w[0].get("line") == 2, "private system without interface: %s" % doc
    ok(fed, "yuelu-1", "system", "show", "sys-mall")

    # A camera ID of another station (yuelu-2's centre code) is refused.
    other = camera_id("yuelu-2", 1)
    rc, doc = fed.ctl("yuelu-1", "camera", "add", "--id", other, "--name", "x", "--system", "sys-gov",
                      "--site", "s-junction")
    assert rc == 1 and "outside this station" in doc.get("error", ""), "foreign ID by hand: %d %s" % (rc, doc)
    path = write_csv(os.path.join(tmp, "foreign.csv"), ["id", "name", "system", "site"], [
        [camera_id("yuelu-1", 300000), "ours", "sys-gov", "s-junction"],
        [other, "theirs", "sys-gov", "s-junction"]])
    rc, doc = fed.ctl("yuelu-1", "camera", "import", path)
    assert rc == 1 and [(r.get("line"), r.get("field")) for r in doc.get("rejected", [])] == [(3, "id")], \
        "foreign ID in a file: %d %s" % (rc, doc)
    assert count(fed, "yuelu-1") == total

    # A header naming a column twice is refused, naming both places: fifty
    # "name" columns once wrote past the station's column map (more than
    # the entity has columns); the station must answer the next request.
    for hdr, col, also in ((["id"] + ["name"] * 50, 3, 2),
                           (["id", "name", "system", "site", "latitude", "name"], 6, 2)):
        path = write_csv(os.path.join(tmp, "twice.csv"), hdr, [
            [camera_id("yuelu-1", 310000)] + ["x"] * (len(hdr) - 1)])
        rc, doc = fed.ctl("yuelu-1", "camera", "import", path)
        want = 'line 1, column %d: column "name" appears twice (also column %d)' % (col, also)
        assert rc == 1 and doc.get("error", "").endswith(": " + want), "column named twice: %d %s" % (rc, doc)
    ok(fed, "yuelu-1", "status")
    path = write_csv(os.path.join(tmp, "wide.csv"), ["id"] + ["c%d" % i for i in range(70)],
                     [[camera_id("yuelu-1", 310001)] + ["x"] * 70])
    rc, doc = fed.ctl("yuelu-1", "camera", "import", path)
    assert rc == 1 and "more than 64 columns" in doc.get("error", ""), "71 columns: %d %s" % (rc, doc)
    assert count(fed, "yuelu-1") == total

    # Only a station registers: a district refuses, and says why.
    rc, doc = fed.ctl("yuelu", "site", "add", "--code", "d1", "--name", "x", "--location-type", "junction")
    assert rc == 1 and "station" in doc.get("error", ""), "site add at a district: %d %s" % (rc, doc)
    rc, doc = fed.ctl("yuelu", "camera", "import", os.path.join(tmp, "ten-thousand.csv"))
    assert rc == 1 and "station" in doc.get("error", ""), "camera import at a district: %d %s" % (rc, doc)
    assert count(fed, "yuelu") == total
    step("Art 23(6), foreign IDs and district registration refused; Art 13 flagged")


def part_bad_values(fed, tmp, total):
    """Every kind of bad value in a file is named with its line and field;
    the good values of each kind pass (a check that refused everything, or
    nothing, fails here)."""
    hdr = ["id", "name", "system", "site", "stream_url", "latitude", "bearing", "ptz", "status"]
    good = lambda n: [camera_id("yuelu-1", 600000 + n), "cam %d" % n, "sys-gov", "s-junction",
                      "rtsp://10.1.1.1/a", "28.2", "359.5", "yes", "online"]
    bad = [  # (column, value, field named)
        ("id", "4301040100131000000x", "id"),
        ("id", camera_id("yuelu-1", 1, kind=118), "id"),
        ("system", "sys gov", "system"),
        ("site", "s" * 65, "site"),
        ("stream_url", "ftp://10.1.1.1/a", "stream_url"),
        ("stream_url", "rtsp://10.1.1.1/a b", "stream_url"),
        ("stream_url", "rtsp://", "stream_url"),
        ("latitude", "91", "latitude"),
        ("latitude", "nan", "latitude"),
        ("latitude", "28.2x", "latitude"),
        ("bearing", "360", "bearing"),
        ("ptz", "maybe", "ptz"),
        ("status", "broken", "status"),
        ("name", "", "name"),
    ]
    rows, want = [], []
    for n, (col, value, field) in enumerate(bad):
        rows.append(good(2 * n))
        r = good(2 * n + 1)
        r[hdr.index(col)] = value
        rows.append(r)
        want.append((len(rows) + 1, field))
    # The accepted spellings: every yes/no word, https, the 7.x bounds below.
    for n, word in enumerate(["1", "t", "true", "y", "yes", "0", "f", "false", "n", "no"]):
        r = good(100 + n)
        r[hdr.index("ptz")] = word
        r[hdr.index("stream_url")] = "https://cam.example/%d" % n
        rows.append(r)
    path = write_csv(os.path.join(tmp, "bad-values.csv"), hdr, rows)
    rc, doc = fed.ctl("yuelu-1", "camera", "import", path)
    got = [(r.get("line"), r.get("field")) for r in doc.get("rejected", [])]
    assert rc == 1 and got == want, "bad values: exit %d, rejected %s, want %s" % (rc, got, want)
    rc, doc = fed.ctl("yuelu-1", "camera", "import", path, "--skip-bad")
    assert rc == 0 and doc.get("imported") == len(rows) - len(bad), "--skip-bad: %d %s" % (rc, doc)
    total += len(rows) - len(bad)
    # An ID repeated thousands of lines (and several requests) later.
    rows = [good(1000 + i) for i in range(12000)]
    rows[11000][0] = rows[100][0]
    path = write_csv(os.path.join(tmp, "repeated.csv"), hdr, rows)
    rc, doc = fed.ctl("yuelu-1", "camera", "import", path, timeout=120)
    rej = doc.get("rejected", [])
    assert rc == 1 and doc.get("imported") == 0 and len(rej) == 1 and rej[0].get("line") == 11002 \
        and rej[0].get("field") == "id" and "already on line 102" in rej[0].get("error", ""), \
        "repeated ID: %d %s" % (rc, doc)
    rc, doc = fed.ctl("yuelu-1", "camera", "import", path, "--skip-bad", timeout=120)
    assert rc == 0 and doc.get("imported") == 11999, "repeated ID, --skip-bad: %d %s" % (rc, doc)
    total += 11999
    assert count(fed, "yuelu-1") == total, "count after --skip-bad with a repeated ID"
    # Art 7 categories of sites: 7.1 .. 7.12, nothing else.
    path = write_csv(os.path.join(tmp, "categories.csv"), ["code", "name", "category", "location_type"], [
        ["c1", "c1", "7.1", "street"], ["c12", "c12", "7.12", "street"], ["c13", "c13", "7.13", "street"],
        ["c0", "c0", "7.0", "street"], ["c8x", "c8x", "8.1", "street"], ["cbad", "bad code!", "7.2", "street"]])
    rc, doc = fed.ctl("yuelu-1", "site", "import", path)
    got = [(r.get("line"), r.get("field"), r.get("article")) for r in doc.get("rejected", [])]
    assert rc == 1 and got == [(4, "category", "Art 7"), (5, "category", "Art 7"), (6, "category", "Art 7")], \
        "Art 7 categories: %d %s" % (rc, got)
    step("%d kinds of bad value named by line and field; Art 7 categories checked" % len(bad))
    return total


def part_kill_district(fed, tmp, total):
    seed = int(os.environ.get("VIGIL_CATALOG_SEED") or random.randrange(1 << 30))
    rnd = random.Random(seed)
    step("kill -9 of yuelu during a 30,000-camera import (VIGIL_CATALOG_SEED=%d)" % seed)
    path = cameras_csv(os.path.join(tmp, "thirty-thousand.csv"), "yuelu-1", 400000, 30000,
                       site="s-hotel-lobby")
    n = fed.node("yuelu-1")
    t0 = time.monotonic()
    proc = subprocess.Popen([fed.vigilctl, "-c", n.ctl_conf, "--json", "camera", "import", path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yuelu = fed.node("yuelu")
    try:
        for k in range(2):
            # Kill while yuelu is taking in yuelu-1's new cameras: once its
            # count has moved since it (re)started (or, should it have caught
            # up already, at once), after a random pause.
            before = count(fed, "yuelu") or 0

            def moving():
                now = count(fed, "yuelu") or 0
                return now > before or (proc.poll() is not None and now == count(fed, "yuelu-1"))
            wait_until(moving, 30, interval=0.02, what="yuelu receiving cameras before kill %d" % (k + 1))
            time.sleep(rnd.uniform(0, 0.3))
            at_district = count(fed, "yuelu")
            yuelu.kill()
            step("kill %d: yuelu killed %.1f s into the import, holding %s of %d (import %s)"
                 % (k + 1, time.monotonic() - t0, at_district, total + 30000,
                    "running" if proc.poll() is None else "done"))
            yuelu.start()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "the import failed (exit %d): %s %s" % (proc.returncode, out, err)
    assert '"imported":30000' in out.replace(" ", ""), "import: %s" % out
    total += 30000
    assert count(fed, "yuelu-1") == total
    t = expect_equal_catalog(fed, "city", "yuelu-1", 60)
    expect_equal_catalog(fed, "yuelu", "yuelu-1", 10)
    step("after the kills: yuelu's and the city's copies equal yuelu-1 (%d cameras) %.1f s after "
         "the import ended" % (total, t))
    return total


def part_wipe_city(fed, tmp):
    # Some cameras at the other stations, so that the city rebuilds more
    # than one subtree (and one through the other district).
    for st, k in (("yuelu-2", 120), ("furong-1", 80)):
        code = st.replace("-", "")
        write_csv(os.path.join(tmp, st + "-sites.csv"), ["code", "name", "location_type", "category",
                                                          "signage"],
                  [["s-junction", "%s 路口" % code, "junction", "7.1", "yes"]])
        write_csv(os.path.join(tmp, st + "-systems.csv"), ["code", "name", "builder_class",
                                                            "responsible_entity", "retention_days"],
                  [["sys-gov", "%s 公安视频" % code, "government", "%s 派出所" % code, "90"]])
        import_ok(fed, st, "site", os.path.join(tmp, st + "-sites.csv"))
        import_ok(fed, st, "system", os.path.join(tmp, st + "-systems.csv"))
        import_ok(fed, st, "camera", cameras_csv(os.path.join(tmp, st + "-cameras.csv"), st, 1, k))
    for st in STATIONS:
        expect_equal_catalog(fed, "city", st, PROPAGATION_S)

    city = fed.node("city")
    step("wiping the city's database")
    assert not city.stop(), "the city did not stop on SIGTERM"
    fed.pg("dropdb", fed.pg_dir, fed.pg_port, city.dbname)
    fed.pg("createdb", fed.pg_dir, fed.pg_port, city.dbname)
    t0 = time.monotonic()
    city.start()
    # The enrolments lived in the wiped database: the operator enrols the
    # districts again (their keys are unchanged).
    for d in ("yuelu", "furong"):
        fed.enroll(fed.node(d))
    assert count(fed, "city", ID["city"]) is not None
    for st in STATIONS:
        expect_equal_catalog(fed, "city", st, 60)
    step("the city rebuilt every station's catalog %.1f s after its restart" % (time.monotonic() - t0))
    total = sum(int(sql(fed, st, "SELECT count(*) FROM cameras")[0][0]) for st in STATIONS)
    assert count(fed, "city", ID["city"]) == total
    tree = fed.tree("city")
    assert tree[ID["city"]].get("cameras") == total, "tree at the rebuilt city: %r" % tree[ID["city"]]

    # It then continues with deltas.
    cam = camera_id("furong-1", 5)
    ok(fed, "furong-1", "camera", "update", cam, "--name", "五一广场 东")
    wait_until(lambda: fed.ctl("city", "camera", "show", cam)[1].get("name") == "五一广场 东",
               PROPAGATION_S, what="a rename at furong-1 after the rebuild")


def setup_station(fed, tmp):
    """The sites and systems the generated cameras use, at yuelu-1."""
    write_csv(os.path.join(tmp, "sites.csv"),
              ["code", "name", "address", "category", "location_type", "signage", "owner"], [
                  ["s-junction", "麓山路与桐梓坡路交叉口", "长沙市岳麓区麓山路", "7.1", "junction", "yes",
                   "长沙市公安局交通警察支队"],
                  ["s-hotel-lobby", "某酒店 大堂", "长沙市岳麓区枫林三路", "7.8", "hotel-public-area", "yes",
                   "某酒店管理有限公司"]])
    write_csv(os.path.join(tmp, "systems.csv"),
              ["code", "name", "builder_class", "responsible_entity", "retention_days"], [
                  ["sys-gov", "岳麓区公安视频专网", "government", "长沙市公安局岳麓分局", "90"]])
    import_ok(fed, "yuelu-1", "site", os.path.join(tmp, "sites.csv"))
    import_ok(fed, "yuelu-1", "system", os.path.join(tmp, "systems.csv"))


def main():
    if PSQL is None:
        raise SystemExit("psql not found (package postgresql-client-15)")
    with TestFederation("catalog", NODES, heartbeat_ms=500) as fed:
        tmp = os.path.join(fed.tmp, "csv")
        os.makedirs(tmp)
        t0 = time.monotonic()
        fed.start()
        step("federation up in %.1f s" % (time.monotonic() - t0))
        total = part_samples(fed)
        setup_station(fed, tmp)
        total = part_ten_thousand(fed, tmp, total)
        total = part_rename_remove(fed, total)
        total = part_hotel_room(fed, tmp, total)
        part_rules(fed, tmp, total)
        total = part_bad_values(fed, tmp, total)
        total = part_kill_district(fed, tmp, total)
        part_wipe_city(fed, tmp)
    step("ok")


if __name__ == "__main__":
    try:
        main()
    except FederationError as e:
        raise SystemExit("test_catalog: %s" % e)
