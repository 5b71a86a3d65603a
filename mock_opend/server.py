"""The asyncio shell: sockets in, ``Connection`` state machines, bytes out.

``MockOpenD`` runs inside an existing event loop (``await start()``) or on a
thread of its own (``start_background()`` / ``with MockOpenD(...)``), which is
what synchronous SDK code and the pytest fixture use.  Besides the TCP API port
it opens the WebSocket endpoint (``ws_port``) and, when asked, the admin API.

Everything here is I/O policy: back-pressure (stop reading a client whose
replies are not being read, or whose delayed replies already fill the write
budget), deadlines (a sweeper asks each connection whether one has passed, and
aborts it: a polite close would wait for a buffer that a stuck reader never
drains), the connection limit (shared with the WebSocket port, and fitted to
the process's file-descriptor limit), and a graceful stop.  The HTTP shells get
what they need passed in; none of them imports this module.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import resource
import socket
import struct
import threading
import time
from typing import Any

from .clock import Clock
from .config import Config, build_config, is_loopback
from .connection import Action, Connection, Relay, Send
from .gateway import Gateway
from .slot_pool import SlotPool
from .stubs import Stub, StubStore

log = logging.getLogger("mock_opend")
SWEEP_INTERVAL = 0.25  # seconds between deadline checks
CLOSE_GRACE = 5.0  # seconds a politely closed connection has to take its last bytes, then it is aborted
# asyncio accepts up to `backlog` connections in one go before any is aborted, and a flood
# can have a few such batches in flight: keep room for four beyond the counted connections.
LISTEN_BACKLOG = 128
FD_RESERVE = 64 + 4 * LISTEN_BACKLOG
BACKLOG_FACTOR = 4  # stop reading the upstream for a client this many write budgets behind


UPSTREAM_PROBE_TIMEOUT = 3.0  # seconds the start-up check of --upstream waits for a connection
STOP_RECORDING = 3.0  # seconds a stopping server waits for the recording thread before dropping the rest


class _TcpProtocol(asyncio.Protocol):
    """Feeds bytes to a Connection and performs its actions, in order."""

    def __init__(self, server: MockOpenD) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.conn: Connection | None = None
        self._queue: collections.deque[tuple[float, Action]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._aside: set[asyncio.TimerHandle] = set()  # stub pushes waiting for their offset
        self._aside_bytes = 0
        self._paused = False  # the client is not reading our replies
        self._paused_since = 0.0
        self._queued = 0  # bytes of delayed replies waiting in _queue
        self._held = False  # reading paused because _queued is over the write budget
        self._slot = False  # holds one of the server's connection slots
        self._closing_since: float | None = None
        self.relay: Any = None  # relay.Link: this client's link to the upstream, opened on first use
        self._inflight = 0  # relayed requests awaiting the upstream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio classes
        srv = self.server
        if not srv.pool.take():  # past the hard cap: not even a refusal, the fd is needed
            srv.pool.note_abort("TCP")
            transport.abort()
            self.transport = None
            return
        self._slot = True
        transport.set_write_buffer_limits(high=srv.config.write_buffer_limit)
        peer = transport.get_extra_info("peername")
        refusing = srv.pool.over
        self.conn = Connection(srv.gateway, "tcp", str(peer), now=time.monotonic(), refusing=refusing)
        srv._protocols.add(self)
        if refusing:
            srv.pool.note_refusal("TCP")
        log.debug("connect", extra={"conn": self.conn.conn_id, "peer": str(peer)})

    # -- reading -----------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        assert self.conn is not None
        self.conn.feed(data, time.monotonic())
        self._drain()

    def _drain(self) -> None:
        """Handle buffered frames until none is left or the client stops reading."""
        conn = self.conn
        assert conn is not None
        while conn.pending and self._reading and not conn.closed:
            if not self._emit(conn.next_actions()):
                return

    @property
    def _reading(self) -> bool:
        """Not paused for any reason: the client reads, the write budget has room, and
        fewer than upstream_max_inflight requests await the upstream."""
        return not self._paused and not self._held and self._inflight < self.server.config.upstream_max_inflight

    def _emit(self, actions: list[Action]) -> bool:
        """Perform actions now, or queue them behind delayed ones; False once closed."""
        if len(actions) == 1 and not self._queue:  # the common case: one reply, now
            action = actions[0]
            transport = self.transport
            if type(action) is Send and not action.delay and transport is not None and not transport.is_closing():
                transport.write(action.data)
                return True
        if self._queue or any(isinstance(a, Send) and a.delay > 0 and not a.aside for a in actions):
            self._enqueue(actions)
            return True
        return all(self._perform(action) for action in actions)

    # -- writing, in order, some of it later ---------------------------------------------
    def _enqueue(self, actions: list[Action]) -> None:
        loop = asyncio.get_running_loop()
        due = self._queue[-1][0] if self._queue else loop.time()
        for action in actions:
            if isinstance(action, Send):
                due = max(due, loop.time() + (0.0 if action.aside else action.delay))
                self._queued += len(action.data)
            self._queue.append((due, action))
        if self._timer is None and self._queue:
            self._timer = loop.call_at(self._queue[0][0], self._flush)
        if self._queued >= self.server.config.write_buffer_limit and not self._held:
            # delayed replies count against the write budget: stop reading until they go out
            was_reading = self._reading
            self._held = True
            if self.transport is not None and was_reading:
                self.transport.pause_reading()
            self._check_backlog()

    def _flush(self, *, now: bool = False) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        while self._queue and (now or self._queue[0][0] <= loop.time() + 0.0005):
            _, action = self._queue.popleft()
            if isinstance(action, Send):
                self._queued -= len(action.data)
            if not self._perform(action):
                self._queue.clear()
                self._queued = 0
                return
        if self._queue:
            self._timer = loop.call_at(self._queue[0][0], self._flush)
        if self._held and self._queued < self.server.config.write_buffer_limit // 2:
            self._held = False
            self._check_backlog()
            if self.transport is not None and self._reading and not self.transport.is_closing():
                self.transport.resume_reading()
                self._drain()

    def _perform(self, action: Action) -> bool:
        """Do one action; False once the transport is closed."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        if isinstance(action, Send):
            if action.aside and action.delay > 0:
                self._set_aside(action)
            else:
                transport.write(action.data)
            return True
        if isinstance(action, Relay):
            self._start_relay(action)
            return True
        if action.reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
            self._closing_since = time.monotonic()
        return False

    # -- relaying to the upstream ----------------------------------------------------------------
    def _start_relay(self, action: Relay) -> None:
        assert self.conn is not None
        if self.relay is None:
            from .relay import Link

            session = self.conn.session
            self.relay = Link(
                self.server.gateway.upstream,
                self._on_push,
                push_fmt=session.push_fmt,
                language=session.language or "Python",
            )
        was_reading = self._reading
        self._inflight += 1
        if was_reading and not self._reading and self.transport is not None:
            self.transport.pause_reading()  # enough in flight: the next requests wait in the socket
        self.relay.request(action.proto_id, action.fmt, action.body, lambda result: self._relayed(action, result))

    def _relayed(self, action: Relay, result: Any) -> None:
        """The upstream answered (or failed to): called in order with its pushes."""
        was_reading = self._reading
        self._inflight -= 1
        if self.conn is None or self.transport is None or self.transport.is_closing():
            return
        self._emit(self.conn.relay_done(action.token, result))
        self._check_backlog()
        if not was_reading and self._reading:
            self.transport.resume_reading()
            self._drain()

    def _on_push(self, event: Any) -> None:
        if self.conn is None or self.transport is None or self.transport.is_closing():
            return
        self._emit(self.conn.push(event.proto_id, event.serial, event.fmt, event.body, self.relay.secrets))
        self._check_backlog()

    def _check_backlog(self) -> None:
        """Stop reading the upstream while this client is far behind (its pushes then
        wait at the upstream); replies to its relayed requests still flow until then."""
        if self.relay is None or self.transport is None:
            return
        budget = self.server.config.write_buffer_limit
        behind = self._held or self.transport.get_write_buffer_size() > BACKLOG_FACTOR * budget
        if behind and not self.relay.paused:
            self.relay.pause_reading()
        elif not behind and self.relay.paused and not self._paused:
            self.relay.resume_reading()

    # -- back-pressure: a client that does not read stops being read ---------------------------
    def pause_writing(self) -> None:
        was_reading = self._reading
        self._paused = True
        self._paused_since = time.monotonic()
        if self.transport is not None and was_reading:
            self.transport.pause_reading()
        self._check_backlog()

    def resume_writing(self) -> None:
        self._paused = False
        self._check_backlog()
        if self.transport is not None and not self.transport.is_closing() and self._reading:
            self.transport.resume_reading()
            self._drain()

    # -- deadlines and shutdown ------------------------------------------------------
    def sweep(self, now: float) -> None:
        """Abort a connection past a deadline (a polite close would wait for a
        write buffer a stuck reader never drains); its slot is freed at once."""
        if self.conn is None or self.transport is None:
            return
        limit = self.server.config.send_timeout
        reason = self.conn.expired(now)
        if self._closing_since is not None:  # closed politely: the last bytes get CLOSE_GRACE to leave
            if now - self._closing_since <= CLOSE_GRACE:
                return
            reason = f"closed, but its last reply was not taken within {CLOSE_GRACE:g} s"
        if reason is None and self._paused and limit and now - self._paused_since > limit:
            reason = f"replies left unread for {limit:g} s"
        if reason is not None:
            log.warning("closing connection", extra={"conn": self.conn.conn_id, "reason": reason})
            self.conn.closed = True
            self.transport.abort()
            self._forget()

    def shutdown(self) -> None:
        """Deliver what is owed (delayed replies included), then close."""
        if self.transport is None:
            return
        self.transport.pause_reading()
        if self.relay is not None:  # relayed requests in flight get their error reply now
            self.relay.close("the server is stopping")
        if self._timer is not None:
            self._timer.cancel()
        self._flush(now=True)
        self.transport.close()

    def _set_aside(self, action: Send) -> None:
        """A stub's push, written when its offset comes, within the connection's and
        the server's budgets (push_budget.py); past them it is dropped."""
        budget = self.server.gateway.push_budget
        size = budget.cost(action.data)
        if not budget.take(size, self._aside_bytes):
            return
        self._aside_bytes += size
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def due() -> None:
            self._aside.discard(handle)  # type: ignore[arg-type]
            self._aside_bytes -= size
            budget.give(size)
            transport = self.transport
            if transport is not None and not transport.is_closing():
                transport.write(action.data)

        handle = loop.call_later(action.delay, due)
        self._aside.add(handle)

    def _forget(self) -> None:
        """Give the connection's slot back (once), now rather than when the loop gets to it."""
        for handle in self._aside:
            handle.cancel()
        self._aside.clear()
        if self._aside_bytes:
            self.server.gateway.push_budget.give(self._aside_bytes)
        self._aside_bytes = 0
        if self.relay is not None:
            relay, self.relay = self.relay, None
            relay.close()  # its callbacks find the transport closing: nothing more is written
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()
        self._queued = 0
        self.server._protocols.discard(self)
        if self._slot:
            self._slot = False
            self.server.pool.give_back()

    def connection_lost(self, exc: Exception | None) -> None:
        self._forget()
        if self.conn is not None:
            self.conn.connection_lost()
            log.debug("disconnect", extra={"conn": self.conn.conn_id})


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """asyncio's loop, or uvloop's when asked for (and installed)."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            raise RuntimeError("event_loop = 'uvloop' needs uvloop: pip install 'mock-opend[fast]'") from None
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class MockOpenD:
    """A mock OpenD gateway bound to ``config.host``/``config.port``."""

    def __init__(
        self, config: Config | None = None, *, clock: Clock | None = None, http_later: bool = False, **settings: Any
    ) -> None:
        """``http_later``: bind the WebSocket and admin ports at once but import aiohttp
        and attach their servers in the background (``serve`` does this, so that its
        ready line does not wait for aiohttp; a connection made meanwhile waits in the
        listen backlog)."""
        cfg = config if config is not None else build_config()
        if settings:
            cfg = cfg.replace(**settings).validate()
        self.config = cfg
        self.gateway = Gateway(cfg, clock)
        self.host = cfg.host
        self.port: int = cfg.port
        self.admin_port: int | None = None
        self.ws_port: int | None = None
        self.pool = SlotPool(cfg.max_connections)  # TCP + WebSocket port
        self.admin_pool = SlotPool(cfg.admin_max_connections, slack=0)
        self._server: asyncio.base_events.Server | None = None
        self._admin: Any = None
        self._ws: Any = None
        self._http_later = http_later
        self._attaching: asyncio.Task[None] | None = None
        self._bound: list[socket.socket] = []  # bound for HTTP servers not yet attached
        self._websockets: set[Any] = set()
        self._protocols: set[_TcpProtocol] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._probe: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- shared state, for tests and embedding (the admin API without HTTP) ----
    @property
    def clock(self) -> Clock:
        return self.gateway.clock

    @property
    def journal(self) -> Any:
        return self.gateway.journal

    @property
    def faults(self) -> Any:
        return self.gateway.faults

    @property
    def rate_limiter(self) -> Any:
        return self.gateway.rate_limiter

    def reset(self) -> None:
        """Clear rate-limit windows, the journal and faults."""
        self.gateway.reset()

    @property
    def stubs(self) -> StubStore:
        """The stubs this server answers from (``add_json``, ``remove``, ``all``)."""
        return self.gateway.stubs

    def add_stub(self, doc: dict[str, Any]) -> Stub:
        """Add (or replace, same id) a stub given as its JSON form; raises StubError."""
        return self.gateway.stubs.add_json(doc, "stub", source="api")

    def remove_stub(self, stub_id: str | None = None) -> int:
        """Remove one stub by id, or all of them; how many went."""
        return self.gateway.stubs.remove(stub_id)

    def connection_count(self) -> int:
        """Connections holding a slot: TCP, and every connection to the WebSocket port."""
        return self.pool.held

    def describe(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "ws_port": self.ws_port,
            "admin_port": self.admin_port,
            "connections": self.connection_count(),
            "max_connections": self.pool.limit,
            "warm_up": self.gateway.warm_up_state,
        }

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def ready_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"event": "ready", "host": self.host, "port": self.port}
        if self.ws_port is not None:
            info["ws_port"] = self.ws_port
        if self.admin_port is not None:
            info["admin_port"] = self.admin_port
        return info

    # -- inside a running loop -----------------------------------------------
    async def start(self) -> None:
        cfg = self.config
        self._fit_to_fd_limit()
        self._loop = asyncio.get_running_loop()
        try:
            self._server = await self._loop.create_server(
                lambda: _TcpProtocol(self), cfg.host, cfg.port, reuse_address=True, backlog=LISTEN_BACKLOG
            )
        except OSError as exc:
            raise OSError(exc.errno, f"TCP port {cfg.port}: {exc.strerror or exc}") from None
        sock = self._server.sockets[0]
        self.host, self.port = sock.getsockname()[:2]
        try:
            if self._http_later and (cfg.ws_enabled or cfg.admin_port is not None):
                ws_sock = admin_sock = None
                if cfg.ws_enabled:
                    assert isinstance(cfg.ws_port, int)
                    ws_sock = self._bind("WebSocket", cfg.host, cfg.ws_port)
                    self.ws_port = ws_sock.getsockname()[1]
                if cfg.admin_port is not None:
                    admin_sock = self._bind("admin", cfg.admin_host, cfg.admin_port)
                    self.admin_port = admin_sock.getsockname()[1]
                self._attaching = asyncio.create_task(self._start_http(ws_sock, admin_sock, later=True))
            else:
                await self._start_http(None, None)
        except BaseException:
            await self.stop()
            raise
        if not is_loopback(cfg.host):  # said once every port is bound, never before a failed bind
            log.warning(
                "listening on a non-loopback address: anyone who can reach it can use this mock",
                extra={"host": cfg.host},
            )
        self._sweeper = asyncio.create_task(self._sweep())
        if self.gateway.upstream is not None:
            self._probe = asyncio.create_task(self._probe_upstream())

    async def _probe_upstream(self) -> None:
        """Warn at start when the upstream cannot be reached (the server still serves
        what it can: stubs, the mock's own protocols, errors for the rest)."""
        upstream = self.gateway.upstream
        try:
            connecting = asyncio.open_connection(upstream.host, upstream.port)
            _, writer = await asyncio.wait_for(connecting, UPSTREAM_PROBE_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                why = f"no answer within {UPSTREAM_PROBE_TIMEOUT:g} s"
            else:
                # a refused connection has an errno; a name that does not resolve, only its own text
                why = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else (exc.strerror or str(exc))
            log.warning(
                f"the upstream {upstream.address} cannot be reached ({why}): requests that go to it get "
                "UPSTREAM_UNREACHABLE until it can",
                extra={"upstream": upstream.address},
            )
            return
        writer.close()

    def _bind(self, name: str, host: str, port: int) -> socket.socket:
        """A listening socket for an HTTP port, as aiohttp would open it."""
        try:
            sock = socket.create_server((host, port), backlog=LISTEN_BACKLOG)
        except OSError as exc:
            raise OSError(exc.errno, f"{name} port {port}: {exc.strerror or exc}") from None
        sock.setblocking(False)
        self._bound.append(sock)
        return sock

    async def _start_http(
        self, ws_sock: socket.socket | None, admin_sock: socket.socket | None, *, later: bool = False
    ) -> None:
        """Start the WebSocket and admin servers (on sockets bound already, when given)."""
        cfg = self.config
        if later:  # aiohttp's import takes ~150 ms: not on the event loop's thread
            import importlib

            loop = asyncio.get_running_loop()
            for module, wanted in (("ws_server", ws_sock), ("admin_http", admin_sock)):
                if wanted is not None:
                    await loop.run_in_executor(None, importlib.import_module, f"mock_opend.{module}")
        try:
            if cfg.ws_enabled:
                from .ws_server import start_ws_site

                assert isinstance(cfg.ws_port, int)
                self._ws, self.ws_port = await start_ws_site(
                    self.gateway, cfg, cfg.host, cfg.ws_port, self.pool, self._websockets, self.port, ws_sock
                )
            if cfg.admin_port is not None:
                from .admin import Admin
                from .admin_http import start_admin_site

                admin = Admin(self.gateway, cfg, self.describe)
                self._admin, self.admin_port = await start_admin_site(
                    admin, cfg.admin_host, cfg.admin_port, self.admin_pool, cfg.http_timeout, admin_sock
                )
        except Exception:
            if not later:
                raise
            log.exception("the WebSocket or admin port could not start")
        finally:
            self._bound = [s for s in self._bound if s not in (ws_sock, admin_sock)]

    def _fit_to_fd_limit(self) -> None:
        """Raise the soft fd limit to the hard one, and keep every connection the
        server may hold (both pools with their slack, plus files and the
        listeners) under it, so that running out of fds never happens: the
        connection limit refuses first."""
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            if hard == resource.RLIM_INFINITY or hard > soft:
                want = 1 << 16 if hard == resource.RLIM_INFINITY else min(hard, 1 << 16)
                if want > soft:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
                    soft = want
        except (OSError, ValueError):
            return
        slack = self.pool.hard_cap - self.pool.limit
        room = soft - FD_RESERVE - self.admin_pool.hard_cap - slack  # files, listeners, accept batches
        if room < self.pool.limit:
            limit = max(1, room)
            log.warning(
                "max_connections lowered to fit the file-descriptor limit",
                extra={"max_connections": limit, "asked": self.pool.limit, "fd_limit": soft},
            )
            self.pool.limit = limit
            self.pool.hard_cap = limit + slack
            self.config.max_connections = limit  # what refusals and /config report

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = time.monotonic()
            for proto in list(self._protocols):
                proto.sweep(now)

    async def stop(self) -> None:
        """Refuse new connections, answer what is in flight, close, within a second
        (and finish writing what is being recorded)."""
        if self._server is not None:
            self._server.close()  # no new TCP connections from here on
        recorder = self.gateway.recorder
        if recorder is not None:  # finish what is being recorded, for at most STOP_RECORDING seconds
            loop = asyncio.get_running_loop()
            if not await loop.run_in_executor(None, recorder.flush, STOP_RECORDING):
                recorder.abandon()  # said in the log: how many were not written
                await loop.run_in_executor(None, recorder.flush, 2.0)  # the one being written
            recorder.said_unsaid()
        if self._attaching is not None:  # let the HTTP servers finish starting, so they stop cleanly
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._attaching), 5)
            self._attaching = None
        for sock in self._bound:  # bound, never attached
            sock.close()
        self._bound = []
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._probe is not None:
            self._probe.cancel()
            self._probe = None
        if self._admin is not None:
            await self._admin.cleanup()
            self._admin = None
        for proto in list(self._protocols):
            proto.shutdown()
        if self._ws is not None:
            for ws in list(self._websockets):
                await ws.close(code=1001, message=b"server shutting down")
            await self._ws.cleanup()
            self._ws = None
        deadline = time.monotonic() + 0.5
        while self._protocols and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for proto in list(self._protocols):
            if proto.transport is not None:
                proto.transport.abort()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 0.2)
            self._server = None
        self.gateway.request_log.flush()  # the lines of the last requests

    # -- on a thread of its own ----------------------------------------------
    def start_background(self) -> MockOpenD:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = new_event_loop(self.config.event_loop)
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
