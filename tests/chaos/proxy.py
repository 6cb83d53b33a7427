"""proxy: a TCP proxy between a node's uplink and its parent's downlink,
which tests/chaos controls (partitions, delays, connections cut mid-frame).

The traffic is ZMTP under CURVE: encrypted, and each message's nonce
follows the last, so the proxy does not reorder or duplicate frames (CURVE
would drop the connection at the first, which is the same fault as a cut);
duplicates, reordering and loss of whole messages are injected where the
link sees them, in tests/unit (fake peers) and tests/fuzz. What the network
can do to a TCP connection, this does:

  partition(mode)   "blackhole": bytes stop in both directions, connections
                    stay open (a cable pulled, NAT state lost); "reset":
                    every connection is cut and new ones refused at once
  heal()            back to forwarding
  delay(seconds)    each chunk held this long before it goes on
  cut()             every open connection cut now, mid-frame or not (a
                    truncated frame); new ones are accepted

One asyncio loop in a thread of its own serves every Proxy.
"""

import asyncio
import socket
import threading
import time

_loop = None
_loop_lock = threading.Lock()


def _the_loop():
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="chaos-proxy", daemon=True).start()
        return _loop


class Proxy:
    def __init__(self, listen_port, target_port, name=""):
        self.name = name
        self.listen_port = listen_port
        self.target_port = target_port
        self.mode = "forward"           # forward | blackhole | reset
        self.delay_s = 0.0
        self.conns = set()              # (reader task pair, writers)
        self.bytes = 0
        self.cuts = 0
        self._server = None
        self._run(self._start())

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, _the_loop()).result(10)

    async def _start(self):
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port,
                                                  reuse_address=True)

    async def _accept(self, reader, writer):
        if self.mode == "reset":
            self._abort(writer)
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            self._abort(writer)
            return
        conn = (writer, up_w)
        self.conns.add(conn)
        a = asyncio.ensure_future(self._pump(reader, up_w, conn))
        b = asyncio.ensure_future(self._pump(up_r, writer, conn))
        await asyncio.wait([a, b], return_when=asyncio.FIRST_COMPLETED)
        for t in (a, b):
            t.cancel()
        self._close(conn)

    async def _pump(self, reader, writer, conn):
        while True:
            data = await reader.read(65536)
            if not data:
                return
            while self.mode == "blackhole" and conn in self.conns:
                await asyncio.sleep(0.05)
            if conn not in self.conns:
                return
            if self.delay_s > 0:
                await asyncio.sleep(self.delay_s)
            writer.write(data)
            self.bytes += len(data)
            await writer.drain()

    @staticmethod
    def _abort(writer):
        """Close with a TCP RST (SO_LINGER 0): the peer sees the connection
        cut, not an orderly end."""
        sock = writer.get_extra_info("socket")
        try:
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        try:
            writer.transport.abort()
        except Exception:
            pass

    def _close(self, conn):
        if conn in self.conns:
            self.conns.discard(conn)
        for w in conn:
            self._abort(w)

    async def _cut_all(self):
        for conn in list(self.conns):
            self._close(conn)
        self.cuts += 1

    # -- controls (from any thread) -----------------------------------------

    def partition(self, mode="blackhole"):
        self.mode = mode
        if mode == "reset":
            self._run(self._cut_all())

    def heal(self):
        self.mode = "forward"
        self.delay_s = 0.0

    def delay(self, seconds):
        self.delay_s = seconds

    def cut(self):
        self._run(self._cut_all())

    def close(self):
        async def stop():
            self._server.close()
            await self._cut_all()
        try:
            self._run(stop())
        except Exception:
            pass


def wait_port(port, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False
