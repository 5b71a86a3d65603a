"""The reply a client gets carries the upstream reply's own format byte; a reply
that does not decode in the format it claims is an error reply naming the cause
(it used to be relayed under the request's fmt byte 0, and the SDK reported a
corrupt wire format while the journal showed nothing)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from test_stubs import request_bytes

from mock_opend.frame import HEADER_LEN, FrameHeader, encode_frame
from mock_opend.messages import InitConnectResponse
from mock_opend.proto_ids import message_types

SNAP_RSP = message_types(3203)[1]  # type: ignore[index]


class FakeUpstream:
    """An OpenD stand-in that answers InitConnect, then every other request with
    ``reply`` (body bytes) under the format byte ``fmt``."""

    def __init__(self, reply: bytes, fmt: int) -> None:
        self.reply, self.fmt = reply, fmt
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        buf = b""
        conn.settimeout(10)
        with conn:
            while not self.stopping.is_set():
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                while len(buf) >= HEADER_LEN:
                    h = FrameHeader.unpack(buf[:HEADER_LEN])
                    if len(buf) < HEADER_LEN + h.body_len:
                        break
                    buf = buf[HEADER_LEN + h.body_len :]
                    if h.proto_id == 1001:
                        self._reply_init(conn, h.serial)
                    elif h.proto_id != 1004:
                        conn.sendall(encode_frame(h.proto_id, h.serial, self.reply, fmt=self.fmt))

    @staticmethod
    def _reply_init(conn: socket.socket, serial: int) -> None:
        rsp = InitConnectResponse()
        rsp.retType = 0
        s2c = rsp.s2c
        s2c.serverVer, s2c.loginUserID, s2c.connID = 1011, 987654321012, 7777777777
        s2c.connAESKey, s2c.keepAliveInterval = "0123456789abcdef", 10
        conn.sendall(encode_frame(1001, serial, rsp.SerializeToString()))

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()


@pytest.fixture
def fake_upstream() -> Iterator[type[FakeUpstream]]:
    made: list[FakeUpstream] = []

    def make(reply: bytes, fmt: int) -> FakeUpstream:
        up = FakeUpstream(reply, fmt)
        made.append(up)
        return up

    yield make  # type: ignore[misc]
    for up in made:
        up.close()


def ask_one_snapshot(proxy: Any, raw_client: Any, serial: int) -> tuple[FrameHeader, bytes, Any]:
    """One 3203 through ``proxy`` from a new raw client: the reply's header and body, and its journal entry."""
    c = raw_client(proxy.host, proxy.port)
    c.init_connect()
    c.send(3203, request_bytes("00700"), serial=serial)
    header, body = c.recv_frame()
    (entry,) = [e for e in proxy.journal.entries() if e.proto_id == 3203]
    return header, body, entry


def test_a_json_reply_to_a_protobuf_request_keeps_its_fmt_byte(fake_upstream, opend_server_factory, raw_client) -> None:
    doc = {"retType": 0, "s2c": {"snapshotList": []}}
    up = fake_upstream(json.dumps(doc).encode(), 1)
    proxy = opend_server_factory(upstream=f"127.0.0.1:{up.port}")
    header, body, entry = ask_one_snapshot(proxy, raw_client, 5)  # protobuf (fmt 0)
    assert header.serial == 5 and header.fmt == 1, header
    assert json.loads(body) == doc
    assert entry.ret_type == 0 and entry.source == "upstream"


def test_a_reply_that_does_not_decode_is_an_error_reply_naming_the_cause(
    fake_upstream, opend_server_factory, raw_client
) -> None:
    up = fake_upstream(b"\xff\xfe not a response", 0)
    proxy = opend_server_factory(upstream=f"127.0.0.1:{up.port}", lang="en")
    header, body, entry = ask_one_snapshot(proxy, raw_client, 6)
    assert header.serial == 6 and header.fmt == 0
    rsp = SNAP_RSP.FromString(body)
    assert rsp.retType == -200 and "does not decode" in rsp.retMsg and "not a protobuf Response" in rsp.retMsg
    assert entry.error == "UPSTREAM_BAD_REPLY"


