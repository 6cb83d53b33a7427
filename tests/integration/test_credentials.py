"""No credentials in URLs; the credentials a station holds sealed at rest
(issue 15, Deliver 8: Art 5, 24(1)).

A reserved interface or a stream URL with `user:password@` travelled up to
the city and into emergency reports, and `system credentials` kept the
password in clear in the station's database. Now, with a real city,
district and station and a real RTSP server asking for digest
authentication:

* a URL with credentials (userinfo, a percent-encoded or backslash trick
  before the path, a password in the query) is refused, by vigilctl's
  path and by the database itself (an INSERT at the station), with a
  message that points to `system credentials` and does not repeat it;
* `system credentials` leaves no password or user in the database: the
  row holds a nonce and sealed bytes; the key is DIR/credentials.key
  (0600); linking under an emergency opens them and authenticates;
* a database from before (credentials in clear, a URL with userinfo) is
  cleaned on the next start: migration 009 moves the userinfo into the
  store, vigild seals what is in clear, and the system still links;
* without the key file the database alone opens nothing: the linkage
  fails, saying so.
"""

import json
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SEVEN, auditor, TestFederation, free_port_block, psql, register_officers,  # noqa: E402
                     start_rtsp_server, step, stop_processes, wait_until)

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
SECRET = "s3cret-Pw"


def sql(fed, name, query):
    rc, out, err = psql(fed, name, query)
    assert rc == 0, "%s: %s" % (query, err)
    return out


