"""The RTSP client for reserved interfaces (lib/rtsp.c, Art 13) against real
servers (deploy/rtsp-server, GStreamer):

* an open interface: OPTIONS, DESCRIBE, the SDP: H264, 90000, 5 fps, a
  profile-level-id, the control URL;
* digest authentication: the right credentials link; wrong or none is
  auth_failed;
* an unreachable interface is refused; one that answers garbage is a bad
  response; one that accepts and never answers times out; a mount that
  does not exist is a bad response (404);
* a busy interface (503) is asked again and links, also when it sends
  keep-alive CRLFs while the client waits (the old 503 is not re-read);
* 40 probes through a pool of 8 never run more than 8 at once, and all link;
  with at most 3 per host, two servers are asked 3 at a time each.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SOURCE, free_port_block, start_rtsp_server, step, stop_processes  # noqa: E402

PROBE = os.environ.get("VIGIL_RTSP_PROBE") or os.path.join(
    os.environ.get("VIGIL_BUILD", os.path.join(SOURCE, "build")), "tests", "integration", "rtsp_probe")

def probe(urls, max_in_flight=8, timeout_ms=5000, per_host=0):
    r = subprocess.run([PROBE, "--max", str(max_in_flight), "--per-host", str(per_host),
                        "--timeout", str(timeout_ms)] + urls,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 0, "rtsp_probe exited %d: %s" % (r.returncode, r.stderr)
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    return {x["url"]: x for x in lines if "url" in x}, lines[-1]


def main():
    base = free_port_block("test_rtsp", 9)
    plain, digest, garbage, silent, unreachable = base, base + 1, base + 2, base + 3, base + 4
    busy, too_busy, plain2, busy_keepalive = base + 5, base + 6, base + 7, base + 8
    servers = []
    try:
        servers.append(start_rtsp_server(["--port", str(plain), "--mounts", "40"]))
        servers.append(start_rtsp_server(["--port", str(digest), "--mounts", "4", "--user", "linkage",
                              "--password", "s3cret"]))
        servers.append(start_rtsp_server(["--port", str(garbage), "--garbage"]))
        servers.append(start_rtsp_server(["--port", str(silent), "--silent"]))
        servers.append(start_rtsp_server(["--port", str(busy), "--busy", "2"]))
        servers.append(start_rtsp_server(["--port", str(too_busy), "--busy", "4"]))
        servers.append(start_rtsp_server(["--port", str(busy_keepalive), "--busy", "1", "--keepalive"]))
        step("servers up on %d..%d" % (plain, silent))
        u = "rtsp://127.0.0.1:%d/cam%d"
        urls = {
            "open": u % (plain, 0),
            "digest": u % (digest, 0) + "|linkage|s3cret",
            "digest_in_url": "rtsp://linkage:s3cret@127.0.0.1:%d/cam1" % digest,
            "wrong": u % (digest, 2) + "|linkage|guess",
            "none": u % (digest, 3),
            "unreachable": u % (unreachable, 0),
            "garbage": u % (garbage, 0),
            "silent": u % (silent, 0),
            "busy": u % (busy, 0),
            "too_busy": u % (too_busy, 0),
            "busy_keepalive": u % (busy_keepalive, 0),
            "missing": "rtsp://127.0.0.1:%d/nothing-here" % plain,
        }
        t0 = time.monotonic()
        res, _ = probe(list(urls.values()), timeout_ms=1500)
        # Results are keyed by URL: each case has its own.
        got = {k: res[v.split("|")[0]] for k, v in urls.items()}
        assert len(set(v.split("|")[0] for v in urls.values())) == len(urls)
        step("%d probes in %.2f s" % (len(urls), time.monotonic() - t0))
        want = {"open": "ok", "digest": "ok", "digest_in_url": "ok", "wrong": "auth_failed",
                "none": "auth_failed", "unreachable": "refused", "garbage": "bad_response",
                "silent": "timeout", "missing": "bad_response"}
        for k, outcome in want.items():
            assert got[k]["outcome"] == outcome, "%s: want %s, got %s" % (k, outcome, got[k])
        s = got["open"]["streams"]
        assert len(s) == 1 and s[0]["media"] == "video" and s[0]["codec"] == "H264" \
            and s[0]["clock_rate"] == 90000 and s[0]["framerate"] == 5 and len(s[0]["profile_level_id"]) == 6 \
            and s[0]["control"] == "rtsp://127.0.0.1:%d/cam0/stream=0" % plain, "streams: %s" % s
        assert got["digest"]["streams"][0]["codec"] == "H264", got["digest"]
        assert got["missing"]["status"] == 404, got["missing"]
        # 503 is a busy interface's "try again": asked again, it links.
        assert got["busy"]["outcome"] == "ok" and got["busy"]["streams"][0]["codec"] == "H264", got["busy"]
        assert got["too_busy"]["outcome"] == "bad_response" and got["too_busy"]["status"] == 503 \
            and "asked again 3 times" in got["too_busy"]["reason"], got["too_busy"]
        # Busy once, with keep-alives while the client waits to ask again
        # (issue 17, small ones): the retry starts from a clean buffer, so
        # the old 503 is not read again with each CRLF, and links.
        assert got["busy_keepalive"]["outcome"] == "ok", got["busy_keepalive"]
        step("ok, digest, wrong and missing credentials, refused, garbage, timeout, 404, busy (503): as expected")

        many = [u % (plain, i) for i in range(40)]
        t0 = time.monotonic()
        res, stats = probe(many, max_in_flight=8, timeout_ms=15000)
        assert all(res[x]["outcome"] == "ok" for x in many), [res[x] for x in many if res[x]["outcome"] != "ok"]
        assert 1 <= stats["peak"] <= 8, "concurrency: %s" % stats
        step("40 probes, at most %d at once (bound 8), all linked in %.2f s" % (stats["peak"], time.monotonic() - t0))

        # A recorder behind many systems is asked at most 3 at once; two
        # recorders are asked side by side.
        servers.append(start_rtsp_server(["--port", str(plain2), "--mounts", "24"]))
        two = [u % (plain, i) for i in range(24)] + [u % (plain2, i) for i in range(24)]
        res, stats = probe(two, max_in_flight=8, timeout_ms=15000, per_host=3)
        assert all(res[x]["outcome"] == "ok" for x in two), [res[x] for x in two if res[x]["outcome"] != "ok"]
        assert stats["peak_per_host"] == 3 and 4 <= stats["peak"] <= 6, "per host: %s" % stats
        step("2 x 24 probes, at most 3 per host (%d at once in all), all linked" % stats["peak"])
    finally:
        stop_processes(servers)
    step("ok")


if __name__ == "__main__":
    main()
