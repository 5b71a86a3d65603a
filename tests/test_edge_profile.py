"""The edge data profile: the values and shapes that break clients, on the
real calendar, served exactly (also through the real SDK)."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import sdk_context

from mock_opend.config import Config
from mock_opend.dataset import Dataset
from mock_opend.markets import DataType, OptionMarket

pytestmark = pytest.mark.sdk

INT64_MAX = 2**63 - 1


@pytest.mark.parametrize("market", list(OptionMarket))
@pytest.mark.parametrize("dtype", list(DataType))
def test_every_edge_occurs_within_a_year(market: OptionMarket, dtype: DataType) -> None:
    edge = Dataset(1, profile="edge").rows(market, dtype, date(2025, 7, 1), date(2026, 6, 30))
    real = Dataset(1).rows(market, dtype, date(2025, 7, 1), date(2026, 6, 30))
    assert [r.day for r in edge] == [r.day for r in real]  # same calendar
    assert any(r.call == 0 and r.put > 0 and r.ratio is None for r in edge)
    assert any(r.put == 0 and r.call > 0 and r.ratio == 0.0 for r in edge)
    assert any(2**31 - 2 <= r.call <= 2**31 + 2 for r in edge)
    assert any(r.call > 2**53 and r.call % 2 == 1 for r in edge)  # not representable as a double
    assert any(r.total == INT64_MAX for r in edge)
    assert any(r.ratio is not None and r.ratio > 1e6 for r in edge)
    assert all(0 <= r.total <= INT64_MAX for r in edge)
    runs, run = [], 0
    for r in edge:
        run = run + 1 if r.total == 0 else 0
        runs.append(run)
    assert max(runs) >= 5  # a holiday-like stretch of empty sessions


def test_edge_profile_defaults_to_single_row_pages() -> None:
    assert Config(data_profile="edge").validate().effective_page_size == 1
    assert Config(data_profile="edge", page_size=50).validate().effective_page_size == 50
    assert Config().validate().effective_page_size == 100


def test_edge_values_reach_the_sdk_exactly(opend_server_factory) -> None:
    server = opend_server_factory(now="2026-07-01", data_profile="edge", rate_limit="off")
    expected = Dataset(1, profile="edge").rows(
        OptionMarket.US_SECURITY, DataType.VOLUME, date(2026, 3, 2), date(2026, 3, 31)
    )
    with sdk_context("futu", server.host, server.port) as ctx:
        got, key, pages = [], None, 0
        while True:
            ret, df, key = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", "2026-03-02", "2026-03-31", key)
            assert ret == 0, df
            assert len(df) == 1  # single-row pages
            got += df.to_dict("records")
            pages += 1
            if key is None:
                break
    assert pages == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert (g["time"], g["call_value"], g["put_value"], g["total_value"]) == (e.time, e.call, e.put, e.total)
        assert g["ratio"] == ("N/A" if e.call == 0 else e.ratio)


def test_fixtures_win_over_the_edge_profile(tmp_path) -> None:
    from mock_opend.fixtures import load_fixtures

    fx = tmp_path / "one.csv"
    fx.write_text("market,data_type,date,call,put\nUS_INDEX,VOLUME,2026-03-02,123,456\n")
    ds = Dataset(1, load_fixtures([fx]), profile="edge")
    (row,) = ds.rows(OptionMarket.US_INDEX, DataType.VOLUME, date(2026, 3, 2), date(2026, 3, 2))
    assert (row.call, row.put) == (123, 456)