def test_recording_a_large_reply_does_not_stall_other_clients(
    fake_upstream, opend_server_factory, raw_client, tmp_path
) -> None:
    """A 4 MiB reply is decoded, scrubbed and written off the event loop: another
    client's KeepAlives are answered meanwhile (a 2 MiB reply used to stall every
    client for 1.6 s, a 16 MiB one for 14 s)."""
    import time

    from mock_opend.messages import KeepAliveRequest

    rsp = SNAP_RSP()
    rsp.retType = 0
    for i in range(30000):
        basic = rsp.s2c.snapshotList.add().basic
        basic.security.market, basic.security.code = 1, f"{i:05d}"
        basic.name, basic.updateTime, basic.listTime = f"NAME-{i:05d}", "2024-06-03 16:08:00", "2004-06-16"
        basic.type, basic.isSuspend, basic.lotSize, basic.priceSpread = 3, False, 100, 0.2
        basic.highPrice = basic.openPrice = basic.lowPrice = basic.lastClosePrice = basic.curPrice = 1.5
        basic.volume, basic.turnover, basic.turnoverRate = 1, 1.0, 0.1
    big = rsp.SerializeToString()
    assert len(big) > 4 << 20
    up = fake_upstream(big, 0)
    proxy = opend_server_factory(upstream=f"127.0.0.1:{up.port}", record=str(tmp_path))
    a, b = raw_client(proxy.host, proxy.port), raw_client(proxy.host, proxy.port)
    a.init_connect()
    b.init_connect()
    ping = KeepAliveRequest()
    ping.c2s.time = 1
    worst = [0.0, 0]
    stop = threading.Event()

    def pings() -> None:  # another client, asking all along
        serial = 100
        while not stop.is_set():
            t0 = time.monotonic()
            serial += 1
            b.send(1004, ping.SerializeToString(), serial=serial)
            assert b.recv_frame()[0].serial == serial
            worst[0], worst[1] = max(worst[0], time.monotonic() - t0), worst[1] + 1
            time.sleep(0.02)

    pinger = threading.Thread(target=pings, daemon=True)
    pinger.start()
    a.send(3203, request_bytes("00700"), serial=5)
    header, body = a.recv_frame()
    assert header.serial == 5 and len(body) == len(big)
    recorder = proxy.gateway.recorder
    assert recorder is not None
    deadline = time.monotonic() + 60
    while recorder.summary().get("pending") and time.monotonic() < deadline:  # the recording goes on
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    pinger.join(10)
    assert worst[1] > 5, "the other client could not ask anything"
    assert worst[0] < 1.0, f"another client waited {worst[0]:.2f} s"
    (entry,) = [e for e in proxy.journal.entries() if e.proto_id == 3203]
    assert entry.extra["record"].startswith(("recorded as stub", "3203")), entry.extra["record"]


def test_stopping_while_recordings_wait_is_bounded_and_says_what_was_dropped(
    opend_server_factory, tmp_path, caplog
) -> None:
    """The server stops within STOP_RECORDING + 2 s whatever waits to be recorded,
    and the log says how many were not written (it used to wait 10 s and drop the
    rest silently)."""
    import logging
    import time

    from mock_opend.server import STOP_RECORDING

    proxy = opend_server_factory(upstream="127.0.0.1:9", record=str(tmp_path))
    recorder = proxy.gateway.recorder
    assert recorder is not None
    done: list[str] = []
    for _ in range(20):
        assert recorder.submit(lambda: time.sleep(0.5) or "slow", 1 << 20, done.append) is None
    caplog.set_level(logging.WARNING, logger="mock_opend.record")
    t0 = time.monotonic()
    proxy.stop_background()
    took = time.monotonic() - t0
    assert took < STOP_RECORDING + 3, f"stopping took {took:.1f} s"
    assert recorder.summary()["pending"] == 0
    dropped = [r.getMessage() for r in caplog.records if "not recorded: the server stopped first" in r.getMessage()]
    assert dropped and int(dropped[0].split()[1]) + len(done) == 20, (dropped, len(done))


def test_an_upstream_error_reply_is_logged_as_an_error(fake_upstream, opend_server_factory, raw_client) -> None:
    from mock_opend.request_log import fields, line

    err = SNAP_RSP()
    err.retType, err.retMsg = -1, "无权限"
    up = fake_upstream(err.SerializeToString(), 0)
    proxy = opend_server_factory(upstream=f"127.0.0.1:{up.port}")
    header, body, entry = ask_one_snapshot(proxy, raw_client, 7)
    assert header.serial == 7 and SNAP_RSP.FromString(body).retType == -1  # relayed as it came
    assert entry.source == "upstream" and entry.ret_type == -1 and entry.error is None
    assert fields(entry, None)["outcome"] == "error"  # the LogRecord the logging set-up gets
    assert json.loads(line(entry, None))["outcome"] == "error"  # the line the JSON handler writes
