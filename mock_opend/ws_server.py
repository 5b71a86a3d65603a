"""The WebSocket endpoint's I/O shell (aiohttp): messages to ``WsConnection``
and its actions back, in order, on the server's event loop."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from .admin_http import serve_app
from .connection import Close, Send
from .ws_protocol import WsConnection

if TYPE_CHECKING:
    from .server import MockOpenD

log = logging.getLogger("mock_opend")


async def start_ws_site(server: MockOpenD, host: str, port: int) -> tuple[web.AppRunner, int]:
    max_msg = server.config.max_body_len + 64

    async def handle(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=max_msg, autoping=True)
        await ws.prepare(request)
        refusing = server.connection_count() >= server.config.max_connections
        conn = WsConnection(server.gateway, str(request.remote), refusing=refusing)
        server._websockets.add(ws)
        log.debug("ws connect", extra={"conn": conn.conn_id, "peer": str(request.remote)})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY or msg.type == WSMsgType.TEXT:
                    actions = conn.receive_message(msg.data)
                else:
                    continue
                for action in actions:
                    if isinstance(action, Send):
                        if action.delay > 0:
                            await asyncio.sleep(action.delay)
                        await ws.send_bytes(action.data)
                    elif isinstance(action, Close):
                        if action.reset and request.transport is not None:
                            sock = request.transport.get_extra_info("socket")
                            if sock is not None:
                                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                            request.transport.abort()
                        else:
                            await ws.close(code=1008, message=action.reason.encode()[:120])
                        break
                if conn.closed:
                    break
        finally:
            conn.connection_lost()
            server._websockets.discard(ws)
            log.debug("ws disconnect", extra={"conn": conn.conn_id})
        return ws

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    return await serve_app(app, host, port)
