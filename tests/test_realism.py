"""Realism of the synthetic data: ../shared/MARKET.md §3.4, with bands tightened
where exchange statistics were found (README, "Data model" lists the sources).

Every test states its tolerance; they run on a 2-year window
(2024-07-01..2026-06-30) for several seeds, so a drifting model fails here.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import holidays
import numpy as np
import pytest
import shape_statistics

from mock_opend.dataset import Dataset
from mock_opend.markets import EXCHANGE_OF, DataType, OptionMarket
from mock_opend.model import monthly_expiries
from mock_opend.trading_calendar import calendar_for

SEEDS = (1, 7, 42, 2026)
BEGIN, END = date(2024, 7, 1), date(2026, 6, 30)
US = (OptionMarket.US_SECURITY, OptionMarket.US_INDEX)

# median daily total volume over the window. MARKET.md: [45M, 80M], [3.5M, 6.5M],
# [0.55M, 1.1M], [80k, 200k]; tightened with OCC and HKEX averages for 2024–2025.
VOLUME_MEDIAN = {
    OptionMarket.US_SECURITY: (48e6, 66e6),  # OCC equity+ETF ADV 43.3M (2024) .. 53.7M (2025 YTD Sep) .. 2026 example
    OptionMarket.US_INDEX: (4.0e6, 5.6e6),  # OCC index ADV 4.17M (2024), 4.83M (2025 YTD Sep)
    OptionMarket.HK_SECURITY: (0.65e6, 0.95e6),  # HKEX stock options ADV 0.68M (2024), 0.82M (2025)
    OptionMarket.HK_INDEX: (100e3, 165e3),  # HKEX index options ADV 146.5k (2024 Jan-Jul), ~107k (Aug 2025)
}
PC_MEAN = {
    OptionMarket.US_SECURITY: (0.60, 0.85),
    OptionMarket.US_INDEX: (0.95, 1.40),
    OptionMarket.HK_SECURITY: (0.65, 1.00),
    OptionMarket.HK_INDEX: (0.85, 1.30),
}
OI_MEDIAN = {
    OptionMarket.US_SECURITY: (300e6, 650e6),
    OptionMarket.US_INDEX: (15e6, 40e6),
    OptionMarket.HK_SECURITY: (6e6, 16e6),
    OptionMarket.HK_INDEX: (0.6e6, 2.5e6),
}
OI_PC = {
    OptionMarket.US_SECURITY: (0.65, 1.0),
    OptionMarket.US_INDEX: (1.15, 1.8),
    OptionMarket.HK_SECURITY: (0.65, 1.05),
    OptionMarket.HK_INDEX: (0.9, 1.5),
}


@dataclass
class Window:
    days: list[date]
    call: np.ndarray
    put: np.ndarray
    expiries: set[date]

    @property
    def total(self) -> np.ndarray:
        return self.call + self.put

    @property
    def ratio(self) -> np.ndarray:
        return self.put / self.call


@functools.cache
def window(seed: int, market: OptionMarket, dtype: DataType, begin: date = BEGIN, end: date = END) -> Window:
    rows = list(reversed(Dataset(seed).rows(market, dtype, begin, end)))
    cal = calendar_for(EXCHANGE_OF[market])
    days = [r.day for r in rows]
    call = np.array([r.call for r in rows], dtype=float)
    put = np.array([r.put for r in rows], dtype=float)
    return Window(days, call, put, monthly_expiries(cal, days))


params = pytest.mark.parametrize("seed", SEEDS)
markets = pytest.mark.parametrize("market", list(OptionMarket))


# 1-2 calendar and timestamps -------------------------------------------------
@markets
def test_rows_are_exactly_the_exchange_sessions(market: OptionMarket) -> None:
    mic = EXCHANGE_OF[market].mic
    w = window(1, market, DataType.VOLUME)
    closed = {d for y in (2024, 2025, 2026) for d in holidays.financial_holidays(mic, years=y)}
    expected = [BEGIN + timedelta(days=i) for i in range((END - BEGIN).days + 1)]
    assert w.days == [d for d in expected if d.weekday() < 5 and d not in closed]
    per_year = {y: sum(d.year == y for d in w.days) for y in (2025,)}
    lo, hi = (250, 252) if mic == "XNYS" else (243, 248)
    assert lo <= per_year[2025] <= hi


def test_hk_weather_closures_have_no_rows() -> None:
    ds = Dataset(1, history_start=date(2023, 1, 1))
    days = {r.day for r in ds.rows(OptionMarket.HK_SECURITY, DataType.VOLUME, date(2023, 7, 1), date(2024, 9, 30))}
    assert not days & {date(2023, 7, 17), date(2023, 9, 1), date(2023, 9, 8), date(2024, 9, 6)}


@markets
def test_timestamps_are_local_midnight(market: OptionMarket) -> None:
    rows = Dataset(1).rows(market, DataType.VOLUME, BEGIN, END)
    stamps = [r.timestamp for r in reversed(rows)]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    for r in rows:
        utc_midnight = datetime.combine(r.day, datetime.min.time(), tzinfo=UTC).timestamp()
        offset = r.timestamp - utc_midnight
        assert offset in ((4 * 3600, 5 * 3600) if market in US else (-8 * 3600,))


# 3 arithmetic ------------------------------------------------------------------
@params
@markets
def test_arithmetic(seed: int, market: OptionMarket) -> None:
    for dtype in DataType:
        for r in Dataset(seed).rows(market, dtype, BEGIN, END):
            assert r.call >= 0 and r.put >= 0 and r.total == r.call + r.put
            assert r.ratio == (None if r.call == 0 else round(r.put / r.call, 6))


# 4-7 volume --------------------------------------------------------------------
@params
@markets
def test_volume_level(seed: int, market: OptionMarket) -> None:
    lo, hi = VOLUME_MEDIAN[market]
    assert lo <= np.median(window(seed, market, DataType.VOLUME).total) <= hi


@params
def test_us_security_2026_h1_level(seed: int) -> None:
    w = window(seed, OptionMarket.US_SECURITY, DataType.VOLUME, date(2026, 1, 1), date(2026, 6, 30))
    assert 55e6 <= np.median(w.total) <= 80e6  # the API page's June 2026 example: 58M–96M a day


# Cboe's index options, the 2-year windows 2007-08, 2009-10 … 2017-18 (printed by
# python -m tests.shape_statistics): p95/p05 2.51-3.58, min/median 0.136-0.391, P/C sd
# 0.221-0.340, P/C max 1.80-3.36. US_INDEX is held to those where they are wider than
# MARKET.md's generic bands (its P/C max keeps the generic 3.0).
INDEX_2Y = {"p95_p05": 3.58, "min_median": 0.136, "pc_sd": 0.35, "pc_max": 3.0}  # sd: 0.340 rounded up


@params
@markets
def test_volume_dispersion(seed: int, market: OptionMarket) -> None:
    v = window(seed, market, DataType.VOLUME).total
    med = np.median(v)
    index = market is OptionMarket.US_INDEX
    assert 1.5 <= np.percentile(v, 95) / np.percentile(v, 5) <= (INDEX_2Y["p95_p05"] if index else 3.2)
    assert 0.06 <= np.median(np.abs(np.diff(np.log(v)))) <= 0.25
    assert v.max() / med <= (4.0 if market is OptionMarket.HK_INDEX else 3.5)
    assert v.min() / med >= (INDEX_2Y["min_median"] if index else 0.25)


@params
@markets
def test_volume_persistence(seed: int, market: OptionMarket) -> None:
    lv = np.log(window(seed, market, DataType.VOLUME).total)
    assert 0.30 <= np.corrcoef(lv[:-1], lv[1:])[0, 1] <= 0.90


@params
@markets
def test_put_call_ratio_of_volume(seed: int, market: OptionMarket) -> None:
    r = window(seed, market, DataType.VOLUME).ratio
    lo, hi = PC_MEAN[market]
    assert lo <= r.mean() <= hi
    index = market is OptionMarket.US_INDEX
    assert 0.04 <= r.std() <= (INDEX_2Y["pc_sd"] if index else 0.30)
    assert r.min() >= 0.3 and r.max() <= (INDEX_2Y["pc_max"] if index else 3.0)


@params
@markets
def test_index_options_are_more_put_heavy_than_stock_options(seed: int, market: OptionMarket) -> None:
    if market in (OptionMarket.US_INDEX, OptionMarket.HK_INDEX):
        stock = OptionMarket.US_SECURITY if market is OptionMarket.US_INDEX else OptionMarket.HK_SECURITY
        assert window(seed, market, DataType.VOLUME).ratio.mean() > window(seed, stock, DataType.VOLUME).ratio.mean()


@params
def test_shocks_lift_volume_and_put_call_together(seed: int) -> None:
    """On the 3% biggest day-over-day volume jumps (expiry days aside), over ten
    years and the markets other than US_INDEX, log put/call rises by more than
    0.03 on average; on the other days it does not move. (Index options do the
    opposite, from Cboe's data: their busy days are call-heavy; see the index
    tests below.)"""
    jumps, others = [], []
    for market in (OptionMarket.US_SECURITY, OptionMarket.HK_SECURITY, OptionMarket.HK_INDEX):
        w = window(seed, market, DataType.VOLUME, date(2016, 1, 4), END)
        dv, dr = np.diff(np.log(w.total)), np.diff(np.log(w.ratio))
        near_expiry = np.array(
            [d in w.expiries or e in w.expiries for d, e in zip(w.days[1:], [*w.days[2:], END], strict=True)]
        )
        big = (dv > np.percentile(dv, 97)) & ~near_expiry
        jumps += list(dr[big])
        others += list(dr[~big])
    assert np.mean(jumps) > 0.03 and abs(np.mean(others)) < 0.01


@params
def test_us_markets_spike_together(seed: int) -> None:
    """Volatility shocks hit both US markets, and index options share half of the
    equity options' busy and quiet weeks: their log volumes correlate by 0.58-0.76
    (seeds 1-60; 0.19-0.54 with the shocks alone)."""
    a = np.log(window(seed, OptionMarket.US_SECURITY, DataType.VOLUME).total)
    b = np.log(window(seed, OptionMarket.US_INDEX, DataType.VOLUME).total)
    assert np.corrcoef(a, b)[0, 1] > 0.5


# 8-9 expiry and half days ------------------------------------------------------------
@params
@pytest.mark.parametrize("market", [m for m in OptionMarket if m is not OptionMarket.US_INDEX])
def test_expiry_day_lift(seed: int, market: OptionMarket) -> None:
    """US_INDEX aside: AM-settled SPX monthlies stop trading on the Thursday, so in
    Cboe's data the expiry Friday is barely busier than its neighbours (held below)."""
    w = window(seed, market, DataType.VOLUME)
    on_expiry = [t for d, t in zip(w.days, w.total, strict=True) if d in w.expiries]
    assert len(on_expiry) == 24
    assert np.median(on_expiry) / np.median(w.total) >= 1.08


