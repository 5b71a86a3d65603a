"""One client connection as a sans-I/O state machine.

``Processor`` runs one decoded request — checks, handler, journal, log line,
fault — whatever the transport.  ``Connection`` is the TCP side: it reassembles
44-byte-header frames, decrypts and encrypts bodies in encrypted mode, and
turns every request into the actions the I/O shell performs (send these bytes,
maybe later; close, maybe with a reset).  Every complete frame gets exactly one
reply with the request's proto id and serial, in the request's body format —
unless an injected fault says otherwise; broken framing gets an error reply and
a close.  Nothing a client sends can raise out of here.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import itertools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError, Message

from . import errors as E
from .body import BodyError, decode_body, encode_body
from .crypto import AesSession, CryptoError
from .errors import ErrorSpec, ServerError
from .faults import Fault
from .frame import FMT_JSON, FMT_PROTOBUF, Frame, FrameDecoder, FramingError, encode_frame
from .gateway import PROTO_INIT_CONNECT, SUPPORTED, Gateway, ProtoSpec, Session
from .journal import JournalEntry
from .messages import ErrorResponse
from .proto_ids import label, message_types, name_of
from .reply_cache import CachedReply
from .stubs import NearMiss, PushStub, Stub, show

log = logging.getLogger("mock_opend.request")

FMT_NAMES = {FMT_PROTOBUF: "protobuf", FMT_JSON: "json"}


@dataclass(frozen=True, slots=True)
class Send:
    data: bytes
    delay: float = 0.0  # seconds; later sends on the connection queue behind it
    # a stub's push at its recorded offset: sent ``delay`` after the actions before it,
    # on a timer of its own, so it never holds a later reply (and never overtakes its own)
    aside: bool = False


@dataclass(frozen=True, slots=True)
class Close:
    reason: str
    reset: bool = False  # abort with RST instead of an orderly close


@dataclass(frozen=True, slots=True)
class Relay:
    """Send this request upstream; hand the outcome to ``relay_done(token, …)``."""

    token: int
    proto_id: int
    fmt: int
    body: bytes


Action = Send | Close | Relay


class _Shape:
    """Just enough of a ProtoSpec to build an error reply in a relayed protocol's Response."""

    def __init__(self, response: type[Message]) -> None:
        self.response = response


def response_spec(proto_id: int) -> Any:
    """Something with a ``response`` class for ``proto_id`` (None when its shape is unknown)."""
    types = message_types(proto_id)
    return None if types is None else _Shape(types[1])


def _decoded_request(proto_id: int, fmt: int, body: bytes) -> Message | None:
    """The request as a message for the journal, when its shape is known and it decodes."""
    types = message_types(proto_id)
    if types is None or types[0] is None:
        return None
    try:
        return decode_body(fmt, body, types[0])
    except BodyError:
        return None


def error_message(spec: Any, err: ErrorSpec | None, text: str, ret_type: int = 0, err_code: int | None = None) -> Any:
    """An error reply in the proto's own Response type (all share fields 1-3)."""
    msg = spec.response() if spec is not None else ErrorResponse()
    msg.retType = err.ret_type if err is not None else ret_type
    msg.retMsg = text
    code = err.err_code if err is not None else err_code
    if code is not None:
        msg.errCode = code
    return msg


@dataclass(slots=True)
class Outcome:
    """What one request produced, before transport encoding."""

    spec: ProtoSpec | None
    _message: Message | None
    reply_fmt: int
    fault: Fault | None
    entry: JournalEntry
    t0: int
    body: bytes | None = None  # the reply already encoded as protobuf (retType 0)
    encoded: bytes | None = None  # the reply already encoded in reply_fmt (a stub's or the upstream's)
    pushes: tuple[PushStub, ...] = ()
    relay: bytes | None = None  # the request body to relay upstream; the reply comes later
    # (until, counted, state) when the reply may be reused for the same bytes (reply_cache.py)
    cache: tuple[float, bool, tuple[Any, ...]] | None = None

    @property
    def message(self) -> Any:
        if self._message is None:
            assert self.spec is not None and self.body is not None
            self._message = self.spec.response.FromString(self.body)
        return self._message

    def encode(self, lang: str) -> bytes:
        if self.encoded is not None:
            return self.encoded
        if self.body is not None and self.reply_fmt == FMT_PROTOBUF:
            return self.body
        try:
            return encode_body(self.reply_fmt, self.message)
        except Exception as exc:  # a bug in a reply: still answer
            logging.getLogger("mock_opend").exception("cannot encode reply")
            fallback = error_message(self.spec, E.INTERNAL, E.INTERNAL.render(lang, detail=repr(exc)))
            return encode_body(self.reply_fmt, fallback)


