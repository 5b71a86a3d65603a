"""The asyncio shell around ``UpstreamLink``: one client connection's link to
the upstream OpenD.

The link opens on the first request that has to go upstream, does its own
InitConnect and KeepAlive, and relays requests under its own serials.  Every
wait is bounded by ``upstream_timeout``: connecting and InitConnect together,
and each reply.  A link that drops fails what is in flight at once (the client
gets an error reply for each) and is opened again by the next request.  Pushes
are handed to ``on_push``; while the client does not read, the link stops
reading the upstream, so pushes pile up there rather than here.
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


@dataclass(frozen=True, slots=True)
class RelayFailure:
    spec: ErrorSpec
    params: dict[str, Any] = field(default_factory=dict)


class _Fail(Exception):
    def __init__(self, failure: RelayFailure) -> None:
        self.failure = failure


class _LinkProtocol(asyncio.Protocol):
    """The socket of one link; a new one for every (re)connection."""

    def __init__(self, relay: Relay, link: UpstreamLink) -> None:
        self.relay = relay
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
                self.relay._reply(event)
            elif isinstance(event, Push):
                self.relay.on_push(event)
            elif isinstance(event, Broken):
                self._fail(event.reason)
                if self.transport is not None:
                    self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(self.link.broken or (f"closed: {exc}" if exc else "closed by the upstream"))

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
            self.ready.exception()  # retrieved: nobody may be waiting any more
        self.relay._lost(self, reason)


class Relay:
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
        self._proto: _LinkProtocol | None = None
        self._pending: dict[tuple[int, int], asyncio.Future[Relayed | RelayFailure]] = {}
        self._lock = asyncio.Lock()
        self._keep_alive: asyncio.Task[None] | None = None
        self._paused = False
        self._closed = False
        self.server_ver = 0
        self.secrets: tuple[str | int, ...] = ()

    @property
    def inflight(self) -> int:
        return len(self._pending)

    async def call(self, proto_id: int, fmt: int, body: bytes) -> Relayed | RelayFailure:
        """Relay one request; the upstream's reply or why there is none."""
        s = self.settings
        deadline = time.monotonic() + s.timeout
        try:
            proto = await self._ensure(proto_id, deadline)
        except _Fail as exc:
            return exc.failure
        link = proto.link
        serial, frame = link.request(proto_id, fmt, body)
        fut: asyncio.Future[Relayed | RelayFailure] = asyncio.get_running_loop().create_future()
        self._pending[(proto_id, serial)] = fut
        assert proto.transport is not None
        proto.transport.write(frame)
        try:
            return await asyncio.wait_for(fut, max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return RelayFailure(
                E.UPSTREAM_TIMEOUT, {"upstream": s.address, "timeout": f"{s.timeout:g}", "proto": label(proto_id)}
            )
        finally:
            self._pending.pop((proto_id, serial), None)

    async def _ensure(self, proto_id: int, deadline: float) -> _LinkProtocol:
        s = self.settings

        def fail(detail: str) -> _Fail:
            return _Fail(
                RelayFailure(
                    E.UPSTREAM_UNREACHABLE, {"upstream": s.address, "detail": detail, "proto": label(proto_id)}
                )
            )

        if self._closed:
            raise fail("the client connection is closing")
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                async with self._lock:
                    proto = self._proto
                    if proto is not None and not proto.lost and proto.ready.done() and not proto.ready.exception():
                        return proto
                    loop = asyncio.get_running_loop()
                    link = UpstreamLink(rsa=s.rsa, push_fmt=self.push_fmt, language=self.language)
                    try:
                        _, proto = await loop.create_connection(lambda: _LinkProtocol(self, link), s.host, s.port)
                    except OSError as exc:
                        raise fail(exc.strerror or str(exc)) from None
                    self._proto = proto
                    assert proto.transport is not None
                    if self._paused:
                        proto.transport.pause_reading()
                    proto.transport.write(link.init_connect())
                    try:
                        ready = await asyncio.shield(proto.ready)
                    except ConnectionError as exc:
                        raise fail(str(exc)) from None
                    self.server_ver = ready.server_ver
                    self.secrets = tuple(dict.fromkeys((*self.secrets, *ready.secrets)))[-32:]
                    self._start_keep_alive(proto, ready.keep_alive_interval)
                    log.info("upstream link ready", extra={"upstream": s.address, "upstream_conn": ready.conn_id})
                    return proto
        except TimeoutError:
            if self._proto is not None and self._proto.transport is not None and not self._proto.ready.done():
                self._proto.transport.abort()
            raise fail(f"no connection and InitConnect within {s.timeout:g} s") from None

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

    # -- called by the link's protocol -----------------------------------------------------
    def _reply(self, event: Reply) -> None:
        fut = self._pending.get((event.proto_id, event.serial))
        if fut is None or fut.done():
            log.debug("late or unknown upstream reply dropped", extra={"proto": event.proto_id, "serial": event.serial})
            return
        fut.set_result(Relayed(event.body, self.server_ver, self.secrets))

    def _lost(self, proto: _LinkProtocol, reason: str) -> None:
        if proto is not self._proto:
            return
        if self._keep_alive is not None:
            self._keep_alive.cancel()
            self._keep_alive = None
        if not self._closed:
            log.warning("upstream link lost", extra={"upstream": self.settings.address, "reason": reason})
        for (proto_id, _), fut in list(self._pending.items()):
            if not fut.done():
                params = {"upstream": self.settings.address, "detail": reason, "proto": label(proto_id)}
                fut.set_result(RelayFailure(E.UPSTREAM_LOST, params))

    # -- back-pressure and the end ------------------------------------------------------------
    def pause_reading(self) -> None:
        self._paused = True
        if self._proto is not None and self._proto.transport is not None and not self._proto.lost:
            self._proto.transport.pause_reading()

    def resume_reading(self) -> None:
        self._paused = False
        if self._proto is not None and self._proto.transport is not None and not self._proto.lost:
            with contextlib.suppress(RuntimeError):
                self._proto.transport.resume_reading()

    def close(self) -> None:
        self._closed = True
        if self._keep_alive is not None:
            self._keep_alive.cancel()
            self._keep_alive = None
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.abort()