def test_expiry_rules() -> None:
    nyse, hkex = calendar_for(EXCHANGE_OF[OptionMarket.US_SECURITY]), calendar_for(EXCHANGE_OF[OptionMarket.HK_INDEX])
    us = monthly_expiries(nyse, nyse.sessions(date(2025, 1, 1), date(2026, 12, 31)))
    assert date(2025, 4, 17) in us and date(2026, 6, 18) in us  # Good Friday / Juneteenth: the session before
    assert date(2026, 1, 16) in us and len(us) == 24
    hk = monthly_expiries(hkex, hkex.sessions(date(2025, 1, 1), date(2026, 12, 31)))
    assert date(2025, 1, 27) in hk and date(2026, 2, 26) in hk and len(hk) == 24


@params
@markets
def test_half_days_are_quiet(seed: int, market: OptionMarket) -> None:
    w = window(seed, market, DataType.VOLUME)
    cal = calendar_for(EXCHANGE_OF[market])
    ratios = []
    for i, d in enumerate(w.days):
        if cal.is_half_day(d):
            neighbours = np.r_[w.total[max(0, i - 5) : i], w.total[i + 1 : i + 6]]
            ratios.append(w.total[i] / np.median(neighbours))
    assert ratios, "the window has half days"
    assert np.median(ratios) <= 0.75 and max(ratios) <= 0.95


