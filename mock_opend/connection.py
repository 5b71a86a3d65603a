"""One client connection as a sans-I/O state machine.

``receive_data(bytes)`` returns the actions the I/O shell must perform (send
these bytes, maybe later; close, maybe with a reset).  Every complete frame gets
exactly one reply frame with the request's proto id and serial, in the
request's body format — unless an injected fault says otherwise; broken framing
gets an error reply and a close.  Nothing a client sends can raise out of here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from . import errors as E
from .body import BodyError, decode_body, encode_body
from .errors import ErrorSpec, ServerError
from .faults import Fault
from .frame import FMT_JSON, FMT_PROTOBUF, Frame, FrameDecoder, FramingError, encode_frame
from .gateway import PROTOCOLS, SUPPORTED, Gateway, ProtoSpec, Session
from .journal import JournalEntry
from .messages import ErrorResponse

log = logging.getLogger("mock_opend.request")

_FMT_NAMES = {FMT_PROTOBUF: "protobuf", FMT_JSON: "json"}


@dataclass(frozen=True, slots=True)
class Send:
    data: bytes
    delay: float = 0.0  # seconds; later sends on the connection queue behind it


@dataclass(frozen=True, slots=True)
class Close:
    reason: str
    reset: bool = False  # abort with RST instead of an orderly close


Action = Send | Close


class Connection:
    def __init__(self, gateway: Gateway, transport: str = "tcp", peer: str = "") -> None:
        self.gateway = gateway
        self.session: Session = gateway.new_session(transport)
        self.peer = peer
        self.decoder = FrameDecoder(gateway.config.max_body_len)
        self.closed = False

    @property
    def conn_id(self) -> int:
        return self.session.conn_id

    def receive_data(self, data: bytes) -> list[Action]:
        if self.closed:
            return []
        actions: list[Action] = []
        for event in self.decoder.feed(data):
            if isinstance(event, Frame):
                actions.extend(self.handle_frame(event))
                if self.closed:
                    break
            else:
                actions.extend(self._framing_error(event))
        return actions

    def connection_lost(self) -> None:
        self.closed = True
        self.gateway.connection_closed(self.session)

    # -- one request -------------------------------------------------------
    def handle_frame(self, frame: Frame) -> list[Action]:
        t0 = time.perf_counter_ns()
        gw = self.gateway
        h = frame.header
        reply_fmt = h.fmt if h.fmt in _FMT_NAMES else FMT_PROTOBUF
        spec = PROTOCOLS.get(h.proto_id)
        sha1_ok = frame.sha1_ok
        entry = JournalEntry(
            seq=gw.journal.new_seq(),
            time=gw.clock.now(),
            wall_time=time.time(),
            conn_id=self.conn_id,
            transport=self.session.transport,
            proto_id=h.proto_id,
            serial=h.serial,
            fmt=_FMT_NAMES.get(h.fmt, f"unknown({h.fmt})"),
            body_len=h.body_len,
            sha1_ok=sha1_ok,
            request=None,
        )
        try:
            if not sha1_ok:
                raise ServerError(E.SHA1_MISMATCH, proto_id=h.proto_id, serial=h.serial)
            if h.fmt not in _FMT_NAMES:
                raise ServerError(E.BAD_FORMAT, fmt=h.fmt)
            if spec is None:
                raise ServerError(E.UNKNOWN_PROTO, proto_id=h.proto_id, supported=SUPPORTED)
            if spec.needs_init and not self.session.initialized:
                raise ServerError(E.NOT_INITIALIZED, proto_id=h.proto_id)
            try:
                request = decode_body(h.fmt, frame.body, spec.request)
            except BodyError as exc:
                raise ServerError(E.BAD_BODY, proto_id=h.proto_id, detail=str(exc)) from None
            entry.request = request
            reply = spec.handler(gw, self.session, request)
            message: Message = reply.message
            entry.rows, entry.next_key = reply.rows, reply.next_key
        except ServerError as exc:
            message = self._error_message(spec, exc.spec, exc.message(gw.lang))
            entry.error = exc.spec.name
        except Exception as exc:  # a bug: answer, log, keep serving
            logging.getLogger("mock_opend").exception("handler failed for proto %s", h.proto_id)
            message = self._error_message(spec, E.INTERNAL, E.INTERNAL.render(gw.lang, detail=repr(exc)))
            entry.error = E.INTERNAL.name

        fault = gw.faults.take(h.proto_id, self.conn_id)
        if fault is not None and fault.kind == "error":
            message = self._error_message(spec, None, fault.ret_msg, fault.ret_type, fault.err_code)
            entry.rows = entry.next_key = None
        out = encode_frame(h.proto_id, h.serial, self._encode(reply_fmt, spec, message), fmt=reply_fmt)
        actions = self._apply_fault(fault, out) if fault is not None else [Send(out)]

        entry.ret_type = getattr(message, "retType", None)
        entry.ret_msg = getattr(message, "retMsg", "")
        entry.duration_us = (time.perf_counter_ns() - t0) // 1000
        if fault is not None:
            entry.extra["fault"] = fault.kind
            entry.extra["fault_id"] = fault.id
        gw.journal.add(entry)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "request",
                extra={
                    "conn": self.conn_id,
                    "proto": h.proto_id,
                    "serial": h.serial,
                    "fmt": entry.fmt,
                    "outcome": "ok" if entry.error is None else entry.error,
                    "ret_type": entry.ret_type,
                    "rows": None if entry.rows is None else len(entry.rows),
                    "fault": None if fault is None else fault.kind,
                    "us": entry.duration_us,
                },
            )
        return actions

    def _apply_fault(self, fault: Fault, out: bytes) -> list[Action]:
        kind = fault.kind
        if kind == "latency":
            return [Send(out, delay=fault.latency_ms / 1000.0)]
        if kind == "no_reply":
            return []
        if kind == "reset":
            self.closed = True
            return [Close("fault: reset", reset=True)]
        if kind == "truncate":
            n = fault.truncate_bytes if fault.truncate_bytes is not None else len(out) // 2
            self.closed = True
            return [Send(out[: min(n, len(out) - 1)]), Close("fault: truncate")]
        if kind == "corrupt_sha1":
            bad = bytearray(out)
            for i in range(16, 36):
                bad[i] ^= 0xA5
            return [Send(bytes(bad))]
        return [Send(out)]  # "error": the message was already replaced

    def _encode(self, fmt: int, spec: ProtoSpec | None, message: Message) -> bytes:
        try:
            return encode_body(fmt, message)
        except Exception as exc:  # a bug in a reply: still answer
            logging.getLogger("mock_opend").exception("cannot encode reply")
            fallback = self._error_message(spec, E.INTERNAL, E.INTERNAL.render(self.gateway.lang, detail=repr(exc)))
            return encode_body(fmt, fallback)

    @staticmethod
    def _error_message(
        spec: ProtoSpec | None, err: ErrorSpec | None, text: str, ret_type: int = 0, err_code: int | None = None
    ) -> Any:
        msg = spec.response() if spec is not None else ErrorResponse()
        msg.retType = err.ret_type if err is not None else ret_type
        msg.retMsg = text
        code = err.err_code if err is not None else err_code
        if code is not None:
            msg.errCode = code
        return msg

    # -- broken stream -------------------------------------------------------
    def _framing_error(self, event: FramingError) -> list[Action]:
        gw = self.gateway
        h = event.header
        if event.kind == "bad_magic":
            err, text = E.BAD_MAGIC, E.BAD_MAGIC.render(gw.lang, magic=repr(h.magic))
        else:
            err = E.BODY_TOO_LARGE
            text = err.render(gw.lang, body_len=h.body_len, limit=gw.config.max_body_len)
        msg = self._error_message(PROTOCOLS.get(h.proto_id), err, text)
        gw.journal.add(
            JournalEntry(
                seq=gw.journal.new_seq(),
                time=gw.clock.now(),
                wall_time=time.time(),
                conn_id=self.conn_id,
                transport=self.session.transport,
                proto_id=h.proto_id,
                serial=h.serial,
                fmt=_FMT_NAMES.get(h.fmt, f"unknown({h.fmt})"),
                body_len=h.body_len,
                sha1_ok=False,
                request=None,
                ret_type=err.ret_type,
                ret_msg=text,
                error=err.name,
            )
        )
        log.warning(
            "framing error",
            extra={"conn": self.conn_id, "proto": h.proto_id, "serial": h.serial, "outcome": err.name},
        )
        self.closed = True
        return [Send(encode_frame(h.proto_id, h.serial, msg.SerializeToString())), Close(err.name)]
