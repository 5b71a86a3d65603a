"""Group 6, rate limit: a rejection is an error, and no burst of retries follows."""

from __future__ import annotations

from collections.abc import Callable

from ..context import CaseContext
from ..registry import case
from ..rows import same
from ..verdicts import CaseFailure, NonStrict


@case("6.1", "rate limit", "a rate-limit rejection is reported, not turned into data", order=50)
def rate_limited(ctx: CaseContext) -> None:
    """With 5 first pages per 30 s, the sixth request is rejected by the server;
    the client reports an error (or backs off and returns the right rows:
    NON-STRICT), never an empty or wrong success."""
    ranges = [(f"2026-0{m}-01", f"2026-0{m}-28") for m in range(1, 7)]

    def run() -> None:
        for i, (b, e) in enumerate(ranges):
            ctx.example = ("US_INDEX", "VOLUME", b, e)
            reply = ctx.get(*ctx.example)
            if i < 5:
                ctx.expect_success(reply, f"request {i + 1} of 5 allowed")
                continue
            if reply.get("ret") != 0:
                ctx.shared["rate_limit_error"] = reply.get("error")
                return
            rows = reply.get("rows") or []
            if rows and same(rows, ctx.truth(*ctx.example)):
                raise NonStrict("the client backed off and returned the right rows")
            raise CaseFailure(
                "the rejected request came back as a success",
                expected="an error",
                actual=f"{len(rows)} rows" if rows else "empty data",
            )

    ctx.in_each_language(lambda: _limited(ctx, 5, run))


def _limited(ctx: CaseContext, limit: int, fn: Callable[[], None]) -> None:
    with ctx.rate_limit(limit, 30.0):
        fn()


@case("6.2", "rate limit", "no burst of retries after a rejection", order=51)
def no_hammering(ctx: CaseContext) -> None:
    """After the server rejects a request for the rate limit, the client sends at
    most one more first-page request for that call (the journal counts them) —
    with the rejection's text in Chinese (OpenD's default) and in English, so a
    client that retries when it recognises the text is caught."""

    def run() -> None:
        for m in range(1, 3):
            ctx.get("HK_INDEX", "VOLUME", f"2026-0{m}-01", f"2026-0{m}-28")
        ctx.example = ("HK_INDEX", "VOLUME", "2026-03-01", "2026-03-31")
        ctx.get(*ctx.example)
        sent = [e for e in ctx.call_entries() if e.request is not None and not e.request.c2s.HasField("nextPageKey")]
        if len(sent) > 2:
            raise CaseFailure(
                "burst of retries after a rate-limit rejection",
                expected="at most 2 requests",
                actual=f"{len(sent)} requests",
            )

    ctx.in_each_language(lambda: _limited(ctx, 2, run))