@params
def test_weekday_effect_and_growth(seed: int) -> None:
    w = window(seed, OptionMarket.US_SECURITY, DataType.VOLUME)
    mondays = [t for d, t in zip(w.days, w.total, strict=True) if d.weekday() == 0]
    fridays = [t for d, t in zip(w.days, w.total, strict=True) if d.weekday() == 4]
    assert np.median(mondays) < np.median(fridays)
    first = [t for d, t in zip(w.days, w.total, strict=True) if d < date(2025, 7, 1)]
    second = [t for d, t in zip(w.days, w.total, strict=True) if d >= date(2025, 7, 1)]
    assert np.mean(second) >= 1.10 * np.mean(first)


# 10-12 open interest -----------------------------------------------------------------
def _after_expiry(w: Window) -> list[int]:
    return [i + 1 for i, d in enumerate(w.days[:-1]) if d in w.expiries]


@params
@markets
def test_open_interest_is_smooth_between_expiries(seed: int, market: OptionMarket) -> None:
    w = window(seed, market, DataType.OPEN_INTEREST)
    dl = np.abs(np.diff(np.log(w.total)))
    skip = set(_after_expiry(w))
    normal = np.array([dl[i - 1] for i in range(1, len(w.days)) if i not in skip])
    med_max, p90_max = (0.02, 0.04) if market in US else (0.035, 0.06)
    assert np.median(normal) <= med_max and np.percentile(normal, 90) <= p90_max


