"""The one clock that the calendar, the rate limiter and KeepAlive read.

It is either frozen (``--now``: time stands still until moved) or running
(the system clock, or ``--now`` with ``--clock-tick``), and it can be moved at
run time (``advance``/``set``) so tests reach time-dependent edges without
sleeping.
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, date, datetime

_VERSIONS = itertools.count(1)  # process-wide, so a new Clock never repeats an old one's version


def parse_instant(text: str) -> datetime:
    """``YYYY-MM-DD`` (00:00 UTC that day) or an ISO datetime (naive = UTC)."""
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not a date or ISO datetime: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[+HH:MM])"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Clock:
    """Unix time with an adjustable origin; thread-safe."""

    def __init__(self, start: datetime | None = None, *, tick: bool | None = None) -> None:
        self._lock = threading.Lock()
        if start is None:
            self._base = time.time()
            self._ticking = True if tick is None else tick
        else:
            self._base = start.timestamp()
            self._ticking = False if tick is None else tick
        self._mono0 = time.monotonic()
        self.version = next(_VERSIONS)  # new whenever the clock is moved: cached replies are then stale

    @property
    def frozen(self) -> bool:
        return not self._ticking

    def now(self) -> float:
        """Current mock time, Unix seconds."""
        if self._ticking:
            return self._base + (time.monotonic() - self._mono0)
        return self._base

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._base += seconds
            self.version = next(_VERSIONS)

    def set(self, instant: datetime, *, tick: bool | None = None) -> None:
        with self._lock:
            self._base = instant.timestamp()
            self._mono0 = time.monotonic()
            if tick is not None:
                self._ticking = tick
            self.version = next(_VERSIONS)
