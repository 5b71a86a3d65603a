"""The request journal: every request the server received and what it answered.

Entries keep the decoded request message and convert it to a dict only when
read, so journaling costs little on the hot path.  The journal is bounded
(``journal_size``); the oldest entries fall off first.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message


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
            **self.extra,
        }


class Journal:
    def __init__(self, size: int = 10000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.enabled = size > 0

    def new_seq(self) -> int:
        return next(self._seq)

    def add(self, entry: JournalEntry) -> None:
        if self.enabled:
            with self._lock:
                self._entries.append(entry)

    def entries(self, where: Callable[[JournalEntry], bool] | None = None) -> list[JournalEntry]:
        with self._lock:
            items: Iterable[JournalEntry] = list(self._entries)
        return [e for e in items if where is None or where(e)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
