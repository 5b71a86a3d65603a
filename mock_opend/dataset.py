"""The rows the server serves: calendar × (fixture overlay, else model).

This is the oracle: the server, the data CLI and the conformance kit all read
rows from here, so "what the server would serve" has one definition.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date

from .fixtures import Overlay
from .markets import EXCHANGE_OF, DataType, OptionMarket
from .model import HORIZON, SyntheticModel
from .trading_calendar import TradingCalendar, calendar_for


@dataclass(frozen=True, slots=True)
class Row:
    day: date
    call: int
    put: int
    timestamp: int  # the day's local midnight, Unix seconds

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


class Dataset:
    def __init__(
        self,
        seed: int,
        overlay: Overlay | None = None,
        history_start: date = date(2016, 1, 1),
        profile: str = "realistic",
    ) -> None:
        self.model = SyntheticModel(seed, profile)
        self.overlay: Overlay = dict(overlay or {})
        self.history_start = history_start

    def calendar(self, market: OptionMarket) -> TradingCalendar:
        return calendar_for(EXCHANGE_OF[market])

    def row(self, market: OptionMarket, dtype: DataType, day: date) -> Row:
        values = self.overlay.get((market, dtype, day))
        if values is None:
            values = self.model.values(market, dtype, day)
        return Row(day, values[0], values[1], self.calendar(market).midnight_timestamp(day))

    def rows(
        self, market: OptionMarket, dtype: DataType, first: date, last: date, limit: int | None = None
    ) -> list[Row]:
        """Rows of the sessions in ``[first, last]`` (clipped to history), newest
        first; at most ``limit`` of them."""
        first, last = max(first, self.history_start), min(last, HORIZON)
        if first > last:
            return []
        series = self.model.series(market, dtype, last)
        days = series.days
        lo = bisect.bisect_left(days, first)
        hi = bisect.bisect_right(days, last)
        if limit is not None:
            lo = max(lo, hi - limit)
        midnight = self.calendar(market).midnight_timestamp
        overlay = self.overlay
        calls, puts = series.call, series.put
        out = []
        for i in range(hi - 1, lo - 1, -1):
            day = days[i]
            values = overlay.get((market, dtype, day)) if overlay else None
            if values is None:
                out.append(Row(day, calls[i], puts[i], midnight(day)))
            else:
                out.append(Row(day, values[0], values[1], midnight(day)))
        return out
