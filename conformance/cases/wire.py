"""Group 1, wire: framing, serials, InitConnect first and KeepAlive, judged
from the journal of everything the client sent during the run (these cases
run last)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from ..context import CaseContext
from ..registry import case
from ..verdicts import CaseFailure, Informational, NonStrict
from .common import GOOD, ONE_YEAR, WAITS


def _traffic(ctx: CaseContext) -> None:
    """Some requests of the case's own, so a wire check run alone has material."""
    ctx.get(*GOOD)
    ctx.fetch_all("HK_INDEX", "VOLUME", *ONE_YEAR)


def _by_connection(ctx: CaseContext) -> dict[int, list[Any]]:
    _traffic(ctx)
    conns: dict[int, list[Any]] = {}
    for e in ctx.run_entries():
        conns.setdefault(e.conn_id, []).append(e)
    return conns


@case("1.1", "wire", "InitConnect (or the WebSocket Init) is the first request of every connection", order=90)
def init_first(ctx: CaseContext) -> None:
    """Across every connection the client opened during the run."""
    conns = _by_connection(ctx)
    bad = {c: es[0].proto_id for c, es in conns.items() if es[0].proto_id not in (1001, 1)}
    ctx.example = {"connections": len(conns)}
    if bad:
        raise CaseFailure("a connection started with another request", expected="1001 (or 1 on WebSocket)", actual=bad)


@case("1.2", "wire", "every request's SHA-1 and body length are right", order=91)
def sha1_and_length(ctx: CaseContext) -> None:
    """No request of the run failed the server's SHA-1, framing or body checks."""
    _traffic(ctx)
    wire_errors = {"SHA1_MISMATCH", "BAD_MAGIC", "BODY_TOO_LARGE", "BAD_FORMAT", "BAD_BODY", "WS_BAD_FRAME"}
    bad = [e for e in ctx.run_entries() if (e.error in wire_errors) or not e.sha1_ok]
    if bad:
        e = bad[0]
        raise CaseFailure(
            f"{len(bad)} malformed request(s), first: proto {e.proto_id} serial {e.serial}",
            expected="valid SHA-1 and length",
            actual=e.ret_msg,
        )


@case("1.3", "wire", "serial numbers are unique on each connection", order=92)
def serials_unique(ctx: CaseContext) -> None:
    """Replies are matched by (proto id, serial): a repeated serial on one
    connection makes two requests indistinguishable."""
    for conn, es in _by_connection(ctx).items():
        serials = [e.serial for e in es]
        dup = [s for s, n in itertools.groupby(sorted(serials)) if len(list(n)) > 1]
        if dup:
            raise CaseFailure(f"connection {conn} reused serial numbers", expected="unique", actual=dup[:10])


IDLE = 6.5  # seconds watched for two KeepAlives


@case("1.4", "wire", "KeepAlive at the advertised interval on an idle connection", order=95, together=WAITS)
def keepalive(ctx: CaseContext) -> None:
    """The server advertises keepAliveInterval 2 s; on an idle TCP connection the
    client sends KeepAlive (1004) at least every 3 s (the Python SDK: every 0.8 x
    interval, on a 1 s tick). Not applicable over WebSocket (no KeepAlive there).
    A connection closed after its call is told apart from a missing KeepAlive.
    Then the connection is reset: if the client opens a new one by itself, it
    sends KeepAlive there too (catches a KeepAlive timer started only by an
    explicit connect)."""
    ctx.ensure_fresh_session()
    ctx.get(*GOOD)
    sent = ctx.call_entries()
    conn = sent[-1] if sent else None
    if conn is not None and conn.transport == "ws":
        raise Informational("not applicable: the WebSocket protocol has no KeepAlive")
    pings, gaps = _watch(ctx, conn)
    ctx.example = {"pings": len(pings), "gaps_s": gaps}
    if conn is not None and conn.conn_id not in ctx.open_connections() and len(pings) < 2:
        later = {e.conn_id for e in ctx.entries(conn.seq)} - {conn.conn_id}
        raise CaseFailure(
            "the connection of the last call was closed after it"
            + (f" ({len(later)} other connection(s) opened since)" if later else "")
            + ": a new connection per call? Keep one session open between calls and send KeepAlive on it",
            expected="the connection open, a KeepAlive every ≤ 3 s",
            actual=f"closed, {len(pings)} KeepAlive(s) before",
        )
    if not pings:
        raise CaseFailure(
            f"no KeepAlive in {IDLE:g} s of idle time on an open connection",
            expected="a KeepAlive every ≤ 3 s",
            actual="none",
        )
    lenient = f"KeepAlive gaps {gaps} exceed 1.5 x the advertised 2 s" if max(gaps) > 3.5 else ""
    again = _after_reset(ctx, conn)
    if again is not None:
        ctx.example = {**ctx.example, "after a reset": again}
    if lenient:
        raise NonStrict(lenient)


def _watch(ctx: CaseContext, conn: Any) -> tuple[list[Any], list[float]]:
    """KeepAlives on ``conn`` while it is idle: until two have shown the cadence,
    it closes, or IDLE seconds pass."""
    since = ctx.mark()
    t0 = time.time()

    def seen() -> list[Any]:
        return [e for e in ctx.entries(since, 1004) if conn is None or e.conn_id == conn.conn_id]

    def closed() -> bool:
        return conn is not None and conn.conn_id not in ctx.open_connections()

    while time.time() - t0 < IDLE and len(seen()) < 2 and not closed():
        time.sleep(0.1)
    pings = seen()
    times = [t0, *[e.wall_time for e in pings], time.time()]
    return pings, [round(b - a, 2) for a, b in itertools.pairwise(times)]


def _after_reset(ctx: CaseContext, conn: Any) -> dict[str, Any] | None:
    """Reset the connection; if the client reconnects by itself within two calls,
    its new connection must carry KeepAlive too."""
    if conn is None:
        return None
    ctx.server.faults.add(kind="reset", proto_id=3301)
    try:
        for _ in range(2):
            reply = ctx.get(*GOOD, check=False, timeout=20)
            if reply.get("ret") == 0:
                break
    finally:
        ctx.server.faults.remove()
    new = [e for e in ctx.call_entries() if e.conn_id != conn.conn_id and e.ret_type == 0]
    if reply.get("ret") != 0 or not new:
        return None  # no recovery without help: 8.7's question
    pings, gaps = _watch(ctx, new[-1])
    if not pings:
        raise CaseFailure(
            f"no KeepAlive in {IDLE:g} s on the connection the client opened by itself after a reset "
            "(is the KeepAlive timer started only by an explicit connect?)",
            expected="a KeepAlive every ≤ 3 s on the new connection",
            actual="none",
        )
    return {"pings": len(pings), "gaps_s": gaps}
