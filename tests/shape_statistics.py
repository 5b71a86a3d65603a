"""Shape statistics of a daily call/put volume series, for real and synthetic data alike.

The realism tests hold the model's series against bands measured on real
exchange history; the bands are only meaningful if both sides are computed by
the same code. This module is that code, and it derives the bands too:

    python -m tests.shape_statistics indexpc.csv    # Cboe's daily index put/call file

prints, for every statistic, the real value over the whole file, its range over
the 3-year calendar windows 2007-09 … 2016-18, and the mock's US_INDEX values
(2016-01-04..2025-12-31, seeds 1-5) — the table in docs/data-model.md — and the
2-year figures that tests/test_realism.py holds US_INDEX to (INDEX_2Y). The file
itself is not committed (Cboe's terms do not grant redistribution); it is public
at cdn.cboe.com/resources/options/volume_and_call_put_ratios/indexpc.csv.

Every statistic is dimensionless, so a series can be compared with another of a
different size or era.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np

from mock_opend.markets import EXCHANGE_OF, DataType, OptionMarket
from mock_opend.model import SyntheticModel, monthly_expiries
from mock_opend.trading_calendar import TradingCalendar, calendar_for

NAMES: dict[str, str] = {
    "pc_p10": "P/C 10th percentile ÷ median",
    "pc_p90": "P/C 90th percentile ÷ median",
    "pc_lag1": "P/C 1-session autocorrelation",
    "pc_lag5": "P/C 5-session autocorrelation",
    "volume_sd": "SD of log(volume ÷ centred 21-session median), half days aside",
    "volume_pc_corr": (
        "correlation of that log ratio with the day's log(P/C ÷ its centred median), expiry and half days aside"
    ),
    "expiry_volume": "monthly-expiry volume ÷ mean of its 10 neighbouring sessions",
    "pre_expiry_volume": "volume of the session before a monthly expiry ÷ mean of its 10 neighbours",
    "expiry_pc": "mean P/C on monthly-expiry days ÷ on other days",
    "pc_spike_max": "largest P/C ÷ centred 21-session median",
    "pc_spike_p99": "99th percentile of that ratio",
    "pc_dips": "share of sessions with P/C below ⅔ of its centred median (call rushes)",
    "jump_pc": "change of log P/C on the 3 % biggest day-over-day volume jumps, expiry days aside",
    "pc_median": "P/C median",
    "volume_lag1": "1-session autocorrelation of log(volume ÷ centred median), half days aside",
    "half_day": "half-day volume ÷ centred 21-session median (mean)",
    "monday": "Monday ÷ its week's mean volume (full weeks, no expiry or half day)",
    "tuesday": "Tuesday ÷ its week's mean",
    "wednesday": "Wednesday ÷ its week's mean",
    "thursday": "Thursday ÷ its week's mean",
    "friday": "Friday ÷ its week's mean",
    "pc_above_1": "share of sessions with P/C above 1",
}
WINDOWS = [(date(y, 1, 1), date(y + 2, 12, 31)) for y in range(2007, 2017)]  # 2007-09 … 2016-18
# On 2012-06-11 Cboe's index line dropped options on exchange-traded products: the P/C
# level fell (median 1.29 before, 1.08 after). The level statistics are held to the
# windows after that day only, which count what US_INDEX counts.
AFTER_2012 = [(date(y, 1, 1), date(y + 2, 12, 31)) for y in range(2013, 2017)]  # 2013-15 … 2016-18
LEVELS = ("pc_median", "pc_above_1")
TEN_YEARS = (date(2016, 1, 4), date(2025, 12, 31))
SEEDS = (1, 2, 3, 4, 5)
NYSE = calendar_for(EXCHANGE_OF[OptionMarket.US_INDEX])


def centred_median(x: np.ndarray, half: int = 10) -> np.ndarray:
    return np.array([np.median(x[max(0, i - half) : i + half + 1]) for i in range(len(x))])


def acf(x: np.ndarray, lag: int, keep: np.ndarray | None = None) -> float:
    """Autocorrelation at ``lag`` over the pairs whose both days are kept."""
    a, b = x[:-lag], x[lag:]
    if keep is not None:
        both = keep[:-lag] & keep[lag:]
        a, b = a[both], b[both]
    return float(np.corrcoef(a, b)[0, 1])


def _jump_pc(total: np.ndarray, pc: np.ndarray, expiry: np.ndarray) -> float:
    """Mean change of log P/C on the sessions whose volume rose most from the day before."""
    rise, change = np.diff(np.log(total)), np.diff(np.log(pc))
    near_expiry = expiry[1:] | np.r_[expiry[2:], False]  # an expiry, or the session before one
    big = (rise > np.percentile(rise, 97)) & ~near_expiry
    return float(np.mean(change[big]))


def _neighbour_ratio(total: np.ndarray, i: int, skip: frozenset[int] = frozenset()) -> float:
    """Session ``i``'s volume ÷ the mean of the 5 sessions each side of it, ``skip`` passed over."""
    before = [j for j in range(i - 1, -1, -1) if j not in skip][:5]
    after = [j for j in range(i + 1, len(total)) if j not in skip][:5]
    return float(total[i] / np.mean(total[before + after]))


