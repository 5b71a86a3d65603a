"""The rows the server serves: calendar × (fixture overlay, else model).

This is the oracle: the server, the data CLI and the conformance kit all read
rows from here, so "what the server would serve" has one definition.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from .fixtures import Overlay
from .markets import EXCHANGE_OF, HORIZON, DataType, OptionMarket
from .messages import message_class
from .trading_calendar import TradingCalendar, calendar_for

if TYPE_CHECKING:
    from .model import SyntheticModel


@dataclass(frozen=True, slots=True)
class Row:
    day: date
    call: int
    put: int
    timestamp: int  # the day's local midnight, Unix seconds
    wire: bytes = field(default=b"", compare=False, repr=False)  # the encoded StatisticItem, as a repeated field

    @property
    def time(self) -> str:
        return self.day.isoformat()

    @property
    def total(self) -> int:
        return self.call + self.put

    @property
    def ratio(self) -> float | None:
        """put / call rounded to 6 places; None when call is 0."""
        return None if self.call == 0 else round(self.put / self.call, 6)

    def as_dict(self) -> dict[str, object]:
        return {
            "time": self.time,
            "timestamp": float(self.timestamp),
            "call_value": self.call,
            "put_value": self.put,
            "total_value": self.total,
            "ratio": self.ratio,
        }


_StatisticItem = message_class("mockopend.option_market_statistic.StatisticItem")


def varint(n: int) -> bytes:
    """Protobuf base-128 varint of a non-negative integer."""
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def make_row(day: date, call: int, put: int, timestamp: int) -> Row:
    """A row with its protobuf encoding (field 3 of S2C) computed once.

    Rows are cached, so serving a page is a join of these bytes rather than
    six attribute writes per row (docs/performance.md).
    """
    item = _StatisticItem()
    item.time = day.isoformat()
    item.timestamp = float(timestamp)
    item.callValue = call
    item.putValue = put
    item.totalValue = call + put
    if call != 0:
        item.ratio = round(put / call, 6)
    body = item.SerializeToString()
    return Row(day, call, put, timestamp, b"\x1a" + varint(len(body)) + body)


_VERSIONS = itertools.count(1)  # process-wide, so a new Dataset never repeats an old one's version


class Dataset:
    def __init__(
        self,
        seed: int,
        overlay: Overlay | None = None,
        history_start: date = date(2016, 1, 1),
        profile: str = "realistic",
    ) -> None:
        self._model: SyntheticModel | None = None  # made on first use: numpy is imported then
        self._model_args = (seed, profile)
        self.overlay: Overlay = dict(overlay or {})
        self.history_start = history_start
        self._rows: dict[tuple[OptionMarket, DataType], list[Row | None]] = {}
        self._filled: dict[tuple[OptionMarket, DataType], tuple[int, int]] = {}  # a contiguous filled range
        self.version = next(_VERSIONS)  # new when the values change: cached replies are then stale
        self._lock = threading.RLock()

    @property
    def model(self) -> SyntheticModel:
        """The synthetic values: made (and numpy imported) on first use, or by ``warm_up``."""
        if self._model is None:
            from .model import SyntheticModel

            self._model = SyntheticModel(*self._model_args)
        return self._model

    def warm_up(self, markets: list[tuple[OptionMarket, DataType]], last: date) -> None:
        """Generate the series and encode the rows a year back from ``last``, so
        that the first requests find them ready."""
        for market, dtype in markets:
            self.rows(market, dtype, date(last.year - 1, last.month, 1), last)

    def set_model(self, model: SyntheticModel) -> None:
        """Serve another model's values from now on (a data-profile switch)."""
        with self._lock:
            self._model = model
            self._rows = {}
            self._filled = {}
        self.version = next(_VERSIONS)

    def calendar(self, market: OptionMarket) -> TradingCalendar:
        return calendar_for(EXCHANGE_OF[market])

    def row(self, market: OptionMarket, dtype: DataType, day: date) -> Row:
        (row,) = self.rows(market, dtype, day, day) or [None]
        if row is None:
            raise KeyError(f"{day} is not a {self.calendar(market).exchange.mic} session")
        return row

    def rows(
        self, market: OptionMarket, dtype: DataType, first: date, last: date, limit: int | None = None
    ) -> list[Row]:
        """Rows of the sessions in ``[first, last]`` (clipped to history), newest
        first; at most ``limit`` of them."""
        first, last = max(first, self.history_start), min(last, HORIZON)
        if first > last:
            return []
        with self._lock:  # the warm-up thread may be filling the same caches
            return self._rows_locked(market, dtype, first, last, limit)

    def _rows_locked(
        self, market: OptionMarket, dtype: DataType, first: date, last: date, limit: int | None
    ) -> list[Row]:
        series = self.model.series(market, dtype, last)
        days = series.days
        lo = bisect.bisect_left(days, first)
        hi = bisect.bisect_right(days, last)
        if limit is not None:
            lo = max(lo, hi - limit)
        key = (market, dtype)
        cache = self._rows.setdefault(key, [])
        if len(cache) < len(days):  # the series grew: same prefix, more days
            cache.extend([None] * (len(days) - len(cache)))
        flo, fhi = self._filled.get(key, (lo, lo))
        if lo < flo or hi > fhi:  # fill the gap so the filled range stays contiguous
            flo, fhi = min(lo, flo), max(hi, fhi)
            midnight = self.calendar(market).midnight_timestamp
            for i in range(flo, fhi):
                if cache[i] is None:
                    day = days[i]
                    call, put = self.overlay.get((market, dtype, day)) or (series.call[i], series.put[i])
                    cache[i] = make_row(day, call, put, midnight(day))
            self._filled[key] = (flo, fhi)
        out = cache[lo:hi]
        out.reverse()
        return out  # type: ignore[return-value]
