"""The request journal: every request the server received and what it answered.

Entries keep the decoded request message and convert it to a dict only when
read, so journaling costs little on the hot path.  The journal is bounded in
entries (``journal_size``) and in bytes (``journal_max_bytes``, an estimate of
what each entry holds); the oldest entries fall off first.  A large request is
kept clipped: string and bytes fields over ``FIELD_CAP`` are cut, and the entry
says so (``truncated``), so a client sending 1 MB strings cannot make the
journal hold them.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from .body import is_repeated


@dataclass(slots=True)
class JournalEntry:
    seq: int
    time: float  # mock clock, Unix seconds
    wall_time: float  # real time.time(), for measuring client cadence
    conn_id: int
    transport: str  # "tcp" | "ws"
    proto_id: int
    serial: int
    fmt: str  # "protobuf" | "json"
    body_len: int
    sha1_ok: bool
    request: Message | None
    ret_type: int | None = None
    ret_msg: str = ""
    error: str | None = None  # errors.ErrorSpec.name
    rows: list[Any] | None = None  # dataset.Row objects, converted when read
    next_key: bytes | None = None
    duration_us: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    cost: int = 0  # estimated bytes held, set when added
    source: str = "mock"  # who answered: mock | stub | upstream | fault (docs/record-replay.md)

    def to_dict(self) -> dict[str, Any]:
        request = None
        if self.request is not None:
            request = json_format.MessageToDict(self.request, preserving_proto_field_name=True)
        return {
            "seq": self.seq,
            "time": self.time,
            "wall_time": self.wall_time,
            "conn_id": self.conn_id,
            "transport": self.transport,
            "proto_id": self.proto_id,
            "serial": self.serial,
            "fmt": self.fmt,
            "body_len": self.body_len,
            "sha1_ok": self.sha1_ok,
            "request": request,
            "ret_type": self.ret_type,
            "ret_msg": self.ret_msg,
            "error": self.error,
            "rows": None if self.rows is None else [r.as_dict() for r in self.rows],
            "next_key": self.next_key.decode("latin-1") if self.next_key is not None else None,
            "duration_us": self.duration_us,
            "answered_by": self.source,
            **self.extra,
        }


FIELD_CAP = 256  # characters (or bytes) of a request field kept in the journal
BIG_REQUEST = 2048  # bodies above this are checked for fields to clip
_ENTRY_OVERHEAD = 600
_ROW_COST = 48  # rows are shared with the dataset's cache: the entry holds references


def clip_message(msg: Message) -> bool:
    """Cut string and bytes fields over FIELD_CAP in place (recursively); True if any was."""
    clipped = False
    for fd, value in msg.ListFields():
        repeated = is_repeated(fd)
        if fd.type == fd.TYPE_MESSAGE:
            for item in value if repeated else [value]:
                clipped = clip_message(item) or clipped
        elif fd.type in (fd.TYPE_STRING, fd.TYPE_BYTES):
            items = list(value) if repeated else [value]
            if any(len(v) > FIELD_CAP for v in items):
                cut = [v if len(v) <= FIELD_CAP else v[:FIELD_CAP] for v in items]
                if repeated:
                    del value[:]
                    value.extend(cut)
                else:
                    setattr(msg, fd.name, cut[0])
                clipped = True
        if repeated and fd.type != fd.TYPE_MESSAGE and len(value) > FIELD_CAP:
            del value[FIELD_CAP:]
            clipped = True
    return clipped


def _seq(entry: JournalEntry) -> int:
    return entry.seq


def estimate(entry: JournalEntry) -> int:
    body = entry.body_len if entry.request is not None else 0
    return _ENTRY_OVERHEAD + min(body, 4 * FIELD_CAP * 8) + len(entry.ret_msg) * 3 + _ROW_COST * len(entry.rows or ())


PUSH_SHARE = 10  # pushes get a tenth of the entries and bytes, apart from the requests


class _Ring:
    """Entries kept up to a count and a byte estimate; the oldest go first."""

    def __init__(self, size: int, max_bytes: int) -> None:
        self.items: deque[JournalEntry] = deque()
        self.size, self.max_bytes, self.bytes = size, max_bytes, 0

    def keep(self, entry: JournalEntry) -> None:
        self.items.append(entry)
        self.bytes += entry.cost
        while self.items and (len(self.items) > self.size or self.bytes > self.max_bytes):
            self.bytes -= self.items.popleft().cost

    def clear(self) -> None:
        self.items.clear()
        self.bytes = 0


class Journal:
    """Requests, and the upstream's pushes, each within bounds of its own: a push
    flood never evicts the requests a test is looking for."""

    def __init__(self, size: int = 10000, max_bytes: int = 64 << 20) -> None:
        self._requests = _Ring(size, max_bytes)
        self._pushes = _Ring(max(1, size // PUSH_SHARE), max(1, max_bytes // PUSH_SHARE))
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.size = size
        self.max_bytes = max_bytes
        self.enabled = size > 0

    @property
    def bytes(self) -> int:
        return self._requests.bytes + self._pushes.bytes

    def new_seq(self) -> int:
        return next(self._seq)

    def add(self, entry: JournalEntry, cost: int | None = None) -> None:
        """Keep ``entry`` (``cost``: its estimate, when the caller knows it already)."""
        if not self.enabled:
            return
        if cost is not None:
            entry.cost = cost
            self._keep(entry)
            return
        if entry.request is not None and entry.body_len > BIG_REQUEST:
            try:
                copy = type(entry.request)()
                copy.CopyFrom(entry.request)
                if clip_message(copy):
                    # parsed again: a copy shares the original's memory (protobuf arenas), a parse does not
                    entry.request = type(copy).FromString(copy.SerializeToString())
                    entry.extra["truncated"] = f"request fields cut to {FIELD_CAP} characters"
            except Exception:  # never let journaling fail a request
                entry.request = None
                entry.extra["truncated"] = "request not kept"
        entry.cost = estimate(entry)
        self._keep(entry)

    def _keep(self, entry: JournalEntry) -> None:
        with self._lock:
            (self._pushes if entry.extra.get("push") else self._requests).keep(entry)

    def entries(self, where: Callable[[JournalEntry], bool] | None = None) -> list[JournalEntry]:
        with self._lock:
            requests, pushes = list(self._requests.items), list(self._pushes.items)
        items: Iterable[JournalEntry] = heapq.merge(requests, pushes, key=_seq) if pushes else requests
        return [e for e in items if where is None or where(e)]

    def __len__(self) -> int:
        return len(self._requests.items) + len(self._pushes.items)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._pushes.clear()
