"""What the server would serve for one query, without a socket: all pages of
it, through the same StatisticService, as CSV, JSON or Parquet.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any, Final

from .config import Config
from .dataset import Row
from .gateway import Gateway
from .markets import DataType, OptionMarket
from .messages import OptionMarketStatisticRequest
from .statistics import StatisticService

FORMATS: Final = ("csv", "json", "parquet")
COLUMNS: Final = ("time", "timestamp", "call_value", "put_value", "total_value", "ratio")


@dataclass(frozen=True, slots=True)
class Query:
    market: OptionMarket
    data_type: DataType
    begin: str = ""
    end: str = ""


def served_rows(config: Config, query: Query) -> list[Row]:
    """Every row the server would return for ``query``, following page keys
    (raises ``ServerError`` exactly where the server would answer an error)."""
    gw = Gateway(config)
    return gateway_rows(gw, query)


def gateway_rows(gw: Gateway, query: Query) -> list[Row]:
    """The same, from a running gateway (its caches, its clock), at any page size."""
    service = StatisticService(gw.dataset, gw.page_keys, 1000, gw.statistics.span_policy)
    req = OptionMarketStatisticRequest()
    c2s = req.c2s
    c2s.optionMarket, c2s.dataType = int(query.market), int(query.data_type)
    c2s.beginTime, c2s.endTime = query.begin, query.end
    rows: list[Row] = []
    while True:
        page = service.query(c2s, gw.now(), gw.config.lang)
        rows.extend(page.rows)
        if page.next_key is None:
            return rows
        c2s.nextPageKey = page.next_key


def render(rows: list[Row], fmt: str) -> bytes:
    if fmt == "json":
        return (json.dumps([r.as_dict() for r in rows], indent=1) + "\n").encode()
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r.time, float(r.timestamp), r.call, r.put, r.total, "" if r.ratio is None else repr(r.ratio)])
        return buf.getvalue().encode()
    if fmt == "parquet":
        return _parquet(rows)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def _parquet(rows: list[Row]) -> bytes:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError("parquet output needs pyarrow: pip install 'mock-opend[parquet]'") from None
    cols: dict[str, Any] = {
        "time": pa.array([r.time for r in rows], pa.string()),
        "timestamp": pa.array([float(r.timestamp) for r in rows], pa.float64()),
        "call_value": pa.array([r.call for r in rows], pa.int64()),
        "put_value": pa.array([r.put for r in rows], pa.int64()),
        "total_value": pa.array([r.total for r in rows], pa.int64()),
        "ratio": pa.array([r.ratio for r in rows], pa.float64()),
    }
    sink = io.BytesIO()
    pq.write_table(pa.table(cols), sink)
    return sink.getvalue()
