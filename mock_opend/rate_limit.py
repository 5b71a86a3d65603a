"""The seed's limit on proto 3301: at most N first-page requests per rolling
window (60 per 30 s), counted on the mock clock.

Only requests without ``nextPageKey`` count; rejected requests do not count.
The scope is the whole server (one OpenD serves one account) or each
connection.  Time comes from the shared clock, so a test rolls the window by
moving the clock instead of sleeping; under a frozen clock the window rolls
only when the clock is moved.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Final

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")
SCOPES: Final = ("server", "per-connection")


@dataclass(frozen=True, slots=True)
class RateSpec:
    limit: int
    window: float

    @property
    def window_text(self) -> str:
        return f"{self.window:g}"


def parse_rate(text: str) -> RateSpec | None:
    """'60/30s' → RateSpec(60, 30.0); 'off' → None."""
    if text.strip().lower() == "off":
        return None
    m = _SPEC.match(text)
    if not m or int(m.group(1)) < 1 or float(m.group(2)) <= 0:
        raise ValueError(f"rate limit must look like '60/30s' or be 'off', got {text!r}")
    return RateSpec(int(m.group(1)), float(m.group(2)))


class RateLimiter:
    """A sliding-window log per scope key; thread-safe."""

    def __init__(self, spec: RateSpec | None, scope: str = "server") -> None:
        self.spec = spec
        self.scope = scope
        self._hits: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def _key(self, conn_id: int) -> int:
        return conn_id if self.scope == "per-connection" else 0

    def acquire(self, conn_id: int, now: float) -> bool:
        """Count one request at ``now`` if the window has room; False = reject."""
        spec = self.spec
        if spec is None:
            return True
        with self._lock:
            hits = self._hits.setdefault(self._key(conn_id), deque())
            horizon = now - spec.window
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= spec.limit:
                return False
            hits.append(now)
            return True

    def used(self, conn_id: int, now: float) -> int:
        if self.spec is None:
            return 0
        with self._lock:
            hits = self._hits.get(self._key(conn_id), deque())
            return sum(1 for t in hits if t > now - self.spec.window)

    def forget(self, conn_id: int) -> None:
        if self.scope == "per-connection":
            with self._lock:
                self._hits.pop(conn_id, None)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
