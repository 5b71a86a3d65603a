"""What the case modules share: the kit's clock and queries, the Hypothesis
strategy for valid queries, and the one check of a page against the journal."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from ..intent import LOST
from ..verdicts import CaseFailure

if TYPE_CHECKING:
    from ..context import CaseContext

MARKETS = ("US_SECURITY", "US_INDEX", "HK_SECURITY", "HK_INDEX")
TYPES = ("VOLUME", "OPEN_INTEREST")
KIT_NOW = "2026-06-15T12:00:00Z"  # the mock clock of every kit server
LAST_SESSION = "2026-06-12"  # the last completed session in every market at KIT_NOW
GOOD = ("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")
ONE_YEAR = ("2025-06-12", "2026-06-12")  # three pages of at most 100 rows in every market
Query = tuple[str, str, str, str]
# Cases that spend their time waiting for the client's own timers (a reply that never
# comes, a reconnect delay, KeepAlive cadence) run at the same time, each but the
# first on a server and a client process of its own.
WAITS = "waits"


@st.composite
def queries(draw: st.DrawFn, max_span: int = 366) -> Query:
    """A market, a type and a range of at most one year that ends before the mock's today."""
    market = draw(st.sampled_from(MARKETS))
    dtype = draw(st.sampled_from(TYPES))
    begin = draw(st.dates(date(2016, 1, 1), date(2026, 6, 12)))
    span = draw(st.integers(0, max_span))
    end = min(begin + timedelta(days=span), date(2026, 6, 12))
    try:
        end = min(end, begin.replace(year=begin.year + 1))
    except ValueError:
        end = min(end, begin.replace(year=begin.year + 1, day=28))
    return market, dtype, begin.isoformat(), end.isoformat()


def every_market_and_type(begin: str, end: str) -> list[Query]:
    return [(m, t, begin, end) for m in MARKETS for t in TYPES]


def last_3301(ctx: CaseContext, since: int) -> Any:
    entries = ctx.entries(since, 3301)
    return entries[-1] if entries else None


def check_page(ctx: CaseContext, reply: dict[str, Any], what: str) -> None:
    """The page a client returned for its last call (``ctx.get``, a valid query)
    is the server's page: same rows, same key (or none).  An error must have a
    reason in the journal (a fault, the rate limit, or a refusal it provoked is
    named as such)."""
    entries = ctx.call_entries()
    if not entries:
        if reply.get("ret") == 0:
            raise CaseFailure(f"{what}: success without asking the server", expected="a 3301 request", actual=reply)
        ctx.expect_success(reply, what)  # raises: an error without a request
        return
    entry = entries[-1]
    if reply.get("ret") != 0:
        if ctx.excuse(reply) is None:
            ctx.expect_success(reply, what)  # raises, naming whose error it was
        return
    if entry.ret_type != 0:
        ctx.expect_error(reply, f"{what} (the server answered retType {entry.ret_type}: {entry.ret_msg})")
        return
    if entry.extra.get("fault") in LOST:
        raise CaseFailure(
            f"{what}: a success although the server's reply did not arrive intact ({entry.extra['fault']})",
            expected="an error, or a retry",
            actual=reply,
        )
    ctx.expect_rows(list(reply.get("rows") or []), ctx.served(entry), what)
    key = ctx.key_bytes(reply)
    if key != entry.next_key:
        raise CaseFailure(
            f"{what}: page_req_key is not the server's nextPageKey",
            expected=None if entry.next_key is None else base64.b64encode(entry.next_key).decode(),
            actual=reply.get("page_req_key"),
        )