def main():
    servers = []
    with TestFederation("creds", NODES, heartbeat_ms=500) as fed:
        try:
            fed.start()
            port = free_port_block("test_credentials_rtsp", 1)
            servers.append(start_rtsp_server(["--port", str(port), "--mounts", "2", "--user", "linkage",
                                              "--password", SECRET]))
            url = "rtsp://127.0.0.1:%d/cam%%d" % port
            ids = register_officers(fed, [("city-commander", "city", "commander"),
                                          ("city-inv-1", "city", "investigator")])
            fed.ctl_ok("yuelu-1", "site", "add", "--code", "mall", "--name", "mall", "--location-type", "street")

            def system(code, ri):
                return fed.ctl("yuelu-1", "system", "add", "--code", code, "--name", code, "--builder-class",
                               "private", "--responsible-entity", "owner of " + code, "--retention-days", "30",
                               "--reserved-interface", ri)

            bad = ["rtsp://linkage:%s@127.0.0.1:%d/cam0" % (SECRET, port), "rtsp://linkage@127.0.0.1/cam0",
                   "rtsp://linkage%3A" + SECRET + "%40127.0.0.1/cam0", "rtsp://127.0.0.1\\@evil/cam0",
                   "http://127.0.0.1/cam0?user=a&password=" + SECRET, "rtsp://127.0.0.1?x:" + SECRET + "@evil/"]
            for ri in bad:
                rc, doc = system("bad", ri)
                assert rc == 1 and doc.get("article") == "Art 5" and "system credentials" in doc.get("error", "") \
                    and SECRET not in json.dumps(doc), "%s: %s" % (ri, doc)
            fed.ctl_ok("yuelu-1", "system", "add", "--code", "hotel", "--name", "hotel", "--builder-class",
                       "private", "--responsible-entity", "owner of hotel", "--retention-days", "30",
                       "--reserved-interface", url % 0)
            cam = "%s00131%07d" % (ID["yuelu-1"][:8], 1)
            rc, doc = fed.ctl("yuelu-1", "camera", "add", "--id", cam, "--name", "c", "--system", "hotel",
                              "--site", "mall", "--stream-url", "rtsp://admin:%s@10.0.0.9/live" % SECRET)
            assert rc == 1 and doc.get("article") == "Art 5" and SECRET not in json.dumps(doc), doc
            fed.ctl_ok("yuelu-1", "camera", "add", "--id", cam, "--name", "c", "--system", "hotel", "--site", "mall",
                       "--stream-url", "rtsp://10.0.0.9/live")
            # The rule is the database's too (where the data lives).
            rc, out, err = psql(fed, "yuelu-1", "UPDATE systems SET reserved_interface = "
                                "'rtsp://linkage:x@127.0.0.1/cam0' WHERE code = 'hotel' AND via IS NULL")
            assert rc != 0 and "Art 5" in err and "system credentials" in err, (rc, err)
            rc, out, err = psql(fed, "yuelu-1", "UPDATE cameras SET stream_url = 'rtsp://u:p@10.0.0.9/live' "
                                "WHERE id = '%s'" % cam)
            assert rc != 0 and "Art 5" in err, (rc, err)
            step("URLs with credentials refused (6 forms; a stream URL), by vigilctl and by the station's database")

            # From a file: the password stays out of argv (ps) and the shell's history.
            pwfile = os.path.join(fed.tmp, "hotel.password")
            with open(pwfile, "w") as f:
                f.write(SECRET + "\n")
            fed.ctl_ok("yuelu-1", "system", "credentials", "hotel", "--user", "linkage", "--password-file", pwfile)
            row = sql(fed, "yuelu-1", "SELECT row_to_json(k)::text FROM interface_credentials k "
                      "WHERE system_code = 'hotel'")
            assert row and SECRET not in row and "linkage" not in row, "the row: %s" % row
            assert sql(fed, "yuelu-1", "SELECT octet_length(nonce), octet_length(sealed) > 0, password IS NULL "
                       "FROM interface_credentials WHERE system_code = 'hotel'") == "24|t|t", row
            assert sql(fed, "yuelu-1", "SELECT count(*) FROM interface_credentials WHERE "
                       "position(convert_to('%s', 'UTF8') IN sealed) > 0" % SECRET) == "0"
            logged = sql(fed, "yuelu-1", "SELECT actor || ' ' || detail FROM audit_log "
                         "WHERE action = 'system.credentials'")
            assert logged.startswith("admin:") and "hotel" in logged and SECRET not in logged, logged
            keyfile = os.path.join(fed.node("yuelu-1").key_dir, "credentials.key")
            assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600, oct(os.stat(keyfile).st_mode)
            step("system credentials: the row holds a nonce and sealed bytes only; the key is %s (0600)"
                 % os.path.relpath(keyfile, fed.tmp))

            declare = ["emergency", "declare", "--scope", ID["yuelu-1"], "--duration", "30m", "--incident", "fire",
                       "--authority", "Changsha PSB", "--officer", "city-inv-1"]

            def linked(em, n_linked, n_failed):
                def done():
                    rc, d = fed.ctl("city", "emergency", "status", em, as_identity=auditor(fed, "city"))
                    s = d.get("stations", [{}])[0] if rc == 0 else {}
                    return d if s.get("done") and s.get("linked") == n_linked and s.get("failed") == n_failed \
                        else None
                return wait_until(done, 20, what="emergency %s: %d linked, %d failed" % (em, n_linked, n_failed))

            em = fed.ctl_ok("city", *declare, as_identity=ids["city-commander"])["id"]
            linked(em, 1, 0)
            report = fed.ctl_ok("city", "emergency", "report", em, as_identity=auditor(fed, "city"))
            assert SECRET not in json.dumps(report) and "linkage@" not in json.dumps(report), report
            fed.ctl_ok("city", "emergency", "end", em, as_identity=ids["city-commander"])
            step("linked through digest authentication with the sealed credentials; nothing of them in the report")

            # A database from before: credentials in clear, a URL with its
            # userinfo (as 0.1.0 accepted it). The next start cleans it.
            fed.ctl_ok("yuelu-1", "system", "add", "--code", "old", "--name", "old", "--builder-class", "private",
                       "--responsible-entity", "owner of old", "--retention-days", "30",
                       "--reserved-interface", url % 1)
            fed.ctl_ok("yuelu-1", "system", "add", "--code", "older", "--name", "older", "--builder-class",
                       "private", "--responsible-entity", "owner of older", "--retention-days", "30",
                       "--reserved-interface", "rtsp://127.0.0.1:%d/nothing" % port)
            fed.node("yuelu-1").stop()
            sql(fed, "yuelu-1", "ALTER TABLE systems DISABLE TRIGGER systems_check_update; "
                "UPDATE systems SET reserved_interface = 'rtsp://linkage:%s@127.0.0.1:%d/cam1' WHERE code = 'old'; "
                "ALTER TABLE systems ENABLE TRIGGER systems_check_update; "
                "INSERT INTO interface_credentials (system_code, username, password) VALUES "
                "('older', 'linkage', '%s'); "
                "DELETE FROM schema_migrations WHERE name = '009_emergency_bounds.sql'" % (SECRET, port, SECRET))
            fed.node("yuelu-1").start()
            wait_until(lambda: sql(fed, "yuelu-1", "SELECT count(*) FROM interface_credentials "
                                   "WHERE sealed IS NULL") == "0", 15, what="the credentials in clear sealed")
            held = sql(fed, "yuelu-1", "SELECT string_agg(row_to_json(k)::text, ' ') FROM interface_credentials k")
            assert SECRET not in held and "linkage" not in held, held
            assert sql(fed, "yuelu-1", "SELECT reserved_interface FROM systems WHERE code = 'old'") == url % 1
            assert sql(fed, "yuelu-1", "SELECT count(*) FROM interface_credentials") == "3"
            step("an older database: the userinfo moved out of the URL, everything in clear sealed at start")

            em = fed.ctl_ok("city", *declare, as_identity=ids["city-commander"])["id"]
            linked(em, 2, 1)           # "older" points at a mount that does not exist
            fed.ctl_ok("city", "emergency", "end", em, as_identity=ids["city-commander"])
            step("the moved and the sealed credentials link (hotel, old)")

            fed.node("yuelu-1").stop()
            os.rename(keyfile, keyfile + ".elsewhere")
            fed.node("yuelu-1").start()
            assert os.path.exists(keyfile), "a key directory without the key gets a new one"
            em = fed.ctl_ok("city", *declare, as_identity=ids["city-commander"])["id"]
            doc = linked(em, 0, 3)
            reasons = [f["reason"] for f in doc["stations"][0]["failures"] if f["system"] in ("hotel", "old")]
            assert len(reasons) == 2 and all("credentials.key" in r for r in reasons), doc
            step("without its key file the database opens nothing: the linkages fail, saying so")
        finally:
            stop_processes(servers)
    step("ok")


if __name__ == "__main__":
    main()
