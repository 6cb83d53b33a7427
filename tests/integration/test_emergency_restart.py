#!/usr/bin/python3
"""test_emergency_restart: a station acts on an emergency order at least
once (issue 17, fault 7).

A station used to mark an order acted on when it took it to link, before
any system answered: killed while linking, it came back with the order
"acted on", the systems never linked and the report never done. Now an
order is acted on in the transaction of its final report, and until then
every round (and the next start) takes it again, probing only what is not
linked yet.

yuelu-1 has two private systems: `mall` (a GStreamer RTSP server) and
`hotel`, whose reserved interface at first accepts the connection and
never answers. The city declares an emergency over yuelu-1; once `mall`
is linked on record and the probe of `hotel` hangs, yuelu-1 is killed with
SIGKILL. `hotel` then answers (a real RTSP server on its port) and yuelu-1
starts again: both are linked, `mall` not probed again (its linkage keeps
its time), the city's status shows the station done with 2 linked, and the
owner of each was notified once.
"""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SEVEN, TestFederation, auditor, free_port_block, psql,  # noqa: E402
                     register_officers, start_rtsp_server, step, stop_processes, wait_until)

NODES = [n for n in SEVEN if n[0] in ("city", "yuelu", "yuelu-1")]
ID = {n: i for n, _, i, _ in NODES}
S = "yuelu-1"


def sql(fed, name, query):
    rc, out, err = psql(fed, name, query)
    assert rc == 0, "psql at %s: %s: %s" % (name, query, err)
    return out


class SilentInterface:
    """A TCP port that accepts connections and never says a word: a
    reserved interface that hangs (the probe waits its 5 s)."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.accepted = threading.Event()
        self.conns = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)    # wakes the accept() of the thread
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            c.close()


def main():
    servers = []
    with TestFederation("emrestart", NODES, heartbeat_ms=500) as fed:
        try:
            fed.start()
            mall_port, hotel_port = free_port_block("test_emergency_restart_rtsp", 2), None
            hotel_port = mall_port + 1
            servers.append(start_rtsp_server(["--port", str(mall_port), "--mounts", "1"]))
            silent = SilentInterface(hotel_port)
            for code, port in (("mall", mall_port), ("hotel", hotel_port)):
                fed.ctl_ok(S, "system", "add", "--code", code, "--name", code, "--builder-class", "private",
                           "--responsible-entity", "owner of " + code, "--retention-days", "30",
                           "--reserved-interface", "rtsp://127.0.0.1:%d/cam0" % port)
            ids = register_officers(fed, [("city-commander", "city", "commander"),
                                          ("city-inv-1", "city", "investigator")])
            em = fed.ctl_ok("city", "emergency", "declare", "--scope", ID[S], "--duration", "30m",
                            "--incident", "fire", "--authority", "Changsha PSB", "--officer", "city-inv-1",
                            as_identity=ids["city-commander"])["id"]
            assert silent.accepted.wait(30), "yuelu-1 never probed hotel's interface"
            wait_until(lambda: sql(fed, S, "SELECT count(*) FROM linkages WHERE emergency_id = '%s' "
                                           "AND system_code = 'mall' AND outcome = 'linked'" % em) == "1",
                       10, what="mall linked on record at yuelu-1")
            mall_at = sql(fed, S, "SELECT linked_at FROM linkages WHERE emergency_id = '%s' AND system_code = "
                                  "'mall'" % em)
            fed.node(S).kill()
            step("yuelu-1 killed (SIGKILL) with mall linked on record and hotel's probe hanging")
            assert sql(fed, S, "SELECT count(*) FROM linkages WHERE emergency_id = '%s' AND system_code = 'hotel'"
                       % em) == "0"

            silent.close()
            servers.append(start_rtsp_server(["--port", str(hotel_port), "--mounts", "1"]))
            fed.node(S).start()

            def done():
                rc, d = fed.ctl("city", "emergency", "status", em, as_identity=auditor(fed, "city"))
                st = d.get("stations", [{}])[0] if rc == 0 and d.get("stations") else {}
                return d if st.get("done") else None
            status = wait_until(done, 40, what="emergency %s done at the city after the restart" % em)
            st = status["stations"][0]
            assert st["linked"] == 2 and st["failed"] == 0, status
            got = sql(fed, S, "SELECT string_agg(system_code || ':' || outcome, ',' ORDER BY system_code) "
                              "FROM linkages WHERE emergency_id = '%s'" % em)
            assert got == "hotel:linked,mall:linked", got
            assert sql(fed, S, "SELECT linked_at FROM linkages WHERE emergency_id = '%s' AND system_code = "
                               "'mall'" % em) == mall_at, "mall was probed and linked again"
            assert sql(fed, S, "SELECT count(*) FROM linkage_notifications WHERE emergency_id = '%s'" % em) == "2"
            assert sql(fed, S, "SELECT acted_version = version FROM emergencies WHERE id = '%s'" % em) == "t"
            step("after the restart: hotel linked, mall kept (not probed again), the city sees yuelu-1 done "
                 "with 2 linked, each owner notified once")
            fed.ctl_ok("city", "emergency", "end", em, as_identity=ids["city-commander"])
        finally:
            stop_processes(servers)


if __name__ == "__main__":
    main()