def reply_status(fmt: int, data: bytes) -> tuple[int | None, str]:
    """(retType, retMsg) of any reply body: every Response has them as fields 1 and 2."""
    try:
        if fmt == FMT_JSON:
            doc = json.loads(data)
            return (doc.get("retType"), str(doc.get("retMsg", ""))) if isinstance(doc, dict) else (None, "")
        head = ErrorResponse.FromString(data)
        return (head.retType if head.HasField("retType") else None), head.retMsg
    except (ValueError, DecodeError, RuntimeError):
        return None, ""


class Processor:
    """Checks, dispatch, journal and log for one request of one session."""

    def __init__(self, gateway: Gateway, session: Session, protocols: dict[int, ProtoSpec] | None = None) -> None:
        self.gateway = gateway
        self.session = session
        self.protocols = gateway.protocols if protocols is None else protocols

    def process(
        self,
        proto_id: int,
        serial: int,
        fmt: int,
        body: bytes,
        body_len: int,
        *,
        sha1_ok: bool = True,
        early_error: ServerError | None = None,
    ) -> Outcome:
        t0 = time.perf_counter_ns()
        gw = self.gateway
        spec = self.protocols.get(proto_id)
        reply_body: bytes | None = None
        encoded: bytes | None = None
        relay: bytes | None = None
        pushes: tuple[PushStub, ...] = ()
        message: Message | None = None
        reuse: tuple[float, bool] | None = None
        state = gw.reply_state()  # before the handler reads any of it
        entry = self._entry(proto_id, serial, FMT_NAMES.get(fmt, f"unknown({fmt})"), body_len, sha1_ok)
        try:
            if early_error is not None:
                raise early_error
            if not sha1_ok:
                raise ServerError(E.SHA1_MISMATCH, proto_id=proto_id, serial=serial)
            if fmt not in FMT_NAMES:
                raise ServerError(E.BAD_FORMAT, fmt=fmt)
            if spec is not None and not gw.served_elsewhere(proto_id):
                if spec.needs_init and not self.session.initialized:
                    raise ServerError(E.NOT_INITIALIZED, proto_id=proto_id)
                message, reply_body, pushes, reuse = self._here(spec, fmt, body, entry)
            else:
                encoded, pushes, relay = self._elsewhere(proto_id, fmt, body, spec, entry)
                if relay is None and encoded is None:  # no stub, no upstream: a handler here after all
                    assert spec is not None
                    message, reply_body, pushes, reuse = self._here(spec, fmt, body, entry)
        except ServerError as exc:
            message = error_message(spec or response_spec(proto_id), exc.spec, exc.message(gw.lang))
            encoded = relay = reuse = None
            pushes = ()
            entry.error = exc.spec.name
            entry.source = "mock"
        except Exception as exc:  # a bug: answer, log, keep serving
            logging.getLogger("mock_opend").exception("handler failed for proto %s", proto_id)
            message = error_message(spec, E.INTERNAL, E.INTERNAL.render(gw.lang, detail=repr(exc)))
            encoded = relay = reuse = None
            pushes = ()
            entry.error = E.INTERNAL.name

        fault = gw.faults.take(proto_id, self.session.conn_id, gw.faults.active and _continuation(entry))
        cache = None if fault is not None or reuse is None else (*reuse, state)
        if fault is not None and fault.kind == "error":
            message = error_message(
                spec or response_spec(proto_id), None, fault.ret_msg, fault.ret_type, fault.err_code
            )
            reply_body = encoded = relay = None
            pushes = ()
            entry.rows = entry.next_key = None
            entry.source = "fault"
        reply_fmt = fmt if fmt in FMT_NAMES else FMT_PROTOBUF
        return Outcome(spec, message, reply_fmt, fault, entry, t0, reply_body, encoded, pushes, relay, cache)

    def _here(
        self, spec: ProtoSpec, fmt: int, body: bytes, entry: JournalEntry
    ) -> tuple[Message | None, bytes | None, tuple[PushStub, ...], tuple[float, bool] | None]:
        """Decode and run the handler here: (message, pre-encoded body, pushes, and
        (until, counted) when the reply may be reused for the same bytes)."""
        try:
            request = decode_body(fmt, body, spec.request)
        except BodyError as exc:
            raise ServerError(E.BAD_BODY, proto_id=spec.proto_id, detail=str(exc)) from None
        entry.request = request
        reply = spec.handler(self.gateway, self.session, request)
        entry.rows, entry.next_key = reply.rows, reply.next_key
        cache = None if reply.cache_until is None else (reply.cache_until, reply.counted)
        return reply.message, reply.body, reply.pushes, cache

    def _elsewhere(
        self, proto_id: int, fmt: int, body: bytes, spec: ProtoSpec | None, entry: JournalEntry
    ) -> tuple[bytes | None, tuple[PushStub, ...], bytes | None]:
        """A stub's reply, or the body to relay upstream; (None, (), None) when
        neither applies and a handler here answers.  Raises ServerError."""
        gw = self.gateway
        if not self.session.initialized:
            raise ServerError(E.NOT_INITIALIZED, proto_id=proto_id)
        entry.request = _decoded_request(proto_id, fmt, body)
        near: NearMiss | None = None
        if gw.stubs.has(proto_id):
            try:
                # the nearest stub is looked for only when the miss becomes an error here
                found = gw.stubs.match(proto_id, fmt, body, nearest=spec is None and not gw.relays(proto_id))
            except BodyError as exc:
                raise ServerError(E.BAD_BODY, proto_id=proto_id, detail=str(exc)) from None
            if isinstance(found, Stub):
                data = found.reply_bytes(fmt)
                entry.source = "stub"
                entry.extra["stub"] = found.id
                entry.ret_type, entry.ret_msg = reply_status(fmt, data)
                if gw.recorder is not None:
                    gw.recorder.note_request(self.session.conn_id, proto_id, time.time())
                return data, tuple(found.pushes), None
            near = found
        if gw.relays(proto_id):
            entry.source = "upstream"
            return None, (), body
        if spec is not None:
            return None, (), None
        if near is not None and near.stub is not None:
            raise ServerError(
                E.NO_STUB_MATCH,
                proto=label(proto_id),
                stub=near.stub.id,
                count=near.candidates,
                path=near.path,
                want=show(near.stub_value),
                got=show(near.request_value),
            )
        if len(gw.stubs):
            raise ServerError(E.NO_STUB, proto=label(proto_id), count=len(gw.stubs))
        raise ServerError(E.UNKNOWN_PROTO, proto_id=proto_id, name=name_of(proto_id), supported=SUPPORTED)

    def _entry(self, proto_id: int, serial: int, fmt: str, body_len: int, sha1_ok: bool) -> JournalEntry:
        gw = self.gateway
        return JournalEntry(
            seq=gw.journal.new_seq(),
            time=gw.clock.now(),
            wall_time=time.time(),
            conn_id=self.session.conn_id,
            transport=self.session.transport,
            proto_id=proto_id,
            serial=serial,
            fmt=fmt,
            body_len=body_len,
            sha1_ok=sha1_ok,
            request=None,
        )

    def record_unparsed(
        self, proto_id: int, serial: int, fmt: str, body_len: int, err: ErrorSpec, text: str, *, sha1_ok: bool
    ) -> None:
        """Journal and log bytes that never became a request (broken framing)."""
        entry = self._entry(proto_id, serial, fmt, body_len, sha1_ok)
        entry.ret_type, entry.ret_msg, entry.error = err.ret_type, text, err.name
        self.gateway.journal.add(entry)
        log.warning(
            "unparsable input",
            extra={"conn": self.session.conn_id, "proto": proto_id, "serial": serial, "outcome": err.name},
        )

    def finish(self, outcome: Outcome) -> None:
        """Journal and log a request once its reply is built."""
        entry, fault = outcome.entry, outcome.fault
        if outcome.encoded is not None:
            pass  # retType and retMsg were read from the stub's or the upstream's reply
        elif outcome.body is not None and outcome._message is None:
            entry.ret_type, entry.ret_msg = 0, ""  # a pre-encoded reply is a success
        else:
            entry.ret_type = getattr(outcome.message, "retType", None)
            entry.ret_msg = getattr(outcome.message, "retMsg", "")
        entry.duration_us = (time.perf_counter_ns() - outcome.t0) // 1000
        if fault is not None:
            entry.extra["fault"] = fault.kind
            entry.extra["fault_id"] = fault.id
        self.gateway.journal.add(entry)
        self._log(entry, fault)

    def replay(self, proto_id: int, serial: int, fmt: int, body: bytes, body_len: int) -> bytes | None:
        """The reply frame for a repeat of a cached request (reply_cache.py), after
        everything a request does besides building its reply: rate limit, journal,
        log.  None when the cache cannot answer it and ``process`` must."""
        gw = self.gateway
        hit = gw.replies.get(proto_id, fmt, body)
        if hit is None:
            return None
        t0 = time.perf_counter_ns()
        now = gw.clock.now()
        if hit.state != gw.reply_state() or now >= hit.until:
            gw.replies.discard(proto_id, fmt, body)
            return None
        spec = hit.spec
        if (
            self.protocols.get(proto_id) is not spec
            or gw.faults.active
            or gw.served_elsewhere(proto_id)
            or (spec.needs_init and not self.session.initialized)
        ):
            return None
        if hit.counted and not gw.rate_limiter.acquire(self.session.conn_id, now):
            return None  # process() answers RATE_LIMITED
        entry = self._entry(proto_id, serial, FMT_NAMES[fmt], body_len, True)
        entry.request, entry.rows, entry.next_key, entry.ret_type = hit.request, hit.rows, hit.next_key, 0
        entry.duration_us = (time.perf_counter_ns() - t0) // 1000
        gw.journal.add(entry, hit.cost)
        self._log(entry, None)
        frame = hit.frame
        return b"".join((frame[:8], serial.to_bytes(4, "little"), frame[12:]))

    def _log(self, entry: JournalEntry, fault: Fault | None) -> None:
        self.gateway.request_log.note(entry, None if fault is None else fault.kind)


