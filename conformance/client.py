"""The client under test, as a subprocess speaking the driver protocol.

The driver is somebody else's program, so nothing here may trust it: it runs in
a process group (a session) of its own, so giving up on it kills everything it
started, and the kit never blocks on its pipes.  Writes to its stdin are
non-blocking with a deadline; its stdout and stderr are read by two threads that
wait with ``select`` and own their file descriptors, so stopping never waits for
a read and a grandchild that keeps a pipe open cannot hang the kit.  Memory is
bounded too: lines are capped, stderr keeps a short tail, and only protocol
replies (JSON objects with an ``id``) are queued.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import os
import select
import signal
import subprocess
import threading
import time
from typing import IO, Any

# What stopping a driver may add to a case's timeout (documented in DRIVER.md):
CLOSE_TIMEOUT = 2.0  # the polite "close" request, when the driver still answers
EXIT_WAIT = 1.0  # for the process to exit after replying to "close"
TERM_GRACE = 1.5  # SIGTERM to the whole group, then SIGKILL
EXIT_LINES = 1.0  # after the process exits, for its last stdout lines to arrive
STOP_MARGIN = CLOSE_TIMEOUT + EXIT_WAIT + TERM_GRACE + 0.5  # 5 s

MAX_LINE = 16 * 1024 * 1024  # a longer stdout line is dropped, not buffered
STDERR_LINES = 200
STDERR_LINE_CHARS = 2000
MAX_QUEUED_REPLIES = 1000
_POLL = 0.1


class ClientHung(Exception):
    """No reply within the kit's timeout."""


class ClientDied(Exception):
    """The driver process exited (or crashed, or closed its stdout) while the kit waited."""


