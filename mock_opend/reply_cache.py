"""Identical requests, identical replies: served reply frames kept by their request's bytes.

A client that polls 3301 sends the same bytes again and again, and while the
mock clock stays inside one trading period and nothing is reconfigured, the
answer is the same bytes too.  Deciding that anew — decode, check, plan, look
up rows, encode, frame, hash — is most of what a request costs, so the frame
of a successful reply is kept with what the journal and the rate limit need,
and a repeat only has its serial patched in (docs/performance.md).

A handler opts in by saying how long its reply holds (``Reply.cache_until``,
mock-clock seconds).  An entry is used only while the clock has not been moved
(``Clock.version``), the data not switched (``Dataset.version``), the
protocol's handler not replaced and that instant not reached; everything a
request does besides building its reply — rate limit, faults, journal, log —
still happens for every request (``connection.Processor.replay``).  The cache
is bounded in entries and bytes, so distinct requests cannot make it grow.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Final

MAX_ENTRIES: Final = 2048
MAX_BYTES: Final = 16 << 20  # reply frames held, all entries together
MAX_KEY_BODY: Final = 1024  # request bodies longer than this are never kept (real 3301 requests are < 100 bytes)


@dataclass(frozen=True, slots=True)
class CachedReply:
    frame: bytes  # the reply frame; bytes 8..12 (the serial) are patched per request
    spec: Any  # the ProtoSpec that built it: an embedder replacing the handler invalidates it
    state: tuple[Any, ...]  # Gateway.reply_state() when it was built
    until: float  # mock-clock seconds: the reply may differ from this instant on
    counted: bool  # took a rate-limit slot: a repeat takes one too
    request: Any  # the decoded request message, shared by the journal entries of its repeats
    rows: list[Any] | None
    next_key: bytes | None
    cost: int | None = None  # the journal's estimate for an entry of this request (the same for every repeat)


class ReplyCache:
    """Bounded FIFO map from (proto id, format, request body) to a CachedReply."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._entries: dict[tuple[int, int, bytes], CachedReply] = {}
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._lock = threading.Lock()  # puts come from the loop, clear() also from a test's thread

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, proto_id: int, fmt: int, body: bytes) -> CachedReply | None:
        return self._entries.get((proto_id, fmt, body))

    def put(self, proto_id: int, fmt: int, body: bytes, reply: CachedReply) -> None:
        if len(body) > MAX_KEY_BODY or len(reply.frame) > self.max_bytes // 8:
            return
        key = (proto_id, fmt, body)
        with self._lock:
            self._discard(key)
            self._entries[key] = reply
            self.bytes += len(reply.frame)
            while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
                self._discard(next(iter(self._entries)))

    def discard(self, proto_id: int, fmt: int, body: bytes) -> None:
        with self._lock:
            self._discard((proto_id, fmt, body))

    def _discard(self, key: tuple[int, int, bytes]) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= len(old.frame)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0
