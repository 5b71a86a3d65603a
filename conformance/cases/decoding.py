"""Group 3, decoding: the rows a client returns are the rows the server sent."""

from __future__ import annotations

from hypothesis import strategies as st

from ..context import CaseContext
from ..registry import case
from ..verdicts import CaseFailure
from .common import check_page, every_market_and_type, queries

PROFILES = ("realistic", "edge")
# always run, before Hypothesis's own draws: every market and type (a wrong entry in
# a client's market table), a single day (begin == end), and a month
EXPLICIT = [
    ("realistic", q)
    for q in [
        *every_market_and_type("2026-05-04", "2026-06-12"),
        ("HK_SECURITY", "VOLUME", "2026-06-12", "2026-06-12"),
        ("US_INDEX", "OPEN_INTEREST", "2026-06-12", "2026-06-12"),
    ]
] + [("edge", ("US_SECURITY", "VOLUME", "2026-03-02", "2026-03-31"))]


@case("3.1", "decoding", "rows equal the rows the server sent, for every market, type, range and profile", order=10)
def rows_equal_truth(ctx: CaseContext) -> None:
    """The first page the client returns is exactly the server's: every row,
    every field (one the server sent may not be missing), the order, and the page
    key (present exactly when the server sent one); and the request it sent is
    the query it was asked.  Run on every market × data type, a single day, then
    Hypothesis-chosen ranges and data profiles (realistic or edge values).
    Catches: a wrong market or type table, dates shifted by a time zone, sorting,
    swapped or re-rounded values, fields dropped, an error raised for a valid
    query without asking the server."""

    def check(example: tuple[str, tuple[str, str, str, str]]) -> None:
        profile, q = example
        ctx.server.gateway.set_data_profile(profile)
        reply = ctx.get(*q)
        check_page(ctx, reply, f"{profile} {q}")

    try:
        ctx.check_property(st.tuples(st.sampled_from(PROFILES), queries()), check, explicit=EXPLICIT)
    finally:
        ctx.server.gateway.set_data_profile("realistic")


@case(
    "3.2", "decoding", "edge values: call 0 (no ratio), put 0, above 2^31 and 2^53, int64 max", server="edge", order=10
)
def edge_values(ctx: CaseContext) -> None:
    """On the edge data profile (single-row pages), fetch_all returns the served
    values exactly: a missing ratio stays missing (null), not 0 or NaN; values
    above 2^31 and 2^53 keep every digit; totals up to 2^63-1 survive (and a
    total the server sent may not be missing).  Catches: int64 parsed as a
    double, a ratio of 0 (or NaN) for 'none', total_value dropped."""
    with ctx.rate_limit():
        for market, dtype in (("US_SECURITY", "VOLUME"), ("HK_INDEX", "OPEN_INTEREST")):
            ctx.example = (market, dtype, "2026-03-02", "2026-04-30")
            ctx.expect_all_rows(ctx.fetch_all(*ctx.example), ctx.example, f"fetch_all{ctx.example}")


@case("3.3", "decoding", "a range without a session is an empty success, without a key", order=11)
def empty_range(ctx: CaseContext) -> None:
    """2026-06-13..14 is a weekend: the server answers RET_OK with no rows and no
    key; the client must return an empty success (not an error, not a key).
    Catches: 'no rows' treated as an error, a key invented for an empty page."""
    ctx.example = ("US_INDEX", "VOLUME", "2026-06-13", "2026-06-14")
    reply = ctx.get(*ctx.example)
    rows = ctx.expect_success(reply, "weekend range")
    if rows or reply.get("page_req_key") is not None:
        raise CaseFailure("weekend range: rows or a key appeared", expected="[] and null", actual=reply)
