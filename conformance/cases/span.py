"""Group 5, span: the one-year limit, on one page and in a paging loop, under
both readings of it (the API page: reject; the proto comment: paginate)."""

from __future__ import annotations

from ..context import CaseContext
from ..registry import case

OVER = ("US_SECURITY", "VOLUME", "2024-01-02", "2025-01-03")  # one day over a year
EXACT = ("US_SECURITY", "VOLUME", "2024-01-02", "2025-01-02")
LONG = ("HK_INDEX", "VOLUME", "2024-03-01", "2025-08-29")  # 18 months


@case("5.1", "span", "a range over one year is surfaced as an error", order=30)
def span_over_a_year(ctx: CaseContext) -> None:
    """2024-01-02..2025-01-03 is one day over the limit; the server refuses it and
    the client must say so (an error, not empty data), having sent the range it
    was asked.  Catches: an error turned into empty data, a range silently
    clamped to a year."""
    ctx.example = OVER
    with ctx.statistics(span_policy="reject"):  # the API page's rule, also under a --mock-config that paginates
        ctx.in_each_language(lambda: ctx.expect_error(ctx.get(*ctx.example), "span of one year and one day"))


@case("5.2", "span", "exactly one year is served", order=31)
def span_exactly_a_year(ctx: CaseContext) -> None:
    """2024-01-02..2025-01-02 is allowed: the client's paging loop returns its rows.
    Catches: an off-by-one in a client-side span check."""
    ctx.example = EXACT
    with ctx.rate_limit():
        ctx.expect_all_rows(ctx.fetch_all(*EXACT), EXACT, "fetch_all over exactly one year")


@case("5.3", "span", "begin after end is surfaced as an error", order=32)
def begin_after_end(ctx: CaseContext) -> None:
    """The server refuses begin > end; the client must report an error.  Catches:
    dates swapped 'helpfully', an error turned into empty data."""
    ctx.example = ("US_SECURITY", "VOLUME", "2026-06-12", "2026-06-01")
    ctx.in_each_language(lambda: ctx.expect_error(ctx.get(*ctx.example), "begin after end"))


@case("5.4", "span", "a whole-range read over one year is an error when the server rejects it", order=33)
def fetch_all_over_a_year_rejected(ctx: CaseContext) -> None:
    """With span_policy = reject (the API page's reading), fetch_all over one year
    and one day must surface the server's refusal as an error, having asked for
    exactly that range.  Catches: a paging loop that clamps the range to the
    last year, or splits it into yearly first pages, and returns a year of rows
    as if that were the answer."""
    ctx.example = {"span_policy": "reject", "query": OVER}
    with ctx.statistics(span_policy="reject"), ctx.rate_limit():
        ctx.in_each_language(lambda: ctx.expect_error(ctx.fetch_all(*OVER), "fetch_all over one year and one day"))


@case("5.5", "span", "a whole-range read over one year returns every row when the server paginates", order=34)
def fetch_all_over_a_year_paginated(ctx: CaseContext) -> None:
    """With span_policy = paginate (the proto comment's reading: 时间跨度超过一年时
    自动分页), fetch_all over 18 months returns every row, by following the
    server's keys.  Catches: a client that refuses long ranges itself, or clamps
    them, where the gateway would have served them."""
    ctx.example = {"span_policy": "paginate", "query": LONG}
    with ctx.statistics(span_policy="paginate"), ctx.rate_limit():
        ctx.expect_all_rows(ctx.fetch_all(*LONG), LONG, "fetch_all over 18 months (paginate)")
