"""Group 2, session: one connection serves every call, reconnect replaces it,
close ends it."""

from __future__ import annotations

import time

from ..context import CaseContext
from ..registry import case
from ..verdicts import OPTIONAL, CaseFailure, Informational
from .common import GOOD

CALLS = 10
CLOSE_GRACE = 3.0  # seconds for the server to see a closed connection go


def _wait_closed(ctx: CaseContext, conns: set[int], within: float) -> set[int]:
    """The connections of ``conns`` still open after at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        still = conns & ctx.open_connections()
        if not still or time.monotonic() >= deadline:
            return still
        time.sleep(0.05)


@case("2.1", "session", "reconnect opens a new session that works", level=OPTIONAL, order=60)
def reconnect(ctx: CaseContext) -> None:
    """After 'reconnect' the client uses a new connection (new connID, a new
    InitConnect/Init), the old one is closed, and its next query is answered."""
    ctx.get(*GOOD)  # a session to replace, also when the case runs alone (replay)
    old = {e.conn_id for e in ctx.call_entries()}
    since = ctx.mark()
    ctx.call("reconnect", timeout=25)
    inits = [e for e in ctx.entries(since) if e.proto_id in (1001, 1)]
    if not inits:
        raise CaseFailure("no new InitConnect after reconnect", expected="InitConnect", actual="none")
    reply = ctx.get(*GOOD)
    ctx.expect_rows(ctx.expect_success(reply, "query after reconnect"), ctx.truth(*GOOD), "query after reconnect")
    left = _wait_closed(ctx, old, CLOSE_GRACE)
    if left:
        raise CaseFailure(
            f"the old connection is still open {CLOSE_GRACE:g} s after reconnect",
            expected="closed",
            actual=sorted(left),
        )


@case("2.2", "session", "what the client says about itself in InitConnect", level=OPTIONAL, order=61)
def client_identity(ctx: CaseContext) -> None:
    """Recorded only: clientVer, clientID, programmingLanguage, packetEncAlgo."""
    inits = [e for e in ctx.server.journal.entries() if e.proto_id in (1001, 1) and e.request is not None]
    if not inits:
        raise Informational("no InitConnect seen")
    c2s = inits[-1].request.c2s
    fields = {f.name: v for f, v in c2s.ListFields()}
    raise Informational(f"{inits[-1].transport}: {fields}")


@case("2.3", "session", "one session serves many calls", order=62)
def one_session(ctx: CaseContext) -> None:
    """Ten calls in a row, with no reconnect asked, go over one connection.
    Catches: a client that opens a connection (and an InitConnect) per call,
    whether it closes them or leaks them; the real gateway limits connections
    and counts every InitConnect."""
    since = ctx.mark()
    for m in range(CALLS):
        q = ("US_SECURITY", "VOLUME", f"2025-{m + 1:02d}-01", f"2025-{m + 1:02d}-28")
        ctx.example = {"calls": CALLS, "query": q}
        ctx.expect_success(ctx.get(*q), f"call {m + 1} of {CALLS}")
    conns = {e.conn_id for e in ctx.entries(since, 3301)}
    if len(conns) > 1:
        still = _wait_closed(ctx, conns, CLOSE_GRACE)  # the last call's close may still be on its way
        fate = f"{len(still)} still open" if still else "each closed after its call"
        raise CaseFailure(
            f"opened {len(conns)} connections for {CALLS} calls ({fate}); keep one session",
            expected="1 connection",
            actual=f"{len(conns)} connections",
        )


@case("2.4", "session", "close ends the session", order=63, restart_client_after=True)
def close_ends_session(ctx: CaseContext) -> None:
    """After 'close' is answered, every connection the client opened is closed
    (by the client, or by its process exiting) within 3 s.  Catches: a close
    that forgets the connection (a library's threads keep the process and the
    socket alive)."""
    ctx.get(*GOOD)
    mine = {e.conn_id for e in ctx.entries(ctx.start_seq)}
    reply = ctx.call("close", timeout=5)
    if reply.get("ret") not in (0, None):
        raise CaseFailure("close reported an error", expected="ret 0", actual=reply)
    left = _wait_closed(ctx, mine, CLOSE_GRACE)
    if left:
        raise CaseFailure(
            f"{len(left)} connection(s) still open {CLOSE_GRACE:g} s after close",
            expected="no connection left",
            actual=sorted(left),
        )
