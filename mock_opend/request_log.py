"""Request log lines, built off the hot path.

Every request gets one ``info`` line on the ``mock_opend.request`` logger
(logs.py has the format).  Building a LogRecord and its JSON costs more than
answering a repeated request, so inside an event loop a request only notes its
journal entry — which already holds every field of the line — and the lines
are built once the loop has run the callbacks at hand, after the replies have
left, many in one write.

When the logger goes to the JSON handler that ``logs.configure`` installs and
nowhere else, the lines are written straight in that handler's format (a test
holds them byte-identical).  Any other logging set-up gets ordinary
LogRecords, stamped with the request's own time, through its own handlers and
filters.  Outside an event loop a line is written at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any, Final

log = logging.getLogger("mock_opend.request")
MAX_PENDING: Final = 512  # lines held before they are written without waiting for the loop
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


def outcome(entry: Any) -> str:
    """``ok``; the catalogue name of the mock's own error; or ``error`` for an
    error reply that came from elsewhere (the upstream, a stub)."""
    if entry.error is not None:
        return entry.error
    return "ok" if entry.ret_type in (0, None) else "error"


def fields(entry: Any, fault: str | None) -> dict[str, Any]:
    """The request line's own fields, in the order they are written."""
    return {
        "conn": entry.conn_id,
        "transport": entry.transport,
        "proto": entry.proto_id,
        "serial": entry.serial,
        "fmt": entry.fmt,
        "outcome": outcome(entry),
        "ret_type": entry.ret_type,
        "rows": None if entry.rows is None else len(entry.rows),
        "fault": fault,
        "source": entry.source,
        "us": entry.duration_us,
    }


class RequestLog:
    """One gateway's pending request lines."""

    def __init__(self) -> None:
        self._pending: list[tuple[Any, str | None]] = []
        self._scheduled = False

    def note(self, entry: Any, fault: str | None) -> None:
        """Log ``entry`` (a JournalEntry) with the kind of fault applied to it, if any."""
        if not log.isEnabledFor(logging.INFO):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _write([(entry, fault)])
            return
        self._pending.append((entry, fault))
        if len(self._pending) >= MAX_PENDING:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        """Write every pending line now."""
        pending, self._pending = self._pending, []
        if pending:
            _write(pending)


def _json(value: Any) -> str:
    """One value as json.dumps writes it (the fields are ints, None and short strings)."""
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    return _ENCODE(value)


def line(entry: Any, fault: str | None) -> str:
    """The JSON line of a request, as logs.JsonFormatter would write its record."""
    ts = datetime.fromtimestamp(entry.wall_time, UTC).isoformat(timespec="microseconds")
    rows = "null" if entry.rows is None else len(entry.rows)
    ret_type = "null" if entry.ret_type is None else entry.ret_type
    result = _ENCODE(outcome(entry))
    # ids, serial and microseconds are ints; the strings go through the JSON encoder
    return (
        f'{{"ts": "{ts}", "level": "info", "logger": "mock_opend.request", "event": "request", '
        f'"conn": {entry.conn_id:d}, "transport": {_ENCODE(entry.transport)}, "proto": {entry.proto_id:d}, '
        f'"serial": {entry.serial:d}, "fmt": {_ENCODE(entry.fmt)}, "outcome": {result}, "ret_type": {ret_type}, '
        f'"rows": {rows}, "fault": {_json(fault)}, "source": {_ENCODE(entry.source)}, "us": {entry.duration_us:d}}}'
    )


def _write(items: list[tuple[Any, str | None]]) -> None:
    handler = _json_handler()
    if handler is not None:
        end = handler.terminator
        lines = "".join([line(entry, fault) + end for entry, fault in items])
        with handler.lock:  # type: ignore[union-attr]
            try:
                handler.stream.write(lines)
                handler.stream.flush()
            except Exception:
                handler.handleError(logging.makeLogRecord({"msg": "request"}))
        return
    for entry, fault in items:
        record = log.makeRecord(log.name, logging.INFO, "(request)", 0, "request", (), None, extra=fields(entry, fault))
        record.created = entry.wall_time
        record.msecs = int((entry.wall_time - int(entry.wall_time)) * 1000) + 0.0
        log.handle(record)


def _json_handler() -> Any:
    """logs.configure's handler when request records would reach it and only it, unfiltered."""
    from .logs import JsonFormatter, JsonStreamHandler

    parent = log.parent
    if log.handlers or log.filters or not log.propagate or log.disabled or parent is None:
        return None
    if parent.name != "mock_opend" or parent.filters or parent.propagate or parent.disabled:
        return None
    if len(parent.handlers) != 1:
        return None
    handler = parent.handlers[0]
    if type(handler) is not JsonStreamHandler or handler.filters or handler.level > logging.INFO:
        return None
    return handler if type(handler.formatter) is JsonFormatter else None
