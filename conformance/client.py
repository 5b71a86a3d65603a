"""The client under test, as a subprocess speaking the driver protocol."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import subprocess
import threading
import time
from collections import deque
from typing import Any


class ClientHung(Exception):
    """No reply within the kit's timeout."""


class ClientDied(Exception):
    """The driver process exited (or crashed) while the kit waited."""


class ClientProcess:
    def __init__(self, argv: list[str] | str, env: dict[str, str], cwd: str | None = None) -> None:
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=200)
        self._ids = itertools.count(1)
        self.calls: list[dict[str, Any]] = []  # every request and reply, for reports

    def start(self) -> None:
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            self.argv,
            shell=isinstance(self.argv, str),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
            cwd=self.cwd,
        )
        threading.Thread(target=self._pump_out, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump_out(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _pump_err(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    @property
    def stderr_tail(self) -> str:
        return "\n".join(list(self._stderr)[-30:])

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def call(self, op: str, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
        """Send one request and wait for the reply with its id."""
        if self.proc is None or self.proc.stdin is None or not self.alive:
            raise ClientDied(f"the client is not running (exit code {self.proc.poll() if self.proc else None})")
        rid = next(self._ids)
        request = {"id": rid, "op": op, **fields}
        t0 = time.monotonic()
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise ClientDied(f"the client closed its stdin (exit code {self.proc.poll()})") from None
        deadline = t0 + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.calls.append({"request": request, "reply": None, "seconds": timeout})
                raise ClientHung(f"no reply to {op} (id {rid}) within {timeout:g} s")
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(5)
                raise ClientDied(f"the client exited with code {self.proc.returncode} during {op}")
            try:
                reply = json.loads(line)
            except json.JSONDecodeError:
                continue  # not a protocol line
            if isinstance(reply, dict) and reply.get("id") == rid:
                self.calls.append({"request": request, "reply": reply, "seconds": round(time.monotonic() - t0, 4)})
                return reply

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None:
            return
        if self.alive:
            with contextlib.suppress(ClientHung, ClientDied):
                self.call("close", timeout=timeout)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
