"""The JavaScript SDK's WebSocket framing, sans-I/O.

One binary WebSocket message carries one request: an 8-byte sign
``ft-v1.0\\0``, the command (u32, big-endian; 1 = Init, else a proto id) and a
section (u64, the request id), then the raw protobuf request.  Replies add an
error (i32) and a 20-byte ASCII errmsg, 44 bytes in all, before the protobuf
reply.  Requests are served by the same ``Processor`` as TCP: same data, page
keys, span policy, rate limit (shared with TCP), journal and faults.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
from typing import Any, Final

from . import errors as E
from .connection import (
    Action,
    Close,
    Outcome,
    Processor,
    Relay,
    Send,
    apply_fault,
    error_message,
    journal_push,
    settle_relayed,
)
from .errors import ServerError
from .frame import FMT_PROTOBUF
from .gateway import Gateway, ProtoSpec, Reply, Session
from .messages import message_class

SIGN: Final = b"ft-v1.0\x00"
REQUEST_HEADER: Final = struct.Struct(">8sIQ")  # 20 bytes
REPLY_HEADER: Final = struct.Struct(">8sIQi20s")  # 44 bytes
CMD_INIT: Final = 1

InitWebSocketRequest: Final = message_class("mockopend.init_websocket.Request")
InitWebSocketResponse: Final = message_class("mockopend.init_websocket.Response")


def pack_reply(cmd: int, section: int, body: bytes, error: int = 0, errmsg: str = "") -> bytes:
    """A server→client message; ``errmsg`` must be ASCII (the JS client reads
    it as 20 characters, so any other byte misaligns its parser)."""
    raw = errmsg.encode("ascii", "replace")[:20]
    return REPLY_HEADER.pack(SIGN, cmd & 0xFFFFFFFF, section & 0xFFFFFFFFFFFFFFFF, error, raw) + body


def pack_request(cmd: int, section: int, body: bytes) -> bytes:
    """A client→server message (for tests and raw clients)."""
    return REQUEST_HEADER.pack(SIGN, cmd, section) + body


def unpack_reply(data: bytes) -> tuple[int, int, int, str, bytes]:
    _sign, cmd, section, error, errmsg = REPLY_HEADER.unpack(data[:44])
    return cmd, section, error, errmsg.rstrip(b"\x00").decode("ascii"), data[44:]


def handle_init_websocket(gw: Gateway, session: Session, req: Any) -> Reply:
    """Command 1: check the key's MD5 (when ws_key is set), open the session —
    once per connection, as InitConnect on TCP."""
    if session.initialized:
        raise ServerError(E.ALREADY_INITIALIZED, conn_id=session.conn_id)
    if gw.config.ws_key is not None:
        want = hashlib.md5(gw.config.ws_key.encode()).hexdigest()
        if req.c2s.websocketKey.lower() != want:
            raise ServerError(E.WS_KEY_MISMATCH)
    session.initialized = True
    session.language = req.c2s.programmingLanguage
    rsp = InitWebSocketResponse()
    rsp.retType = 0
    rsp.s2c.serverTime = int(gw.clock.now())
    rsp.s2c.connID = session.conn_id
    return Reply(rsp)


INIT_SPEC: Final = ProtoSpec(
    CMD_INIT, "InitWebSocket", InitWebSocketRequest, InitWebSocketResponse, handle_init_websocket, needs_init=False
)


class WsConnection:
    """One WebSocket client: messages in, actions out."""

    def __init__(self, gateway: Gateway, peer: str = "", *, refusing: bool = False) -> None:
        self.gateway = gateway
        self.refusing = refusing  # over max_connections: refuse the first request, then close
        self.session = gateway.new_session("ws")
        self.processor = Processor(gateway, self.session, {**gateway.protocols, CMD_INIT: INIT_SPEC})
        self.peer = peer
        self.closed = False
        self.relaying: dict[int, tuple[Outcome, int, int, bytes]] = {}
        self._tokens = itertools.count(1)

    @property
    def conn_id(self) -> int:
        return self.session.conn_id

    def connection_lost(self) -> None:
        self.closed = True
        self.gateway.connection_closed(self.session)

    def receive_message(self, data: bytes | str) -> list[Action]:
        if self.closed:
            return []
        if isinstance(data, str):
            return self._bad_message(0, 0, "text messages are not understood; send binary frames", len(data))
        if len(data) < REQUEST_HEADER.size:
            return self._bad_message(0, 0, f"{len(data)} bytes is shorter than the 20-byte header", len(data))
        sign, cmd, section = REQUEST_HEADER.unpack(data[: REQUEST_HEADER.size])
        if sign[:7] != SIGN[:7]:
            return self._bad_message(cmd, section, f"sign {sign!r} is not 'ft-v1.0'", len(data))
        body = data[REQUEST_HEADER.size :]
        early = (
            ServerError(E.TOO_MANY_CONNECTIONS, limit=self.gateway.config.max_connections) if self.refusing else None
        )
        was_initialized = self.session.initialized
        outcome = self.processor.process(cmd, section, FMT_PROTOBUF, body, len(body), early_error=early)
        if outcome.relay is not None:
            token = next(self._tokens)
            self.relaying[token] = (outcome, cmd, section, body)
            return [Relay(token, cmd, FMT_PROTOBUF, outcome.relay)]
        return self._reply(outcome, cmd, section, was_initialized)

    def _reply(self, outcome: Outcome, cmd: int, section: int, was_initialized: bool = True) -> list[Action]:
        payload = outcome.encode(self.gateway.lang)
        # a failed first Init ends the connection; a second Init is refused, the session goes on
        refused = (cmd == CMD_INIT and not was_initialized and outcome.entry.error is not None) or self.refusing
        error, errmsg = (-1, "init refused") if refused else (0, "")
        if outcome.entry.error == E.WS_KEY_MISMATCH.name:
            errmsg = "wrong websocket key"
        out = pack_reply(cmd, section, payload, error, errmsg)
        actions, closing = apply_fault(outcome.fault, out, slice(REPLY_HEADER.size, len(out)))
        if refused and not closing:
            actions.append(Close(outcome.entry.error or "init refused"))
            closing = True
        if outcome.pushes and not closing:
            for p in outcome.pushes:
                push = pack_reply(p.proto_id, 0, p.wire, 0, "")
                actions.append(Send(push, delay=p.after_ms / 1000.0, aside=True))
            outcome.entry.extra["pushes"] = len(outcome.pushes)
        self.closed = closing
        self.processor.finish(outcome)
        return actions

    def relay_done(self, token: int, result: Any) -> list[Action]:
        """The reply to a relayed request, once the upstream answered (or failed to)."""
        pending = self.relaying.pop(token, None)
        if pending is None or self.closed:
            return []
        outcome, cmd, section, request = pending
        settle_relayed(self.processor, outcome, cmd, request, result)
        return self._reply(outcome, cmd, section)

    def push(self, proto_id: int, serial: int, fmt: int, body: bytes, secrets: tuple[Any, ...] = ()) -> list[Action]:
        """Forward an upstream push (as section 0, which no request uses), and journal it."""
        if self.closed:
            return []
        journal_push(self.processor, proto_id, serial, fmt, body, secrets)
        return [Send(pack_reply(proto_id, 0, body, 0, ""))]

    def _bad_message(self, cmd: int, section: int, detail: str, size: int) -> list[Action]:
        gw = self.gateway
        text = E.WS_BAD_FRAME.render(gw.lang, detail=detail)
        msg = error_message(None, E.WS_BAD_FRAME, text)
        self.processor.record_unparsed(cmd, section, "protobuf", size, E.WS_BAD_FRAME, text, sha1_ok=True)
        return [Send(pack_reply(cmd, section, msg.SerializeToString(), E.WS_BAD_FRAME.ret_type, "invalid message"))]


__all__ = ["CMD_INIT", "SIGN", "WsConnection", "pack_reply", "pack_request", "unpack_reply"]


class MaskCheck:
    """Follows the WebSocket frames a client sends (RFC 6455 §5.2) and reports
    the first one that is not masked: a server must fail such a connection
    (§5.1), and aiohttp's reader accepts them.  Sans-I/O: ``feed`` bytes, get
    False once the stream is bad."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._skip = 0  # payload bytes of the current frame still to pass
        self.bad = False

    def feed(self, data: bytes) -> bool:
        view = memoryview(data)
        while view and not self.bad:
            if self._skip:
                n = min(self._skip, len(view))
                self._skip -= n
                view = view[n:]
                continue
            self._head += view[:1]
            view = view[1:]
            need = self._header_len()
            if need is None or len(self._head) < need:
                continue
            head = bytes(self._head)
            self._head.clear()
            if not head[1] & 0x80:
                self.bad = True
                break
            short = head[1] & 0x7F
            if short == 126:
                length = int.from_bytes(head[2:4], "big")
            elif short == 127:
                length = int.from_bytes(head[2:10], "big")
            else:
                length = short
            self._skip = length
        return not self.bad

    def _header_len(self) -> int | None:
        if len(self._head) < 2:
            return None
        short = self._head[1] & 0x7F
        ext = 2 if short == 126 else 8 if short == 127 else 0
        return 2 + ext + (4 if self._head[1] & 0x80 else 0)
