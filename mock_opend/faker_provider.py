"""A Faker provider for option-market statistics, backed by mock-opend's models.

    from faker import Faker
    from mock_opend.faker_provider import OptionStatisticsProvider

    fake = Faker()
    fake.add_provider(OptionStatisticsProvider)
    Faker.seed(7)                      # or fake.seed_instance(7)
    fake.option_statistic_series("HK_INDEX", "OPEN_INTEREST", "2026-01-01", "2026-03-31")

Each call draws a model seed from Faker's random generator (unless ``seed=`` is
given), so a seeded Faker reproduces its rows exactly; the rows are the ones a
mock-opend server with that seed would serve.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

from faker.providers import BaseProvider

from .dataset import Dataset
from .markets import HORIZON, DataType, OptionMarket, parse_data_type, parse_market

_FIRST = date(2016, 1, 1)
_LAST = date(2026, 6, 30)


@functools.lru_cache(maxsize=16)
def _dataset(seed: int, profile: str) -> Dataset:
    return Dataset(seed, profile=profile)


def _day(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


class OptionStatisticsProvider(BaseProvider):
    def option_market(self) -> str:
        """A market name as the SDK spells it, e.g. 'US_SECURITY'."""
        return self.random_element([m.name for m in OptionMarket])

    def option_statistic_data_type(self) -> str:
        return self.random_element([t.name for t in DataType])

    def option_statistic_series(
        self,
        market: str | int | None = None,
        data_type: str | int | None = None,
        begin: str | date | None = None,
        end: str | date | None = None,
        *,
        profile: str = "realistic",
        seed: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows newest first, with the SDK's column names (ratio None when call is 0).

        Missing arguments are drawn from Faker: the market, the data type, and a
        30-day window ending somewhere in 2016–2026.
        """
        m = parse_market(market) if market is not None else OptionMarket[self.option_market()]
        t = parse_data_type(data_type) if data_type is not None else DataType[self.option_statistic_data_type()]
        last = _day(end)
        first = _day(begin)
        if last is None:
            last = (
                first + timedelta(days=30) if first else self.generator.date_between(_FIRST + timedelta(days=30), _LAST)
            )
        if first is None:
            first = last - timedelta(days=30)
        if first > last or last > HORIZON:
            raise ValueError(f"bad window {first}..{last}")
        model_seed = seed if seed is not None else self.generator.random.getrandbits(32)
        return [r.as_dict() for r in _dataset(model_seed, profile).rows(m, t, first, last)]

    def option_statistic_row(
        self,
        market: str | int | None = None,
        data_type: str | int | None = None,
        day: str | date | None = None,
        *,
        profile: str = "realistic",
        seed: int | None = None,
    ) -> dict[str, Any]:
        """One row: the given trading day, or a random one in 2016–2026."""
        when = _day(day) or self.generator.date_between(_FIRST + timedelta(days=10), _LAST)
        rows = self.option_statistic_series(
            market, data_type, when - timedelta(days=10), when, profile=profile, seed=seed
        )
        if day is not None:
            rows = [r for r in rows if r["time"] == when.isoformat()]
            if not rows:
                raise ValueError(f"{when} is not a trading day of that market")
        return rows[0]
