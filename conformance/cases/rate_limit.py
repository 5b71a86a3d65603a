"""Group 6, rate limit: a rejection is an error, and no burst of retries follows.

The window is short (10 s) and slides in real time inside these cases,
so a client that waits it out and asks once more is answered within the reply
limit; each language asks for ranges of its own, so a client-side cache cannot
answer for the server."""

from __future__ import annotations

from ..context import CaseContext
from ..intent import key_of
from ..registry import case
from ..rows import same
from ..verdicts import CaseFailure, NonStrict

WINDOW = 10.0  # seconds: room for a slow client, short enough to wait out
YEAR = {"zh": 2026, "en": 2025}  # each language its own ranges
PATIENCE = 45.0  # seconds for the call that meets the limit: a client may wait out OpenD's real 30 s window


@case("6.1", "rate limit", "a rate-limit rejection is reported, not turned into data", order=50)
def rate_limited(ctx: CaseContext) -> None:
    """With 5 first pages per 10 s, the sixth request is rejected by the server;
    the client reports an error (or waits out the window, asks once more and
    returns the right rows: NON-STRICT), never an empty or wrong success."""

    def run() -> None:
        year = YEAR[ctx.lang]
        with ctx.rate_limit(5, WINDOW, sliding=True):
            for m in range(1, 7):
                ctx.example = ("US_INDEX", "VOLUME", f"{year}-0{m}-01", f"{year}-0{m}-28")
                reply = ctx.get(*ctx.example, timeout=PATIENCE)
                if m < 6:
                    ctx.expect_success(reply, f"request {m} of 5 allowed")
                    continue
                if not ctx.rate_limited():
                    raise CaseFailure(
                        "the sixth request within the window was not refused by the server "
                        "(did the client answer some calls without asking it?)",
                        expected="a RATE_LIMITED reply in the journal",
                        actual=[e.error for e in ctx.call_entries()],
                    )
                if reply.get("ret") != 0:
                    ctx.shared["rate_limit_error"] = reply.get("error")
                    return
                rows = reply.get("rows") or []
                if rows and same(rows, ctx.truth(*ctx.example)) and len(ctx.call_entries()) > 1:
                    raise NonStrict("the client waited out the window, asked again and returned the right rows")
                raise CaseFailure(
                    "the rejected request came back as a success",
                    expected="an error",
                    actual=f"{len(rows)} rows" if rows else "empty data",
                )

    ctx.in_each_language(run)


@case("6.2", "rate limit", "no burst of retries after a rejection", order=51)
def no_hammering(ctx: CaseContext) -> None:
    """After the server rejects a request for the rate limit (2 first pages per
    10 s), the client sends at most one more first-page request for that call
    (the journal counts them) — with the rejection's text in Chinese (OpenD's
    default) and in English, so a client that retries when it recognises the
    text is caught.  Waiting out the window and asking once more is fine."""

    def run() -> None:
        year = YEAR[ctx.lang]
        with ctx.rate_limit(2, WINDOW, sliding=True):
            for m in range(1, 3):
                ctx.get("HK_INDEX", "VOLUME", f"{year}-0{m}-01", f"{year}-0{m}-28")
            ctx.example = ("HK_INDEX", "VOLUME", f"{year}-03-01", f"{year}-03-31")
            ctx.get(*ctx.example, timeout=PATIENCE)
            sent = [e for e in ctx.call_entries() if e.request is not None and key_of(e) is None]
            if len(sent) > 2:
                raise CaseFailure(
                    "burst of retries after a rate-limit rejection",
                    expected="at most 2 requests",
                    actual=f"{len(sent)} requests",
                )

    ctx.in_each_language(run)
