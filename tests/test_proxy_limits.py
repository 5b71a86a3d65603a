"""What a client can make the proxy hold: relayed requests in flight, upstream
links after it leaves.  Both servers run in this process so that the test can
look inside; every wait is for an event, with a deadline."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import RawClient
from test_stubs import request_bytes
from upstream_opend import build

from mock_opend.frame import encode_frame
from mock_opend.proto_ids import message_types
from mock_opend.server import MockOpenD


def wait_for(what: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def upstream() -> Iterator[MockOpenD]:
    server = build(["--port", "0", "--ws-port", "off", "--now", "2026-06-15"]).start_background()
    yield server
    server.stop_background()


def test_relayed_requests_in_flight_are_bounded(upstream: MockOpenD, opend_server_factory, raw_client) -> None:
    upstream.faults.add(kind="latency", latency_ms=100, proto_id=3203, count=1000)  # every 3203, slowly
    proxy = opend_server_factory(upstream=f"127.0.0.1:{upstream.port}", upstream_max_inflight=4)
    c = raw_client(proxy.host, proxy.port)
    c.init_connect()
    n = 40
    body = request_bytes("00700")
    c.send_raw(b"".join(encode_frame(3203, 1000 + i, body) for i in range(n)))
    peak = [0]
    done = threading.Event()

    def sample() -> None:  # replies come in bursts 100 ms apart; in between, 4 wait upstream
        while not done.is_set():
            for proto in list(proxy._protocols):
                peak[0] = max(peak[0], proto._inflight)
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    seen: list[int] = []
    c.sock.settimeout(30)
    try:
        while len(seen) < n:
            seen.append(c.recv_frame()[0].serial)
    finally:
        done.set()
        sampler.join()
    assert sorted(seen) == [1000 + i for i in range(n)]  # every request answered, none lost
    assert peak[0] == 4  # the limit was reached, never passed
    relayed = [e for e in upstream.journal.entries() if e.proto_id == 3203]
    assert len(relayed) == n


def test_a_client_leaving_closes_its_upstream_link(upstream: MockOpenD, opend_server_factory, raw_client) -> None:
    upstream.faults.add(kind="no_reply", proto_id=3203, count=1000)
    proxy = opend_server_factory(upstream=f"127.0.0.1:{upstream.port}", upstream_timeout=30)
    # the proxy's start-up reachability probe connects to the upstream and leaves: let it
    # come and go first, or it is counted (or not) depending on the machine's load
    wait_for(lambda: proxy._probe is not None and proxy._probe.done())
    wait_for(lambda: upstream.connection_count() == 0)
    c = raw_client(proxy.host, proxy.port)
    c.init_connect()
    for i in range(3):
        c.send(3203, request_bytes("00700"), serial=10 + i)
    wait_for(lambda: upstream.connection_count() == 1)
    wait_for(lambda: any(p._inflight == 3 for p in list(proxy._protocols)))
    c.close()
    wait_for(lambda: upstream.connection_count() == 0)  # not after upstream_timeout (30 s)
    wait_for(lambda: not proxy._protocols)


def test_pushes_wait_at_the_upstream_while_the_client_does_not_read(opend_server_factory) -> None:
    """One subscription, 12 MB of pushes, a client that never reads: the proxy stops
    reading the upstream instead of buffering them (the upstream's own limits then apply)."""
    big = ["--max-body-len", str(16 << 20)]
    upstream = build(["--port", "0", "--ws-port", "off", "--now", "2026-06-15", *big]).start_background()
    proxy = opend_server_factory(upstream=f"127.0.0.1:{upstream.port}", write_buffer_limit=65536, max_body_len=16 << 20)
    c = RawClient(proxy.host, proxy.port, timeout=60, rcvbuf=4096)
    try:
        c.init_connect()
        sub: Any = message_types(3001)[0]()  # type: ignore[index,misc]
        for i in range(200):  # 200 securities with 20 kB codes: 3 pushes of 20 kB each
            sec = sub.c2s.securityList.add()
            sec.market, sec.code = 1, f"{i:05d}" * 4000
        sub.c2s.subTypeList.append(1)
        sub.c2s.isSubOrUnSub = True
        c.send(3001, sub.SerializeToString(), serial=100)
        wait_for(lambda: any(p.relay is not None and p.relay.paused for p in list(proxy._protocols)), 30)
        proto = next(iter(proxy._protocols))
        held = (proto.transport.get_write_buffer_size() if proto.transport else 0) + proto._queued
        assert held < 1 << 20  # what the proxy holds for this client stays near 4 write budgets
    finally:
        c.close()
        upstream.stop_background()


def test_websocket_clients_are_relayed_with_their_pushes(upstream: MockOpenD, opend_server_factory) -> None:
    """The JS SDK's port: requests relayed under the client's section, upstream pushes as section 0."""
    import asyncio

    import aiohttp
    from test_websocket import init_body

    from mock_opend.ws_protocol import pack_request, unpack_reply

    proxy = opend_server_factory(upstream=f"127.0.0.1:{upstream.port}", ws_port=0)
    snap_rsp = message_types(3203)[1]  # type: ignore[index]
    sub: Any = message_types(3001)[0]()  # type: ignore[index,misc]
    sec = sub.c2s.securityList.add()
    sec.market, sec.code = 1, "00700"
    sub.c2s.subTypeList.append(1)
    sub.c2s.isSubOrUnSub = True

    async def talk() -> list[tuple[int, int, int, str, bytes]]:
        async with aiohttp.ClientSession() as s, s.ws_connect(f"ws://127.0.0.1:{proxy.ws_port}/") as ws:
            await ws.send_bytes(pack_request(1, 2, init_body()))
            got = [unpack_reply((await ws.receive(timeout=10)).data)]
            await ws.send_bytes(pack_request(3203, 9, request_bytes("00700")))
            await ws.send_bytes(pack_request(3001, 10, sub.SerializeToString()))
            for _ in range(5):
                got.append(unpack_reply((await ws.receive(timeout=10)).data))
            return got

    init, snap, subbed, *pushes = asyncio.run(talk())
    assert init[2] == 0
    assert (snap[0], snap[1], snap[2]) == (3203, 9, 0)
    assert snap_rsp.FromString(snap[4]).s2c.snapshotList[0].basic.name == "NAME-00700"
    assert (subbed[1], subbed[2]) == (10, 0)
    assert [(p[0], p[1]) for p in pushes] == [(3005, 0)] * 3
    entries = [e for e in proxy.journal.entries() if e.transport == "ws"]
    assert [(e.proto_id, e.source, e.extra.get("push", False)) for e in entries] == [
        (1, "mock", False), (3203, "upstream", False), (3001, "upstream", False),
        (3005, "upstream", True), (3005, "upstream", True), (3005, "upstream", True),
    ]  # fmt: skip


def test_faults_apply_to_relayed_requests(upstream: MockOpenD, opend_server_factory, raw_client) -> None:
    """An injected error answers without relaying; a latency fault delays the upstream's reply."""
    proxy = opend_server_factory(upstream=f"127.0.0.1:{upstream.port}")
    snap_rsp = message_types(3203)[1]  # type: ignore[index]
    c = raw_client(proxy.host, proxy.port)
    c.init_connect()
    proxy.faults.add(kind="error", proto_id=3203, ret_type=-1, ret_msg="busy")
    c.send(3203, request_bytes("00700"), serial=5)
    header, body = c.recv_frame()
    assert header.serial == 5 and snap_rsp.FromString(body).retMsg == "busy"
    assert not [e for e in upstream.journal.entries() if e.proto_id == 3203]  # never relayed
    proxy.faults.add(kind="latency", proto_id=3203, latency_ms=300)
    t0 = time.monotonic()
    c.send(3203, request_bytes("00700"), serial=6)
    header, body = c.recv_frame()
    assert header.serial == 6 and time.monotonic() - t0 >= 0.3
    assert snap_rsp.FromString(body).s2c.snapshotList[0].basic.name == "NAME-00700"
    first, second = [e for e in proxy.journal.entries() if e.proto_id == 3203]
    assert (first.source, first.extra["fault"]) == ("fault", "error")
    assert (second.source, second.extra["fault"]) == ("upstream", "latency")


def test_a_push_never_overtakes_the_reply_that_caused_it(upstream: MockOpenD, opend_server_factory, tmp_path) -> None:
    """The upstream writes a reply and its push in one go; the client gets them in that
    order, and the recording puts the push under that request's stub."""
    from test_stubs import snapshot_stub

    doc = snapshot_stub(ignore=["header"])
    doc["pushes"] = [{"proto_id": 3005, "after_ms": 0, "reply": {"retType": 0}}]
    upstream.gateway.protocols.pop(3203)  # answered from this stub instead of the handler
    upstream.add_stub(doc)
    proxy = opend_server_factory(upstream=f"127.0.0.1:{upstream.port}", record=str(tmp_path))
    c = RawClient(proxy.host, proxy.port)
    try:
        c.init_connect()
        for serial in (7, 8):
            c.send(3203, request_bytes("00700"), serial=serial)
            got = [c.recv_frame()[0] for _ in range(2)]
            assert [(h.proto_id, h.serial) for h in got] == [(3203, serial), (3005, 0)]
    finally:
        c.close()
    (stub,) = (tmp_path / "stubs").glob("3203-*.json")
    assert [p["proto_id"] for p in json.loads(stub.read_text())["pushes"]] == [3005]


def test_links_leave_no_reference_cycles_when_clients_go(upstream: MockOpenD, opend_server_factory) -> None:
    """With the cyclic collector off, every upstream link (its socket protocol, its
    decoder and what that holds) of a TCP and a WebSocket client is freed when the
    client leaves: links and relays used to form cycles, so a closed link holding
    half a 16 MiB frame stayed until a collection (876 MB after 6 rounds of 20)."""
    import asyncio
    import gc

    import aiohttp
    from test_websocket import init_body

    from mock_opend.relay import Link, _LinkProtocol
    from mock_opend.upstream import UpstreamLink
    from mock_opend.ws_protocol import pack_request, unpack_reply

    kinds = (Link, _LinkProtocol, UpstreamLink)

    def alive() -> int:
        return sum(isinstance(o, kinds) for o in gc.get_objects())

    proxy = opend_server_factory(upstream=f"127.0.0.1:{upstream.port}", ws_port=0)

    async def ws_session() -> None:
        async with aiohttp.ClientSession() as s, s.ws_connect(f"ws://127.0.0.1:{proxy.ws_port}/") as ws:
            await ws.send_bytes(pack_request(1, 2, init_body()))
            unpack_reply((await ws.receive(timeout=10)).data)
            await ws.send_bytes(pack_request(3203, 9, request_bytes("00700")))
            assert unpack_reply((await ws.receive(timeout=10)).data)[2] == 0

    gc.collect()
    gc.disable()
    try:
        before = alive()
        for _ in range(3):
            c = RawClient(proxy.host, proxy.port)
            c.init_connect()
            c.send(3203, request_bytes("00700"), serial=3)
            assert c.recv_frame()[0].serial == 3
            c.close()
            asyncio.run(ws_session())
        wait_for(lambda: proxy.connection_count() == 0)
        wait_for(lambda: alive() == before, timeout=10)
    finally:
        gc.enable()


def test_a_websocket_client_that_stops_reading_holds_bounded_memory() -> None:
    """An upstream pushing 1 MiB frames at a WebSocket client that never reads: the
    proxy stops reading the upstream once 4 x write_buffer_limit is queued for the
    client (it used to queue 256 pushes whatever their size: 1.1 GB with 4 MiB pushes)."""
    import base64
    import os
    import socket
    import tracemalloc

    from test_relay_format import FakeUpstream
    from test_websocket import init_body

    from mock_opend.frame import encode_frame
    from mock_opend.ws_protocol import pack_request

    push = b"\x08\x00\x12" + b"\x80\x80\x40" + b"x" * (1 << 20)  # retType 0, a 1 MiB field

    class Flooding(FakeUpstream):
        def _client(self, conn: socket.socket) -> None:
            conn.settimeout(30)
            self.conns = [*getattr(self, "conns", []), conn]
            with contextlib.suppress(OSError):
                buf = b""
                while not self.stopping.is_set():
                    buf += conn.recv(65536)
                    while len(buf) >= 44:
                        from mock_opend.frame import HEADER_LEN, FrameHeader

                        h = FrameHeader.unpack(buf[:HEADER_LEN])
                        if len(buf) < HEADER_LEN + h.body_len:
                            break
                        buf = buf[HEADER_LEN + h.body_len :]
                        if h.proto_id == 1001:
                            super()._reply_init(conn, h.serial)
                        elif h.proto_id == 3001:
                            conn.sendall(encode_frame(3001, h.serial, b"\x08\x00\x22\x00"))
                            for _ in range(300):
                                conn.sendall(encode_frame(3005, 0, push))

    up = Flooding(b"", 0)
    srv = MockOpenD(host="127.0.0.1", port=0, ws_port=0, upstream=f"127.0.0.1:{up.port}").start_background()
    sock = socket.create_connection(("127.0.0.1", srv.ws_port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        assert b" 101 " in sock.recv(4096).split(b"\r\n")[0]

        def frame(payload: bytes) -> bytes:
            mask = os.urandom(4)
            body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            n = len(payload)
            head = bytes([0x82, 0x80 | n]) if n < 126 else bytes([0x82, 0xFE]) + n.to_bytes(2, "big")
            return head + mask + body

        tracemalloc.start()
        sock.sendall(frame(pack_request(1, 2, init_body())))
        sub: Any = message_types(3001)[0]()  # type: ignore[index,misc]
        sec = sub.c2s.securityList.add()
        sec.market, sec.code = 1, "00700"
        sub.c2s.subTypeList.append(1)
        sub.c2s.isSubOrUnSub = True
        sock.sendall(frame(pack_request(3001, 3, sub.SerializeToString())))
        # the client reads nothing more; give the upstream time to flood
        deadline = time.monotonic() + 4
        peak = 0
        while time.monotonic() < deadline:
            peak = max(peak, tracemalloc.get_traced_memory()[1])
            time.sleep(0.1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        sock.close()
        up.close()
        for c in getattr(up, "conns", []):
            with contextlib.suppress(OSError):
                c.close()
        srv.stop_background()
    assert peak < 48 << 20, f"{peak / (1 << 20):.0f} MiB held for a client that does not read"
