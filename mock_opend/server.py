"""The asyncio shell: sockets in, ``Connection`` state machines, bytes out.

``MockOpenD`` runs inside an existing event loop (``await start()``) or on a
thread of its own (``start_background()`` / ``with MockOpenD(...)``), which is
what synchronous SDK code and the pytest fixture use.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
from typing import Any

from .clock import Clock
from .config import Config, build_config
from .connection import Close, Connection, Send
from .gateway import Gateway

log = logging.getLogger("mock_opend")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _TcpProtocol(asyncio.Protocol):
    __slots__ = ("conn", "server", "transport")

    def __init__(self, server: MockOpenD) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.conn: Connection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.conn = Connection(self.server.gateway, "tcp", str(peer))
        self.server._transports.add(transport)
        log.debug("connect", extra={"conn": self.conn.conn_id, "peer": str(peer)})

    def data_received(self, data: bytes) -> None:
        assert self.conn is not None and self.transport is not None
        for action in self.conn.receive_data(data):
            if isinstance(action, Send):
                self.transport.write(action.data)
            elif isinstance(action, Close):
                self.transport.close()
                break

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.server._transports.discard(self.transport)
        if self.conn is not None:
            log.debug("disconnect", extra={"conn": self.conn.conn_id})


class MockOpenD:
    """A mock OpenD gateway bound to ``config.host``/``config.port``."""

    def __init__(self, config: Config | None = None, *, clock: Clock | None = None, **settings: Any) -> None:
        cfg = config if config is not None else build_config()
        if settings:
            cfg = cfg.replace(**settings).validate()
        self.config = cfg
        self.gateway = Gateway(cfg, clock)
        self.host = cfg.host
        self.port: int = cfg.port
        self._server: asyncio.base_events.Server | None = None
        self._transports: set[asyncio.Transport] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- shared state, for tests and embedding -------------------------------
    @property
    def clock(self) -> Clock:
        return self.gateway.clock

    @property
    def journal(self) -> Any:
        return self.gateway.journal

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def ready_info(self) -> dict[str, Any]:
        return {"event": "ready", "host": self.host, "port": self.port}

    # -- inside a running loop -----------------------------------------------
    async def start(self) -> None:
        if not is_loopback(self.config.host):
            log.warning(
                "listening on a non-loopback address: anyone who can reach it can use this mock",
                extra={"host": self.config.host},
            )
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            lambda: _TcpProtocol(self), self.config.host, self.config.port, reuse_address=True
        )
        sock = self._server.sockets[0]
        self.host, self.port = sock.getsockname()[:2]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for transport in list(self._transports):
            transport.close()
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 0.5)
            except TimeoutError:
                for transport in list(self._transports):
                    transport.abort()
            self._server = None

    # -- on a thread of its own ----------------------------------------------
    def start_background(self) -> MockOpenD:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # report bind errors to the caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"mock-opend:{self.config.port}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        return self

    def stop_background(self, timeout: float = 5.0) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> MockOpenD:
        return self.start_background()

    def __exit__(self, *exc: object) -> None:
        self.stop_background()