def shape(
    days: Sequence[date], call: Sequence[float], put: Sequence[float], cal: TradingCalendar = NYSE
) -> dict[str, float]:
    """The statistics of NAMES for one series of ascending sessions."""
    call_a, put_a = np.asarray(call, dtype=float), np.asarray(put, dtype=float)
    pc, total = put_a / call_a, call_a + put_a
    expiries = monthly_expiries(cal, list(days))
    expiry = np.array([d in expiries for d in days])
    half = np.array([cal.is_half_day(d) for d in days])
    ordinary = ~expiry & ~half
    volume_ratio = total / centred_median(total)
    volume_dev = np.log(volume_ratio)
    pc_ratio = pc / centred_median(pc)
    median = float(np.median(pc))
    at_expiry = np.flatnonzero(expiry)
    out = {
        "pc_p10": float(np.percentile(pc, 10)) / median,
        "pc_p90": float(np.percentile(pc, 90)) / median,
        "pc_lag1": acf(pc, 1),
        "pc_lag5": acf(pc, 5),
        "volume_sd": float(np.std(volume_dev[~half])),
        "volume_pc_corr": float(np.corrcoef(volume_dev[ordinary], np.log(pc_ratio[ordinary]))[0, 1]),
        "expiry_volume": float(np.mean([_neighbour_ratio(total, i) for i in at_expiry])),
        "pre_expiry_volume": float(
            np.mean([_neighbour_ratio(total, i - 1, frozenset({i})) for i in at_expiry if i > 0])
        ),
        "expiry_pc": float(pc[expiry].mean() / pc[~expiry].mean()),
        "pc_spike_max": float(pc_ratio.max()),
        "pc_spike_p99": float(np.percentile(pc_ratio, 99)),
        "pc_dips": float(np.mean(pc_ratio < 2 / 3)),
        "jump_pc": _jump_pc(total, pc, expiry),
        "pc_median": median,
        "volume_lag1": acf(volume_dev, 1, ~half),
        "half_day": float(np.mean(volume_ratio[half])),
        "pc_above_1": float(np.mean(pc > 1)),
    }
    weeks: dict[tuple[int, int], list[int]] = {}
    for i, d in enumerate(days):
        weeks.setdefault(d.isocalendar()[:2], []).append(i)
    by_weekday: list[list[float]] = [[] for _ in range(5)]
    for week in weeks.values():
        if len(week) == 5 and ordinary[week].all():
            mean = np.mean(total[week])
            for i in week:
                by_weekday[days[i].weekday()].append(float(total[i] / mean))
    for name, values in zip(("monday", "tuesday", "wednesday", "thursday", "friday"), by_weekday, strict=True):
        out[name] = float(np.mean(values))
    return {name: out[name] for name in NAMES}


