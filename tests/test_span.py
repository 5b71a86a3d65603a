"""The one-year span rule, exactly at the boundary, and the paginate policy."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_statistics import fetch_all, gateway, is_session, query

from mock_opend.errors import ServerError
from mock_opend.markets import OptionMarket as OM
from mock_opend.statistics import add_years


@pytest.mark.parametrize(
    ("begin", "end", "allowed"),
    [
        ("2025-01-02", "2026-01-02", True),
        ("2025-01-02", "2026-01-03", False),
        ("2024-02-29", "2025-02-28", True),
        ("2024-02-29", "2025-03-01", False),
        ("2023-03-01", "2024-02-29", True),
        ("2023-03-01", "2024-03-01", True),
        ("2023-03-01", "2024-03-02", False),
        ("2026-06-15", "2026-06-15", True),
    ],
)
def test_boundary(begin: str, end: str, allowed: bool) -> None:
    gw = gateway()
    if allowed:
        query(gw, 1, 0, begin, end)
        return
    with pytest.raises(ServerError) as exc:
        query(gw, 1, 0, begin, end + " 00:00:00")
    err = exc.value
    assert err.spec.name == "SPAN_TOO_LONG" and err.spec.ret_type == -1
    zh, en = err.message("zh"), err.message("en")
    assert "一年" in zh and "year" in en
    assert add_years(date.fromisoformat(begin), 1).isoformat() in en  # states the limit


@settings(max_examples=200, deadline=None)
@given(begin=st.dates(date(2014, 1, 1), date(2030, 12, 31)))
def test_exactly_one_year_passes_and_one_day_more_fails(begin: date) -> None:
    gw = gateway()
    limit = add_years(begin, 1)
    query(gw, 3, 1, begin.isoformat(), limit.isoformat())
    with pytest.raises(ServerError) as exc:
        query(gw, 3, 1, begin.isoformat(), (limit + timedelta(days=1)).isoformat())
    assert exc.value.spec.name == "SPAN_TOO_LONG"


def test_paginate_policy_serves_a_long_range_in_pages() -> None:
    gw = gateway(span_policy="paginate", page_size=100)
    rows, pages = fetch_all(gw, 1, 0, "2020-01-01", "2025-12-31")
    days = [r.day for r in rows]
    first, last = date(2020, 1, 1), date(2025, 12, 31)
    calendar_days = (last - timedelta(days=i) for i in range((last - first).days + 1))
    sessions = [d for d in calendar_days if is_session(OM.US_SECURITY, d)]
    assert days == sessions  # every NYSE session of six years, newest first, once
    assert pages == -(-len(sessions) // 100)


def test_other_range_errors_come_before_the_span() -> None:
    with pytest.raises(ServerError) as exc:
        query(gateway(), 1, 0, "2027-01-01", "2020-01-01")
    assert exc.value.spec.name == "BEGIN_AFTER_END"


@pytest.mark.parametrize("given", ["none", "end only"])
def test_the_default_range_ending_on_feb_29_is_served(given: str) -> None:
    """A year back from Feb 29 is Feb 28, whose year ends on Feb 28: the default
    begin is Mar 1, so the server never refuses its own default range."""
    gw = gateway(now="2028-02-29T23:00:00+00:00")
    end = "" if given == "none" else "2028-02-29"
    rows, _ = fetch_all(gw, OM.US_SECURITY, 0, "", end)
    days = [r.time for r in rows]
    assert days[-1] >= "2027-03-01" and days[0] <= "2028-02-29", (days[-1], days[0])
