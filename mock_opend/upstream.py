"""The client side of one link to an upstream (real) OpenD, sans-I/O.

When mock-opend proxies, each client connection gets a link of its own: this
state machine says what bytes to send (InitConnect with the mock's own client
id, KeepAlive, relayed requests under fresh serials) and turns the bytes the
upstream sends back into events — the link is ready, a reply to serial N, a
push, or the stream is broken.  Encryption follows the gateway's scheme: RSA
for InitConnect when a key is given, then AES on every frame both ways.  The
same machine drives ``mock-opend record`` (``capture``).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Final

from . import messages as M
from .crypto import AesSession, CryptoError, RsaKey
from .frame import FMT_PROTOBUF, Frame, FrameDecoder, FramingError, encode_frame
from .proto_ids import PROTO_INIT_CONNECT, PROTO_KEEP_ALIVE, PUSH_IDS

CLIENT_ID: Final = "mock-opend-proxy"
CLIENT_VER: Final = 300
MAX_UPSTREAM_BODY: Final = 16 << 20  # a reply larger than this breaks the link (a 1000-bar KL is ~100 KB)


@dataclass(frozen=True, slots=True)
class Ready:
    conn_id: int
    keep_alive_interval: int
    server_ver: int
    secrets: tuple[str | int, ...] = ()  # ids and keys of this link: never recorded
    fields: tuple[str, ...] = ()  # the InitConnect reply's s2c fields that are set (mock-opend parity)


@dataclass(frozen=True, slots=True)
class Reply:
    proto_id: int
    serial: int
    fmt: int
    body: bytes  # plaintext


@dataclass(frozen=True, slots=True)
class Push:
    proto_id: int
    serial: int
    fmt: int
    body: bytes  # plaintext


@dataclass(frozen=True, slots=True)
class Broken:
    reason: str
    answered: bool = False  # the gateway's InitConnect reply was read: it refused


Event = Ready | Reply | Push | Broken


class UpstreamLink:
    """One connection to an upstream OpenD, as a client."""

    def __init__(
        self,
        *,
        rsa: RsaKey | None = None,
        push_fmt: int = FMT_PROTOBUF,
        language: str = "Python",
        client_id: str = CLIENT_ID,
    ) -> None:
        self.rsa = rsa
        self.push_fmt = push_fmt
        self.language = language
        self.client_id = client_id
        self.decoder = FrameDecoder(MAX_UPSTREAM_BODY)
        self.aes: AesSession | None = None
        self.ready: Ready | None = None
        self.broken: str | None = None
        self._serials = itertools.count(1)
        self._init_serial = 0
        self._keep_alives: set[int] = set()

    def _next_serial(self) -> int:
        return (next(self._serials) - 1) % 0xFFFFFFFF + 1  # 1..2^32-1, never 0

    # -- what to send ---------------------------------------------------------------------
    def init_connect(self) -> bytes:
        """The InitConnect frame to send first."""
        req = M.InitConnectRequest()
        c2s = req.c2s
        c2s.clientVer = CLIENT_VER
        c2s.clientID = self.client_id
        c2s.recvNotify = True
        c2s.packetEncAlgo = 2 if self.rsa is not None else -1
        c2s.pushProtoFmt = self.push_fmt
        c2s.programmingLanguage = self.language
        plain = req.SerializeToString()
        self._init_serial = self._next_serial()
        wire = self.rsa.encrypt(plain) if self.rsa is not None else plain
        return encode_frame(PROTO_INIT_CONNECT, self._init_serial, wire, plaintext=plain)

    def request(self, proto_id: int, fmt: int, body: bytes) -> tuple[int, bytes]:
        """(serial, frame) for a request whose ``body`` is plaintext in ``fmt``."""
        serial = self._next_serial()
        wire = self.aes.encrypt(body) if self.aes is not None else body
        return serial, encode_frame(proto_id, serial, wire, fmt=fmt, plaintext=body)

    def keep_alive(self, now: int) -> bytes:
        req = M.KeepAliveRequest()
        req.c2s.time = now
        serial, frame = self.request(PROTO_KEEP_ALIVE, FMT_PROTOBUF, req.SerializeToString())
        self._keep_alives.add(serial)
        if len(self._keep_alives) > 16:  # unanswered ones are forgotten
            self._keep_alives.discard(min(self._keep_alives))
        return frame

    # -- what came back -------------------------------------------------------------------
    def feed(self, data: bytes) -> list[Event]:
        if self.broken is not None:
            return []
        out: list[Event] = []
        for item in self.decoder.feed(data):
            if isinstance(item, FramingError):
                h = item.header
                why = (
                    f"not an OpenD frame (magic {h.magic!r})"
                    if item.kind == "bad_magic"
                    else f"a frame of {h.body_len} bytes is over the {MAX_UPSTREAM_BODY >> 20} MiB limit"
                )
                return [*out, self._break(why)]
            event = self._frame(item)
            if event is not None:
                out.append(event)
                if isinstance(event, Broken):
                    return out
        return out

    def _break(self, reason: str, answered: bool = False) -> Broken:
        self.broken = reason
        return Broken(reason, answered)

    def _plain(self, frame: Frame, rsa: bool = False) -> bytes:
        body = frame.body
        if rsa and self.rsa is not None:
            body = self.rsa.decrypt(body)
        elif self.aes is not None:
            body = self.aes.decrypt(body)
        if hashlib.sha1(body).digest() != frame.header.sha1:
            raise CryptoError(f"proto {frame.header.proto_id}: the body does not match its SHA-1")
        return body

    def _frame(self, frame: Frame) -> Event | None:
        h = frame.header
        if self.ready is None:
            if h.proto_id != PROTO_INIT_CONNECT or h.serial != self._init_serial:
                return self._break(f"expected the InitConnect reply first, got proto {h.proto_id}")
            try:
                plain = self._plain(frame, rsa=True)
                rsp = M.InitConnectResponse.FromString(plain)
            except (CryptoError, ValueError) as exc:
                return self._break(f"cannot read the InitConnect reply: {exc}")
            if rsp.retType != 0 or not rsp.HasField("s2c"):
                why = f"InitConnect refused (retType {rsp.retType}): {rsp.retMsg or 'no reason given'}"
                return self._break(why, answered=True)
            s2c = rsp.s2c
            if self.rsa is not None:
                key = s2c.connAESKey.encode()
                iv = s2c.aesCBCiv.encode() if s2c.HasField("aesCBCiv") else None
                if len(key) not in (16, 24, 32) or (iv is not None and len(iv) != 16):
                    return self._break("the InitConnect reply carries an AES key or IV of the wrong length")
                self.aes = AesSession(key, iv)
            secrets = (s2c.connID, s2c.loginUserID, s2c.connAESKey, s2c.aesCBCiv)
            fields = tuple(f.name for f, _ in s2c.ListFields())
            self.ready = Ready(s2c.connID, s2c.keepAliveInterval, s2c.serverVer, tuple(v for v in secrets if v), fields)
            return self.ready
        try:
            plain = self._plain(frame)
        except CryptoError as exc:
            if h.proto_id in PUSH_IDS:
                return None  # as the SDK does: a push that cannot be read is dropped
            return self._break(str(exc))
        if h.proto_id == PROTO_KEEP_ALIVE and h.serial in self._keep_alives:
            self._keep_alives.discard(h.serial)
            return None
        if h.proto_id in PUSH_IDS:
            return Push(h.proto_id, h.serial, h.fmt, plain)
        return Reply(h.proto_id, h.serial, h.fmt, plain)
