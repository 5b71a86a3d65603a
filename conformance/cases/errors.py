"""Group 7, errors: what the server refuses reaches the caller as an error."""

from __future__ import annotations

import base64

from ..context import CaseContext
from ..registry import case
from ..verdicts import OPTIONAL, NonStrict
from .common import GOOD


@case("7.1", "errors", "an unknown market or data type is surfaced as an error", order=40)
def bad_market_or_type(ctx: CaseContext) -> None:
    """'N/A' (wire value 0 / -1) is refused by the server (or by the client
    itself); either way the caller sees an error.  Catches: an unknown value
    mapped to a default market, an error turned into empty data."""

    def run() -> None:
        for q in (("N/A", "VOLUME", "2026-06-01", "2026-06-12"), ("US_SECURITY", "N/A", "2026-06-01", "2026-06-12")):
            ctx.example = q
            ctx.expect_error(ctx.get(*q), f"{q[0]}/{q[1]}")

    ctx.in_each_language(run)


@case("7.2", "errors", "a foreign page key is surfaced as an error", order=41)
def bad_key(ctx: CaseContext) -> None:
    """A key the server did not issue is refused; the client must send it as
    given and not turn the refusal into an empty page or a silent end of data."""
    key = base64.b64encode(b"not-a-key").decode()
    ctx.example = (*GOOD, key)
    ctx.in_each_language(lambda: ctx.expect_error(ctx.get(*GOOD, key=key), "garbage page key"))


@case("7.3", "errors", "the server's error message reaches the caller", level=OPTIONAL, order=42)
def error_text(ctx: CaseContext) -> None:
    """The retMsg of an error reply ('…must not exceed one year…') should be in
    the error the caller sees, in Chinese (OpenD's default) and in English; an
    error without it is NON-STRICT."""

    def run() -> None:
        text = ctx.expect_error(ctx.get("US_SECURITY", "VOLUME", "2024-01-02", "2025-01-03"), "span error")
        sent = ctx.call_entries()
        if sent and sent[-1].ret_msg not in text:
            raise NonStrict(f"error reported without the server's message ({sent[-1].ret_msg!r}): {text!r}")

    with ctx.statistics(span_policy="reject"):  # the span error, also under a --mock-config that paginates
        ctx.in_each_language(run)
