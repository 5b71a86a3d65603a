"""Injected faults: what the server does instead of (or to) a normal reply.

A fault matches requests by proto id (default 3301; ``null`` = any),
optionally by connection and by page (``first``: requests without a page key,
``next``: continuations carrying one, so a client's paging loop can meet a fault
on a later page), and lasts for the next ``count`` matching requests or
for ``duration`` wall-clock seconds.  Kinds:

- ``latency``     the reply is sent ``latency_ms`` later (later replies queue behind it)
- ``no_reply``    the request is processed, the reply is dropped
- ``reset``       the connection is reset (RST) instead of replying
- ``truncate``    only the first ``truncate_bytes`` (default: half) of the reply frame, then close
- ``corrupt_sha1`` the reply's SHA-1 field is wrong
- ``error``       the reply is an error with ``ret_type``/``ret_msg``/``err_code``

Durations use wall-clock time, not the mock clock: faults model the network.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Final

KINDS: Final = ("latency", "no_reply", "reset", "truncate", "corrupt_sha1", "error")
PAGES: Final = ("first", "next")


class FaultError(ValueError):
    """A fault description that cannot be used; the message says which field."""


@dataclass(slots=True)
class Fault:
    id: int
    kind: str
    proto_id: int | None = 3301
    conn_id: int | None = None
    page: str | None = None  # "first" | "next" | None (any request)
    count: int | None = 1  # None: unlimited until the duration ends or it is deleted
    duration: float | None = None  # seconds
    latency_ms: float = 0.0
    truncate_bytes: int | None = None
    ret_type: int = -1
    ret_msg: str = "injected failure"
    err_code: int | None = None
    applied: int = 0
    created: float = field(default_factory=time.monotonic)

    def matches(self, proto_id: int, conn_id: int, continuation: bool = False) -> bool:
        return (
            (self.proto_id is None or self.proto_id == proto_id)
            and (self.conn_id is None or self.conn_id == conn_id)
            and (self.page is None or (self.page == "next") == continuation)
        )

    def expired(self, mono: float) -> bool:
        if self.count is not None and self.applied >= self.count:
            return True
        return self.duration is not None and mono - self.created >= self.duration

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("created")
        return d


_FIELDS: Final = {
    "kind": str,
    "proto_id": (int, type(None)),
    "conn_id": (int, type(None)),
    "page": (str, type(None)),
    "count": (int, type(None)),
    "duration": (int, float, type(None)),
    "duration_seconds": (int, float, type(None)),
    "latency_ms": (int, float),
    "truncate_bytes": (int, type(None)),
    "ret_type": int,
    "ret_msg": str,
    "err_code": (int, type(None)),
}


_INT32 = (-(1 << 31), (1 << 31) - 1)
# Every number a fault carries ends up in a reply field or a timer: keep it in range.
_RANGES: Final = (
    ("proto_id", 0, (1 << 32) - 1),
    ("conn_id", 0, (1 << 64) - 1),
    ("count", 1, 1_000_000_000),
    ("duration", 0, 30 * 86400),
    ("duration_seconds", 0, 30 * 86400),
    ("latency_ms", 0, 600_000),
    ("truncate_bytes", 0, 1 << 31),
    ("ret_type", *_INT32),
    ("err_code", *_INT32),
)
MAX_RET_MSG = 4096


def _show(value: Any) -> str:
    """A client's value in an error message: at most 60 characters of it."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:60]}…({len(text)} chars)"


class FaultPlan:
    """The active faults of one server; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, **spec: Any) -> Fault:
        unknown = set(spec) - set(_FIELDS)
        if unknown:
            raise FaultError(f"unknown fault field(s): {', '.join(sorted(unknown))} (known: {', '.join(_FIELDS)})")
        for name, value in spec.items():
            want = _FIELDS[name]
            if isinstance(value, bool) or not isinstance(value, want):
                raise FaultError(f"fault field {name!r} has the wrong type: {_show(value)}")
        for name, lo, hi in _RANGES:
            value = spec.get(name)
            if value is None:
                continue
            if isinstance(value, float) and not math.isfinite(value):
                raise FaultError(f"fault field {name!r} must be a finite number, got {_show(value)}")
            if not lo <= value <= hi:
                raise FaultError(f"fault field {name!r} must be in {lo:g}..{hi:g}, got {_show(value)}")
        msg = spec.get("ret_msg")
        if msg is not None:
            if len(msg) > MAX_RET_MSG:
                raise FaultError(f"ret_msg is longer than {MAX_RET_MSG} characters")
            try:
                msg.encode("utf-8")
            except UnicodeEncodeError:
                raise FaultError("ret_msg must be valid Unicode text (no lone surrogates)") from None
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultError(f"fault kind must be one of {', '.join(KINDS)}, got {_show(kind)}")
        if spec.get("page") is not None and spec["page"] not in PAGES:
            raise FaultError(f"fault field 'page' must be one of {', '.join(PAGES)} or null, got {_show(spec['page'])}")
        if "duration_seconds" in spec:
            spec["duration"] = spec.pop("duration_seconds")
        if "duration" in spec and spec["duration"] is not None and "count" not in spec:
            spec["count"] = None
        count, duration = spec.get("count", 1), spec.get("duration")
        if count is not None and count < 1:
            raise FaultError("count must be >= 1 (or null with a duration)")
        if duration is not None and duration <= 0:
            raise FaultError("duration must be > 0 seconds")
        if count is None and duration is None:
            raise FaultError("a fault needs a count or a duration")
        if kind == "latency" and not 0 < spec.get("latency_ms", 0) <= 600_000:
            raise FaultError("latency needs latency_ms in (0, 600000]")
        if spec.get("truncate_bytes") is not None and spec["truncate_bytes"] < 0:
            raise FaultError("truncate_bytes must be >= 0")
        with self._lock:
            fault = Fault(id=next(self._ids), **spec)
            self._faults.append(fault)
        return fault

    @property
    def active(self) -> bool:
        """Whether any fault is planned (expired ones included until the next take)."""
        return bool(self._faults)

    def take(self, proto_id: int, conn_id: int, continuation: bool = False) -> Fault | None:
        """The first active fault matching a request (``continuation``: it carries
        a page key), counted as applied."""
        if not self._faults:
            return None
        mono = time.monotonic()
        with self._lock:
            self._faults = [f for f in self._faults if not f.expired(mono)]
            for f in self._faults:
                if f.matches(proto_id, conn_id, continuation):
                    f.applied += 1
                    return f
        return None

    def list(self) -> list[Fault]:
        mono = time.monotonic()
        with self._lock:
            self._faults = [f for f in self._faults if not f.expired(mono)]
            return list(self._faults)

    def remove(self, fault_id: int | None = None) -> int:
        with self._lock:
            before = len(self._faults)
            self._faults = [] if fault_id is None else [f for f in self._faults if f.id != fault_id]
            return before - len(self._faults)
