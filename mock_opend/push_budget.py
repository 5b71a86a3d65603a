"""What stub pushes waiting for their recorded offset may hold, per connection
and server-wide.

A replayed stub's pushes go out on timers of their own (they never hold a later
reply), so a client can make the server hold them by asking again and again,
or many clients at once.  Each waiting push costs its bytes plus its timer
(``OVERHEAD``); a connection may hold 4 × ``write_buffer_limit`` of them and the
server 16 ×, except that every connection may hold its own small share
(``write_buffer_limit`` / 16) whatever the others hold, so a few clients that
park pushes far ahead cannot starve the rest.  A push over the budgets is dropped, and drops are logged at most
once a second, as a count (a drop per line would let a client flood the log).
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("mock_opend.stubs")
OVERHEAD = 1024  # bytes a waiting push costs besides its frame: its timer handle and callback
PER_CONNECTION = 4  # x write_buffer_limit
SERVER_WIDE = 16  # x write_buffer_limit


class PushBudget:
    def __init__(self, write_buffer_limit: int) -> None:
        self.per_connection = PER_CONNECTION * write_buffer_limit
        self.limit = SERVER_WIDE * write_buffer_limit
        self.own_share = max(OVERHEAD * 2, write_buffer_limit // 16)
        self.held = 0
        self.dropped = 0  # since the last log line
        self._logged = 0.0
        self._lock = threading.Lock()

    @staticmethod
    def cost(frame: bytes) -> int:
        return len(frame) + OVERHEAD

    def take(self, cost: int, connection_holds: int) -> bool:
        """Room for one more waiting push (``connection_holds``: what its connection holds)?"""
        with self._lock:
            within = connection_holds + cost <= self.per_connection and self.held + cost <= self.limit
            if within or connection_holds + cost <= self.own_share:
                self.held += cost
                return True
            self.dropped += 1
            now = time.monotonic()
            if now - self._logged >= 1.0:
                log.warning(
                    "stub pushes dropped: their connection or the server holds too many waiting",
                    extra={"dropped": self.dropped, "held_bytes": self.held},
                )
                self._logged, self.dropped = now, 0
            return False

    def give(self, cost: int) -> None:
        with self._lock:
            self.held -= cost