@params
@markets
def test_open_interest_drops_after_expiry_and_rebuilds(seed: int, market: OptionMarket) -> None:
    w = window(seed, market, DataType.OPEN_INTEREST)
    oi = w.total
    after = _after_expiry(w)
    changes = [oi[i] / oi[i - 1] - 1 for i in after]
    assert np.mean([c < 0 for c in changes]) >= 0.9
    lo, hi = (0.05, 0.25) if market in US else (0.10, 0.40)
    assert lo <= -np.mean(changes) <= hi
    expiry_idx = [i - 1 for i in after if i + 4 < len(oi)]
    assert np.mean([oi[i] > oi[i + 5] for i in expiry_idx]) >= 0.9


@params
@markets
def test_open_interest_level_and_put_call(seed: int, market: OptionMarket) -> None:
    w = window(seed, market, DataType.OPEN_INTEREST)
    lo, hi = OI_MEDIAN[market]
    assert lo <= np.median(w.total) <= hi
    lo, hi = OI_PC[market]
    assert lo <= w.ratio.mean() <= hi
    assert np.median(np.abs(np.diff(w.ratio))) < 0.02


# determinism -------------------------------------------------------------------------
@markets
def test_range_independence_and_seed_dependence(market: OptionMarket) -> None:
    for dtype in DataType:
        long = {r.day: r for r in Dataset(5).rows(market, dtype, date(2016, 1, 1), date(2026, 6, 30))}
        short = Dataset(5).rows(market, dtype, date(2026, 3, 2), date(2026, 3, 20))
        assert all(long[r.day] == r for r in short)
        other = Dataset(6).rows(market, dtype, date(2026, 3, 2), date(2026, 3, 20))
        assert sum(a.call != b.call for a, b in zip(short, other, strict=True)) >= len(short) - 1


