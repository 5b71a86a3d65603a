"""The asyncio shell around ``UpstreamLink``: one client connection's link to
the upstream OpenD.

The link opens on the first request that has to go upstream, does its own
InitConnect and KeepAlive, and relays requests under its own serials.  Replies
and pushes are handed over by callbacks, synchronously and in the order the
upstream sent them, so a push never overtakes the reply to the request that
caused it.  Every wait is bounded by ``upstream_timeout``: connecting
(connect + InitConnect), and then each reply from the moment its request is
sent.  A link that drops fails what is in flight at once (each gets an error
reply) and is opened again by the next request.  ``pause_reading`` lets the
I/O shell stop reading the upstream while its client is far behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import errors as E
from .crypto import RsaKey
from .errors import ErrorSpec
from .proto_ids import label
from .upstream import Broken, Push, Ready, Reply, UpstreamLink

log = logging.getLogger("mock_opend.upstream")
MAX_SECRETS = 64  # ids and keys a client's link remembers over its reconnects, newest first


MAX_REASON = 200  # characters of an upstream's own words (an InitConnect refusal) kept in a reason


def said(reason: str, secrets: tuple[str | int, ...]) -> str:
    """A reason as the log, the journal and the client's error text carry it: the
    link's ids and keys hidden, cut to MAX_REASON characters."""
    from .redact import shown

    return shown(reason, secrets, MAX_REASON)