def push_body(push: PushStub, push_fmt: int) -> tuple[int, bytes]:
    """(fmt, body) of a stub's push in the session's push format (protobuf when
    the push's shape is unknown)."""
    if push_fmt == FMT_JSON:
        types = message_types(push.proto_id)
        if types is not None:
            return FMT_JSON, encode_body(FMT_JSON, types[1].FromString(push.wire))
    return FMT_PROTOBUF, push.wire


def settle_relayed(processor: Processor, outcome: Outcome, proto_id: int, request: bytes, result: Any) -> None:
    """Put the upstream's reply, or why there is none, into ``outcome``; record a success."""
    from .relay import Relayed

    gw, session, entry = processor.gateway, processor.session, outcome.entry
    request_fmt = outcome.reply_fmt  # until the upstream's reply says otherwise, the request's own
    if not isinstance(result, Relayed):
        text = result.spec.render(gw.lang, **result.params)
        outcome._message = error_message(response_spec(proto_id), result.spec, text)
        entry.error = result.spec.name
        entry.source = "mock"
        return

    def bad_reply(detail: str) -> None:
        link = gw.upstream.address if gw.upstream is not None else "?"
        params = {"upstream": link, "proto": label(proto_id), "detail": detail}
        outcome._message = error_message(
            response_spec(proto_id), E.UPSTREAM_BAD_REPLY, E.UPSTREAM_BAD_REPLY.render(gw.lang, **params)
        )
        entry.error = E.UPSTREAM_BAD_REPLY.name
        entry.source = "mock"

    ret_type, ret_msg = reply_status(result.fmt, result.body)
    if ret_type is None:  # the bytes are not a Response in the format the upstream's fmt byte claims
        bad_reply(f"not a {FMT_NAMES.get(result.fmt, f'fmt {result.fmt}')} Response")
        return
    body, fmt = result.body, result.fmt  # the upstream's own format byte, whatever the request's was
    if session.transport == "ws" and fmt != FMT_PROTOBUF:  # a WebSocket message has no format byte:
        body = _as_protobuf(proto_id, fmt, body)  # it is protobuf, always
        if body is None:
            bad_reply("a JSON reply that WebSocket clients cannot read (their messages are protobuf)")
            return
        fmt = FMT_PROTOBUF
    outcome.reply_fmt, outcome.encoded = fmt, body
    secrets = (*result.secrets, session.conn_id)
    learned = gw.recorder.learned() if gw.recorder is not None and ret_msg else ()
    entry.ret_type, entry.ret_msg = ret_type, journal_text(ret_msg, (*secrets, *learned))
    if gw.recorder is not None and entry.ret_type == 0:
        work = functools.partial(
            gw.recorder.exchange,
            session.conn_id,
            proto_id,
            request_fmt,
            request,
            result.body,
            reply_fmt=result.fmt,
            server_ver=result.server_ver,
            secrets=secrets,
            now=time.time(),
        )
        _record(gw.recorder, entry, work, len(request) + len(result.body))


