"""Group 4, pagination: keys are followed, pages are continuations, nothing
is skipped, repeated or re-ordered.  These cases run under OpenD's real limit
of 60 first pages per 30 s, which a client that spends a first page on every
page soon meets."""

from __future__ import annotations

from datetime import date

from ..context import CaseContext
from ..registry import case
from ..verdicts import CaseFailure
from .common import ONE_YEAR, check_page, queries


@case("4.1", "pagination", "page by page, each key is the server's and leads to the next page", order=20)
def page_by_page(ctx: CaseContext) -> None:
    """A one-year query has as many pages as the server's page size makes (three
    of 100/100/≤52 rows at the default); the client hands back
    each page and the server's key, sends the key back unchanged with the same
    query, and the key yields the next page.  Catches: a dropped or altered key, a
    continuation that changes the query (dates left out on later pages)."""
    q = ("HK_SECURITY", "OPEN_INTEREST", *ONE_YEAR)
    ctx.example = q
    size = ctx.server.gateway.statistics.page_size
    wanted = -(-len(ctx.truth(*q)) // size)  # pages of `size` rows
    key, pages = None, 0
    with ctx.rate_limit():
        while True:
            reply = ctx.get(*q, key=key)
            check_page(ctx, reply, f"page {pages + 1}")
            pages += 1
            key = reply.get("page_req_key")
            if key is None:
                break
            if pages > wanted + 5:
                raise CaseFailure(
                    f"more than {wanted + 5} pages for a one-year query", expected=f"{wanted} pages", actual=pages
                )
    if pages != wanted:
        raise CaseFailure(f"a one-year query has {wanted} pages of {size} rows", expected=wanted, actual=pages)


@case("4.2", "pagination", "fetch_all returns every row once, newest first, following keys to the end", order=21)
def fetch_all_complete(ctx: CaseContext) -> None:
    """The client's own paging loop (fetch_all) returns exactly the concatenated
    pages: one first page, then continuations with the server's keys; no page
    skipped or repeated, no re-ordering.  A one-year read of every market, then
    Hypothesis-chosen long ranges.  Catches: a loop that stops early or runs
    past the end, pages joined in the wrong order, paging by dates."""

    def check(q: tuple[str, str, str, str]) -> None:
        with ctx.rate_limit():
            ctx.expect_all_rows(ctx.fetch_all(*q), q, f"fetch_all{q}")

    long_ranges = queries().filter(lambda q: (date.fromisoformat(q[3]) - date.fromisoformat(q[2])).days > 150)
    explicit = [
        ("US_SECURITY", "VOLUME", *ONE_YEAR),
        ("HK_INDEX", "OPEN_INTEREST", *ONE_YEAR),
    ]
    ctx.check_property(long_ranges, check, examples=max(2, ctx.profile.examples // 3), explicit=explicit)


@case("4.3", "pagination", "single-row pages are followed to the end, by key", server="edge", order=21)
def single_row_pages(ctx: CaseContext) -> None:
    """With one row per page (edge profile), fetch_all over a month still returns
    every row once, asking one first page and 19 continuations.  Catches: a loop
    that pages by dates (a new first page per page, the key used only as a
    'more' flag), which the real gateway's 60-per-30-s limit soon refuses."""
    ctx.example = ("US_INDEX", "VOLUME", "2026-05-01", "2026-05-29")
    with ctx.rate_limit():
        ctx.expect_all_rows(ctx.fetch_all(*ctx.example), ctx.example, "fetch_all with single-row pages")


@case("4.4", "pagination", "a query abandoned half-way, then another of the same market and type", order=22)
def abandoned_then_new(ctx: CaseContext) -> None:
    """The caller reads the first page of a one-year query and stops; then asks a
    new query of the same market and type, once as one page and once as
    fetch_all.  The new query's first page carries no key, and its rows are its
    own.  Catches: a client that remembers the last page key per market and type
    and sends it with the next first page (the server answers 'key belongs to
    another query')."""
    for market, dtype in (("HK_SECURITY", "VOLUME"), ("US_INDEX", "OPEN_INTEREST")):
        first = (market, dtype, *ONE_YEAR)
        other = (market, dtype, "2026-01-05", "2026-06-12")
        ctx.example = {"abandoned": first, "then": other}
        with ctx.rate_limit():
            reply = ctx.get(*first)
            check_page(ctx, reply, f"first page of {first}")
            if reply.get("page_req_key") is None:
                raise CaseFailure("a one-year query has more than one page", expected="a key", actual=reply)
            check_page(ctx, ctx.get(*other), f"a new query {other} after abandoning {first}")
            ctx.get(*first)  # abandoned again, before a whole-range read
            ctx.expect_all_rows(ctx.fetch_all(*other), other, f"fetch_all{other} after abandoning {first}")


@case("4.5", "pagination", "a page with no rows but a key is not the end", order=23)
def empty_page_with_key(ctx: CaseContext) -> None:
    """The server's first page holds no rows and a key (as a gateway that pages by
    date windows may send): the client returns the empty page with its key, and
    its paging loop follows the key to every row.  Only the key says whether more
    pages follow.  Catches: a loop that stops at the first empty page."""
    q = ("US_SECURITY", "VOLUME", "2026-04-01", "2026-06-12")
    ctx.example = {"first page": "no rows, a key", "query": q}
    with ctx.statistics(empty_first_page=True), ctx.rate_limit():
        reply = ctx.get(*q)
        check_page(ctx, reply, "an empty first page with a key")
        check_page(ctx, ctx.get(*q, key=reply.get("page_req_key")), "the page after it")
        ctx.expect_all_rows(ctx.fetch_all(*q), q, "fetch_all whose first page is empty")
