"""Synthetic daily option statistics that look like the real market.

One series per (seed, market, data type) is generated for every session of the
exchange from a fixed origin (2013-11-01) to the needed horizon, vectorised with
numpy, and cached.  Every random number is a counter-based hash of (seed, scope,
stream, date), and the autoregressive parts run forward from the fixed origin,
so a day's value depends on (seed, market, data type, date) only — never on the
range a client asked for or on which range was generated first.

The model and its parameters follow ../shared/MARKET.md §3 (docs/data-model.md
has a paragraph per market and the sources of the anchors).  The
``edge`` profile replaces the values with ones that break clients.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np

from .config import PROFILES
from .markets import EXCHANGE_OF, HORIZON, DataType, OptionMarket
from .trading_calendar import TradingCalendar, calendar_for

ORIGIN: Final = date(2013, 11, 1)  # before the earliest history_start, so the first served day has a past


@dataclass(frozen=True, slots=True)
class Params:
    """One market's parameters (MARKET.md §3.3, anchors extended to 2016)."""

    adv: dict[int, float]  # average daily volume, contracts, anchored at July 1 of each year
    oi: dict[int, float]  # open interest, contracts, same anchoring
    dow: tuple[float, float, float, float, float]  # Mon..Fri volume factors
    exp_m: float  # volume on a monthly expiry session
    exp_q: float  # … on a quarterly (Mar/Jun/Sep/Dec) expiry
    pre_exp: float  # … on the session before an expiry
    half: float  # … on a half day
    lull: float  # … between Dec 22 and Jan 2
    sigma_x: float  # sd of the persistent log deviation of volume
    phi: float  # its day-to-day persistence
    sigma_e: float  # sd of the iid log noise
    shock_p: float  # probability that a volatility shock starts on a session
    shock_lo: float  # shock amplitude range (log volume)
    shock_hi: float
    shock_decay: float  # fraction of a shock left the next session
    pc_mu: float  # put/call ratio of volume: level it reverts to
    pc_sd: float
    pc_phi: float
    pc_shock: float  # how much a shock lifts log put/call
    oipc_mu: float  # put/call ratio of open interest
    oipc_sd: float
    drop_m: float  # share of OI that expires at a monthly expiry
    drop_q: float  # … at a quarterly expiry
    oi_sd: float  # sd of the persistent log deviation of OI
    pc_regime: float = 0.0  # share of the variance of log put/call in a slow regime (weeks)
    pc_regime_phi: float = 0.97  # that regime's day-to-day persistence
    exp_pc: float = 1.0  # put/call of volume on a monthly-expiry Friday, relative to other days
    pc_level: float = 0.0  # how much the persistent volume deviation (per unit of log volume) moves log put/call
    rush_p: float = 0.0  # probability of a one-day call rush on a session
    rush_lo: float = 0.0  # its size: how far it lowers log put/call
    rush_hi: float = 0.0
    rush_volume: float = 0.0  # how much log volume rises per unit of that size
    level_with: OptionMarket | None = None  # a market of the same exchange whose persistent volume deviation …
    level_shared: float = 0.0  # … this one shares: the shared part of its variance


_Y = range(2016, 2027)


def _years(*values: float) -> dict[int, float]:
    return dict(zip(_Y, values, strict=True))