def show_magic(magic: bytes) -> str:
    """The two bytes a frame began with, as a reader of any language would write
    them: ``'XY'`` when printable ASCII, else ``0x4745``."""
    if all(0x20 <= b < 0x7F for b in magic):
        return "'" + magic.decode("ascii") + "'"
    return "0x" + magic.hex()


MAX_JOURNAL_TEXT = 1024  # characters of an upstream's retMsg kept in the journal


def journal_text(text: str, secrets: Any) -> str:
    """An upstream's retMsg as the journal keeps it: cut to MAX_JOURNAL_TEXT, the
    session's ids and keys hidden (the journal is read over HTTP and dumped in CI)."""
    if not text:
        return text
    from .redact import shown

    return shown(text, secrets, MAX_JOURNAL_TEXT)


def _as_protobuf(proto_id: int, fmt: int, body: bytes) -> bytes | None:
    """A reply in another format re-encoded as protobuf (None: its shape is unknown, or it does not decode)."""
    types = message_types(proto_id)
    if types is None:
        return None
    try:
        return decode_body(fmt, body, types[1]).SerializePartialToString()
    except (BodyError, DecodeError, ValueError):
        return None


def journal_push(processor: Processor, proto_id: int, serial: int, fmt: int, body: bytes, secrets: Any) -> None:
    """Journal (and record) a push the upstream sent."""
    gw, session = processor.gateway, processor.session
    entry = processor._entry(proto_id, serial, FMT_NAMES.get(fmt, f"unknown({fmt})"), len(body), True)
    entry.source = "upstream"
    entry.extra["push"] = True
    entry.ret_type, entry.ret_msg = reply_status(fmt, body)
    if gw.recorder is not None:
        keep_out = (*secrets, session.conn_id)
        work = functools.partial(
            gw.recorder.push, session.conn_id, proto_id, serial, fmt, body, secrets=keep_out, now=time.time()
        )
        _record(gw.recorder, entry, work, len(body))
    gw.journal.add(entry)


