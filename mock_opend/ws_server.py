"""The WebSocket endpoint's I/O shell (aiohttp): messages to ``WsConnection``
and its actions back, in order, on the server's event loop.

Bounded like the TCP port: the upgrade must arrive within ``http_timeout``
(the guard), Init within ``init_timeout`` of connecting, a pong within
``ws_heartbeat`` of each ping, and each reply must be taken by the client
within ``send_timeout``; a connection past any of these is aborted and its
slot freed at once.  Delayed replies are awaited before the next message is
read, so a latency fault cannot pile replies up.
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
from .connection import Close, Send
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
        started = time.monotonic()
        log.debug("ws connect", extra={"conn": conn.conn_id, "peer": str(request.remote)})
        try:
            while not conn.closed:
                wait = None
                if config.init_timeout and not conn.session.initialized:
                    wait = config.init_timeout - (time.monotonic() - started)
                    if wait <= 0:
                        log.warning("closing connection", extra={"conn": conn.conn_id, "reason": "no Init in time"})
                        _abort(request)
                        break
                try:
                    msg = await ws.receive(timeout=wait)
                except TimeoutError:
                    continue  # the loop checks the Init deadline
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                for action in conn.receive_message(msg.data):
                    if isinstance(action, Send):
                        if action.delay > 0:
                            await asyncio.sleep(action.delay)
                        try:
                            await asyncio.wait_for(ws.send_bytes(action.data), config.send_timeout or None)
                        except TimeoutError:
                            log.warning(
                                "closing connection", extra={"conn": conn.conn_id, "reason": "replies not read"}
                            )
                            _abort(request)
                            conn.closed = True
                            break
                    elif isinstance(action, Close):
                        if action.reset:
                            _abort(request, reset=True)
                        else:
                            await ws.close(code=1008, message=action.reason.encode()[:120])
                        break
        except (ConnectionError, RuntimeError):
            _abort(request)
        finally:
            conn.connection_lost()
            live.discard(ws)
            log.debug("ws disconnect", extra={"conn": conn.conn_id})
        return ws

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
