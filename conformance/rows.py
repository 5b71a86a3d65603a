"""Comparing the rows a client returned with the rows the server served.

A mismatch is told the way its author needs it: which dates are missing or
extra (with their values) before anything else, then order, then the first
field that differs.  A field may be ``None`` only where the server left it out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

ROW_FIELDS = ("time", "timestamp", "call_value", "put_value", "total_value", "ratio")
SHOWN = 10  # rows listed in a message, at most


@dataclass(frozen=True)
class RowDifference:
    message: str
    expected: Any
    actual: Any


def normalise(row: dict[str, Any]) -> dict[str, Any]:
    """A client's row in canonical form (int64 may come as decimal strings)."""
    out: dict[str, Any] = {}
    for k in ROW_FIELDS:
        v = row.get(k) if isinstance(row, dict) else None
        if k in ("call_value", "put_value", "total_value") and isinstance(v, str) and v.lstrip("-").isdigit():
            v = int(v)
        if k in ("timestamp", "ratio") and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        out[k] = v
    return out


def _dates(rows: list[dict[str, Any]]) -> list[Any]:
    """The rows' dates, as hashable values whatever a client sent."""
    return [_hashable(r.get("time")) for r in rows]


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _listed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows[:SHOWN] + ([{"…": f"{len(rows) - SHOWN} more"}] if len(rows) > SHOWN else [])


def difference(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> RowDifference | None:
    """None when ``got`` is ``want`` row for row; else what differs, most telling first."""
    mine = [normalise(r) for r in got]
    gd, wd = _dates(mine), _dates(want)
    if gd != wd:
        gs, ws = set(gd), set(wd)
        missing = [r for r in want if _hashable(r["time"]) not in gs]
        extra = [r for r in mine if _hashable(r["time"]) not in ws]
        repeated = sorted((d for d, n in Counter(gd).items() if n > 1), key=str, reverse=True)
        parts = []
        if len(got) != len(want):
            parts.append(f"{len(got)} rows instead of {len(want)}")
        if missing:
            span = f"{missing[-1]['time']}…{missing[0]['time']}" if len(missing) > 1 else missing[0]["time"]
            parts.append(f"missing {_plural(len(missing), 'date')} ({span})")
        if extra:
            parts.append(f"{_plural(len(extra), 'date')} the server did not send")
        if repeated:
            parts.append(f"{_plural(len(repeated), 'date')} repeated ({', '.join(map(str, repeated[:SHOWN]))})")
        if not parts:
            where = next(i for i, (a, b) in enumerate(zip(gd, wd, strict=True)) if a != b)
            order = "oldest first" if gd == wd[::-1] else f"from row {where} on"
            parts.append(f"the right dates in the wrong order ({order}; the server sends newest first)")
            return RowDifference("; ".join(parts), wd[where : where + SHOWN], gd[where : where + SHOWN])
        return RowDifference(
            "; ".join(parts),
            {"missing": _listed(missing)} if missing else {"rows": len(want)},
            {"extra": _listed(extra)} if extra else {"repeated": repeated[:SHOWN]} if repeated else {"rows": len(got)},
        )
    for i, (g, w) in enumerate(zip(mine, want, strict=True)):
        for k in ROW_FIELDS:
            if g[k] == w[k]:
                continue
            if g[k] is None:
                return RowDifference(f"row {i} ({w['time']}): {k} missing (the server sent it)", w[k], None)
            if w[k] is None:
                return RowDifference(f"row {i} ({w['time']}): {k} present (the server left it out)", None, g[k])
            return RowDifference(f"row {i} ({w['time']}): {k} differs", w[k], g[k])
    return None


def same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> bool:
    return difference(got, want) is None
