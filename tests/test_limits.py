"""Resource limits, deadlines, back-pressure, safe defaults and graceful stop."""

from __future__ import annotations

import json
import signal
import socket
import sys
import time
import urllib.error
import urllib.request

import pytest
from conftest import RawClient, run_sdk_query

from mock_opend.config import Config, ConfigError
from mock_opend.frame import encode_frame
from mock_opend.messages import InitConnectResponse, OptionMarketStatisticRequest, OptionMarketStatisticResponse


def stat_body(begin: str = "2025-06-16", end: str = "2026-06-12") -> bytes:
    req = OptionMarketStatisticRequest()
    req.c2s.optionMarket, req.c2s.dataType, req.c2s.beginTime, req.c2s.endTime = 1, 0, begin, end
    return req.SerializeToString()


def wait_closed(client: RawClient, within: float) -> float:
    t0 = time.monotonic()
    assert client.at_eof(timeout=within), f"still open after {within} s"
    return time.monotonic() - t0


def test_connections_beyond_the_limit_are_refused_clearly(opend_server_factory, raw_client) -> None:
    server = opend_server_factory(max_connections=2, lang="en", now="2026-06-15")
    a, b = raw_client(server.host, server.port), raw_client(server.host, server.port)
    a.init_connect(), b.init_connect()
    c = raw_client(server.host, server.port)
    c.send(1001, b"\x0a\x08\x08\x01\x12\x04test")
    rsp = InitConnectResponse.FromString(c.recv_frame()[1])
    assert rsp.retType == -1 and "too many connections (limit 2)" in rsp.retMsg
    assert c.at_eof()
    a.close()
    time.sleep(0.1)
    raw_client(server.host, server.port).init_connect()  # room again


@pytest.mark.sdk
def test_the_sdk_sees_the_refusal(opend_server_factory, raw_client) -> None:
    server = opend_server_factory(max_connections=1, lang="en")
    raw_client(server.host, server.port).init_connect()
    out = run_sdk_query(sys.executable, server.port, [], extra=("--connect-timeout", "3"), check=False)
    assert out["rc"] == 3 and "too many connections" in out["stdout"]
    assert any(e.error == "TOO_MANY_CONNECTIONS" for e in server.journal.entries())


def test_initconnect_deadline(opend_server_factory, raw_client) -> None:
    server = opend_server_factory(init_timeout=0.5)
    silent = raw_client(server.host, server.port)
    assert 0.3 < wait_closed(silent, 3) < 1.5
    ok = raw_client(server.host, server.port)
    ok.init_connect()
    assert not ok.at_eof(timeout=1.0)


def test_idle_timeout_spares_clients_that_keep_alive(opend_server_factory, raw_client) -> None:
    server = opend_server_factory(keep_alive_interval=1, idle_timeout=1.5)
    quiet, alive = raw_client(server.host, server.port), raw_client(server.host, server.port)
    quiet.init_connect(), alive.init_connect()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:
        alive.send(1004, b"\x0a\x02\x08\x01")
        alive.recv_frame()
        time.sleep(0.4)
    assert quiet.at_eof(timeout=0.5)
    assert not alive.at_eof(timeout=0.3)


def test_a_trickled_header_is_cut_off(opend_server_factory, raw_client) -> None:
    server = opend_server_factory(frame_timeout=1.0)
    slow = raw_client(server.host, server.port)
    frame = encode_frame(1004, 1, b"\x0a\x02\x08\x01")
    t0 = time.monotonic()
    closed_after = None
    for byte in frame[:40]:
        try:
            slow.send_raw(bytes([byte]))
        except OSError:
            closed_after = time.monotonic() - t0
            break
        if slow.at_eof(timeout=0.2):
            closed_after = time.monotonic() - t0
            break
    assert closed_after is not None and 0.9 < closed_after < 3.0


def test_a_client_that_does_not_read_cannot_make_the_server_buffer_without_bound(opend_server_factory, raw_client):
    limit = 1 << 16
    server = opend_server_factory(write_buffer_limit=limit, rate_limit="off", now="2026-06-15", page_size=1000)
    hog = socket.create_connection((server.host, server.port))
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.sendall(encode_frame(1001, 1, b"\x0a\x08\x08\x01\x12\x04test"))
    hog.setblocking(False)
    batch = encode_frame(3301, 2, stat_body()) * 1000  # each request asks for a ~15 kB reply
    sent, blocked_since = 0, None
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline and sent < 64 << 20:
            try:
                sent += hog.send(batch)
                blocked_since = None
            except BlockingIOError:
                blocked_since = blocked_since or time.monotonic()
                if time.monotonic() - blocked_since > 0.5:
                    break  # the server stopped reading: TCP pushed back on the sender
                time.sleep(0.01)
        assert blocked_since is not None, f"{sent} bytes of requests went through without push-back"
        buffered = max(p.transport.get_write_buffer_size() for p in server._protocols if p.transport)
        assert buffered <= limit + 32 * 1024, buffered  # the high-water mark plus one reply
        other = raw_client(server.host, server.port)  # everyone else is still served at once
        other.init_connect()
        t = time.monotonic()
        other.send(3301, stat_body("2026-06-01", "2026-06-12"))
        assert len(OptionMarketStatisticResponse.FromString(other.recv_frame()[1]).s2c.statisticList) == 10
        assert time.monotonic() - t < 0.5
    finally:
        hog.close()