def test_generation_order_does_not_matter() -> None:
    """A series first generated to a far horizon equals one grown step by step."""
    a, b = Dataset(9), Dataset(9)
    far = a.rows(OptionMarket.HK_INDEX, DataType.OPEN_INTEREST, date(2040, 1, 1), date(2040, 3, 1))
    b.rows(OptionMarket.HK_INDEX, DataType.OPEN_INTEREST, date(2020, 1, 1), date(2020, 3, 1))
    assert b.rows(OptionMarket.HK_INDEX, DataType.OPEN_INTEREST, date(2040, 1, 1), date(2040, 3, 1)) == far


# 13 persistence over weeks (issue 15) ----------------------------------------------------------
# Published ranges: Cboe daily equity-option call and put volumes, 2006-2016 (about
# 2,400 sessions), each statistic computed in every 3-year window; the range is the
# spread over those windows. Synthetic values: 2016-01-04..2025-12-31 per seed. The
# mean over the seeds must lie in the published range; each seed in it widened by
# twice the sampling error of a 10-year estimate, stated per band.
PERSIST_SEEDS = (1, 2, 3, 4, 5)
TEN_YEARS = (date(2016, 1, 4), date(2025, 12, 31))


def _persistence(seed: int, market: OptionMarket) -> dict[str, float]:
    w = window(seed, market, DataType.VOLUME, *TEN_YEARS)
    pc, total = w.ratio, w.total
    centred = shape_statistics.centred_median(total)
    weeks: dict[tuple[int, int], list[tuple[date, float]]] = {}
    for d, t in zip(w.days, total, strict=True):
        weeks.setdefault(d.isocalendar()[:2], []).append((d, t))
    thursdays = []
    for days in weeks.values():  # full weeks without an expiry
        if len(days) == 5 and not any(d in w.expiries for d, _ in days):
            week_median = np.median([t for _, t in days])
            thursdays += [np.log(t / week_median) for d, t in days if d.weekday() == 3]
    expiry_friday = np.array([d in w.expiries and d.weekday() == 4 for d in w.days])
    return {
        "pc_lag1": shape_statistics.acf(pc, 1),
        "pc_lag5": shape_statistics.acf(pc, 5),
        "volume_lag1": shape_statistics.acf(np.log(total / centred), 1),
        "thursday": float(np.mean(thursdays)),
        "expiry_friday_pc": float(pc[expiry_friday].mean() / pc[~expiry_friday].mean() - 1),
        "pc_day_to_day": float(np.std(np.diff(pc))),
    }


# statistic: (published low, high, per-seed allowance); US equity options
PUBLISHED = {
    "pc_lag1": (0.54, 0.59, 0.03),  # 1-session autocorrelation of daily P/C
    "pc_lag5": (0.26, 0.50, 0.05),  # 5-session autocorrelation: the mood holds for weeks
    "volume_lag1": (0.39, 0.50, 0.03),  # log(volume / centred 21-session median): busy days cluster
    "thursday": (0.02, 0.03, 0.015),  # log(Thursday / its week's median), weeks without an expiry
    "expiry_friday_pc": (-0.07, -0.04, 0.015),  # after 2012, expiry Fridays are call-heavy
}


@pytest.mark.parametrize("statistic", sorted(PUBLISHED))
def test_us_equity_options_persist_like_the_published_history(statistic: str) -> None:
    lo, hi, allowance = PUBLISHED[statistic]
    values = [_persistence(seed, OptionMarket.US_SECURITY)[statistic] for seed in PERSIST_SEEDS]
    assert lo <= np.mean(values) <= hi, (statistic, values)
    assert all(lo - allowance <= v <= hi + allowance for v in values), (statistic, values)