class _Pump(threading.Thread):
    """Reads one pipe to its end, line by line, without ever blocking the kit."""

    def __init__(self, stream: IO[bytes], on_line: Any, on_eof: Any, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stream = stream
        self.on_line = on_line
        self.on_eof = on_eof
        self.stopping = threading.Event()
        self.dropped = 0  # lines longer than MAX_LINE

    def run(self) -> None:
        fd = self.stream.fileno()
        buf = bytearray()
        discarding = False
        try:
            while not self.stopping.is_set():
                ready, _, _ = select.select([fd], [], [], _POLL)
                if not ready:
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                start = 0
                while True:
                    nl = chunk.find(b"\n", start)
                    if nl < 0:
                        if not discarding:
                            buf += chunk[start:]
                            if len(buf) > MAX_LINE:
                                buf.clear()
                                discarding = True
                                self.dropped += 1
                        break
                    if discarding:
                        discarding = False
                    else:
                        buf += chunk[start:nl]
                        self.on_line(bytes(buf))
                    buf.clear()
                    start = nl + 1
            if buf and not discarding and not self.stopping.is_set():
                self.on_line(bytes(buf))
        finally:
            self.on_eof()
            with contextlib.suppress(OSError):
                self.stream.close()  # this thread is the stream's only user


class ClientProcess:
    def __init__(self, argv: list[str] | str, env: dict[str, str], cwd: str | None = None) -> None:
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._replies: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_QUEUED_REPLIES)
        self._stdout_eof = False
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._pumps: list[_Pump] = []
        self._hung = False  # the last call timed out: do not expect a polite close
        self.noise_lines = 0  # stdout lines that were not protocol replies
        self.calls: list[dict[str, Any]] = []  # every request and reply, for reports
        self.answered = False  # it has answered at least one request

    def start(self) -> None:
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            self.argv,
            shell=isinstance(self.argv, str),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            env=env,
            cwd=self.cwd,
            start_new_session=True,  # its own process group: stop() kills all it started
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        os.set_blocking(self.proc.stdin.fileno(), False)
        self._pumps = [
            _Pump(self.proc.stdout, self._on_stdout, self._on_stdout_eof, f"driver-stdout-{self.proc.pid}"),
            _Pump(self.proc.stderr, self._on_stderr, lambda: None, f"driver-stderr-{self.proc.pid}"),
        ]
        for p in self._pumps:
            p.start()

    # -- the pipes ---------------------------------------------------------------
    def _on_stdout(self, line: bytes) -> None:
        reply: Any = None
        if line.lstrip()[:1] == b"{":
            with contextlib.suppress(ValueError, RecursionError):
                reply = json.loads(line)
        if isinstance(reply, dict) and "id" in reply:
            with self._cond:
                self._replies.append(reply)
                self._cond.notify_all()
        else:
            self.noise_lines += 1

    def _on_stdout_eof(self) -> None:
        with self._cond:
            self._stdout_eof = True
            self._cond.notify_all()

    def _on_stderr(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        self._stderr.append(text if len(text) <= STDERR_LINE_CHARS else text[:STDERR_LINE_CHARS] + "…")

    @property
    def stderr_tail(self) -> str:
        return "\n".join(list(self._stderr)[-30:])

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pgid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def _died(self, during: str) -> ClientDied:
        assert self.proc is not None
        try:  # stdout ends just before the exit is visible: wait a moment for the exit code
            code: int | None = self.proc.wait(0.5)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return ClientDied(f"the client closed its stdout during {during}")
        return ClientDied(f"the client exited with code {code} during {during}")

    def _write(self, data: bytes, deadline: float, op: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        fd = self.proc.stdin.fileno()
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                self._hung = True
                raise ClientHung(f"the client does not read its stdin ({op} not delivered)")
            _, ready, _ = select.select([], [fd], [], min(left, _POLL))
            if not ready:
                if self.proc.poll() is not None:
                    raise self._died(op)
                continue
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError):
                raise ClientDied(f"the client closed its stdin (exit code {self.proc.poll()})") from None
            view = view[n:]

    # -- the protocol ---------------------------------------------------------------
    def call(self, op: str, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
        """Send one request and wait for the reply with its id."""
        if self.proc is None or self.proc.stdin is None or self.proc.stdin.closed or not self.alive:
            raise ClientDied(f"the client is not running (exit code {self.proc.poll() if self.proc else None})")
        rid = next(self._ids)
        request = {"id": rid, "op": op, **fields}
        t0 = time.monotonic()
        deadline = t0 + timeout
        self._write((json.dumps(request) + "\n").encode(), deadline, op)
        exited_at: float | None = None
        with self._cond:
            while True:
                while self._replies:
                    reply = self._replies.popleft()
                    if reply.get("id") == rid:
                        self._hung = False
                        self.answered = True
                        self.calls.append(
                            {"request": request, "reply": reply, "seconds": round(time.monotonic() - t0, 4)}
                        )
                        return reply
                    # a late reply to an earlier call, or a made-up id: ignored
                # a driver that answers and exits at once (close): its last line may still be in the
                # pump when the exit is seen, so the exit counts once stdout has ended (or 1 s after)
                if self.proc.poll() is not None and exited_at is None:
                    exited_at = time.monotonic()
                if self._stdout_eof or (exited_at is not None and time.monotonic() - exited_at > EXIT_LINES):
                    self.calls.append({"request": request, "reply": None, "seconds": round(time.monotonic() - t0, 4)})
                    raise self._died(op)
                left = deadline - time.monotonic()
                if left <= 0:
                    self._hung = True
                    self.calls.append({"request": request, "reply": None, "seconds": timeout})
                    raise ClientHung(f"the client sent no reply to {op} (id {rid}) within {timeout:g} s")
                self._cond.wait(min(left, _POLL))

    def stop(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Ask the driver to close, then end its whole process group; never blocks
        for more than ``timeout`` + EXIT_WAIT + TERM_GRACE (+ a little)."""
        proc = self.proc
        if proc is None:
            return
        if self.alive and not self._hung and not self._stdout_eof:
            with contextlib.suppress(ClientHung, ClientDied):
                self.call("close", timeout=min(timeout, CLOSE_TIMEOUT))
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(EXIT_WAIT)
        if proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(TERM_GRACE)
        self._signal_group(signal.SIGKILL)  # and whatever it left behind in its group
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.5)
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        for p in self._pumps:
            p.stopping.set()

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)
