"""Deterministic synthetic call/put values for any (market, type, trading day).

Every random number is a hash of (seed, market, type, stream, date), and
persistence comes from a moving average over the previous sessions of the
exchange calendar — so a day's value never depends on the range a client
asked for.  Magnitudes follow ../shared/MARKET.md's 2026 medians.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist
from typing import Final

from .markets import EXCHANGE_OF, DataType, OptionMarket
from .trading_calendar import TradingCalendar, calendar_for

_NORMAL: Final = NormalDist()
_ANCHOR_DAY: Final = date(2026, 7, 1)


@dataclass(frozen=True, slots=True)
class SeriesParams:
    level: float  # typical daily total at the anchor day
    growth: float  # yearly growth of the level
    sigma: float  # sd of the persistent log deviation
    phi: float  # day-to-day persistence
    noise: float  # sd of the iid log noise
    pc_mean: float  # put/call ratio around which the series mean-reverts
    pc_sigma: float  # sd of log put/call
    weekday: tuple[float, float, float, float, float]


_VOL_US: Final = (0.94, 1.0, 1.0, 1.0, 1.05)
_VOL_HK: Final = (0.98, 1.0, 1.0, 1.0, 1.0)
_FLAT: Final = (1.0, 1.0, 1.0, 1.0, 1.0)

PARAMS: Final[dict[tuple[OptionMarket, DataType], SeriesParams]] = {
    (OptionMarket.US_SECURITY, DataType.VOLUME): SeriesParams(63e6, 0.20, 0.13, 0.75, 0.07, 0.70, 0.12, _VOL_US),
    (OptionMarket.US_INDEX, DataType.VOLUME): SeriesParams(5.3e6, 0.14, 0.13, 0.70, 0.08, 1.15, 0.13, _VOL_US),
    (OptionMarket.HK_SECURITY, DataType.VOLUME): SeriesParams(0.9e6, 0.12, 0.17, 0.75, 0.09, 0.80, 0.14, _VOL_HK),
    (OptionMarket.HK_INDEX, DataType.VOLUME): SeriesParams(125e3, 0.0, 0.20, 0.70, 0.12, 1.05, 0.18, _VOL_HK),
    (OptionMarket.US_SECURITY, DataType.OPEN_INTEREST): SeriesParams(480e6, 0.10, 0.04, 0.95, 0.004, 0.80, 0.03, _FLAT),
    (OptionMarket.US_INDEX, DataType.OPEN_INTEREST): SeriesParams(26e6, 0.08, 0.05, 0.95, 0.005, 1.40, 0.05, _FLAT),
    (OptionMarket.HK_SECURITY, DataType.OPEN_INTEREST): SeriesParams(11e6, 0.09, 0.08, 0.95, 0.010, 0.85, 0.05, _FLAT),
    (OptionMarket.HK_INDEX, DataType.OPEN_INTEREST): SeriesParams(1.2e6, 0.0, 0.10, 0.95, 0.012, 1.15, 0.08, _FLAT),
}

_TAPS: Final = 24  # sessions in the moving average (phi**24 < 0.3 %)


class SyntheticModel:
    """Values for one seed; caches per-day results (they never change)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._z: dict[tuple[int, int, str, date], float] = {}
        self._rows: dict[tuple[int, int, date], tuple[int, int]] = {}

    def _normal(self, market: OptionMarket, dtype: DataType, stream: str, day: date) -> float:
        key = (market.value, dtype.value, stream, day)
        z = self._z.get(key)
        if z is None:
            text = f"{self.seed}|{market.name}|{dtype.name}|{stream}|{day.isoformat()}"
            h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
            z = _NORMAL.inv_cdf((h + 0.5) / 2.0**64)
            self._z[key] = z
        return z

    def _ar(
        self, cal: TradingCalendar, market: OptionMarket, dtype: DataType, stream: str, day: date, phi: float
    ) -> float:
        """Stationary AR(1) with unit variance, as a truncated moving average."""
        days = [day, *cal.previous_sessions(day, _TAPS - 1)]
        acc = 0.0
        weight = 1.0
        for d in days:
            acc += weight * self._normal(market, dtype, stream, d)
            weight *= phi
        return acc * math.sqrt(1.0 - phi * phi)

    def values(self, market: OptionMarket, dtype: DataType, day: date) -> tuple[int, int]:
        """(call, put) for a trading day."""
        key = (market.value, dtype.value, day)
        got = self._rows.get(key)
        if got is not None:
            return got
        p = PARAMS[(market, dtype)]
        cal = calendar_for(EXCHANGE_OF[market])
        years = (day - _ANCHOR_DAY).days / 365.25
        log_total = (
            math.log(p.level)
            + years * math.log1p(p.growth)
            - 0.5 * (p.sigma**2 + p.noise**2)
            + math.log(p.weekday[day.weekday()])
            + p.sigma * self._ar(cal, market, dtype, "level", day, p.phi)
            + p.noise * self._normal(market, dtype, "noise", day)
        )
        if cal.is_half_day(day) and dtype is DataType.VOLUME:
            log_total += math.log(0.55)
        ratio = p.pc_mean * math.exp(p.pc_sigma * self._ar(cal, market, dtype, "pc", day, 0.5))
        total = math.exp(log_total)
        call = round(total / (1.0 + ratio))
        put = round(total * ratio / (1.0 + ratio))
        got = (call, put)
        self._rows[key] = got
        return got
