"""Data files whose rows override the synthetic model.

A fixture row names a market, a data type, a trading day and the call and put
values; total and ratio are derived exactly as for synthetic rows.  CSV needs a
header ``market,data_type,date,call,put``; JSON is a list of objects with those
keys (or ``{"rows": [...]}``).  Every problem is reported with file and row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .markets import EXCHANGE_OF, DataType, OptionMarket, parse_data_type, parse_market
from .trading_calendar import calendar_for
from .user_files import read_text

MAX_FIXTURE_FILE = 256 << 20  # a fixture of every market and type over ten years is ~2 MB

COLUMNS = ("market", "data_type", "date", "call", "put")
INT64_MAX = (1 << 63) - 1


class FixtureError(ValueError):
    """A fixture file that cannot be used; the message names file and row."""


@dataclass(frozen=True, slots=True)
class FixtureRow:
    market: OptionMarket
    data_type: DataType
    day: date
    call: int
    put: int


Overlay = dict[tuple[OptionMarket, DataType, date], tuple[int, int]]


def load_fixtures(paths: Iterable[str | Path]) -> Overlay:
    """Merge fixture files in order (a later file wins on the same key)."""
    overlay: Overlay = {}
    for path in paths:
        for row in read_fixture_file(Path(path)):
            overlay[(row.market, row.data_type, row.day)] = (row.call, row.put)
    return overlay


def read_fixture_file(path: Path) -> list[FixtureRow]:
    try:
        text = read_text(path, MAX_FIXTURE_FILE, encoding="utf-8-sig")
    except OSError as exc:
        raise FixtureError(f"{path}: cannot read fixture file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise FixtureError(f"{path}: not UTF-8 text ({exc.reason})") from None
    records = _json_records(path, text) if path.suffix.lower() == ".json" else _csv_records(path, text)
    return [_row(path, where, rec) for where, rec in records]


def _csv_records(path: Path, text: str) -> list[tuple[str, Mapping[str, Any]]]:
    reader = csv.DictReader(line for line in text.splitlines() if line.strip())
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in fields]
    if missing:
        raise FixtureError(f"{path}: CSV header must name {', '.join(COLUMNS)}; missing {', '.join(missing)}")
    out = []
    for i, raw in enumerate(reader, start=2):
        rec = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        out.append((f"line {i}", rec))
    return out


def _json_records(path: Path, text: str) -> list[tuple[str, Mapping[str, Any]]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}: invalid JSON: {exc}") from None
    if isinstance(doc, dict) and "rows" in doc:
        doc = doc["rows"]
    if not isinstance(doc, list):
        raise FixtureError(f"{path}: expected a JSON list of rows (or an object with 'rows')")
    out = []
    for i, rec in enumerate(doc):
        if not isinstance(rec, dict):
            raise FixtureError(f"{path}: row {i}: expected an object with keys {', '.join(COLUMNS)}")
        out.append((f"row {i}", {str(k).lower(): v for k, v in rec.items()}))
    return out


def _row(path: Path, where: str, rec: Mapping[str, Any]) -> FixtureRow:
    def fail(msg: str) -> FixtureError:
        return FixtureError(f"{path}: {where}: {msg}")

    for col in COLUMNS:
        if rec.get(col) in (None, ""):
            raise fail(f"missing {col}")
    try:
        market = parse_market(rec["market"])
    except (KeyError, ValueError):
        raise fail(f"unknown market {rec['market']!r} (US_SECURITY, US_INDEX, HK_SECURITY, HK_INDEX)") from None
    try:
        dtype = parse_data_type(rec["data_type"])
    except (KeyError, ValueError):
        raise fail(f"unknown data_type {rec['data_type']!r} (VOLUME, OPEN_INTEREST)") from None
    try:
        day = date.fromisoformat(str(rec["date"]).strip()[:10])
    except ValueError:
        raise fail(f"bad date {rec['date']!r} (YYYY-MM-DD)") from None
    values = []
    for col in ("call", "put"):
        raw = rec[col]
        if isinstance(raw, bool) or not (isinstance(raw, int) or str(raw).strip().isdigit()):
            raise fail(f"{col} must be a non-negative integer, got {raw!r}")
        value = int(raw)
        if value > INT64_MAX or value < 0:
            raise fail(f"{col} out of range 0..2^63-1: {value}")
        values.append(value)
    if values[0] + values[1] > INT64_MAX:
        raise fail("call + put overflows int64 (totalValue)")
    cal = calendar_for(EXCHANGE_OF[market])
    if not cal.is_session(day):
        raise fail(f"{day} is not a {cal.exchange.mic} trading day, so {market.name} has no row for it")
    return FixtureRow(market, dtype, day, values[0], values[1])