PARAMS: Final[dict[OptionMarket, Params]] = {
    # OCC equity (incl. ETF) options ADV 2016–2025; 2026 from the API page's example.
    OptionMarket.US_SECURITY: Params(
        adv=_years(14.4e6, 14.6e6, 18.4e6, 17.4e6, 26.7e6, 37.3e6, 38.0e6, 40.4e6, 43.5e6, 54.0e6, 67.0e6),
        oi=_years(250e6, 260e6, 280e6, 290e6, 320e6, 360e6, 370e6, 380e6, 400e6, 450e6, 500e6),
        dow=(0.94, 1.0, 1.0, 1.025, 1.05),
        exp_m=1.18,
        exp_q=1.32,
        pre_exp=1.04,
        half=0.55,
        lull=0.85,
        sigma_x=0.15,
        phi=0.72,
        sigma_e=0.025,
        shock_p=0.02,
        shock_lo=0.25,
        shock_hi=0.65,
        shock_decay=0.80,
        pc_mu=0.70,
        pc_sd=0.14,
        pc_phi=0.22,
        pc_shock=0.35,
        oipc_mu=0.80,
        oipc_sd=0.03,
        drop_m=0.12,
        drop_q=0.18,
        oi_sd=0.006,
        pc_regime=0.47,
        exp_pc=0.945,
    ),
    # OCC index options ADV 2016–2025 (SPX, VIX, XSP, NDX, RUT…); the shape (weekdays,
    # expiry week, put/call swings and one-day call rushes, call-heavy busy days) from Cboe's
    # daily index-option volumes 2006–2019 (docs/data-model.md, "Index options").
    OptionMarket.US_INDEX: Params(
        adv=_years(1.73e6, 1.95e6, 2.43e6, 1.94e6, 1.90e6, 1.97e6, 2.79e6, 3.80e6, 4.15e6, 4.85e6, 5.50e6),
        oi=_years(17e6, 18e6, 19e6, 19e6, 19e6, 20e6, 20e6, 21e6, 23e6, 25e6, 27e6),
        dow=(0.90, 0.955, 1.0, 1.02, 1.085),  # rising to Friday, the weeklies' expiry
        exp_m=0.91,  # AM-settled SPX monthlies stop trading on Thursday: the Friday is a quiet Friday
        exp_q=1.0,
        pre_exp=1.07,  # … and that Thursday is the busy day
        half=0.57,
        lull=0.85,
        sigma_x=0.25,
        phi=0.70,
        sigma_e=0.12,
        shock_p=0.02,
        shock_lo=0.20,
        shock_hi=0.55,
        shock_decay=0.80,
        pc_mu=1.085,
        pc_sd=0.21,
        pc_phi=0.05,
        pc_shock=0.0,  # Cboe's data show no sign for multi-day shocks
        oipc_mu=1.40,
        oipc_sd=0.05,
        drop_m=0.10,
        drop_q=0.22,
        oi_sd=0.008,
        pc_regime=0.30,
        exp_pc=1.06,
        pc_level=-0.22,  # busy weeks lean to calls
        rush_p=0.048,
        rush_lo=0.20,
        rush_hi=0.55,
        rush_volume=0.7,
        level_with=OptionMarket.US_SECURITY,
        level_shared=0.5,
    ),
    # HKEX stock options ADV (2019–2025 sourced; 2016–2018 held at the 2019 level).
    OptionMarket.HK_SECURITY: Params(
        adv=_years(0.45e6, 0.45e6, 0.45e6, 0.447e6, 0.526e6, 0.637e6, 0.63e6, 0.633e6, 0.68e6, 0.82e6, 0.90e6),
        oi=_years(7e6, 7e6, 7.5e6, 7.5e6, 8e6, 8.5e6, 8.5e6, 9e6, 10e6, 11e6, 12e6),
        dow=(0.98, 1.0, 1.0, 1.0, 1.0),
        exp_m=1.22,
        exp_q=1.30,
        pre_exp=1.10,
        half=0.60,
        lull=0.85,
        sigma_x=0.17,
        phi=0.75,
        sigma_e=0.09,
        shock_p=0.02,
        shock_lo=0.25,
        shock_hi=0.70,
        shock_decay=0.80,
        pc_mu=0.80,
        pc_sd=0.14,
        pc_phi=0.30,
        pc_shock=0.30,
        oipc_mu=0.85,
        oipc_sd=0.05,
        drop_m=0.28,
        drop_q=0.35,
        oi_sd=0.012,
        pc_regime=0.47,
    ),
    # HKEX equity index options (HSI, HSCEI, minis, weeklies, HSTECH).
    OptionMarket.HK_INDEX: Params(
        adv=_years(145e3, 145e3, 145e3, 145e3, 145e3, 145e3, 145e3, 145e3, 145e3, 125e3, 125e3),
        oi=_years(1.2e6, 1.2e6, 1.2e6, 1.2e6, 1.2e6, 1.2e6, 1.2e6, 1.2e6, 1.2e6, 1.2e6, 1.2e6),
        dow=(0.97, 1.0, 1.0, 1.0, 1.02),
        exp_m=1.30,
        exp_q=1.40,
        pre_exp=1.12,
        half=0.60,
        lull=0.85,
        sigma_x=0.20,
        phi=0.70,
        sigma_e=0.12,
        shock_p=0.02,
        shock_lo=0.25,
        shock_hi=0.75,
        shock_decay=0.80,
        pc_mu=1.05,
        pc_sd=0.18,
        pc_phi=0.30,
        pc_shock=0.30,
        oipc_mu=1.15,
        oipc_sd=0.08,
        drop_m=0.20,
        drop_q=0.30,
        oi_sd=0.015,
        pc_regime=0.47,
    ),
}

