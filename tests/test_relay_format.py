"""The reply a client gets carries the upstream reply's own format byte; a reply
that does not decode in the format it claims is an error reply naming the cause
(it used to be relayed under the request's fmt byte 0, and the SDK reported a
corrupt wire format while the journal showed nothing)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

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
                        rsp = InitConnectResponse()
                        rsp.retType = 0
                        s2c = rsp.s2c
                        s2c.serverVer, s2c.loginUserID, s2c.connID = 1011, 987654321012, 7777777777
                        s2c.connAESKey, s2c.keepAliveInterval = "0123456789abcdef", 10
                        conn.sendall(encode_frame(1001, h.serial, rsp.SerializeToString()))
                    elif h.proto_id != 1004:
                        conn.sendall(encode_frame(h.proto_id, h.serial, self.reply, fmt=self.fmt))

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


def test_a_json_reply_to_a_protobuf_request_keeps_its_fmt_byte(fake_upstream, opend_server_factory, raw_client) -> None:
    doc = {"retType": 0, "s2c": {"snapshotList": []}}
    up = fake_upstream(json.dumps(doc).encode(), 1)
    proxy = opend_server_factory(upstream=f"127.0.0.1:{up.port}")
    c = raw_client(proxy.host, proxy.port)
    c.init_connect()
    c.send(3203, request_bytes("00700"), serial=5)  # protobuf (fmt 0)
    header, body = c.recv_frame()
    assert header.serial == 5 and header.fmt == 1, header
    assert json.loads(body) == doc
    (entry,) = [e for e in proxy.journal.entries() if e.proto_id == 3203]
    assert entry.ret_type == 0 and entry.source == "upstream"


def test_a_reply_that_does_not_decode_is_an_error_reply_naming_the_cause(
    fake_upstream, opend_server_factory, raw_client
) -> None:
    up = fake_upstream(b"\xff\xfe not a response", 0)
    proxy = opend_server_factory(upstream=f"127.0.0.1:{up.port}", lang="en")
    c = raw_client(proxy.host, proxy.port)
    c.init_connect()
    c.send(3203, request_bytes("00700"), serial=6)
    header, body = c.recv_frame()
    assert header.serial == 6 and header.fmt == 0
    rsp = SNAP_RSP.FromString(body)
    assert rsp.retType == -200 and "does not decode" in rsp.retMsg and "not a protobuf Response" in rsp.retMsg
    (entry,) = [e for e in proxy.journal.entries() if e.proto_id == 3203]
    assert entry.error == "UPSTREAM_BAD_REPLY"