@pytest.mark.parametrize("market", [OptionMarket.US_SECURITY, OptionMarket.HK_SECURITY, OptionMarket.HK_INDEX])
def test_every_market_s_put_call_has_a_mood_that_lasts_weeks(market: OptionMarket) -> None:
    """Every market gets the slow regime; the day-to-day spread of P/C stays under
    what it was with the fast component alone (0.111-0.219 by market, seeds 1-5).
    US_INDEX is held to Cboe's index history instead (below): its P/C forgets
    its mood much faster (lag-1 autocorrelation 0.22-0.36) and swings more."""
    stats = [_persistence(seed, market) for seed in PERSIST_SEEDS]
    assert all(0.20 <= s["pc_lag5"] <= 0.55 for s in stats), [s["pc_lag5"] for s in stats]
    assert all(0.50 <= s["pc_lag1"] <= 0.70 for s in stats), [s["pc_lag1"] for s in stats]
    before = {
        OptionMarket.US_SECURITY: 0.111,
        OptionMarket.HK_SECURITY: 0.113,
        OptionMarket.HK_INDEX: 0.207,
    }
    assert max(s["pc_day_to_day"] for s in stats) <= before[market]


@pytest.mark.parametrize("market", [OptionMarket.HK_SECURITY, OptionMarket.HK_INDEX])
def test_weekday_and_expiry_effects_stay_where_the_sources_are(market: OptionMarket) -> None:
    """The Thursday lift and the call-heavy expiry Friday come from US equity-option
    data only: HKEX shows neither (its expiries are not Fridays). US_INDEX has its
    own weekdays and expiries, from Cboe's index data (below)."""
    stats = [_persistence(seed, market) for seed in PERSIST_SEEDS]
    assert abs(np.mean([s["thursday"] for s in stats])) < 0.012
    assert np.mean([s["expiry_friday_pc"] for s in stats]) > -0.03


# 14 index options against Cboe's index history (issue 24) ---------------------------------------
# Real: Cboe's daily index-option call and put volumes (the "Index" file of its volume and
# put/call archive, indexpc.csv: 3,253 sessions, 2006-11-01..2019-10-04; not committed, its
# terms grant no redistribution). tests/shape_statistics.py computes every statistic in each
# 3-year window 2007-09 … 2016-18; a band is the range over those windows (for the two level
# statistics, over the windows after Cboe's 2012 change of what it counts), narrowed where
# issue 24's table gives a narrower one. Synthetic: US_INDEX 2016-01-04..2025-12-31. The mean
# over seeds 1-5 must lie in the band; each seed in the band widened by the allowance: twice
# the sampling sd of the statistic over a 10-year series (the sd over seeds 1-40, rounded up).
INDEX_BANDS = {  # statistic: (low, high, per-seed allowance)
    "pc_p10": (0.726, 0.778, 0.015),
    "pc_p90": (1.280, 1.354, 0.019),
    "pc_lag1": (0.216, 0.363, 0.064),
    "pc_lag5": (0.141, 0.314, 0.066),
    "volume_sd": (0.248, 0.301, 0.010),
    "volume_pc_corr": (-0.327, -0.067, 0.046),
    "expiry_volume": (1.005, 1.061, 0.052),
    "pre_expiry_volume": (1.067, 1.555, 0.054),
    "expiry_pc": (1.032, 1.086, 0.040),
    "pc_spike_max": (1.727, 2.262, 0.239),
    "pc_spike_p99": (1.509, 1.738, 0.044),
    "pc_dips": (0.0265, 0.0358, 0.0054),
    "jump_pc": (-0.188, -0.085, 0.076),
    "pc_median": (1.062, 1.093, 0.039),
    "volume_lag1": (0.344, 0.510, 0.033),
    "half_day": (0.445, 0.600, 0.043),
    "monday": (0.890, 0.941, 0.024),
    "tuesday": (0.931, 1.015, 0.025),
    "wednesday": (0.970, 1.039, 0.025),
    "thursday": (0.995, 1.054, 0.029),
    "friday": (1.007, 1.165, 0.028),
    "pc_above_1": (0.603, 0.662, 0.062),
}
# US_SECURITY's values of the same statistics when the index model changed (seeds 1-5 mean,
# and half a sampling sd of a single seed's estimate, about one standard error of the
# 5-seed mean): they must stay where they are.
EQUITY_SHAPE = {
    "pc_p10": (0.831, 0.004),
    "pc_p90": (1.203, 0.005),
    "pc_lag1": (0.567, 0.015),
    "pc_lag5": (0.378, 0.022),
    "volume_sd": (0.166, 0.003),
    "volume_pc_corr": (0.129, 0.013),
    "expiry_volume": (1.295, 0.008),
    "pre_expiry_volume": (1.064, 0.009),
    "expiry_pc": (0.950, 0.005),
    "pc_spike_max": (1.504, 0.029),
    "pc_spike_p99": (1.299, 0.006),
    "pc_dips": (0.0001, 0.0002),
    "jump_pc": (0.093, 0.010),
    "pc_median": (0.712, 0.006),
    "volume_lag1": (0.475, 0.011),
    "half_day": (0.523, 0.008),
    "monday": (0.936, 0.004),
    "tuesday": (0.996, 0.003),
    "wednesday": (0.996, 0.003),
    "thursday": (1.020, 0.003),
    "friday": (1.051, 0.004),
    "pc_above_1": (0.011, 0.003),
}