_SHOCK_TAPS: Final = 40


def _splitmix(x: np.ndarray) -> np.ndarray:
    """A counter-based 64-bit mixer (SplitMix64's finaliser), elementwise."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


class _Streams:
    """Uniforms and normals keyed by (seed, scope, stream, date ordinal)."""

    def __init__(self, seed: int, ords: np.ndarray) -> None:
        self.seed = seed
        self.mixed = _splitmix(ords.astype(np.uint64))

    def uniform(self, scope: str, stream: str) -> np.ndarray:
        key = hashlib.blake2b(f"{self.seed}|{scope}|{stream}".encode(), digest_size=8).digest()
        x = _splitmix(self.mixed ^ np.uint64(int.from_bytes(key, "little")))
        return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / (1 << 53))

    def normal(self, scope: str, stream: str) -> np.ndarray:
        u1, u2 = self.uniform(scope, stream + "/r"), self.uniform(scope, stream + "/t")
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)


def _ar1(z: np.ndarray, phi: float) -> np.ndarray:
    """Stationary unit-variance AR(1) driven by ``z``, run from the origin."""
    out = [0.0] * len(z)
    scale = math.sqrt(1.0 - phi * phi)
    prev = 0.0
    for i, zi in enumerate(z.tolist()):
        prev = zi if i == 0 else phi * prev + scale * zi
        out[i] = prev
    return np.asarray(out)


def _log_anchor(anchors: dict[int, float], ords: np.ndarray) -> np.ndarray:
    """Log-linear interpolation between July-1 anchors, flat beyond them."""
    xs = np.array([date(y, 7, 1).toordinal() for y in sorted(anchors)], dtype=np.float64)
    ys = np.log(np.array([anchors[y] for y in sorted(anchors)]))
    return np.interp(ords.astype(np.float64), xs, ys)


def monthly_expiries(cal: TradingCalendar, days: list[date]) -> set[date]:
    """Monthly expiry sessions among ``days``' months.

    NYSE: the third Friday, or the session before it when it is a holiday.
    HKEX: the second-last session of the month.
    """
    months = sorted({(d.year, d.month) for d in days})
    out: set[date] = set()
    for y, m in months:
        first = date(y, m, 1)
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        if cal.exchange.mic == "XNYS":
            friday = first + timedelta(days=(4 - first.weekday()) % 7 + 14)
            if cal.is_session(friday):
                out.add(friday)
            else:
                prev = cal.previous_sessions(friday, 1)
                if prev and prev[0].month == m:
                    out.add(prev[0])
        else:
            sessions = cal.sessions(first, nxt - timedelta(days=1))
            if len(sessions) >= 2:
                out.add(sessions[-2])
    return out


@dataclass(frozen=True, slots=True)
class Series:
    end: date  # generated through this date
    days: list[date]  # ascending sessions from the origin
    ords: np.ndarray  # their ordinals, for searching
    call: list[int]
    put: list[int]


class SyntheticModel:
    """All series of one seed and profile, generated on first use and cached."""

    def __init__(self, seed: int, profile: str = "realistic") -> None:
        if profile not in PROFILES:
            raise ValueError(f"data profile must be one of {', '.join(PROFILES)}, got {profile!r}")
        self.seed = seed
        self.profile = profile
        self._series: dict[tuple[OptionMarket, DataType], Series] = {}
        self._lock = threading.Lock()

    # -- public ---------------------------------------------------------------
    def values(self, market: OptionMarket, dtype: DataType, day: date) -> tuple[int, int]:
        """(call, put) for one session."""
        s = self.series(market, dtype, day)
        i = bisect.bisect_left(s.days, day)
        if i == len(s.days) or s.days[i] != day:
            raise KeyError(f"{day} is not a {EXCHANGE_OF[market].mic} session")
        return s.call[i], s.put[i]

    def series(self, market: OptionMarket, dtype: DataType, upto: date | None = None) -> Series:
        """The cached series, extended (same values, more days) to cover ``upto``."""
        key = (market, dtype)
        need = min(upto, HORIZON) if upto is not None else None
        s = self._series.get(key)
        if s is not None and (need is None or need <= s.end):
            return s
        with self._lock:
            s = self._series.get(key)
            if s is None or (need is not None and need > s.end):
                # generate a year past what is needed, so moving clocks rarely regenerate
                base = need if need is not None else date(2026, 12, 31)
                s = self._generate(market, dtype, min(HORIZON, date(base.year + 1, 12, 31)))
                self._series[key] = s
        return s

    # -- generation -------------------------------------------------------------
    def _generate(self, market: OptionMarket, dtype: DataType, end: date) -> Series:
        cal = calendar_for(EXCHANGE_OF[market])
        days = cal.sessions(ORIGIN, end)
        ords = np.fromiter((d.toordinal() for d in days), dtype=np.int64, count=len(days))
        streams = _Streams(self.seed, ords)
        if self.profile == "edge":
            call, put = _edge_values(streams, market, dtype, len(days))
        elif dtype is DataType.VOLUME:
            call, put = _volume(streams, cal, market, days, ords)
        else:
            call, put = _open_interest(streams, cal, market, days, ords)
        return Series(end, days, ords, call.tolist(), put.tolist())


def _calendar_effects(cal: TradingCalendar, days: list[date]) -> tuple[np.ndarray, ...]:
    expiries = monthly_expiries(cal, days)
    n = len(days)
    is_exp = np.fromiter((d in expiries for d in days), dtype=bool, count=n)
    quarterly = np.fromiter((d.month % 3 == 0 for d in days), dtype=bool, count=n)
    pre_exp = np.zeros(n, dtype=bool)
    pre_exp[:-1] = is_exp[1:]
    half = np.fromiter((cal.is_half_day(d) for d in days), dtype=bool, count=n)
    weekday = np.fromiter((d.weekday() for d in days), dtype=np.int64, count=n)
    lull = np.fromiter(
        ((d.month == 12 and d.day >= 22) or (d.month == 1 and d.day <= 2) for d in days), dtype=bool, count=n
    )
    return is_exp, quarterly, pre_exp, half, weekday, lull


def _shocks(streams: _Streams, mic: str, p: Params) -> np.ndarray:
    """Volatility shocks of one exchange (its markets spike together)."""
    onset = streams.uniform(mic, "shock") < p.shock_p
    amp = p.shock_lo + (p.shock_hi - p.shock_lo) * streams.uniform(mic, "shock-amp")
    kernel = p.shock_decay ** np.arange(_SHOCK_TAPS)
    return np.convolve(np.where(onset, amp, 0.0), kernel)[: len(onset)]


def _split(total: np.ndarray, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    call = np.rint(total / (1.0 + ratio)).astype(np.int64)
    put = np.rint(total * ratio / (1.0 + ratio)).astype(np.int64)
    return np.maximum(call, 1), np.maximum(put, 1)


def _volume(
    streams: _Streams, cal: TradingCalendar, market: OptionMarket, days: list[date], ords: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    p = PARAMS[market]
    scope = market.name
    is_exp, quarterly, pre_exp, half, weekday, lull = _calendar_effects(cal, days)
    shock = _shocks(streams, cal.exchange.mic, p)
    level = _ar1(streams.normal(scope, "volume-level"), p.phi)
    if p.level_with is not None:  # the same busy weeks as the other market
        peer = _ar1(streams.normal(p.level_with.name, "volume-level"), p.phi)
        level = math.sqrt(1.0 - p.level_shared) * level + math.sqrt(p.level_shared) * peer
    rush = np.zeros(len(days))
    if p.rush_p:  # a one-day rush into calls (VIX calls in a sell-off, a chase): busy and call-heavy
        size = p.rush_lo + (p.rush_hi - p.rush_lo) * streams.uniform(scope, "call-rush-size")
        rush = np.where((streams.uniform(scope, "call-rush") < p.rush_p) & ~half, size, 0.0)
    dev = p.sigma_x * level + p.sigma_e * streams.normal(scope, "volume-noise") + shock + p.rush_volume * rush
    dev = np.clip(dev, -0.9, 1.0)
    dev = np.where(half, np.minimum(dev, 0.10), dev)
    log_v = (
        _log_anchor(p.adv, ords)
        - 0.5 * (p.sigma_x**2 + p.sigma_e**2)
        + np.log(np.asarray(p.dow))[weekday]
        + np.where(is_exp, math.log(p.exp_q) * quarterly + math.log(p.exp_m) * ~quarterly, 0.0)
        + np.where(pre_exp, math.log(p.pre_exp), 0.0)
        + np.where(half, math.log(p.half), 0.0)
        + np.where(lull, math.log(p.lull), 0.0)
        + dev
    )
    mood = math.sqrt(1.0 - p.pc_regime) * _ar1(streams.normal(scope, "volume-pc"), p.pc_phi)
    if p.pc_regime:
        mood = mood + math.sqrt(p.pc_regime) * _ar1(streams.normal(scope, "volume-pc-regime"), p.pc_regime_phi)
    log_r = (
        math.log(p.pc_mu)
        + p.pc_sd * mood
        + p.pc_shock * shock
        + np.where(is_exp & (weekday == 4), math.log(p.exp_pc), 0.0)
    )
    if p.pc_level:
        log_r = log_r + p.pc_level * p.sigma_x * level
    if p.rush_p:
        log_r = log_r - rush
    return _split(np.exp(log_v), np.exp(log_r))


def _open_interest(
    streams: _Streams, cal: TradingCalendar, market: OptionMarket, days: list[date], ords: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    p = PARAMS[market]
    scope = market.name
    is_exp, quarterly, *_ = _calendar_effects(cal, days)
    exp_idx = np.flatnonzero(is_exp)
    idx = np.arange(len(days))
    nxt = np.searchsorted(exp_idx, idx, side="left")  # first expiry at or after each session
    prev_e = np.where(nxt > 0, exp_idx[np.maximum(nxt - 1, 0)], -1)
    next_e = np.where(nxt < len(exp_idx), exp_idx[np.minimum(nxt, len(exp_idx) - 1)], len(days))
    k = idx - prev_e  # 1 = first session after the last expiry
    n = np.maximum(next_e - prev_e, 2)
    drop = np.where(prev_e >= 0, np.where(quarterly[np.maximum(prev_e, 0)], p.drop_q, p.drop_m), p.drop_m)
    cycle = (1.0 - drop) + drop * (k - 1) / (n - 1)
    log_oi = _log_anchor(p.oi, ords) + np.log(cycle) + p.oi_sd * _ar1(streams.normal(scope, "oi-level"), 0.9)
    log_r = math.log(p.oipc_mu) + p.oipc_sd * _ar1(streams.normal(scope, "oi-pc"), 0.97)
    return _split(np.exp(log_oi), np.exp(log_r))


_I31 = 1 << 31
_I53 = 1 << 53
_I62 = 1 << 62


def _edge_values(streams: _Streams, market: OptionMarket, dtype: DataType, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Values that break clients, on the real calendar.

    Per session, one of: call 0 (ratio unset), put 0, both 0, values around
    2^31, odd values above 2^53 (not representable as a double), a total of
    exactly 2^63-1, a ratio in the millions, or small ordinary values; and every
    61 sessions a run of 3, 5, 7 or 10 all-zero sessions that look like holidays
    in the data.
    """
    scope = f"{market.name}/{dtype.name}/edge"
    kind = streams.uniform(scope, "kind")
    a = (streams.uniform(scope, "a") * 1000).astype(np.int64)
    b = (streams.uniform(scope, "b") * 1000).astype(np.int64)
    small_c, small_p = 1 + a * 997, 1 + b * 991
    call = np.select(
        [kind < 0.10, kind < 0.20, kind < 0.25, kind < 0.40, kind < 0.55, kind < 0.65, kind < 0.72],
        [0, small_c, 0, _I31 - 2 + a % 4, _I53 + 1 + 2 * a, _I62 + a, 1],
        small_c,
    ).astype(np.int64)
    put = np.select(
        [kind < 0.10, kind < 0.20, kind < 0.25, kind < 0.40, kind < 0.55, kind < 0.65, kind < 0.72],
        [small_p, 0, 0, _I31 - 1 + b % 4, _I53 + 3 + 2 * b, _I62 - 1 - a, _I53 + 1],
        small_p,
    ).astype(np.int64)
    # every 61 sessions from the origin, a run of 3, 5, 7 or 10 empty sessions
    block = np.arange(n) // 61
    run_len = np.array([3, 5, 7, 10])[block % 4]
    zero = np.arange(n) % 61 < run_len
    return np.where(zero, 0, call), np.where(zero, 0, put)
