"""The driver side of the kit's protocol, for drivers written in Python.

A driver is a small program around the client under test.  The kit starts it
with ``OPEND_HOST``, ``OPEND_PORT`` and ``OPEND_WS_PORT`` in the environment and
talks JSON lines over stdin/stdout (conformance/DRIVER.md).  Subclass
``Driver``, implement what the client can do, call ``run()``::

    class MyDriver(Driver):
        def connect(self): self.ctx = MyClient(self.host, self.port)
        def get_option_market_statistic(self, q): ...   # -> Page or raise ClientError
    MyDriver().run()

Anything the client library prints goes to stderr: the driver keeps the real
stdout for protocol lines only.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, TextIO


class ClientError(Exception):
    """The client reported an error.  Raise it from a method; its text becomes the
    reply's ``error`` (with ``ret`` -1), which the kit shows in its report.  Any
    other exception is reported the same way, prefixed with its class name."""


class Unsupported(Exception):
    """The client cannot do this operation.  The reply says ``unsupported``; the
    cases that need the operation are skipped (optional) or fail (required)."""


@dataclass(frozen=True, slots=True)
class Query:
    """One call the kit asks for, as the client's API would take it."""

    option_market: str
    """``US_SECURITY``, ``US_INDEX``, ``HK_SECURITY`` or ``HK_INDEX``; in fuzzing cases,
    also a name the server does not know (the client should pass it on, or refuse it)."""
    data_type: str
    """``VOLUME`` or ``OPEN_INTEREST`` (or, in fuzzing cases, something else)."""
    begin_time: str | None
    """First day, ``YYYY-MM-DD``; None: leave it out of the request (the server's default)."""
    end_time: str | None
    """Last day, ``YYYY-MM-DD``; None: leave it out."""
    page_req_key: bytes | None = None
    """The continuation key of the previous page, as raw bytes (the loop decodes the
    protocol's base64); None for a first page.  Pass it to the client unchanged."""


@dataclass(frozen=True, slots=True)
class Page:
    """What one call returned: its rows and the key of the next page."""

    rows: list[dict[str, Any]]
    """One dict per day, newest first, with the keys ``time`` (``YYYY-MM-DD``),
    ``timestamp`` (seconds, a number), ``call_value``, ``put_value``, ``total_value``
    (integers) and ``ratio`` (a number); a value the server left out is None."""
    page_req_key: bytes | None = None
    """The next page's key as raw bytes (the loop encodes it in base64), or None on the
    last page."""


class Driver:
    """The JSON-lines loop around a client: reads the kit's requests from stdin,
    calls the methods below, writes the replies to stdout.

    Override ``connect`` and ``get_option_market_statistic`` at least; ``fetch_all``,
    ``reconnect`` and ``close`` as far as the client can.  A method that is not
    overridden answers ``unsupported`` (``fetch_all`` pages through
    ``get_option_market_statistic``).  ``host``, ``port`` and ``ws_port`` (None when
    the kit opened no WebSocket port) come from the environment the kit sets.
    """

    def __init__(self) -> None:
        self.host = os.environ.get("OPEND_HOST", "127.0.0.1")
        self.port = int(os.environ.get("OPEND_PORT", "11111"))
        ws = os.environ.get("OPEND_WS_PORT", "")
        self.ws_port = int(ws) if ws.isdigit() else None

    # -- what a driver implements ------------------------------------------------
    def connect(self) -> None:
        """Open the client's session (called once, before the first request)."""

    def get_option_market_statistic(self, query: Query) -> Page:
        """One call of the client's 3301 API: one page, or raise ``ClientError``."""
        raise Unsupported

    def fetch_all(self, query: Query) -> list[dict[str, Any]]:
        """The client's own paging loop; by default, pages through the method above."""
        rows: list[dict[str, Any]] = []
        key = None
        for _ in range(100_000):
            page = self.get_option_market_statistic(
                Query(query.option_market, query.data_type, query.begin_time, query.end_time, key)
            )
            rows.extend(page.rows)
            key = page.page_req_key
            if key is None:
                return rows
        raise ClientError("more than 100000 pages")

    def reconnect(self) -> None:
        """Drop the session and open a new one (optional)."""
        raise Unsupported

    def close(self) -> None:
        """Close the session (the process exits after the reply)."""

    # -- the loop ---------------------------------------------------------------
    def run(self) -> None:
        """Serve the kit's requests until ``close`` or the end of stdin.  From here
        on, what the process prints goes to stderr; stdout carries replies only."""
        out = _protocol_stdout()
        connected = False
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
                rid = req.get("id")
            except (json.JSONDecodeError, AttributeError):
                continue
            op = req.get("op")
            try:
                if not connected and op != "close":
                    self.connect()
                    connected = True
                reply = self._dispatch(op, req)
            except Unsupported:
                reply = {"unsupported": True}
            except ClientError as exc:
                reply = {"ret": -1, "error": str(exc) or exc.__class__.__name__}
            except Exception as exc:  # the client raised: report it as an error, keep going
                reply = {"ret": -1, "error": f"{exc.__class__.__name__}: {exc}"}
            out.write(json.dumps({"id": rid, **reply}) + "\n")
            out.flush()
            if op == "close":
                return

    def _dispatch(self, op: str, req: dict[str, Any]) -> dict[str, Any]:
        if op == "get_option_market_statistic":
            key = req.get("page_req_key")
            page = self.get_option_market_statistic(_query(req, None if key is None else base64.b64decode(key)))
            return {
                "ret": 0,
                "rows": page.rows,
                "page_req_key": None if page.page_req_key is None else base64.b64encode(page.page_req_key).decode(),
            }
        if op == "fetch_all":
            return {"ret": 0, "rows": self.fetch_all(_query(req, None))}
        if op == "reconnect":
            self.reconnect()
            return {"ret": 0}
        if op == "close":
            self.close()
            return {"ret": 0}
        raise Unsupported


def _query(req: dict[str, Any], key: bytes | None) -> Query:
    return Query(req["option_market"], req["data_type"], req.get("begin_time"), req.get("end_time"), key)


def _protocol_stdout() -> TextIO:
    """Keep fd 1 for protocol lines; point sys.stdout (and fd 1 users) at stderr."""
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", buffering=1)
