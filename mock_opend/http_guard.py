"""Limits for the two HTTP ports (admin API, WebSocket endpoint): how many
connections a port holds and how long a connection may take to deliver a
request.

aiohttp bounds the size of a request but not the time a peer takes to send
it, nor the number of peers: a thousand half-sent requests would hold a
thousand sockets for ever.  ``GuardedServer`` is aiohttp's low-level
``web.Server`` with connection accounting: every connection takes a slot from
a ``SlotPool`` (shared with the TCP port where the limit is shared), a
connection over the pool's hard cap is aborted at once, and a sweeper aborts a
connection that has not delivered a whole request within ``http_timeout`` of
connecting or of its previous reply.  A request in progress (an open
WebSocket, a handler running) is the handler's to bound.

On the WebSocket port it also notices an OpenD *TCP* client (its frames start
with ``FT``) and says so in the log, instead of the silent HTTP 400 that makes
an SDK retry for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from .slot_pool import SlotPool

log = logging.getLogger("mock_opend")


@dataclass(slots=True)
class _Track:
    since: float  # connect time, or the end of the last request
    busy: int = 0  # requests being handled (an open WebSocket counts for its life)
    peer: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class _GuardedHandler(RequestHandler):
    """aiohttp's per-connection protocol, looking at the first bytes once."""

    def __init__(self, *args: Any, sniff: Callable[[RequestHandler, bytes], bool] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._sniff = sniff

    def data_received(self, data: bytes) -> None:
        sniff, self._sniff = self._sniff, None
        if sniff is not None and sniff(self, data):
            return
        check = getattr(self, "frame_check", None)  # set once a WebSocket is open
        if check is not None and not check(data):
            if self.transport is not None:
                self.transport.abort()
            return
        super().data_received(data)


class GuardedServer(web.Server):
    def __init__(
        self,
        handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
        *,
        pool: SlotPool,
        timeout: float,
        name: str,
        sniff: Callable[[RequestHandler, bytes], bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(self._wrap(handler), **kwargs)
        self.pool = pool
        self.timeout = timeout
        self.name = name
        self._sniff = sniff
        self._tracks: dict[Any, _Track] = {}  # transport -> its track
        self._sweeper: asyncio.Task[None] | None = None

    def __call__(self) -> RequestHandler:
        return _GuardedHandler(self, loop=self._loop, sniff=self._sniff, **self._kwargs)

    def _wrap(
        self, handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
        async def guarded(request: web.BaseRequest) -> web.StreamResponse:
            track = self._tracks.get(request.transport)
            if track is not None:
                track.busy += 1
            try:
                return await handler(request)
            finally:
                if track is not None:
                    track.busy -= 1
                    track.since = time.monotonic()

        return guarded

    # -- accounting -------------------------------------------------------------
    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if not self.pool.take():
            self.pool.note_abort(self.name)
            # after aiohttp has started its handler task, so that it sees the connection end
            asyncio.get_running_loop().call_soon(transport.abort)
            return
        peer = transport.get_extra_info("peername")
        self._tracks[transport] = _Track(time.monotonic(), peer=str(peer))
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        transport = self._connections.get(handler)
        super().connection_lost(handler, exc)
        if transport is not None and self._tracks.pop(transport, None) is not None:
            self.pool.give_back()

    @property
    def held(self) -> int:
        return len(self._tracks)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(min(0.5, self.timeout / 4))
            now = time.monotonic()
            for transport, track in list(self._tracks.items()):
                if track.busy == 0 and now - track.since > self.timeout:
                    log.warning(
                        "closing HTTP connection: no whole request in time",
                        extra={"port": self.name, "peer": track.peer, "seconds": self.timeout},
                    )
                    self._tracks.pop(transport, None)
                    self.pool.give_back()
                    transport.abort()

    async def shutdown(self, timeout: float | None = None) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await super().shutdown(timeout)


async def serve(
    server: GuardedServer, host: str, port: int, sock: socket.socket | None = None
) -> tuple[web.BaseRunner, int]:
    """Listen with a guarded low-level server (on ``sock`` when it is already bound
    and listening); (runner to clean up, bound port)."""
    runner = web.ServerRunner(server, access_log=None, handle_signals=False)
    await runner.setup()
    site: web.BaseSite
    if sock is not None:
        site = web.SockSite(runner, sock)
    else:
        site = web.TCPSite(runner, host, port, reuse_address=True, backlog=128)  # server.LISTEN_BACKLOG
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise OSError(exc.errno, f"{server.name} port {port}: {exc.strerror or exc}") from None  # which port clashed
    return runner, runner.addresses[0][1]
