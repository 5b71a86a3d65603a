"""Proto 3301 rules, checked on the sans-I/O service (no sockets)."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_opend.config import Config
from mock_opend.errors import ServerError
from mock_opend.gateway import Gateway
from mock_opend.markets import DataType, OptionMarket
from mock_opend.messages import OptionMarketStatisticRequest
from mock_opend.statistics import add_years, page_response, parse_time

TZ = {"US": ZoneInfo("America/New_York"), "HK": ZoneInfo("Asia/Hong_Kong")}
MIC = {"US": "XNYS", "HK": "XHKG"}
markets = st.sampled_from(list(OptionMarket))
dtypes = st.sampled_from(list(DataType))
days = st.dates(date(2016, 1, 1), date(2026, 11, 20))


def gateway(**settings) -> Gateway:
    settings.setdefault("now", "2026-11-24")
    return Gateway(Config(**settings).validate())


def c2s(market=1, dtype=0, begin="", end="", key=None):
    req = OptionMarketStatisticRequest()
    c = req.c2s
    c.optionMarket, c.dataType, c.beginTime, c.endTime = int(market), int(dtype), begin, end
    if key is not None:
        c.nextPageKey = key
    return c


def query(gw: Gateway, *args, lang="en", **kw):
    return gw.statistics.query(c2s(*args, **kw), gw.now(), lang)


def fetch_all(gw: Gateway, market, dtype, begin="", end=""):
    rows, key, pages = [], None, 0
    while True:
        page = query(gw, market, dtype, begin, end, key=key)
        rows += page.rows
        pages += 1
        key = page.next_key
        if key is None:
            return rows, pages


@functools.cache
def _closed(mic: str, year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays(mic, years=year))


def is_session(market: OptionMarket, d: date) -> bool:
    return d.weekday() < 5 and d not in _closed(MIC[market.name[:2]], d.year)


@settings(max_examples=60, deadline=None)
@given(market=markets, dtype=dtypes, a=days, span=st.integers(0, 366))
def test_rows_are_sessions_descending_with_consistent_arithmetic(market, dtype, a, span) -> None:
    gw = gateway(page_size=1000)
    b = min(a + timedelta(days=span), add_years(a, 1), date(2026, 11, 23))  # now: 2026-11-24T00:00Z
    page = query(gw, market, dtype, a.isoformat(), b.isoformat() + " 00:00:00")
    got = [r.day for r in page.rows]
    want = [d for d in (b - timedelta(days=i) for i in range((b - a).days + 1)) if is_session(market, d)]
    assert got == want
    tz = TZ[market.name[:2]]
    for r in page.rows:
        assert r.total == r.call + r.put
        assert r.ratio == (None if r.call == 0 else round(r.put / r.call, 6))
        assert r.timestamp == datetime.combine(r.day, datetime.min.time(), tzinfo=tz).timestamp()
        assert r.call > 0 and r.put > 0


def test_seed_example_timestamp() -> None:
    page = query(gateway(), 1, 0, "2026-06-12", "2026-06-12")
    assert page.rows[0].timestamp == 1781236800


@settings(max_examples=40, deadline=None)
@given(market=markets, dtype=dtypes, a=days, b=days, c=days, seed=st.integers(0, 2**32))
def test_values_do_not_depend_on_the_range_asked(market, dtype, a, b, c, seed) -> None:
    g1, g2 = gateway(seed=seed, page_size=1000), gateway(seed=seed, page_size=1000)
    lo, hi = sorted((a, b))
    hi = min(hi, add_years(lo, 1))
    big = {r.day: r for r in query(g1, market, dtype, lo.isoformat(), hi.isoformat()).rows}
    c = min(max(c, lo), hi)
    small = {r.day: r for r in query(g2, market, dtype, c.isoformat(), hi.isoformat()).rows}
    assert all(big[d] == small[d] for d in small)
    assert set(small) <= set(big)


def test_a_different_seed_gives_different_values() -> None:
    a = query(gateway(seed=1), 1, 0, "2026-01-01", "2026-03-01").rows
    b = query(gateway(seed=2), 1, 0, "2026-01-01", "2026-03-01").rows
    assert [r.day for r in a] == [r.day for r in b]
    assert sum(x.call != y.call for x, y in zip(a, b, strict=True)) > len(a) * 0.9


def test_values_vary_and_are_not_constant() -> None:
    rows = fetch_all(gateway(), 1, 0, "2025-11-24", "2026-11-24")[0]
    calls = [r.call for r in rows]
    assert len(set(calls)) == len(calls)
    assert 20e6 < sorted(calls)[len(calls) // 2] < 80e6  # tens of millions, like the seed


def test_both_dates_missing_means_the_year_up_to_today() -> None:
    gw = gateway(now="2026-06-15T12:00:00Z", page_size=1000)  # 08:00 in New York: 06-15 not complete
    rows = query(gw, 1, 0).rows
    assert rows[0].day == date(2026, 6, 12)
    assert rows[-1].day == date(2025, 6, 16)  # first session on/after 2025-06-15
    hk = query(gw, 3, 0).rows  # 20:00 in Hong Kong: 06-15 is complete
    assert hk[0].day == date(2026, 6, 15)


def test_end_only_and_begin_only_defaults() -> None:
    gw = gateway(page_size=1000)
    rows = query(gw, 1, 0, end="2024-03-05").rows
    assert rows[0].day == date(2024, 3, 5) and rows[-1].day == date(2023, 3, 6)
    rows = query(gw, 1, 0, begin="2024-03-05 09:30:00").rows
    assert rows[-1].day == date(2024, 3, 5) and rows[0].day == date(2025, 3, 5)


def test_end_after_today_is_clipped_to_the_last_completed_session() -> None:
    before_close = gateway(now="2026-06-15T19:59:00Z", page_size=1000)  # 15:59 New York
    after_close = gateway(now="2026-06-15T20:00:00Z", page_size=1000)
    assert query(before_close, 1, 0, "2026-06-01", "2027-01-01").rows[0].day == date(2026, 6, 12)
    assert query(after_close, 1, 0, "2026-06-01", "2027-01-01").rows[0].day == date(2026, 6, 15)


def test_half_day_closes_early() -> None:
    gw = gateway(now="2026-11-27T18:30:00Z", page_size=10)  # 13:30 New York, day after Thanksgiving
    assert query(gw, 1, 0, "2026-11-20", "2026-11-27").rows[0].day == date(2026, 11, 27)


def test_a_range_without_sessions_is_empty() -> None:
    gw = gateway()
    for begin, end in [("2026-06-13", "2026-06-14"), ("2026-12-25", "2026-12-25"), ("2030-01-01", "2030-02-01")]:
        page = query(gw, 1, 0, begin, end)
        assert page.rows == [] and page.next_key is None
    rsp = page_response(query(gw, 1, 0, "2026-06-13", "2026-06-14"))
    assert rsp.retType == 0 and not rsp.s2c.HasField("nextPageKey") and len(rsp.s2c.statisticList) == 0


def test_history_start_bounds_the_oldest_row() -> None:
    gw = gateway(history_start="2020-01-02")
    assert query(gw, 1, 0, "2019-06-01", "2020-01-10").rows[-1].day == date(2020, 1, 2)


@pytest.mark.parametrize(
    ("market", "dtype", "needle"),
    [
        (0, 0, "optionMarket=0"),
        (5, 0, "optionMarket=5"),
        (-3, 0, "optionMarket=-3"),
        (1, -1, "dataType=-1"),
        (1, 2, "dataType=2"),
    ],
)
def test_unknown_market_or_type_names_the_value(market, dtype, needle) -> None:
    with pytest.raises(ServerError) as exc:
        query(gateway(), market, dtype, "2026-01-01", "2026-02-01")
    assert exc.value.spec.ret_type == -1
    assert needle in exc.value.message("en") and needle in exc.value.message("zh")


@pytest.mark.parametrize(
    "text",
    ["2024/03/05", "2024-3-5", "2024-02-30", "2024-01-01 24:00:00", "20240101", "yesterday", "2024-01-01T00:00:00"],
)
def test_bad_dates_are_refused(text: str) -> None:
    with pytest.raises(ServerError) as exc:
        query(gateway(), 1, 0, text, "2024-06-01")
    assert exc.value.spec.name == "BAD_TIME" and repr(text) in exc.value.message("en")


def test_both_time_forms_are_accepted() -> None:
    assert parse_time("beginTime", "2024-03-05") == date(2024, 3, 5)
    assert parse_time("beginTime", "2024-03-05 23:59:59") == date(2024, 3, 5)
    assert parse_time("beginTime", "") is None


def test_begin_after_end_is_an_error() -> None:
    with pytest.raises(ServerError) as exc:
        query(gateway(), 1, 0, "2026-02-02", "2026-02-01")
    assert exc.value.spec.name == "BEGIN_AFTER_END"


def test_int64_values_survive_protobuf(tmp_path) -> None:
    fx = tmp_path / "big.csv"
    fx.write_text(
        "market,data_type,date,call,put\n"
        f"US_INDEX,OPEN_INTEREST,2026-06-12,{2**53 + 1},{2**62}\n"
        f"US_INDEX,OPEN_INTEREST,2026-06-11,0,{2**31 + 5}\n"
    )
    gw = gateway(fixtures=[str(fx)])
    rsp = page_response(query(gw, 2, 1, "2026-06-11", "2026-06-12"))
    wire = type(rsp).FromString(rsp.SerializeToString())
    a, b = wire.s2c.statisticList
    assert (a.callValue, a.putValue, a.totalValue) == (2**53 + 1, 2**62, 2**53 + 1 + 2**62)
    assert a.ratio == round(2**62 / (2**53 + 1), 6)
    assert (b.callValue, b.putValue) == (0, 2**31 + 5) and not b.HasField("ratio")


def test_pages_concatenate_to_the_one_page_result() -> None:
    whole = query(gateway(page_size=1000), 3, 1, "2025-01-02", "2026-01-02").rows
    rows, pages = fetch_all(gateway(page_size=7), 3, 1, "2025-01-02", "2026-01-02")
    assert rows == whole and pages == -(-len(whole) // 7)


def test_add_years_handles_feb_29() -> None:
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert add_years(date(2025, 1, 2), 1) == date(2026, 1, 2)
    assert add_years(date(9999, 5, 1), 1) == date.max


def test_clock_now_is_utc_midnight_for_a_date() -> None:
    assert gateway(now="2026-06-15").now() == datetime(2026, 6, 15, tzinfo=UTC)


@settings(max_examples=40, deadline=None)
@given(
    market=markets,
    dtype=dtypes,
    a=days,
    span=st.integers(0, 366),
    size=st.integers(1, 300),
    profile=st.sampled_from(["realistic", "edge"]),
)
def test_fast_page_encoding_equals_field_by_field(market, dtype, a, span, size, profile) -> None:
    """page_response joins cached row encodings; the reference fills every field."""
    from mock_opend.messages import OptionMarketStatisticResponse

    gw = gateway(page_size=size, data_profile=profile)
    page = query(gw, market, dtype, a.isoformat(), min(a + timedelta(days=span), add_years(a, 1)).isoformat())
    ref = OptionMarketStatisticResponse()
    ref.retType = 0
    ref.s2c.optionMarket, ref.s2c.dataType = int(market), int(dtype)
    for r in page.rows:
        item = ref.s2c.statisticList.add()
        item.time, item.timestamp, item.callValue, item.putValue = r.time, float(r.timestamp), r.call, r.put
        item.totalValue = r.call + r.put
        if r.call:
            item.ratio = round(r.put / r.call, 6)
    if page.next_key is not None:
        ref.s2c.nextPageKey = page.next_key
    assert page_response(page).SerializeToString() == ref.SerializeToString()