def _record(recorder: Any, entry: JournalEntry, work: Any, size: int) -> None:
    """Record an exchange or a push (large ones off the event loop, in order); the
    journal entry says what the recorder did once it is done.  A failure to write
    (disk full, a stub the live store refuses) is reported in the journal and the
    log, and the client still gets its reply."""

    def attempt() -> str:
        try:
            return str(work())
        except Exception as exc:
            logging.getLogger("mock_opend.record").exception("recording failed")
            return f"not recorded: {type(exc).__name__}: {exc}"

    def done(said: str) -> None:
        entry.extra["record"] = said

    entry.extra["record"] = f"being recorded off the event loop ({size:,} bytes)"
    said = recorder.submit(attempt, size, done)
    if said is not None:
        entry.extra["record"] = said


def _continuation(entry: JournalEntry) -> bool:
    """Whether a request carries a page key (a fault may match only those)."""
    c2s = getattr(entry.request, "c2s", None)
    if c2s is None:
        return False
    try:
        return c2s.HasField("nextPageKey")
    except ValueError:  # a protocol without page keys
        return False


def apply_fault(fault: Fault | None, out: bytes, corrupt: slice) -> tuple[list[Action], bool]:
    """The actions for a reply under a fault, and whether the connection closes."""
    if fault is None or fault.kind == "error":
        return [Send(out)], False
    kind = fault.kind
    if kind == "latency":
        return [Send(out, delay=fault.latency_ms / 1000.0)], False
    if kind == "no_reply":
        return [], False
    if kind == "reset":
        return [Close("fault: reset", reset=True)], True
    if kind == "truncate":
        n = fault.truncate_bytes if fault.truncate_bytes is not None else len(out) // 2
        return [Send(out[: min(n, len(out) - 1)]), Close("fault: truncate")], True
    bad = bytearray(out)  # corrupt_sha1
    for i in range(corrupt.start, min(corrupt.stop, len(bad))):
        bad[i] ^= 0xA5
    return [Send(bytes(bad))], False