@functools.cache
def _shapes(market: OptionMarket) -> tuple[dict[str, float], ...]:
    return tuple(shape_statistics.mock_shape(seed, market) for seed in shape_statistics.SEEDS)


@pytest.mark.parametrize("statistic", list(INDEX_BANDS))
def test_index_options_move_like_cboe_s_index_history(statistic: str) -> None:
    lo, hi, allowance = INDEX_BANDS[statistic]
    values = [s[statistic] for s in _shapes(OptionMarket.US_INDEX)]
    assert lo <= np.mean(values) <= hi, (statistic, values)
    assert all(lo - allowance <= v <= hi + allowance for v in values), (statistic, values)


@pytest.mark.parametrize("statistic", list(EQUITY_SHAPE))
def test_equity_options_keep_their_shape(statistic: str) -> None:
    was, sd = EQUITY_SHAPE[statistic]
    values = [s[statistic] for s in _shapes(OptionMarket.US_SECURITY)]
    assert abs(np.mean(values) - was) <= sd, (statistic, values)


def test_the_allowances_are_two_sampling_sds() -> None:
    """Each allowance is twice the SD of its statistic over seeds 1-40 (rounded up)."""
    shapes = [shape_statistics.mock_shape(seed, OptionMarket.US_INDEX) for seed in range(1, 41)]
    for statistic, (_, _, allowance) in INDEX_BANDS.items():
        sd = float(np.std([s[statistic] for s in shapes], ddof=1))
        assert 2 * sd <= allowance <= 2 * sd * 1.05 + 0.001, (statistic, 2 * sd, allowance)


def test_the_bands_are_cboe_s() -> None:
    """With the public file at hand (MOCK_OPEND_CBOE_INDEXPC=path/indexpc.csv), the
    bands above are recomputed from it: each is the file's range over the 3-year
    windows (to the digits written), or inside it where issue 24 gave a narrower one."""
    path = os.environ.get("MOCK_OPEND_CBOE_INDEXPC")
    if not path:
        pytest.skip("set MOCK_OPEND_CBOE_INDEXPC to Cboe's indexpc.csv to recompute the bands")
    rows = shape_statistics.read_cboe(Path(path))
    assert len(rows) == 3253 and rows[0][0] == date(2006, 11, 1)
    _, bands = shape_statistics.real_bands(rows)
    narrowed = {"pc_lag5", "volume_pc_corr", "expiry_pc"}  # by the table
    for statistic, (lo, hi, _) in INDEX_BANDS.items():
        real_lo, real_hi = bands[statistic]
        digits = 0.00005 if statistic == "pc_dips" else 0.0005
        if statistic in narrowed:
            assert real_lo - digits <= lo < hi <= real_hi + digits, (statistic, bands[statistic])
        else:
            assert abs(lo - real_lo) <= digits and abs(hi - real_hi) <= digits, (statistic, bands[statistic])