def test_limits_are_validated() -> None:
    for bad in (
        {"max_connections": 0},
        {"idle_timeout": 5, "keep_alive_interval": 10},
        {"init_timeout": -1},
        {"write_buffer_limit": 10},
    ):
        with pytest.raises(ConfigError):
            Config(**bad).validate()


def test_admin_endpoints_never_touch_files(opend_server_factory, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    server = opend_server_factory(admin_port=0)
    base = f"http://127.0.0.1:{server.admin_port}"
    for path in ["/__admin/../../etc/passwd", f"/__admin/{secret}", "/__admin/fixtures", "/__admin/config/../x"]:
        try:
            urllib.request.urlopen(base + path, timeout=5)
            raise AssertionError(f"{path} answered 200")
        except urllib.error.HTTPError as err:
            assert err.code in (404, 405)
            assert "do not read" not in err.read().decode()
    cfg = json.loads(urllib.request.urlopen(base + "/__admin/config", timeout=5).read())
    assert cfg["fixtures"] == [] and "rsa_key" in cfg


def test_sigterm_answers_in_flight_requests_refuses_new_ones_and_exits_fast(server_process) -> None:
    sp = server_process("--admin-port", "0", "--now", "2026-06-15")
    admin = f"http://127.0.0.1:{sp.ready['admin_port']}/__admin/faults"
    req = urllib.request.Request(admin, data=json.dumps({"kind": "latency", "latency_ms": 400}).encode(), method="POST")
    urllib.request.urlopen(req, timeout=5)
    c = RawClient(sp.host, sp.port, timeout=5)
    c.init_connect()
    c.send(3301, stat_body("2026-06-01", "2026-06-12"))
    journal = f"http://127.0.0.1:{sp.ready['admin_port']}/__admin/journal?proto_id=3301"
    deadline = time.monotonic() + 10
    while json.loads(urllib.request.urlopen(journal, timeout=5).read())["count"] < 1:  # the request is in flight
        assert time.monotonic() < deadline, "the request never reached the server"
        time.sleep(0.01)
    t0 = time.monotonic()
    sp.proc.send_signal(signal.SIGTERM)
    refused = False
    while not refused and time.monotonic() - t0 < 5:  # wait for the listener to close, however loaded the machine
        try:
            socket.create_connection((sp.host, sp.port), timeout=1).close()
            time.sleep(0.01)
        except OSError:
            refused = True
    assert refused, "new connections still accepted 5 s after SIGTERM"
    rsp = OptionMarketStatisticResponse.FromString(c.recv_frame()[1])  # the delayed reply still arrives
    assert rsp.retType == 0 and len(rsp.s2c.statisticList) == 10
    sp.proc.wait(10)
    assert sp.proc.returncode == 0
    assert time.monotonic() - t0 < 3.0  # about 0.5 s on a quiet machine; the bound leaves room for a loaded one
    c.close()


def test_uvloop_event_loop_serves_the_same(opend_server_factory, raw_client) -> None:
    pytest.importorskip("uvloop")
    server = opend_server_factory(event_loop="uvloop", now="2026-06-15")
    c = raw_client(server.host, server.port)
    c.init_connect()
    c.send(3301, stat_body("2026-06-01", "2026-06-12"))
    assert len(OptionMarketStatisticResponse.FromString(c.recv_frame()[1]).s2c.statisticList) == 10


def test_a_push_flood_never_evicts_requests_from_the_journal() -> None:
    """Pushes have a bound of their own (a tenth): 321 requests among 5,136
    pushes are all still there (a flood used to leave 42 of them)."""
    from mock_opend.journal import Journal, JournalEntry

    journal = Journal(size=1000, max_bytes=64 << 20)

    def entry(push: bool) -> JournalEntry:
        e = JournalEntry(journal.new_seq(), 0.0, 0.0, 1, "tcp", 3005 if push else 3301, 1, "protobuf", 10, True, None)
        if push:
            e.extra["push"] = True
        return e

    for i in range(321 * 17):  # 321 requests among 5,136 pushes
        journal.add(entry(push=i % 17 != 0))
    kept = journal.entries()
    requests = [e for e in kept if not e.extra.get("push")]
    assert len(requests) == 321
    assert len(kept) - len(requests) == 100  # the pushes' own bound
    assert [e.seq for e in kept] == sorted(e.seq for e in kept)  # one timeline
