"""``mock-opend health``: is a gateway answering, asked the way a client asks.

A container's HEALTHCHECK, a CI job waiting for its service and a script that
polls a port all want the same answer: does the TCP API answer InitConnect
with a well-formed OpenD reply?  An open port is not enough (the server may
still be starting, or be something else); an InitConnect refused with an error
reply (say, a gateway in encrypted mode asked in plain text) is still a
gateway that answers.  The check is a real InitConnect, made with the sans-I/O
``upstream`` link over one blocking socket, with a deadline on the whole.

Where to look: ``--host``/``--port`` when given; else the ready file that
``serve`` writes when ``MOCK_OPEND_READY_FILE`` names one (the container image
sets it), so that a HEALTHCHECK baked into an image follows ``--port``, even
``--port 0``; else 127.0.0.1:11111.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .crypto import RsaKey
from .upstream import Broken, Ready, UpstreamLink
from .user_files import read_text

READY_FILE_ENV: Final = "MOCK_OPEND_READY_FILE"
DEFAULT_ADDRESS: Final = ("127.0.0.1", 11111)
MAX_READY_FILE: Final = 64 << 10  # bytes of a ready file read (it holds one JSON line)
MAX_DETAIL: Final = 200  # characters of what was seen, in the one line health prints
_ANY: Final = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # a wildcard bind is reached on loopback


def ready_file() -> Path | None:
    name = os.environ.get(READY_FILE_ENV)
    return Path(name) if name else None


def write_ready(info: dict[str, Any]) -> None:
    """Write the ready line to the ready file, if one is named (whole or not at all;
    the temporary file gets a random name, so nothing planted is written through)."""
    path = ready_file()
    if path is None:
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mock-opend-ready.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # a port number is no secret: a health check run as another user reads it
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(info) + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def remove_ready(info: dict[str, Any]) -> None:
    """Remove the ready file if it is still this server's (another server may have
    written it since); never raises."""
    path = ready_file()
    if path is None:
        return
    with contextlib.suppress(OSError, ValueError):
        if json.loads(read_text(path, MAX_READY_FILE)) == info:  # a regular file: no FIFO hang at stop
            path.unlink()


def address(host: str | None, port: int | None) -> tuple[str, int]:
    """Where to check: the flags, else the ready file, else 127.0.0.1:11111."""
    return located(host, port)[0]


def located(host: str | None, port: int | None) -> tuple[tuple[str, int], str]:
    """(where to check, why there when the ready file could not say)."""
    note = ""
    if host is None and port is None:
        path = ready_file()
        if path is not None:
            try:
                info = json.loads(read_text(path, MAX_READY_FILE))
                port = info["port"]
                if not (isinstance(port, int) and 1 <= port <= 65535 and isinstance(info["host"], str)):
                    raise ValueError(f"no host and TCP port in it: {str(info)[:80]}")
                return (_ANY.get(info["host"], info["host"]), port), ""
            except FileNotFoundError:
                note = f"no ready file {path} (not started, or stopped)"
            except (OSError, ValueError, KeyError, TypeError) as exc:
                note = f"the ready file {path} cannot be read ({getattr(exc, 'strerror', None) or exc})"
    default_host, default_port = DEFAULT_ADDRESS
    return ((host or default_host), (default_port if port is None else port)), note


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    detail: str  # one line: what was seen
    seconds: float

    def as_json(self) -> dict[str, object]:
        return {"status": "ok" if self.ok else "down", "detail": self.detail, "seconds": round(self.seconds, 3)}


def check(host: str, port: int, *, timeout: float = 3.0, rsa: RsaKey | None = None) -> Health:
    """InitConnect to ``host:port`` within ``timeout`` seconds, all told."""
    start = time.monotonic()
    deadline = start + timeout

    def done(ok: bool, detail: str) -> Health:
        if len(detail) > MAX_DETAIL:  # a peer's own words (an InitConnect refusal) can be long
            detail = detail[:MAX_DETAIL] + f"… ({len(detail)} characters)"
        return Health(ok, detail, time.monotonic() - start)

    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        return done(False, f"cannot connect to {host}:{port}: {exc.strerror or exc}")
    link = UpstreamLink(rsa=rsa, client_id="mock-opend-health")
    with sock:
        try:
            sock.sendall(link.init_connect())
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                data = sock.recv(1 << 16)
                if not data:
                    return done(False, f"{host}:{port} closed the connection before answering InitConnect")
                for event in link.feed(data):
                    if isinstance(event, Ready):
                        return done(True, f"InitConnect answered (server version {event.server_ver})")
                    if isinstance(event, Broken):
                        if event.answered:
                            return done(True, f"InitConnect answered with an error: {event.reason}")
                        return done(False, f"{host}:{port}: {event.reason}")
        except TimeoutError:
            pass
        except OSError as exc:
            return done(False, f"{host}:{port}: {exc.strerror or exc}")
    return done(False, f"{host}:{port} did not answer InitConnect within {timeout:g} s")
