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
    gateway: Gateway, config: Config, host: str, port: int, pool: SlotPool, live: set[Any], tcp_port: int
) -> tuple[Any, int]:
    """Serve the JS SDK's protocol; ``live`` holds the open WebSockets (for a
    graceful stop), ``pool`` the connection slots shared with the TCP port."""
    max_msg = config.max_body_len + 64
    heartbeat = config.ws_heartbeat or None

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
        relay: Any = None
        pushing: set[asyncio.Task[Any]] = set()

        async def perform(actions: list[Any]) -> bool:
            """Do the actions in order; False once the connection is done."""
            nonlocal relay
            for action in actions:
                if isinstance(action, Send):
                    if action.delay > 0:
                        await asyncio.sleep(action.delay)
                    try:
                        await asyncio.wait_for(ws.send_bytes(action.data), config.send_timeout or None)
                    except TimeoutError:
                        log.warning("closing connection", extra={"conn": conn.conn_id, "reason": "replies not read"})
                        _abort(request)
                        conn.closed = True
                        return False
                elif isinstance(action, Relay):  # one at a time per WebSocket: the reply is awaited here
                    if relay is None:
                        relay = make_relay(conn, on_push)
                    result = await relay.call(action.proto_id, action.fmt, action.body)
                    if not await perform(conn.relay_done(action.token, result)):
                        return False
                elif isinstance(action, Close):
                    if action.reset:
                        _abort(request, reset=True)
                    else:
                        await ws.close(code=1008, message=action.reason.encode()[:120])
                    return False
            return True

        def on_push(event: Any) -> None:
            if conn.closed or len(pushing) >= 256:  # a client this far behind loses pushes, not memory
                return
            task = asyncio.get_running_loop().create_task(
                perform(conn.push(event.proto_id, event.serial, event.fmt, event.body, relay.secrets))
            )
            pushing.add(task)
            task.add_done_callback(pushing.discard)

        try:
            while not conn.closed:
                msg = await ws.receive()
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                if not await perform(conn.receive_message(msg.data)):
                    break
        except (ConnectionError, RuntimeError):
            _abort(request)
        finally:
            dog.cancel()
            if relay is not None:
                relay.close()
            for task in list(pushing):
                task.cancel()
            conn.connection_lost()
            live.discard(ws)
            log.debug("ws disconnect", extra={"conn": conn.conn_id})
        return ws

    def make_relay(conn: WsConnection, on_push: Any) -> Any:
        from .relay import Relay as UpstreamRelay

        return UpstreamRelay(gateway.upstream, on_push, push_fmt=0, language=conn.session.language or "JavaScript")

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
    return await serve(server, host, port)