def remembered(kept: tuple[str | int, ...], new: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The ids and keys a link keeps over its reconnects: the newest first, at most
    MAX_SECRETS, so that the account's loginUserID (in every link's InitConnect) is
    never the one cut off, however many connIDs and AES keys came and went."""
    return tuple(dict.fromkeys((*new, *kept)))[:MAX_SECRETS]


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    host: str
    port: int
    rsa: RsaKey | None = None
    timeout: float = 10.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Relayed:
    """The upstream's reply, plaintext, in the request's body format."""

    body: bytes
    server_ver: int
    secrets: tuple[str | int, ...] = ()  # the link's ids and keys, which recordings must not hold
    fmt: int = 0  # the upstream reply frame's format byte: the client gets the same


@dataclass(frozen=True, slots=True)
class RelayFailure:
    spec: ErrorSpec
    params: dict[str, Any] = field(default_factory=dict)


Done = Callable[[Relayed | RelayFailure], None]


def _ignore(event: Push) -> None:
    """What a closed link does with a push."""


class _LinkProtocol(asyncio.Protocol):
    """The socket of one link; a new one for every (re)connection."""

    def __init__(self, owner: Link, link: UpstreamLink) -> None:
        self.owner: Link | None = owner  # None once lost: no reference cycle outlives the socket
        self.link = link
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[Ready] = asyncio.get_running_loop().create_future()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        for event in self.link.feed(data):
            if isinstance(event, Ready):
                if not self.ready.done():
                    self.ready.set_result(event)
            elif isinstance(event, Reply):
                if self.owner is not None:
                    self.owner._reply(event)
            elif isinstance(event, Push):
                if self.owner is not None:
                    self.owner._push(event)
            elif isinstance(event, Broken):
                self._fail(event.reason)
                if self.transport is not None:
                    self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(self.link.broken or (f"closed: {exc}" if exc else "closed by the upstream"))
        self.owner = None
        self.link.decoder.reset()  # a half frame held (up to 16 MiB) goes now, not when a collector runs

    def _fail(self, reason: str) -> None:
        reason = said(reason, self.owner.secrets if self.owner is not None else ())
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
            self.ready.exception()  # retrieved: nobody may be waiting any more
        if self.owner is not None:
            self.owner._lost(self, reason)


@dataclass(slots=True)
class _Pending:
    proto_id: int
    done: Done
    timer: asyncio.TimerHandle | None = None


class Link:
    """One client connection's link to the upstream OpenD."""

    def __init__(
        self,
        settings: UpstreamSettings,
        on_push: Callable[[Push], None],
        *,
        push_fmt: int = 0,
        language: str = "Python",
    ) -> None:
        self.settings = settings
        self.on_push = on_push
        self.push_fmt = push_fmt
        self.language = language
        self.server_ver = 0
        self.secrets: tuple[str | int, ...] = ()
        self._proto: _LinkProtocol | None = None
        self._pending: dict[tuple[int, int], _Pending] = {}
        self._waiting: list[tuple[int, int, bytes, Done]] = []  # requests made while connecting
        self._connecting: asyncio.Task[None] | None = None
        self._keep_alive: asyncio.Task[None] | None = None
        self._paused = False
        self._closed = False

    # -- requests ------------------------------------------------------------------------
    def request(self, proto_id: int, fmt: int, body: bytes, done: Done) -> None:
        """Relay one request; ``done`` gets the reply or why there is none (exactly once)."""
        if self._closed:
            done(self._unreachable(proto_id, "the client connection is closing"))
            return
        proto = self._proto
        # while a connect is settling, requests queue behind the ones already waiting: the link
        # can be ready a loop iteration before _connect resumes to send those, in order
        settled = self._connecting is None and not self._waiting
        if settled and proto is not None and not proto.lost and proto.ready.done() and proto.ready.exception() is None:
            self._send(proto, proto_id, fmt, body, done)
            return
        self._waiting.append((proto_id, fmt, body, done))
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_task(self._connect())

    def _send(self, proto: _LinkProtocol, proto_id: int, fmt: int, body: bytes, done: Done) -> None:
        serial, frame = proto.link.request(proto_id, fmt, body)
        key = (proto_id, serial)
        pending = _Pending(proto_id, done)
        pending.timer = asyncio.get_running_loop().call_later(self.settings.timeout, self._timed_out, key)
        self._pending[key] = pending
        assert proto.transport is not None
        proto.transport.write(frame)

    async def _connect(self) -> None:
        s = self.settings
        reason = ""
        try:
            async with asyncio.timeout(s.timeout):
                link = UpstreamLink(rsa=s.rsa, push_fmt=self.push_fmt, language=self.language)
                loop = asyncio.get_running_loop()
                _, proto = await loop.create_connection(lambda: _LinkProtocol(self, link), s.host, s.port)
                self._proto = proto
                assert proto.transport is not None
                if self._paused:
                    proto.transport.pause_reading()
                proto.transport.write(link.init_connect())
                ready = await asyncio.shield(proto.ready)
        except TimeoutError:
            reason = f"no connection and InitConnect within {s.timeout:g} s"
        except OSError as exc:  # refused, unreachable; ConnectionError from a broken InitConnect too
            reason = exc.strerror or str(exc)
        finally:
            self._connecting = None
        waiting, self._waiting = self._waiting, []
        if reason:
            if self._proto is not None and self._proto.transport is not None and not self._proto.ready.done():
                self._proto.transport.abort()
            for proto_id, _, _, done in waiting:
                done(self._unreachable(proto_id, reason))
            return
        self.server_ver = ready.server_ver
        self.secrets = remembered(self.secrets, ready.secrets)
        self._start_keep_alive(proto, ready.keep_alive_interval)
        log.info("upstream link ready", extra={"upstream": s.address, "server_ver": ready.server_ver})  # no ids
        for proto_id, fmt, body, done in waiting:
            self.request(proto_id, fmt, body, done)

    def _unreachable(self, proto_id: int, detail: str) -> RelayFailure:
        params = {"upstream": self.settings.address, "detail": detail, "proto": label(proto_id)}
        return RelayFailure(E.UPSTREAM_UNREACHABLE, params)

    def _start_keep_alive(self, proto: _LinkProtocol, interval: int) -> None:
        if self._keep_alive is not None:
            self._keep_alive.cancel()
        period = max(1.0, 0.8 * interval) if interval > 0 else 8.0

        async def beat() -> None:
            while not proto.lost:
                await asyncio.sleep(period)
                if proto.transport is None or proto.transport.is_closing():
                    return
                proto.transport.write(proto.link.keep_alive(int(time.time())))

        self._keep_alive = asyncio.get_running_loop().create_task(beat())

    # -- what the upstream does ------------------------------------------------------------
    def _reply(self, event: Reply) -> None:
        pending = self._pending.pop((event.proto_id, event.serial), None)
        if pending is None:
            log.debug("late or unknown upstream reply dropped", extra={"proto": event.proto_id, "serial": event.serial})
            return
        if pending.timer is not None:
            pending.timer.cancel()
        pending.done(Relayed(event.body, self.server_ver, self.secrets, event.fmt))

    def _push(self, event: Push) -> None:
        if not self._closed:
            self.on_push(event)

    def _timed_out(self, key: tuple[int, int]) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        s = self.settings
        params = {"upstream": s.address, "timeout": f"{s.timeout:g}", "proto": label(pending.proto_id)}
        pending.done(RelayFailure(E.UPSTREAM_TIMEOUT, params))
        proto = self._proto
        if proto is not None and proto.link.decoder.buffered and proto.transport is not None:
            # a reply is stuck half-way: drop the link (and what it holds); the next request reconnects
            proto.transport.abort()

    def _lost(self, proto: _LinkProtocol, reason: str) -> None:
        if proto is not self._proto:
            return
        self._proto = None  # the next request connects again
        if self._keep_alive is not None:
            self._keep_alive.cancel()
            self._keep_alive = None
        if not self._closed:
            log.warning("upstream link lost", extra={"upstream": self.settings.address, "reason": reason})
        self._fail_pending(reason)

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for p in pending.values():
            if p.timer is not None:
                p.timer.cancel()
            params = {"upstream": self.settings.address, "detail": reason, "proto": label(p.proto_id)}
            p.done(RelayFailure(E.UPSTREAM_LOST, params))

    # -- back-pressure and the end ------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def pause_reading(self) -> None:
        self._paused = True
        if self._proto is not None and self._proto.transport is not None and not self._proto.lost:
            self._proto.transport.pause_reading()

    def resume_reading(self) -> None:
        self._paused = False
        if self._proto is not None and self._proto.transport is not None and not self._proto.lost:
            with contextlib.suppress(RuntimeError):
                self._proto.transport.resume_reading()

    def close(self, reason: str = "the client connection closed") -> None:
        """Fail what is in flight (``done`` is called for each), then drop the link."""
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        waiting, self._waiting = self._waiting, []
        for proto_id, _, _, done in waiting:
            done(self._unreachable(proto_id, reason))
        self._fail_pending(reason)
        if self._keep_alive is not None:
            self._keep_alive.cancel()
            self._keep_alive = None
        proto, self._proto = self._proto, None
        if proto is not None:
            proto.owner = None
            if proto.transport is not None:
                proto.transport.abort()
        self.on_push = _ignore  # the client's callback (a closure over this link) is let go
