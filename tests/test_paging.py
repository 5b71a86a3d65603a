"""Pagination: pages concatenate to the whole, keys bind to their query and
their server, and nothing but a key we issued is accepted."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_statistics import fetch_all, gateway, query

from mock_opend.errors import ServerError
from mock_opend.markets import DataType, OptionMarket
from mock_opend.paging import PageCursor, PageKeys, QueryId
from mock_opend.statistics import add_years

markets = st.sampled_from(list(OptionMarket))
dtypes = st.sampled_from(list(DataType))
days = st.dates(date(2015, 6, 1), date(2027, 1, 1))


def test_every_page_size_from_1_to_1000_concatenates_to_the_one_page_result() -> None:
    gw = gateway(page_size=1000)
    whole = query(gw, 1, 0, "2025-01-02", "2026-01-02").rows
    assert len(whole) == 251
    for size in range(1, 1001):
        gw.statistics.page_size = size
        rows, pages = fetch_all(gw, 1, 0, "2025-01-02", "2026-01-02")
        assert rows == whole, size
        assert pages == max(1, -(-len(whole) // size)), size


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    market=markets,
    dtype=dtypes,
    a=days,
    span=st.integers(0, 1200),
    size=st.integers(1, 1000),
    policy=st.sampled_from(["reject", "paginate"]),
)
def test_pages_concatenate_for_any_range_and_size(market, dtype, a, span, size, policy) -> None:
    b = a + timedelta(days=span)
    if policy == "reject":
        b = min(b, add_years(a, 1))
    ref = gateway(page_size=1000, span_policy="paginate")
    whole = query(ref, market, dtype, a.isoformat(), b.isoformat())
    expected, key = whole.rows, whole.next_key
    while key is not None:  # the reference itself pages when a range has > 1000 rows
        more = query(ref, market, dtype, a.isoformat(), b.isoformat(), key=key)
        expected, key = expected + more.rows, more.next_key
    rows, pages = fetch_all(gateway(page_size=size, span_policy=policy), market, dtype, a.isoformat(), b.isoformat())
    assert rows == expected
    assert [r.day for r in rows] == sorted({r.day for r in rows}, reverse=True)  # descending, no duplicate
    assert pages == max(1, -(-len(rows) // size))


@settings(max_examples=100, deadline=None)
@given(
    market=markets,
    dtype=dtypes,
    other_market=markets,
    other_dtype=dtypes,
    shift_begin=st.integers(-3, 3),
    shift_end=st.integers(-3, 3),
)
def test_a_key_is_never_accepted_for_another_query(market, dtype, other_market, other_dtype, shift_begin, shift_end):
    gw = gateway(page_size=5)
    begin, end = date(2025, 3, 3), date(2026, 3, 3)
    key = query(gw, market, dtype, begin.isoformat(), end.isoformat()).next_key
    assert key is not None
    b2, e2 = begin + timedelta(days=shift_begin), end + timedelta(days=shift_end)
    same = (other_market, other_dtype, b2, e2) == (market, dtype, begin, end)
    if same:
        assert query(gw, other_market, other_dtype, b2.isoformat(), e2.isoformat(), key=key).rows
        return
    with pytest.raises(ServerError) as exc:
        query(gw, other_market, other_dtype, b2.isoformat(), e2.isoformat(), key=key)
    assert exc.value.spec.name == "PAGE_KEY_QUERY_MISMATCH"


def test_time_of_day_does_not_change_the_query() -> None:
    """The Python SDK sends '… 00:00:00', the JS SDK the bare date: same query."""
    gw = gateway(page_size=5)
    key = query(gw, 1, 0, "2026-01-05 00:00:00", "2026-06-01 00:00:00").next_key
    assert query(gw, 1, 0, "2026-01-05", "2026-06-01", key=key).rows


@settings(max_examples=200, deadline=None)
@given(pos=st.integers(0, 200), bit=st.integers(0, 7))
def test_any_single_bit_flip_is_refused(pos: int, bit: int) -> None:
    gw = gateway(page_size=5)
    key = bytearray(query(gw, 2, 1, "2026-01-05", "2026-06-01").next_key)
    pos %= len(key)
    key[pos] ^= 1 << bit
    with pytest.raises(ServerError) as exc:
        query(gw, 2, 1, "2026-01-05", "2026-06-01", key=bytes(key))
    assert exc.value.spec.name == "BAD_PAGE_KEY"


@pytest.mark.parametrize(
    ("mangle", "needle"),
    [
        (lambda k: k[:-3], "truncated"),
        (lambda k: k + b"AAAA", "truncated or padded"),
        (lambda k: b"garbage", "no 'v1.' prefix"),
        (lambda k: b"", "no 'v1.' prefix"),
        (lambda k: b"v1.!!!*", "bad encoding"),
        (lambda k: k[:10] + (b"B" if k[10:11] != b"B" else b"C") + k[11:], "signature mismatch"),
    ],
)
def test_garbage_truncated_and_tampered_keys(mangle, needle) -> None:
    gw = gateway(page_size=5)
    key = query(gw, 1, 0, "2026-01-05", "2026-06-01").next_key
    with pytest.raises(ServerError) as exc:
        query(gw, 1, 0, "2026-01-05", "2026-06-01", key=mangle(key))
    assert exc.value.spec.name == "BAD_PAGE_KEY"
    assert needle in exc.value.message("en")
    assert exc.value.message("zh").startswith("nextPageKey 无效")


def test_keys_are_random_per_process_unless_a_secret_is_pinned() -> None:
    """The default seed is public, so keys signed with it could be forged: by
    default each server signs with a random secret; page_key_secret pins one."""
    key = query(gateway(seed=5, page_size=5), 1, 0, "2026-01-05", "2026-06-01").next_key
    with pytest.raises(ServerError) as exc:  # same seed, new process: the key is foreign
        query(gateway(seed=5, page_size=5), 1, 0, "2026-01-05", "2026-06-01", key=key)
    assert exc.value.spec.name == "BAD_PAGE_KEY"
    pinned = {"seed": 5, "page_size": 5, "page_key_secret": "team-fixture-secret"}
    key = query(gateway(**pinned), 1, 0, "2026-01-05", "2026-06-01").next_key
    assert query(gateway(**pinned), 1, 0, "2026-01-05", "2026-06-01", key=key).rows  # survives a restart
    with pytest.raises(ServerError):
        query(gateway(**{**pinned, "page_key_secret": "another-secret"}), 1, 0, "2026-01-05", "2026-06-01", key=key)


def test_keys_are_ascii_and_the_range_is_pinned_by_the_first_page() -> None:
    """A default-range query keeps its range even if the clock moves between pages."""
    gw = gateway(page_size=50, now="2026-06-15")
    first = query(gw, 1, 0)
    assert first.next_key.isascii()
    gw.clock.advance(40 * 86400)
    rest, key = [], first.next_key
    while key is not None:
        page = query(gw, 1, 0, key=key)
        rest, key = rest + page.rows, page.next_key
    whole = query(gateway(page_size=1000, now="2026-06-15"), 1, 0).rows
    assert first.rows + rest == whole


def test_key_round_trip() -> None:
    keys = PageKeys(1)
    cur = PageCursor(QueryId(1, -1, None, date(2026, 1, 1)), date(2025, 1, 1), date(2026, 1, 1), date(2025, 6, 1))
    assert keys.read(keys.make(cur)) == cur