class Connection:
    """A TCP connection: 44-byte-header frames, optionally encrypted.

    ``feed`` buffers bytes and ``next_actions`` handles one complete frame at a
    time, so the I/O shell can stop between frames when the client does not
    read (back-pressure); ``receive_data`` does both.  ``expired`` tells the
    shell when a deadline has passed: InitConnect not done, no bytes for too
    long, or a frame started but never finished.
    """

    def __init__(
        self, gateway: Gateway, transport: str = "tcp", peer: str = "", *, now: float = 0.0, refusing: bool = False
    ) -> None:
        self.gateway = gateway
        self.session: Session = gateway.new_session(transport)
        self.processor = Processor(gateway, self.session)
        self.peer = peer
        self.decoder = FrameDecoder(gateway.config.max_body_len)
        self.aes: AesSession | None = None
        self.closed = False
        self.refusing = refusing  # over max_connections: answer with a refusal, then close
        self.pending: collections.deque[Frame | FramingError] = collections.deque()
        self.connected_at = self.last_activity = now
        self.partial_since: float | None = None
        self.relaying: dict[int, tuple[Outcome, int, int, bytes]] = {}  # token → the request awaiting the upstream
        self._tokens = itertools.count(1)

    @property
    def conn_id(self) -> int:
        return self.session.conn_id

    def feed(self, data: bytes, now: float = 0.0) -> None:
        if self.closed:
            return
        self.last_activity = now
        events = self.decoder.feed(data)
        self.pending.extend(events)
        if self.decoder.buffered and not self.decoder.broken:
            # frame_timeout times one frame: a frame completed in this chunk means
            # the buffered bytes belong to a new one, started now
            if self.partial_since is None or events:
                self.partial_since = now
        else:
            self.partial_since = None

    def next_actions(self) -> list[Action]:
        """The actions for the next buffered frame ([] when there is none)."""
        if self.closed or not self.pending:
            return []
        event = self.pending.popleft()
        if isinstance(event, FramingError):
            self.pending.clear()
            return self._framing_error(event)
        actions = self.handle_frame(event)
        if self.closed:
            self.pending.clear()
        return actions

    def receive_data(self, data: bytes, now: float = 0.0) -> list[Action]:
        self.feed(data, now)
        actions: list[Action] = []
        while self.pending and not self.closed:
            actions.extend(self.next_actions())
        return actions

    def expired(self, now: float) -> str | None:
        """Why the connection should be closed at ``now``, if it should."""
        cfg = self.gateway.config
        if self.closed:
            return None
        if cfg.init_timeout and not self.session.initialized and now - self.connected_at > cfg.init_timeout:
            return f"no InitConnect within {cfg.init_timeout:g} s"
        if cfg.frame_timeout and self.partial_since is not None and now - self.partial_since > cfg.frame_timeout:
            return f"a frame started but did not complete within {cfg.frame_timeout:g} s"
        if cfg.idle_timeout and now - self.last_activity > cfg.idle_timeout:
            return f"no bytes (not even KeepAlive) for {cfg.idle_timeout:g} s"
        return None

    def connection_lost(self) -> None:
        self.closed = True
        self.gateway.connection_closed(self.session)

    # -- one request -------------------------------------------------------
    def _inbound(self, frame: Frame) -> tuple[bytes, bool, ServerError | None, bool]:
        """(plaintext body, sha1_ok, early error, rsa_init) after decryption."""
        h = frame.header
        rsa = self.gateway.rsa
        if self.aes is not None:
            try:
                plain = self.aes.decrypt(frame.body)
            except CryptoError as exc:
                return frame.body, False, ServerError(E.DECRYPT_FAILED, proto_id=h.proto_id, detail=str(exc)), False
            return plain, hashlib.sha1(plain).digest() == h.sha1, None, False
        if h.proto_id == PROTO_INIT_CONNECT and not self.session.initialized and rsa is not None:
            if frame.sha1_ok:
                return frame.body, True, ServerError(E.ENCRYPTION_REQUIRED), False
            try:
                plain = rsa.decrypt(frame.body)
            except CryptoError as exc:
                return frame.body, False, ServerError(E.DECRYPT_FAILED, proto_id=h.proto_id, detail=str(exc)), False
            if hashlib.sha1(plain).digest() != h.sha1:
                # PKCS#1 v1.5 "implicit rejection" yields bytes, not an error, for a foreign key
                detail = "the RSA-decrypted body does not match its SHA-1: the client used another key"
                return frame.body, False, ServerError(E.DECRYPT_FAILED, proto_id=h.proto_id, detail=detail), False
            return plain, True, None, True
        return frame.body, frame.sha1_ok, None, False

    def handle_frame(self, frame: Frame) -> list[Action]:
        gw = self.gateway
        h = frame.header
        if self.aes is None and not self.refusing and frame.sha1_ok:
            data = self.processor.replay(h.proto_id, h.serial, h.fmt, frame.body, h.body_len)
            if data is not None:
                return [Send(data)]
        body, sha1_ok, early, rsa_init = self._inbound(frame)
        if self.refusing:
            limit = gw.config.max_connections
            early, rsa_init = ServerError(E.TOO_MANY_CONNECTIONS, limit=limit), False
        outcome = self.processor.process(
            h.proto_id, h.serial, h.fmt, body, h.body_len, sha1_ok=sha1_ok, early_error=early
        )
        if outcome.relay is not None:
            token = next(self._tokens)
            self.relaying[token] = (outcome, h.proto_id, h.serial, body)
            return [Relay(token, h.proto_id, outcome.reply_fmt, outcome.relay)]
        return self._reply(outcome, h.proto_id, h.serial, rsa_init, request=body)

    def _reply(
        self, outcome: Outcome, proto_id: int, serial: int, rsa_init: bool = False, request: bytes | None = None
    ) -> list[Action]:
        """Encode, encrypt, frame, apply the fault, journal: the actions for one reply
        (kept in the reply cache when its handler allows and ``request`` is given)."""
        gw = self.gateway
        plaintext = outcome.encode(gw.lang)
        wire = plaintext
        if self.aes is not None:
            wire = self.aes.encrypt(plaintext)
        elif rsa_init and outcome.entry.error is None:
            # a successful encrypted InitConnect: RSA reply if asked, then AES from here on
            new_aes = self.session.notes.pop("aes", None)
            if self.session.enc_algo != -1 and gw.rsa is not None:
                wire = gw.rsa.encrypt(plaintext)
                self.aes = new_aes
                outcome.entry.extra["encryption"] = new_aes.mode if new_aes else None
        out = encode_frame(proto_id, serial, wire, fmt=outcome.reply_fmt, plaintext=plaintext)
        actions, closing = apply_fault(outcome.fault, out, slice(16, 36))
        if self.refusing and not closing:
            actions.append(Close("too many connections"))
            closing = True
        if outcome.pushes and not closing:
            actions.extend(self._stub_pushes(outcome))
        self.closed = self.closed or closing
        self.processor.finish(outcome)
        reusable = outcome.cache is not None and request is not None and not outcome.pushes
        if reusable and not closing and wire is plaintext:
            self._keep(outcome, proto_id, request, out)  # after finish: the entry is complete
        return actions

    def _keep(self, outcome: Outcome, proto_id: int, request: bytes, frame: bytes) -> None:
        """Put a plaintext reply frame in the reply cache (``outcome.cache`` is only set
        for a successful, fault-free reply)."""
        entry = outcome.entry
        assert outcome.cache is not None and outcome.spec is not None
        until, counted, state = outcome.cache
        kept = CachedReply(
            frame, outcome.spec, state, until, counted, entry.request, entry.rows, entry.next_key, entry.cost or None
        )
        self.gateway.replies.put(proto_id, outcome.reply_fmt, request, kept)

    def _stub_pushes(self, outcome: Outcome) -> list[Action]:
        out: list[Action] = []
        for p in outcome.pushes:
            fmt, body = push_body(p, self.session.push_fmt)
            frame = self._frame(p.proto_id, p.serial, fmt, body)
            out.append(Send(frame, delay=p.after_ms / 1000.0, aside=True))
        outcome.entry.extra["pushes"] = len(outcome.pushes)
        return out

    def _frame(self, proto_id: int, serial: int, fmt: int, plaintext: bytes) -> bytes:
        wire = self.aes.encrypt(plaintext) if self.aes is not None else plaintext
        return encode_frame(proto_id, serial, wire, fmt=fmt, plaintext=plaintext)

    # -- relayed requests and upstream pushes (the I/O shell calls these) -------------------------
    def relay_done(self, token: int, result: Any) -> list[Action]:
        """The actions for a relayed request once the upstream answered (or failed to)."""
        pending = self.relaying.pop(token, None)
        if pending is None or self.closed:
            return []
        outcome, proto_id, serial, request = pending
        settle_relayed(self.processor, outcome, proto_id, request, result)
        return self._reply(outcome, proto_id, serial)

    def push(self, proto_id: int, serial: int, fmt: int, body: bytes, secrets: tuple[Any, ...] = ()) -> list[Action]:
        """Forward a push the upstream sent (plaintext ``body``), and journal it."""
        if self.closed:
            return []
        journal_push(self.processor, proto_id, serial, fmt, body, secrets)
        return [Send(self._frame(proto_id, serial, fmt, body))]

    # -- broken stream -------------------------------------------------------
    def _framing_error(self, event: FramingError) -> list[Action]:
        gw = self.gateway
        h = event.header
        if event.kind == "bad_magic":
            err, text = E.BAD_MAGIC, E.BAD_MAGIC.render(gw.lang, magic=show_magic(h.magic))
        else:
            err = E.BODY_TOO_LARGE
            text = err.render(gw.lang, body_len=h.body_len, limit=gw.config.max_body_len)
        msg = error_message(self.processor.protocols.get(h.proto_id), err, text)
        fmt = FMT_NAMES.get(h.fmt, f"unknown({h.fmt})")
        self.processor.record_unparsed(h.proto_id, h.serial, fmt, h.body_len, err, text, sha1_ok=False)
        self.closed = True
        plaintext = msg.SerializeToString()
        wire = self.aes.encrypt(plaintext) if self.aes is not None else plaintext
        return [Send(encode_frame(h.proto_id, h.serial, wire, plaintext=plaintext)), Close(err.name)]
