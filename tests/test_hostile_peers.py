"""Hostile peers and bad days, one test per finding of the attack report
(issue 11): each failed against the server before the fix.  The server runs as
its own process, so its memory (RSS) and descriptors are measured from
/proc; every wait is for an event, with a deadline, never a fixed sleep."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import resource
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RawClient, ServerProcess, sdk_context, start_server_process, stop_all

from mock_opend.config import Config
from mock_opend.connection import Connection
from mock_opend.frame import encode_frame
from mock_opend.gateway import Gateway
from mock_opend.messages import OptionMarketStatisticRequest, OptionMarketStatisticResponse
from mock_opend.paging import _PAYLOAD, PREFIX, PageKeys
from mock_opend.ws_protocol import pack_request

GOOD = ("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")
MB = 1 << 20


# -- measuring the server process ----------------------------------------------------
def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_for(check: Callable[[], bool], within: float, what: str, every: float = 0.05) -> float:
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > within:
            raise AssertionError(f"{what}: not within {within} s")
        time.sleep(every)
    return time.monotonic() - t0


def admin(sp: ServerProcess, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(
        f"http://127.0.0.1:{sp.ready['admin_port']}{path}", data=data, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as rsp:
            return rsp.status, json.loads(rsp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def connections(sp: ServerProcess) -> int:
    return admin(sp, "GET", "/__admin/health")[1]["connections"]


def stat_body(begin: str = "2025-06-16", end: str = "2026-06-12", market: int = 1) -> bytes:
    req = OptionMarketStatisticRequest()
    req.c2s.optionMarket, req.c2s.dataType, req.c2s.beginTime, req.c2s.endTime = market, 0, begin, end
    return req.SerializeToString()


def sdk_rows(sp: ServerProcess) -> int:
    """A real SDK client gets in and gets the right number of rows."""
    with sdk_context("futu", sp.host, sp.port) as ctx:
        ret, data, _ = ctx.get_option_market_statistic(*GOOD)
    assert ret == 0, data
    assert len(data) == 10
    return len(data)


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(*args: str, toml: str = "") -> ServerProcess:
        extra: list[str] = []
        if toml:
            conf = tmp_path / f"conf{len(started)}.toml"
            conf.write_text(toml)
            extra = ["--config", str(conf)]
        sp = start_server_process(
            "--admin-port", "0", "--now", "2026-06-15", "--log-level", "warning", "--rate-limit", "off", *extra, *args
        )
        started.append(sp)
        settled(sp)
        return sp

    yield start
    stop_all(started)


def settled(sp: ServerProcess) -> None:
    """Wait for the server's warm-up (imports open files for a moment: descriptor counts
    taken meanwhile would be off by a few)."""
    wait_for(lambda: admin(sp, "GET", "/__admin/health")[1].get("warm_up") != "running", 30, "the warm-up")


def open_client(sp: ServerProcess, rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((sp.host, sp.port))
    return s


def init_frame() -> bytes:
    return encode_frame(1001, 1, b"\x0a\x08\x08\x01\x12\x04test")


def pipeline_until_blocked(s: socket.socket, frame: bytes, seconds: float = 1.0, cap: int = 64 * MB) -> int:
    """Write requests without reading replies until the server stops reading us (or drops us)."""
    s.setblocking(False)
    sent, stalled_since = 0, None
    chunk = frame * max(1, 65536 // len(frame))
    while sent < cap:
        try:
            sent += s.send(chunk)
            stalled_since = None
        except (ConnectionResetError, BrokenPipeError):
            break
        except BlockingIOError:
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > seconds:
                break
            time.sleep(0.01)
    s.setblocking(True)
    return sent


# -- 1. stuck readers ----------------------------------------------------------------------------
def test_1_stuck_readers_are_aborted_and_their_slots_freed(hostile) -> None:
    """At default settings but send_timeout: 30 clients pipeline requests and
    never read, all at once; they are held (bounded), then aborted."""
    sp = hostile("--send-timeout", "6")
    pid = sp.proc.pid
    idle_rss, idle_fds = rss(pid), fds(pid)
    frame = encode_frame(3301, 7, stat_body())
    stuck = [open_client(sp, rcvbuf=4096) for _ in range(30)]

    def attack(s: socket.socket) -> None:
        s.sendall(init_frame())
        pipeline_until_blocked(s, frame, seconds=0.3)

    try:
        threads = [threading.Thread(target=attack, args=(s,)) for s in stuck]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        t_stuck = time.monotonic()
        held = connections(sp)
        peak = rss(pid)
        assert sdk_rows(sp) == 10  # during the attack
        assert held == 30 or time.monotonic() - t_stuck > 5, f"only {held} of 30 held: the test was too slow"
        assert peak - idle_rss < 100 * MB, f"RSS grew by {(peak - idle_rss) / MB:.0f} MB with {held} stuck readers"
        # every stuck reader is aborted after send_timeout (+ 5 s allowed), while its peer stays connected
        wait_for(lambda: connections(sp) == 0, 6 + 5, "stuck readers still hold slots")
        wait_for(lambda: fds(pid) <= idle_fds + 1, 5, "descriptors of stuck readers still open")
        assert sdk_rows(sp) == 10
    finally:
        for s in stuck:
            s.close()


# -- 2. journal bytes ----------------------------------------------------------------------------
def test_2_the_journal_is_bounded_and_large_requests_are_clipped(hostile) -> None:
    sp = hostile()
    pid = sp.proc.pid
    idle = rss(pid)
    c = RawClient(sp.host, sp.port, timeout=20)
    c.init_connect()
    huge = "9" * 1_000_000
    body = stat_body(begin=huge)
    for i in range(400):
        c.send(3301, body, serial=100 + i)
        rsp = OptionMarketStatisticResponse.FromString(c.recv_frame()[1])
        assert rsp.retType != 0 and len(rsp.retMsg) < 300  # BAD_TIME, without echoing a megabyte back
        if i == 200:
            assert sdk_rows(sp) == 10  # during the attack
    grown = rss(pid) - idle
    assert grown < 100 * MB, f"RSS grew by {grown / MB:.0f} MB for 400 x 1 MB requests"
    t0 = time.monotonic()
    status, doc = admin(sp, "GET", "/__admin/journal?proto_id=3301")
    took = time.monotonic() - t0
    assert status == 200 and doc["count"] == 401 and took < 5  # and the SDK's one
    entry = doc["entries"][-1]
    assert len(entry["request"]["c2s"]["beginTime"]) == 256 and "truncated" in entry
    assert len(json.dumps(doc)) < 2 * MB
    assert sdk_rows(sp) == 10
    c.close()


def test_2_the_journal_pages_with_since_seq(hostile) -> None:
    sp = hostile()
    c = RawClient(sp.host, sp.port)
    c.init_connect()
    for i in range(25):
        c.send(1004, b"\x0a\x02\x08\x01", serial=10 + i)
        c.recv_frame()
    seen, since = [], 0
    while True:
        status, doc = admin(sp, "GET", f"/__admin/journal?since_seq={since}&limit=10")
        assert status == 200
        seen += [e["seq"] for e in doc["entries"]]
        since = doc["next_since_seq"]
        if not doc["more"]:
            break
    assert len(seen) == 26 and seen == sorted(set(seen))  # InitConnect + 25 KeepAlives, each once
    assert admin(sp, "GET", "/__admin/journal?limit=5000")[0] == 400  # at most 1000 an answer
    c.close()


# -- 3. latency fault and pipelining -------------------------------------------------------------
def test_3_delayed_replies_count_against_the_write_budget(hostile) -> None:
    sp = hostile()
    pid = sp.proc.pid
    idle = rss(pid)
    assert admin(sp, "POST", "/__admin/faults", {"kind": "latency", "latency_ms": 3000, "duration": 60})[0] == 201
    s = open_client(sp)
    s.sendall(init_frame())
    sent = pipeline_until_blocked(s, encode_frame(3301, 9, stat_body()), seconds=1.0)
    assert sdk_rows(sp) == 10  # during the attack (its reply delayed 3 s like everyone's)
    grown = rss(pid) - idle
    assert grown < 100 * MB, f"RSS grew by {grown / MB:.0f} MB after {sent / MB:.0f} MB of pipelined requests"
    assert sent < 32 * MB, "the server kept reading a client whose delayed replies filled its budget"
    assert admin(sp, "DELETE", "/__admin/faults")[0] == 200
    assert sdk_rows(sp) == 10
    s.close()


# -- 4. frame_timeout ----------------------------------------------------------------------------
def test_4_frame_timeout_times_one_frame_not_an_ever_busy_buffer() -> None:
    """A client whose every frame completes quickly, but whose buffer is never
    empty (each write ends mid-frame), is never cut off."""
    gw = Gateway(Config(now="2026-06-15", frame_timeout=1.0).validate())
    conn = Connection(gw, now=0.0)
    conn.receive_data(init_frame(), 0.0)
    frame = encode_frame(1004, 2, b"\x0a\x02\x08\x01")
    half = len(frame) // 2
    conn.receive_data(frame[:half], 0.0)
    t = 0.0
    for _ in range(500):  # 10 s of frames, each finished within 20 ms, the next one started at once
        t += 0.02
        conn.receive_data(frame[half:] + frame[:half], t)
        assert conn.expired(t) is None, f"cut off at {t:.2f} s"
    assert conn.expired(t + 1.5) is not None  # a frame that stalls is still cut off


# -- 5. WebSocket and HTTP ports -----------------------------------------------------------------
def ws_handshake(host: str, port: int) -> socket.socket:
    s = socket.create_connection((host, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, "closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head[:100]
    return s


def ws_frame(payload: bytes, masked: bool = True) -> bytes:
    n = len(payload)
    head = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
    if not masked:
        head = head[:1] + bytes([head[1] & 0x7F]) + head[2:]
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_5_idle_websockets_without_init_time_out_and_do_not_lock_tcp_clients_out(hostile) -> None:
    sp = hostile("--ws-port", "0", "--init-timeout", "1", "--max-connections", "200")
    idle_fds = fds(sp.proc.pid)
    sockets = [ws_handshake(sp.host, sp.ready["ws_port"]) for _ in range(200)]
    try:
        wait_for(lambda: connections(sp) == 0, 1 + 5, "WebSockets without Init still held")
        wait_for(lambda: fds(sp.proc.pid) <= idle_fds + 1, 5, "their descriptors still open")
        assert sdk_rows(sp) == 10  # a TCP client gets in
    finally:
        for s in sockets:
            s.close()


@pytest.mark.parametrize("port", ["admin_port", "ws_port"])
def test_5_half_sent_http_requests_are_closed_and_bounded(hostile, port: str) -> None:
    sp = hostile("--ws-port", "0", "--http-timeout", "3", "--max-connections", "100")
    pid = sp.proc.pid
    idle_fds = fds(pid)
    half = []
    for _ in range(500):
        with contextlib.suppress(OSError):
            s = socket.create_connection((sp.host, sp.ready[port]), timeout=5)
            s.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            half.append(s)
    try:
        # never more held than the port's hard cap (admin 32; WebSocket port 100 + 64; those past it
        # are aborted as they are accepted), and every one closed after http_timeout (+ 5 s)
        cap = 32 if port == "admin_port" else 164
        wait_for(lambda: fds(pid) - idle_fds <= cap + 2, 2, f"more than {cap} connections held")
        if port == "admin_port":
            assert sdk_rows(sp) == 10  # the TCP port is not the admin port's to fill
        wait_for(lambda: fds(pid) <= idle_fds + 2, 3 + 5, "half-sent requests still open")
        assert admin(sp, "GET", "/__admin/health")[0] == 200
        assert sdk_rows(sp) == 10
    finally:
        for s in half:
            s.close()


def test_5_max_connections_fits_the_fd_limit_and_refuses_cleanly(tmp_path: Path) -> None:
    def low_fd_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))  # a common default

    import subprocess
    import sys

    cmd = [sys.executable, "-m", "mock_opend", "serve", "--port", "0", "--ws-port", "off", "--admin-port", "0"]
    cmd += ["--now", "2026-06-15", "--log-level", "warning", "--lang", "en"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=low_fd_limit)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        sp = ServerProcess(proc, ready)
        health = admin(sp, "GET", "/__admin/health")[1]
        limit = health["max_connections"]
        assert 0 < limit < 1024 - 64 - 32
        clients = []
        for _ in range(limit + 300):  # past the limit and past the hard cap (limit + 64)
            with contextlib.suppress(OSError):
                clients.append(RawClient(sp.host, sp.port, timeout=5))
        assert len(clients) == limit + 300  # every connect succeeded: the server kept accepting
        # over the limit: a clear refusal (past the hard cap: aborted, the fd is kept for the rest)
        over = clients[limit + 2]
        over.send(1001, b"\x0a\x08\x08\x01\x12\x04test")
        try:
            reply = over.recv_frame()[1]
        except TimeoutError:
            proc.terminate()
            raise AssertionError(proc.communicate(timeout=10)[1][-3000:]) from None
        assert f"too many connections (limit {limit})".encode() in reply, reply
        assert proc.poll() is None
        for c in clients:
            c.close()
        wait_for(lambda: connections(sp) == 0, 5, "connections not released")
        assert sdk_rows(sp) == 10
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    lines = err.splitlines()
    assert len(lines) < 50, "the log flooded"
    assert not [line for line in lines if "out of system resource" in line], "the server ran out of descriptors"


def test_11_an_sdk_on_the_websocket_port_is_told_where_to_go(hostile) -> None:
    sp = hostile("--ws-port", "0")
    c = RawClient(sp.host, sp.ready["ws_port"])
    c.send(1001, b"\x0a\x08\x08\x01\x12\x04test")
    assert c.at_eof(timeout=5)
    sp.stop()
    assert "an OpenD TCP client connected to the WebSocket port" in sp.stderr_text()


# -- 6. no INTERNAL for client input ---------------------------------------------------------------
def test_6_invalid_utf8_in_a_string_field_is_bad_body_not_internal() -> None:
    gw = Gateway(Config(now="2026-06-15", lang="en").validate())
    conn = Connection(gw)
    conn.receive_data(init_frame())
    body = stat_body("2026-06-01", "2026-06-12").replace(b"2026-06-01", b"2026-06-\xff1")
    (send,) = conn.receive_data(encode_frame(3301, 5, body))
    rsp = OptionMarketStatisticResponse.FromString(send.data[44:])
    assert rsp.retType != 0 and "not valid UTF-8" in rsp.retMsg and "internal" not in rsp.retMsg.lower()
    assert gw.journal.entries()[-1].error == "BAD_BODY"


def test_6_a_signed_key_with_an_impossible_ordinal_is_bad_page_key() -> None:
    gw = Gateway(Config(now="2026-06-15", lang="en", page_key_secret="pinned-secret").validate())
    keys = PageKeys("pinned-secret")
    payload = _PAYLOAD.pack(1, 0, 0, 0, (1 << 32) - 1, (1 << 32) - 1, (1 << 32) - 1)
    key = PREFIX + base64.urlsafe_b64encode(payload + keys._tag(payload)).rstrip(b"=")
    conn = Connection(gw)
    conn.receive_data(init_frame())
    req = OptionMarketStatisticRequest()
    req.c2s.optionMarket, req.c2s.dataType, req.c2s.nextPageKey = 1, 0, key
    req.c2s.beginTime = req.c2s.endTime = ""
    (send,) = conn.receive_data(encode_frame(3301, 6, req.SerializeToString()))
    rsp = OptionMarketStatisticResponse.FromString(send.data[44:])
    assert gw.journal.entries()[-1].error == "BAD_PAGE_KEY", rsp.retMsg


# -- 7. admin input ----------------------------------------------------------------------------------
BAD_FAULTS = [
    {"kind": "error", "ret_type": 1 << 31},
    {"kind": "error", "err_code": -(1 << 31) - 1},
    {"kind": "latency", "latency_ms": 10, "duration": float("nan")},
    {"kind": "latency", "latency_ms": 10, "duration": float("inf")},
    {"kind": "latency", "latency_ms": float("nan")},
    {"kind": "error", "ret_msg": "\ud800"},
    {"kind": "error", "ret_msg": "x" * 5000},
    {"kind": "error", "proto_id": -1},
    {"kind": "error", "count": 10**12},
]


@pytest.mark.parametrize("fault", BAD_FAULTS, ids=lambda f: ",".join(f"{k}={str(v)[:12]}" for k, v in f.items()))
def test_7_bad_faults_are_400_and_never_installed(hostile_once, fault: dict[str, Any]) -> None:
    sp = hostile_once
    raw = json.dumps(fault, allow_nan=True).encode("utf-8", "surrogatepass")
    status, doc = admin(sp, "POST", "/__admin/faults", raw)
    assert status == 400, doc
    assert admin(sp, "GET", "/__admin/faults")[1]["faults"] == []


@pytest.fixture(scope="module")
def hostile_once() -> Iterator[ServerProcess]:
    sp = start_server_process("--admin-port", "0", "--now", "2026-06-15", "--log-level", "warning")
    settled(sp)
    yield sp
    stop_all([sp])


BAD_CLOCKS = [
    {"now": "0001-01-01"},
    {"now": "9999-12-31T00:00:00Z"},
    {"advance_seconds": 1e12},
    {"advance_seconds": float("nan")},
    {"advance_seconds": float("inf")},
    {"now": 20260615},
]


@pytest.mark.parametrize("body", BAD_CLOCKS, ids=str)
def test_7_bad_clock_moves_are_400_and_the_clock_does_not_move(hostile_once, body: dict[str, Any]) -> None:
    sp = hostile_once
    before = admin(sp, "GET", "/__admin/clock")[1]
    status, doc = admin(sp, "POST", "/__admin/clock", json.dumps(body, allow_nan=True).encode())
    assert status == 400, doc
    assert admin(sp, "GET", "/__admin/clock")[1] == before


def test_7_deep_json_and_a_non_utf8_token_are_4xx(tmp_path: Path) -> None:
    sp = start_server_process("--admin-port", "0", "--admin-token", "sesame-sesame", "--log-level", "warning")
    try:
        good = {"Authorization": "Bearer sesame-sesame"}
        deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
        assert admin(sp, "POST", "/__admin/faults", deep, good)[0] == 400
        port = sp.ready["admin_port"]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Admin-Token: \xff\xfe\r\n\r\n")
            assert s.recv(100)[:10] in (b"HTTP/1.1 4", b"HTTP/1.1 401"[:10])  # 400 or 401, never 500
    finally:
        sp.stop()


# -- 8. browsers -------------------------------------------------------------------------------------
def test_8_cross_origin_and_foreign_host_requests_are_refused(hostile_once) -> None:
    sp = hostile_once
    evil = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    status, _ = admin(sp, "POST", "/__admin/faults", json.dumps({"kind": "reset"}).encode(), evil)
    assert status == 403
    assert admin(sp, "GET", "/__admin/faults")[1]["faults"] == []
    assert admin(sp, "GET", "/__admin/journal", headers={"Host": "evil.example"})[0] == 403  # DNS rebinding
    assert admin(sp, "GET", "/__admin/journal", headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert admin(sp, "GET", "/__admin/health", headers={"Origin": "http://localhost:3000"})[0] == 200
    assert admin(sp, "GET", "/__admin/health", headers={"Host": f"localhost:{sp.ready['admin_port']}"})[0] == 200


def test_8_page_keys_are_not_forgeable_from_the_public_seed(hostile) -> None:
    a, b = hostile(), hostile()  # same default seed
    keys = []
    for sp in (a, b):
        c = RawClient(sp.host, sp.port)
        c.init_connect()
        c.send(3301, stat_body())
        keys.append(OptionMarketStatisticResponse.FromString(c.recv_frame()[1]).s2c.nextPageKey)
        c.close()
    assert keys[0] and keys[0] != keys[1]  # random per process, so not derivable from the seed


# -- 9. smaller ----------------------------------------------------------------------------------------
def test_9_invalid_requests_do_not_use_rate_limit_slots() -> None:
    gw = Gateway(Config(now="2026-06-15", rate_limit="2/30s", lang="en").validate())
    conn = Connection(gw)
    conn.receive_data(init_frame())
    for i in range(5):  # bad market, five times
        conn.receive_data(encode_frame(3301, 10 + i, stat_body("2026-06-01", "2026-06-12", market=9)))
    replies = []
    for i in range(2):
        (send,) = conn.receive_data(encode_frame(3301, 20 + i, stat_body("2026-06-01", "2026-06-12")))
        replies.append(OptionMarketStatisticResponse.FromString(send.data[44:]).retType)
    assert replies == [0, 0]


@pytest.mark.parametrize("text", [" 2026-06-01", "2026-06-01 ", "２０２６-06-01", "2026-06-٠١", "2026-06-01\n"])
def test_9_dates_are_ascii_without_surrounding_space(text: str) -> None:
    gw = Gateway(Config(now="2026-06-15", lang="en").validate())
    conn = Connection(gw)
    conn.receive_data(init_frame())
    (send,) = conn.receive_data(encode_frame(3301, 3, stat_body(text, "2026-06-12")))
    assert gw.journal.entries()[-1].error == "BAD_TIME"
    assert OptionMarketStatisticResponse.FromString(send.data[44:]).retType != 0


def _ws_init(key: str = "") -> bytes:
    from mock_opend.ws_protocol import InitWebSocketRequest

    req = InitWebSocketRequest()
    req.c2s.websocketKey = hashlib.md5(key.encode()).hexdigest() if key else ""
    req.c2s.programmingLanguage = "JavaScript"
    return pack_request(1, 1, req.SerializeToString())


def test_9_a_second_websocket_init_is_refused_and_unmasked_frames_close(hostile) -> None:
    sp = hostile("--ws-port", "0")
    s = ws_handshake(sp.host, sp.ready["ws_port"])
    s.sendall(ws_frame(_ws_init()))
    s.sendall(ws_frame(_ws_init()))
    wait_for(lambda: admin(sp, "GET", "/__admin/journal?proto_id=1")[1]["count"] == 2, 5, "two Inits journaled")
    entries = admin(sp, "GET", "/__admin/journal?proto_id=1")[1]["entries"]
    assert [e["error"] for e in entries] == [None, "ALREADY_INITIALIZED"]
    s.sendall(ws_frame(b"unmasked", masked=False))
    s.settimeout(5)
    with contextlib.suppress(ConnectionResetError):
        while s.recv(65536):
            pass  # the replies, then the end
    s.close()
    wait_for(lambda: connections(sp) == 0, 5, "the unmasked sender still connected")


def test_9_the_readme_ten_lines_say_how_to_install_the_sdk() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    ten = readme[readme.index("## Ten lines with the real SDK") :]
    assert "pip install futu-api" in ten[: ten.index("```python") + 2000]


def test_dates_still_accepted_in_both_sdk_forms() -> None:
    gw = Gateway(Config(now="2026-06-15", lang="en").validate())
    conn = Connection(gw)
    conn.receive_data(init_frame())
    for i, (b, e) in enumerate([("2026-06-01", "2026-06-12"), ("2026-06-01 00:00:00", "2026-06-12 23:59:59")]):
        (send,) = conn.receive_data(encode_frame(3301, 30 + i, stat_body(b, e)))
        assert len(OptionMarketStatisticResponse.FromString(send.data[44:]).s2c.statisticList) == 10


# -- second attack round (an independent attacker, after the first fixes) ----------------------------
def ws_ping(payload: bytes = b"p") -> bytes:
    mask = os.urandom(4)
    return bytes([0x89, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_pings_do_not_extend_the_websocket_init_deadline(hostile) -> None:
    sp = hostile("--ws-port", "0", "--init-timeout", "1")
    s = ws_handshake(sp.host, sp.ready["ws_port"])
    s.settimeout(0.2)
    t0 = time.monotonic()
    closed = False
    while time.monotonic() - t0 < 1 + 5:  # ping and read the pongs, never Init
        try:
            s.sendall(ws_ping())
            while s.recv(4096):
                pass
            closed = True
            break
        except TimeoutError:
            continue
        except OSError:
            closed = True
            break
    s.close()
    assert closed, "a pinging WebSocket without Init outlived init_timeout + 5 s"


def test_a_ping_flood_that_never_reads_its_pongs_is_aborted(hostile) -> None:
    sp = hostile("--ws-port", "0", "--send-timeout", "2")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((sp.host, sp.ready["ws_port"]))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    s.sendall(ws_frame(_ws_init()))  # initialised, so only the stalled pongs can end it
    pipeline_until_blocked(s, ws_ping(b"x" * 120), seconds=0.5, cap=16 * MB)
    try:
        wait_for(lambda: connections(sp) == 0, 2 + 5, "the ping flooder still holds its slot")
    finally:
        s.close()


def test_a_journal_reader_that_stops_reading_is_aborted(hostile) -> None:
    sp = hostile("--http-timeout", "2")
    c = RawClient(sp.host, sp.port)
    c.init_connect()
    for i in range(300):  # a journal answer of about 0.5 MB
        c.send(3301, stat_body(begin="1" * 400), serial=10 + i)
        c.recv_frame()
    c.close()
    idle_fds = fds(sp.proc.pid)
    readers = []
    for _ in range(32):  # every admin slot, each with pipelined journal requests it never reads
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((sp.host, sp.ready["admin_port"]))
        s.sendall(b"GET /__admin/journal HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 4)
        readers.append(s)
    try:
        # serving 128 answers of 300 entries takes the server a few seconds of CPU; then each
        # connection has http_timeout (2 s) to take its bytes or send a request, and is aborted
        wait_for(lambda: fds(sp.proc.pid) >= idle_fds + 30, 10, "the readers were not accepted")
        wait_for(lambda: fds(sp.proc.pid) <= idle_fds + 1, 30, "stuck journal readers still hold admin slots")
        assert admin(sp, "GET", "/__admin/health")[0] == 200
    finally:
        for s in readers:
            s.close()


def test_an_admin_body_in_two_pieces_is_read_whole(hostile_once) -> None:
    sp = hostile_once
    body = json.dumps({"kind": "latency", "latency_ms": 5, "count": 1}).encode()
    with socket.create_connection(("127.0.0.1", sp.ready["admin_port"]), timeout=5) as s:
        s.sendall(
            b"POST /__admin/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.05)  # the second piece comes later, in its own segment
        s.sendall(body[10:])
        assert s.recv(100).startswith(b"HTTP/1.1 201")
    assert admin(sp, "DELETE", "/__admin/faults")[0] == 200


def test_more_admin_inputs_that_answered_500_or_slipped_through(hostile_once) -> None:
    sp = hostile_once
    status, doc = admin(sp, "POST", "/__admin/clock", b'{"advance_seconds": 1' + b"0" * 400 + b"}")
    assert status == 400 and len(doc["error"]) < 200
    status, doc = admin(sp, "POST", "/__admin/faults", b'{"kind": "error", "count": 1' + b"0" * 400 + b"}")
    assert status == 400 and len(doc["error"]) < 200
    assert admin(sp, "GET", "/__admin/health", headers={"Host": "[::1]evil.example"})[0] == 403
    port = sp.ready["admin_port"]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:  # a second Origin, the foreign one
        s.sendall(
            b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Origin: http://127.0.0.1\r\nOrigin: http://evil.example\r\n\r\n"
        )
        assert s.recv(100).startswith(b"HTTP/1.1 403")
