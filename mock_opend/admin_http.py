"""The admin API over HTTP (aiohttp): a thin shell around ``admin.Admin``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from .admin import Admin

if TYPE_CHECKING:
    from .server import MockOpenD


async def start_admin_site(server: MockOpenD, host: str, port: int) -> tuple[web.AppRunner, int]:
    admin = Admin(server)

    async def dispatch(request: web.Request) -> web.Response:
        body = await request.read()
        status, doc = admin.handle(request.method, request.path, request.query, body, request.headers)
        return web.Response(
            status=status,
            text=json.dumps(doc, ensure_ascii=False, default=str),
            content_type="application/json",
        )

    app = web.Application(client_max_size=1 << 20)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return await serve_app(app, host, port)


async def serve_app(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Listen with an aiohttp app on the server's loop; (runner to clean up, bound port)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    return runner, runner.addresses[0][1]