def mock_shape(
    seed: int, market: OptionMarket, first: date = TEN_YEARS[0], last: date = TEN_YEARS[1]
) -> dict[str, float]:
    """The statistics of the model's daily volume of ``market`` over [first, last]."""
    series = SyntheticModel(seed).series(market, DataType.VOLUME, last)
    lo = int(np.searchsorted(series.ords, first.toordinal()))
    hi = int(np.searchsorted(series.ords, last.toordinal(), side="right"))
    cal = calendar_for(EXCHANGE_OF[market])
    return shape(series.days[lo:hi], series.call[lo:hi], series.put[lo:hi], cal)


def read_cboe(path: Path) -> list[tuple[date, int, int]]:
    """(day, call, put) rows of a Cboe daily put/call CSV (DATE,CALL,PUT,TOTAL,P/C Ratio)."""
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = [f.strip() for f in line.split(",")]
        try:
            day = datetime.strptime(fields[0], "%m/%d/%Y").date()
            rows.append((day, int(fields[1]), int(fields[2])))
        except (ValueError, IndexError):
            continue  # the disclaimer and the header lines
    return rows


def real_bands(rows: list[tuple[date, int, int]]) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """The statistics over the whole file, and their (min, max) over WINDOWS (AFTER_2012 for LEVELS)."""

    def over(first: date, last: date) -> dict[str, float]:
        part = [r for r in rows if first <= r[0] <= last]
        return shape([r[0] for r in part], [r[1] for r in part], [r[2] for r in part])

    whole = over(date.min, date.max)
    per_window = [over(*w) for w in WINDOWS]
    after = per_window[-len(AFTER_2012) :]
    return whole, {
        k: (min(w[k] for w in ws), max(w[k] for w in ws))
        for k in NAMES
        for ws in [after if k in LEVELS else per_window]
    }


TWO_YEARS = [(date(y, 1, 1), date(y + 1, 12, 31)) for y in range(2007, 2019, 2)]  # 2007-08 … 2017-18


def two_year_ranges(rows: list[tuple[date, int, int]]) -> dict[str, tuple[float, float]]:
    """The 2-year-window figures the older realism tests use, over TWO_YEARS: (min, max)."""
    figures: dict[str, list[float]] = {"p95_p05": [], "min_median": [], "pc_sd": [], "pc_max": []}
    for first, last in TWO_YEARS:
        part = [r for r in rows if first <= r[0] <= last]
        total = np.array([r[1] + r[2] for r in part], dtype=float)
        pc = np.array([r[2] / r[1] for r in part])
        figures["p95_p05"].append(float(np.percentile(total, 95) / np.percentile(total, 5)))
        figures["min_median"].append(float(total.min() / np.median(total)))
        figures["pc_sd"].append(float(pc.std()))
        figures["pc_max"].append(float(pc.max()))
    return {k: (min(v), max(v)) for k, v in figures.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.shape_statistics", description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, help="Cboe's indexpc.csv")
    args = parser.parse_args(argv)
    rows = read_cboe(args.csv)
    whole, bands = real_bands(rows)
    mock = [mock_shape(seed, OptionMarket.US_INDEX) for seed in SEEDS]
    print("| statistic | real, whole span | real, 3-year windows (levels: after 2012) | mock: mean (seeds 1-5) |")
    print("|---|---|---|---|")
    for key, name in NAMES.items():
        values = [m[key] for m in mock]
        lo, hi = bands[key]
        print(
            f"| {name} | {whole[key]:.3f} | {lo:.3f} – {hi:.3f} | "
            f"{np.mean(values):.3f} ({min(values):.3f} – {max(values):.3f}) |"
        )
    print("\n2-year windows 2007-08 … 2017-18 (min – max):")
    for key, (lo, hi) in two_year_ranges(rows).items():
        print(f"  {key}: {lo:.3f} – {hi:.3f}")


if __name__ == "__main__":
    main()
