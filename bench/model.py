"""Synthetic-data speed and memory.

    python -m bench.model

Prints: cold generation of a full history (2013-11 .. 2027, about 13 years) for
one market and type; one year of rows served after warm-up (amortised); and the
memory that all eight series of one seed hold.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import tracemalloc
from datetime import date

from mock_opend.dataset import Dataset
from mock_opend.markets import DataType, OptionMarket
from mock_opend.model import SyntheticModel


def main() -> int:
    Dataset(0).rows(OptionMarket.US_SECURITY, DataType.VOLUME, date(2016, 1, 1), date(2026, 12, 31))  # warm calendars
    Dataset(0).rows(OptionMarket.HK_INDEX, DataType.VOLUME, date(2016, 1, 1), date(2026, 12, 31))

    cold = {}
    for market in OptionMarket:
        for dtype in DataType:
            times = []
            for seed in range(5):
                m = SyntheticModel(seed + 100)
                t = time.perf_counter()
                m.series(market, dtype, date(2026, 12, 31))
                times.append(time.perf_counter() - t)
            cold[f"{market.name}/{dtype.name}"] = round(statistics.median(times) * 1e3, 2)

    ds = Dataset(1)
    ds.rows(OptionMarket.US_SECURITY, DataType.VOLUME, date(2025, 1, 1), date(2025, 12, 31))
    n = 2000
    t = time.perf_counter()
    for i in range(n):
        ds.rows(OptionMarket.US_SECURITY, DataType.VOLUME, date(2025, 1, 1 + i % 20), date(2025, 12, 31))
    year_ms = (time.perf_counter() - t) / n * 1e3

    tracemalloc.start()
    m = SyntheticModel(3)
    for market in OptionMarket:
        for dtype in DataType:
            m.series(market, dtype, date(2026, 12, 31))
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(
        json.dumps(
            {
                "bench": "model",
                "cold_full_history_ms": cold,
                "cold_full_history_ms_max": max(cold.values()),
                "one_year_rows_warm_ms": round(year_ms, 3),
                "all_series_one_seed_mb": round(current / 2**20, 2),
                "all_series_peak_mb": round(peak / 2**20, 2),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
