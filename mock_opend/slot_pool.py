"""Connection slots shared by the ports: where refusals start and where
connections are aborted without a word.

The TCP port, the WebSocket port and the admin port count their connections
here (server.py, http_guard.py); it lives apart from the HTTP guard so that a
server without HTTP ports never imports aiohttp.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("mock_opend")


class SlotPool:
    """Connections held on one or more ports, against ``limit``.

    ``limit`` is where refusals start (a connection over it is still accepted,
    told ``TOO_MANY_CONNECTIONS`` where the protocol allows, then closed);
    ``hard_cap`` is where connections are aborted without a word, so that the
    process never runs out of file descriptors."""

    def __init__(self, limit: int, slack: int = 64) -> None:
        self.limit = limit
        self.hard_cap = limit + slack
        self.held = 0
        self._counts: dict[str, int] = {}
        self._last_note: dict[str, float] = {}

    def take(self) -> bool:
        """Count a new connection; False when it must be aborted at once."""
        if self.held >= self.hard_cap:
            return False
        self.held += 1
        return True

    def give_back(self) -> None:
        self.held = max(0, self.held - 1)

    def note_abort(self, port: str) -> None:
        """A connection aborted past the hard cap (logged at most once a second)."""
        self._note("aborted", port, "connections aborted: hard connection cap reached")

    def note_refusal(self, port: str) -> None:
        """A connection over the limit, refused (logged at most once a second)."""
        self._note("refused", port, "connections refused: too many connections")

    def _note(self, kind: str, port: str, event: str) -> None:
        # a flood of connections must not become a flood of log lines
        self._counts[kind] = self._counts.get(kind, 0) + 1
        now = time.monotonic()
        if now - self._last_note.get(kind, -1.0) >= 1.0:
            log.warning(event, extra={"port": port, kind: self._counts[kind], "limit": self.limit})
            self._last_note[kind] = now
            self._counts[kind] = 0

    @property
    def over(self) -> bool:
        return self.held > self.limit
