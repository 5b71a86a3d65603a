"""Group 8, faults: latency, lost, reset, truncated, corrupted and error
replies, on a single page and on a later page of a whole-range read.  The
right answer is an error or the right rows (after a retry), never wrong or
partial rows, never a hang."""

from __future__ import annotations

from typing import Any

from ..context import CaseContext, ClientGone
from ..registry import case
from ..rows import same
from ..verdicts import OPTIONAL, CaseFailure, Informational
from .common import GOOD, ONE_YEAR, WAITS, check_page

LATER_PAGE = ("US_SECURITY", "OPEN_INTEREST", *ONE_YEAR)  # three pages: the fault meets page 2


def _fault_case(ctx: CaseContext, kind: str, must_succeed: bool = False, **spec: Any) -> None:
    ctx.ensure_fresh_session()
    ctx.server.faults.remove()
    ctx.server.faults.add(kind=kind, proto_id=3301, **spec)
    ctx.example = {"fault": kind, **spec, "query": GOOD}
    truth = ctx.truth(*GOOD)
    reply = ctx.get(*GOOD, timeout=ctx.profile.fault_timeout)
    ctx.server.faults.remove()
    if must_succeed:
        if reply.get("ret") != 0:
            raise CaseFailure(
                f"{kind}: the client failed although the reply only came late",
                expected="the rows",
                actual=reply.get("error"),
            )
        ctx.expect_rows(reply.get("rows") or [], truth, f"after a {kind} fault")
    else:
        check_page(ctx, reply, f"after a {kind} fault")
    outcome = "returned the right rows" if reply.get("ret") == 0 else f"reported an error: {reply.get('error')!r}"
    # recovery without help: the next call, on the same client session
    try:
        after = ctx.get(*GOOD, timeout=15, check=False)
        recovered = after.get("ret") == 0 and same(after.get("rows") or [], truth)
    except ClientGone:
        recovered = False
        ctx.restart_client()
    ctx.shared.setdefault("recovery", {})[kind] = recovered
    ctx.ensure_fresh_session()
    ctx.shared.setdefault("fault_outcomes", {})[kind] = outcome


def _later_page(ctx: CaseContext, kinds: tuple[str, ...]) -> None:
    """fetch_all of a three-page query, the fault on the first continuation."""
    for kind in kinds:
        ctx.ensure_fresh_session()
        ctx.server.faults.remove()
        ctx.server.faults.add(kind=kind, proto_id=3301, page="next")
        ctx.example = {"fault": kind, "on": "page 2", "fetch_all": LATER_PAGE}
        with ctx.rate_limit():
            reply = ctx.fetch_all(*LATER_PAGE, timeout=ctx.profile.fault_timeout)
        ctx.server.faults.remove()
        if reply.get("ret") == 0:
            got, want = reply.get("rows") or [], ctx.truth(*LATER_PAGE)
            if not same(got, want):
                raise CaseFailure(
                    f"after a {kind} fault on page 2, fetch_all returned {len(got)} of {len(want)} rows as a success "
                    "(a failed page must fail the whole read, or be retried)",
                    expected=f"an error, or all {len(want)} rows",
                    actual=f"{len(got)} rows",
                )
        else:
            ctx.expect_all_rows(reply, LATER_PAGE, f"fetch_all with a {kind} fault on page 2")
    ctx.ensure_fresh_session()


@case("8.1", "faults", "added latency (300 ms) gives the right rows", order=70)
def fault_latency(ctx: CaseContext) -> None:
    """A reply delayed by 300 ms, far inside any client timeout, must be returned."""
    _fault_case(ctx, "latency", must_succeed=True, latency_ms=300)


@case(
    "8.2",
    "faults",
    "no reply: an error (or a retry with the right rows), never wrong rows",
    order=71,
    together=WAITS,
)
def fault_no_reply(ctx: CaseContext) -> None:
    """The server drops the reply; the client times out and reports it, or retries
    and returns the right rows; it must not hang past the kit's 40 s nor invent data."""
    _fault_case(ctx, "no_reply")


@case("8.3", "faults", "connection reset: an error or a recovery, never wrong rows", order=72, together=WAITS)
def fault_reset(ctx: CaseContext) -> None:
    """The server resets the TCP connection instead of replying."""
    _fault_case(ctx, "reset")


@case("8.4", "faults", "truncated frame: an error or a recovery, never wrong rows", order=73, together=WAITS)
def fault_truncate(ctx: CaseContext) -> None:
    """Half a reply frame, then the connection closes."""
    _fault_case(ctx, "truncate")


@case("8.5", "faults", "corrupted SHA-1 (or body on WebSocket): an error, never the unverified rows", order=74)
def fault_corrupt(ctx: CaseContext) -> None:
    """The reply's checksum is wrong; the client must verify it and report an
    error (or retry).  Catches: a client that never checks the SHA-1."""
    _fault_case(ctx, "corrupt_sha1")


@case("8.6", "faults", "an error reply is surfaced as an error", order=75)
def fault_error(ctx: CaseContext) -> None:
    """The server answers retType -1 with a message; the client reports it."""
    _fault_case(ctx, "error", ret_type=-1, ret_msg="injected failure")


@case("8.7", "faults", "recovers after each fault without being restarted", level=OPTIONAL, order=79)
def fault_recovery(ctx: CaseContext) -> None:
    """After each fault above, the next call on the same client session (no
    reconnect, within 15 s) returned the right rows."""
    recovery = ctx.shared.get("recovery", {})
    if not recovery:
        raise Informational("no fault case ran")
    failed = sorted(k for k, ok in recovery.items() if not ok)
    ctx.example = recovery
    if failed:
        raise CaseFailure(
            "no recovery after: " + ", ".join(failed), expected="the right rows on the next call", actual=recovery
        )


@case("8.8", "faults", "a later page's error reply or corrupted frame fails the whole read", order=76)
def later_page_error(ctx: CaseContext) -> None:
    """fetch_all of a three-page query meets an error reply, then (in a second
    read) a frame with a wrong SHA-1, on page 2: the read must end in an error
    (or a retry that returns every row), never in the rows it had so far.
    Catches: a paging loop that returns partial rows as a success."""
    _later_page(ctx, ("error", "corrupt_sha1"))


@case(
    "8.9",
    "faults",
    "a later page's lost reply fails the whole read",
    order=77,
    together=WAITS,
)
def later_page_no_reply(ctx: CaseContext) -> None:
    """Page 2 of fetch_all gets no reply: an error after the client's timeout (or
    a retry that returns every row), never the first page's rows alone."""
    _later_page(ctx, ("no_reply",))


@case(
    "8.10",
    "faults",
    "a later page's connection reset fails the whole read",
    order=78,
    together=WAITS,
)
def later_page_reset(ctx: CaseContext) -> None:
    """The connection is reset instead of page 2's reply: an error (or a retry
    that returns every row), never the first page's rows alone."""
    _later_page(ctx, ("reset",))
