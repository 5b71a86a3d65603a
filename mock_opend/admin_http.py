"""The admin API over HTTP (aiohttp): a thin shell around ``admin.Admin``.

Bounded like every port: a request must arrive whole within ``http_timeout``
(headers by the guard, the body here), bodies are at most 1 MiB, the port
holds at most ``admin_max_connections`` connections, and the journal is
streamed entry by entry so a large answer neither blocks other clients nor
sits in memory whole.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from aiohttp import web

from .admin import Admin, JournalPage
from .http_guard import GuardedServer, SlotPool, serve

MAX_BODY = 1 << 20
_YIELD_EVERY = 50  # journal entries between two turns of the event loop


def _dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, default=str)


async def start_admin_site(
    admin: Admin, host: str, port: int, pool: SlotPool, timeout: float, sock: socket.socket | None = None
) -> tuple[Any, int]:
    async def dispatch(request: web.BaseRequest) -> web.StreamResponse:
        try:
            if request.content_length is not None and request.content_length > MAX_BODY:
                return _json_response(413, {"error": f"request body over {MAX_BODY} bytes"})
            body = await asyncio.wait_for(request.read(), timeout)  # the whole body, however it is cut
        except TimeoutError:
            return _json_response(408, {"error": f"the request body did not arrive within {timeout:g} s"})
        except web.HTTPRequestEntityTooLarge:
            return _json_response(413, {"error": f"request body over {MAX_BODY} bytes"})
        status, doc = admin.handle(request.method, request.path, request.query, body, request.headers)
        if isinstance(doc, JournalPage):
            return await _stream_journal(request, status, doc, timeout)
        return _json_response(status, doc)

    server = GuardedServer(dispatch, pool=pool, timeout=timeout, name="admin")
    return await serve(server, host, port, sock)


def _json_response(status: int, doc: Any) -> web.Response:
    rsp = web.Response(status=status, text=_dumps(doc), content_type="application/json")
    if status == 405 and isinstance(doc, dict) and doc.get("allow"):
        rsp.headers["Allow"] = ", ".join(doc["allow"])  # RFC 9110: a 405 says what is allowed
    return rsp


async def _stream_journal(
    request: web.BaseRequest, status: int, page: JournalPage, timeout: float
) -> web.StreamResponse:
    """Entry by entry; a client that stops taking them for ``timeout`` is aborted
    (the handler, and so the connection's slot, must not wait for ever)."""
    transport = request.transport
    rsp = web.StreamResponse(status=status, headers={"Content-Type": "application/json; charset=utf-8"})
    head = _dumps(page.head)
    try:
        await asyncio.wait_for(rsp.prepare(request), timeout)
        await asyncio.wait_for(rsp.write((head[:-1] + ', "entries": [').encode()), timeout)
        for i, entry in enumerate(page.entries):
            await asyncio.wait_for(rsp.write(((", " if i else "") + _dumps(entry.to_dict())).encode()), timeout)
            if i % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let every other client in
        await asyncio.wait_for(rsp.write(b"]}"), timeout)
        await asyncio.wait_for(rsp.write_eof(), timeout)
    except (TimeoutError, ConnectionError):  # gone, or not reading: no traceback, the slot back
        if transport is not None:
            transport.abort()
    return rsp
