"""The WebSocket endpoint's I/O shell (aiohttp): messages to ``WsConnection``
and its actions back, in order, on the server's event loop.

Bounded like the TCP port: the upgrade must arrive within ``http_timeout``
(the guard), Init within ``init_timeout`` of connecting (pings do not count),
a pong within ``ws_heartbeat`` of each ping, and what the server writes —
replies, pongs — must be taken by the client within ``send_timeout``; a
connection past any of these is aborted and its slot freed at once.  Delayed
replies are awaited before the next message is read, so a latency fault cannot
pile replies up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.web_protocol import RequestHandler

from .config import Config
from .connection import Close, Relay, Send
from .gateway import Gateway
from .http_guard import GuardedServer, SlotPool, serve
from .ws_protocol import MaskCheck, WsConnection

log = logging.getLogger("mock_opend")
OUT_BACKLOG = 256  # action lists queued for one WebSocket before its upstream link stops being read


def _size(actions: list[Any]) -> int:
    """Bytes an action list will write (what a WebSocket's queue holds)."""
    return sum(len(a.data) for a in actions if isinstance(a, Send))


def _abort(request: web.BaseRequest, reset: bool = False) -> None:
    transport = request.transport
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _watchdog(request: web.BaseRequest, conn: WsConnection, config: Config) -> None:
    """The WebSocket's deadlines, kept apart from reading (aiohttp answers pings
    inside ``receive``, so a deadline there would restart with every ping): no
    Init within ``init_timeout`` of connecting, or a write buffer that stays
    non-empty for ``send_timeout`` (replies, pongs or a heartbeat close the
    client never takes), aborts the connection."""
    started = time.monotonic()
    stalled_since: float | None = None
    while True:
        await asyncio.sleep(0.25)
        transport = request.transport
        if transport is None or (transport.is_closing() and transport.get_write_buffer_size() == 0):
            return
        now = time.monotonic()
        reason = None
        if config.init_timeout and not conn.session.initialized and now - started > config.init_timeout:
            reason = f"no Init within {config.init_timeout:g} s"
        if transport.get_write_buffer_size() > 0:
            stalled_since = stalled_since or now
            if config.send_timeout and now - stalled_since > config.send_timeout:
                reason = f"replies left unread for {config.send_timeout:g} s"
        else:
            stalled_since = None
        if reason is not None:
            log.warning("closing connection", extra={"conn": conn.conn_id, "reason": reason})
            conn.closed = True
            _abort(request)
            return


async def start_ws_site(
    gateway: Gateway,
    config: Config,
    host: str,
    port: int,
    pool: SlotPool,
    live: set[Any],
    tcp_port: int,
    sock: socket.socket | None = None,
) -> tuple[Any, int]:
    """Serve the JS SDK's protocol; ``live`` holds the open WebSockets (for a
    graceful stop), ``pool`` the connection slots shared with the TCP port."""
    max_msg = config.max_body_len + 64
    heartbeat = config.ws_heartbeat or None
    push_budget = gateway.push_budget

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=max_msg, autoping=True, heartbeat=heartbeat)
        await ws.prepare(request)
        conn = WsConnection(gateway, str(request.remote), refusing=pool.over)
        masks = MaskCheck()

        def frame_check(data: bytes) -> bool:
            if masks.feed(data):
                return True
            log.warning("closing connection", extra={"conn": conn.conn_id, "reason": "unmasked client frame"})
            return False

        request.protocol.frame_check = frame_check  # type: ignore[attr-defined]  # read by the guard
        live.add(ws)
        log.debug("ws connect", extra={"conn": conn.conn_id, "peer": str(request.remote)})
        dog = asyncio.get_running_loop().create_task(_watchdog(request, conn, config))
        # Everything written goes through one queue and one writer, in the order it is
        # produced: a relayed reply and the pushes after it arrive by callbacks, in order.
        out: asyncio.Queue[list[Any]] = asyncio.Queue()
        link: Any = None
        inflight = 0
        room = asyncio.Event()
        room.set()
        limit = config.upstream_max_inflight

        queued = [0]  # bytes in ``out``: with the count, what holds the upstream link back
        budget = 4 * config.write_buffer_limit

        def deliver(actions: list[Any]) -> None:
            if actions:
                queued[0] += _size(actions)
                out.put_nowait(actions)
                if link is not None and (out.qsize() > OUT_BACKLOG or queued[0] > budget):
                    link.pause_reading()  # far behind: pushes wait at the upstream

        def relayed(token: int, result: Any) -> None:
            nonlocal inflight
            inflight -= 1
            room.set()
            deliver(conn.relay_done(token, result))

        def on_push(event: Any) -> None:
            deliver(conn.push(event.proto_id, event.serial, event.fmt, event.body, link.secrets))

        def dispatch(actions: list[Any]) -> None:
            nonlocal link, inflight
            rest = []
            for action in actions:
                if isinstance(action, Relay):
                    if link is None:
                        link = make_link(conn, on_push)
                    inflight += 1
                    if inflight >= limit:
                        room.clear()
                    token = action.token
                    link.request(action.proto_id, action.fmt, action.body, lambda r, t=token: relayed(t, r))
                else:
                    rest.append(action)
            deliver(rest)

        async def perform(actions: list[Any]) -> bool:
            """Do the actions in order; False once the connection is done."""
            for action in actions:
                if isinstance(action, Send):
                    if action.aside and action.delay > 0:
                        set_aside(action)
                        continue
                    if action.delay > 0:
                        await asyncio.sleep(action.delay)
                    try:
                        await asyncio.wait_for(ws.send_bytes(action.data), config.send_timeout or None)
                    except TimeoutError:
                        log.warning("closing connection", extra={"conn": conn.conn_id, "reason": "replies not read"})
                        _abort(request)
                        return False
                elif isinstance(action, Close):
                    if action.reset:
                        _abort(request, reset=True)
                    else:
                        await ws.close(code=1008, message=action.reason.encode()[:120])
                    return False
            return True

        aside: set[asyncio.TimerHandle] = set()
        aside_bytes = [0]

        def set_aside(action: Send) -> None:
            """A stub's push, queued for the writer when its offset comes (it never holds a
            reply); at most 4 x write_buffer_limit waiting, more are dropped."""
            size = push_budget.cost(action.data)
            if not push_budget.take(size, aside_bytes[0]):
                return
            aside_bytes[0] += size
            handle: asyncio.TimerHandle | None = None

            def due() -> None:
                aside.discard(handle)  # type: ignore[arg-type]
                aside_bytes[0] -= size
                push_budget.give(size)
                if not conn.closed:
                    deliver([Send(action.data)])

            handle = asyncio.get_running_loop().call_later(action.delay, due)
            aside.add(handle)

        async def writer() -> None:
            while True:
                actions = await out.get()
                ok = await perform(actions)
                queued[0] -= _size(actions)
                out.task_done()
                if not ok:
                    conn.closed = True
                    return
                if link is not None and link.paused and out.qsize() < OUT_BACKLOG // 2 and queued[0] < budget // 2:
                    link.resume_reading()

        writing = asyncio.get_running_loop().create_task(writer())
        try:
            while not conn.closed:
                if not room.is_set():  # enough relayed requests in flight: read no more until one returns
                    await room.wait()
                    continue
                msg = await ws.receive()
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                dispatch(conn.receive_message(msg.data))
                # what this message produced is written (delays included) before the next is read,
                # so a latency fault cannot pile replies up; relayed replies come when they come
                done_writing = asyncio.ensure_future(out.join())
                await asyncio.wait([done_writing, writing], return_when=asyncio.FIRST_COMPLETED)
                done_writing.cancel()
                if writing.done():
                    break
        except (ConnectionError, RuntimeError):
            _abort(request)
        finally:
            dog.cancel()
            if link is not None:
                link.close()
            if not out.empty() and not writing.done() and not conn.closed:
                with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
                    await asyncio.wait_for(out.join(), 1.0)  # replies owed (relay failures), briefly
            writing.cancel()
            for handle in aside:
                handle.cancel()
            aside.clear()
            if aside_bytes[0]:
                push_budget.give(aside_bytes[0])
            conn.connection_lost()
            live.discard(ws)
            log.debug("ws disconnect", extra={"conn": conn.conn_id})
        return ws

    def make_link(conn: WsConnection, on_push: Any) -> Any:
        from .relay import Link

        return Link(gateway.upstream, on_push, push_fmt=0, language=conn.session.language or "JavaScript")

    def sniff(handler: RequestHandler, data: bytes) -> bool:
        """An OpenD TCP client (frames start with 'FT') on this port: say where to go."""
        if data[:2] != b"FT":
            return False
        log.warning(
            "an OpenD TCP client connected to the WebSocket port; point it at the TCP port",
            extra={"tcp_port": tcp_port},
        )
        if handler.transport is not None:
            handler.transport.abort()
        return True

    server = GuardedServer(handle, pool=pool, timeout=config.http_timeout, name="WebSocket", sniff=sniff)
    return await serve(server, host, port, sock)
