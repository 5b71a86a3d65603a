"""The hostile-peer attacks, measured: ``python -m bench.attack``.

Each attack runs alone against a fresh server process (default settings but
the deadline under test, shortened so the run takes seconds) and prints the
server's RSS at idle and at its peak, its open descriptors at idle, at the
peak and after the deadline, how long the reclaiming took after the deadline
passed, and whether a real SDK client (futu-api, if installed) got its rows
during the attack.  tests/test_hostile_peers.py asserts the same bounds.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from mock_opend.frame import encode_frame
from mock_opend.messages import OptionMarketStatisticRequest

MB = 1 << 20
INIT = encode_frame(1001, 1, b"\x0a\x08\x08\x01\x12\x04test")


def _stat(begin: str = "2025-06-16", end: str = "2026-06-12") -> bytes:
    req = OptionMarketStatisticRequest()
    req.c2s.optionMarket, req.c2s.dataType, req.c2s.beginTime, req.c2s.endTime = 1, 0, begin, end
    return req.SerializeToString()


class Server:
    def __init__(self, *args: str, toml: str = "") -> None:
        cmd = [sys.executable, "-m", "mock_opend", "serve", "--port", "0", "--admin-port", "0", "--ws-port", "0"]
        cmd += ["--now", "2026-06-15", "--log-level", "error", "--rate-limit", "off", *args]
        self.conf = None
        if toml:
            self.conf = f"/tmp/mock-opend-attack-{os.getpid()}.toml"
            with open(self.conf, "w") as f:
                f.write(toml)
            cmd += ["--config", self.conf]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.ready = json.loads(self.proc.stdout.readline())
        self.port, self.ws_port, self.admin_port = self.ready["port"], self.ready["ws_port"], self.ready["admin_port"]

    def rss(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}", data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as rsp:
            return json.loads(rsp.read())

    def connections(self) -> int:
        return self.admin("GET", "/__admin/health")["connections"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        if self.conf:
            os.unlink(self.conf)


def sdk_ok(srv: Server) -> str:
    try:
        import futu
    except ImportError:
        return "n/a (pip install futu-api)"
    futu.SysConfig.set_all_thread_daemon(True)
    with contextlib.redirect_stdout(sys.stderr):
        ctx = futu.OpenQuoteContext(host="127.0.0.1", port=srv.port)
        try:
            ret, data, _ = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")
        finally:
            ctx.close()
    return "yes" if ret == 0 and len(data) == 10 else f"NO ({data})"


def _until(check: Callable[[], bool], within: float) -> float | None:
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > within:
            return None
        time.sleep(0.02)
    return time.monotonic() - t0


def _pipeline(s: socket.socket, frame: bytes, stall: float) -> int:
    s.setblocking(False)
    sent, since = 0, None
    chunk = frame * (65536 // len(frame))
    while sent < 64 * MB:
        try:
            sent += s.send(chunk)
            since = None
        except BlockingIOError:
            since = since or time.monotonic()
            if time.monotonic() - since > stall:
                break
            time.sleep(0.01)
    return sent


def attack_stuck_readers() -> dict[str, Any]:
    srv = Server("--send-timeout", "10")
    idle, idle_fds = srv.rss(), srv.fds()
    socks = []
    for _ in range(30):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", srv.port))
        socks.append(s)

    def stuck(s: socket.socket) -> None:
        s.sendall(INIT)
        _pipeline(s, encode_frame(3301, 2, _stat()), 0.3)

    threads = [threading.Thread(target=stuck, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = srv.connections()
    peak, peak_fds, sdk = srv.rss(), srv.fds(), sdk_ok(srv)
    took = _until(lambda: srv.connections() == 0 and srv.fds() <= idle_fds + 1, 60)
    out = _row(
        f"30 stuck readers, {held} held at once (send_timeout 10 s)",
        idle,
        peak,
        idle_fds,
        peak_fds,
        srv.fds(),
        took,
        10,
        sdk,
    )
    for s in socks:
        s.close()
    srv.stop()
    return out


def attack_big_requests() -> dict[str, Any]:
    srv = Server()
    idle, idle_fds = srv.rss(), srv.fds()
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(INIT)
    frame = encode_frame(3301, 3, _stat(begin="9" * 1_000_000))
    peak = idle
    for i in range(400):
        s.sendall(frame)
        _read_frame(s if i else _skip_init(s))
        peak = max(peak, srv.rss()) if i % 50 == 0 else peak
    peak = max(peak, srv.rss())
    t0 = time.monotonic()
    doc = srv.admin("GET", "/__admin/journal?proto_id=3301")
    journal_s = time.monotonic() - t0
    sdk = sdk_ok(srv)
    out = _row("400 x 1 MB requests", idle, peak, idle_fds, srv.fds(), srv.fds(), 0.0, 0, sdk)
    out["journal"] = f"{doc['count']} entries, {len(json.dumps(doc)) / 1024:.0f} KiB in {journal_s * 1000:.0f} ms"
    s.close()
    srv.stop()
    return out


def _skip_init(s: socket.socket) -> socket.socket:
    _read_frame(s)
    return s


def _read_frame(s: socket.socket) -> bytes:
    head = b""
    while len(head) < 44:
        head += s.recv(44 - len(head))
    n = int.from_bytes(head[12:16], "little")
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    return body


def attack_idle_websockets() -> dict[str, Any]:
    srv = Server("--init-timeout", "2")
    idle, idle_fds = srv.rss(), srv.fds()
    socks = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", srv.ws_port))
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        s.recv(4096)
        socks.append(s)
    peak, peak_fds, sdk = srv.rss(), srv.fds(), sdk_ok(srv)
    took = _until(lambda: srv.connections() == 0 and srv.fds() <= idle_fds + 1, 30)
    out = _row("200 idle WebSockets (init_timeout 2 s)", idle, peak, idle_fds, peak_fds, srv.fds(), took, 2, sdk)
    for s in socks:
        s.close()
    srv.stop()
    return out


def attack_half_http(port_name: str) -> dict[str, Any]:
    srv = Server("--http-timeout", "2")
    port = srv.admin_port if port_name == "admin" else srv.ws_port
    idle, idle_fds = srv.rss(), srv.fds()
    socks = []
    for _ in range(500):
        with contextlib.suppress(OSError):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            socks.append(s)
    time.sleep(0.3)  # let the accept batches settle, then look
    peak, peak_fds, sdk = srv.rss(), srv.fds(), sdk_ok(srv)
    took = _until(lambda: srv.fds() <= idle_fds + 1, 30)
    name = f"500 half-sent HTTP requests, {port_name} port (http_timeout 2 s)"
    out = _row(name, idle, peak, idle_fds, peak_fds, srv.fds(), took, 2, sdk)
    for s in socks:
        s.close()
    srv.stop()
    return out


def attack_latency_pipelining() -> dict[str, Any]:
    srv = Server()
    idle, idle_fds = srv.rss(), srv.fds()
    srv.admin("POST", "/__admin/faults", {"kind": "latency", "latency_ms": 3000, "duration": 60})
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(INIT)
    sent = _pipeline(s, encode_frame(3301, 4, _stat()), 1.0)
    peak, peak_fds, sdk = srv.rss(), srv.fds(), sdk_ok(srv)
    out = _row("latency fault + pipelining", idle, peak, idle_fds, peak_fds, srv.fds(), 0.0, 0, sdk)
    out["pipelined"] = f"{sent / MB:.1f} MB accepted before the server stopped reading"
    s.close()
    srv.stop()
    return out


def _row(
    name: str, idle: float, peak: float, fds0: int, fds1: int, fds2: int, took: float | None, deadline: float, sdk: str
) -> dict[str, Any]:
    return {
        "attack": name,
        "rss_idle_mb": round(idle, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_growth_mb": round(peak - idle, 1),
        "fds_idle": fds0,
        "fds_peak": fds1,
        "fds_after": fds2,
        "reclaimed_s_after_deadline": None if took is None else round(max(0.0, took - deadline), 2),
        "sdk_rows_during": sdk,
    }


def main() -> int:
    rows = [
        attack_stuck_readers(),
        attack_big_requests(),
        attack_idle_websockets(),
        attack_half_http("admin"),
        attack_half_http("WebSocket"),
        attack_latency_pipelining(),
    ]
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
