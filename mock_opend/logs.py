"""Structured logs: one JSON object per line on stderr.

Request lines carry conn, proto, serial, fmt, outcome, ret_type, rows and us
(microseconds spent in the server); a harness can parse them line by line.
Request lines are built after their replies have left (request_log.py).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class JsonStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure`` installs (request_log.py writes request lines in its format directly)."""


def configure(level: str = "info", stream: Any = None) -> None:
    """Send mock_opend's logs to ``stream`` (stderr) as JSON lines."""
    logger = logging.getLogger("mock_opend")
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler = JsonStreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
