"""The numbered cases.  Each states its requirement, runs against the mock
(the oracle: it knows the true rows and journals what the client sent) and
raises CaseFailure / NonStrict / Informational, or returns for OK."""

from __future__ import annotations

import base64
import contextlib
import itertools
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mock_opend.rate_limit import RateSpec

from .context import CaseContext, ClientGone, first_difference
from .results import OPTIONAL, REQUIRED, Case, CaseFailure, Informational, NonStrict

CASES: dict[str, Case] = {}
MARKETS = ("US_SECURITY", "US_INDEX", "HK_SECURITY", "HK_INDEX")
TYPES = ("VOLUME", "OPEN_INTEREST")
KIT_NOW = "2026-06-15T12:00:00Z"  # the mock clock of every kit server
GOOD = ("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")
LOST_REPLY_FAULTS = ("no_reply", "reset", "truncate", "corrupt_sha1")


def case(
    cid: str,
    group: str,
    title: str,
    *,
    level: str = REQUIRED,
    server: str = "main",
    order: int = 0,
    requirement: str = "",
    restart_client_after: bool = False,
    together: str = "",
) -> Callable[[Callable[[CaseContext], None]], Callable[[CaseContext], None]]:
    def register(fn: Callable[[CaseContext], None]) -> Callable[[CaseContext], None]:
        requirement_text = requirement or (fn.__doc__ or "").strip()
        CASES[cid] = Case(cid, group, title, level, requirement_text, server, fn, order, restart_client_after, together)
        return fn

    return register


@st.composite
def queries(draw: st.DrawFn, max_span: int = 366) -> tuple[str, str, str, str]:
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


def _last_3301(ctx: CaseContext, since: int) -> Any:
    entries = ctx.entries(since, 3301)
    return entries[-1] if entries else None


def _check_page_against_journal(ctx: CaseContext, reply: dict[str, Any], since: int, what: str) -> None:
    """A client's page is the server's page: same rows, same key (or none)."""
    entry = _last_3301(ctx, since)
    if entry is None:
        if reply.get("ret") == 0:
            raise CaseFailure(f"{what}: success without asking the server", expected="a 3301 request", actual=reply)
        return
    if entry.ret_type != 0:
        ctx.expect_error(reply, f"{what} (the server answered retType {entry.ret_type})")
        return
    if entry.extra.get("fault") in LOST_REPLY_FAULTS and reply.get("ret") != 0:
        return  # the reply was lost or damaged on the way: an error is the right answer
    rows = ctx.expect_success(reply, what)
    ctx.expect_rows(rows, ctx.served(entry), what)
    key = ctx.key_bytes(reply)
    if key != entry.next_key:
        raise CaseFailure(
            f"{what}: page_req_key is not the server's nextPageKey",
            expected=None if entry.next_key is None else base64.b64encode(entry.next_key).decode(),
            actual=reply.get("page_req_key"),
        )


# 3 decoding ------------------------------------------------------------------
@case("3.1", "decoding", "rows equal the rows the server sent, for any market, type, range and data profile", order=10)
def rows_equal_truth(ctx: CaseContext) -> None:
    """For Hypothesis-chosen markets, types, ranges and data profiles (realistic
    or edge values), the first page the client returns is exactly the server's:
    every row, every field, the order, and the page key (present exactly when
    the server sent one)."""

    def check(example: tuple[str, tuple[str, str, str, str]]) -> None:
        profile, q = example
        ctx.server.gateway.set_data_profile(profile)
        since = ctx.mark()
        _check_page_against_journal(ctx, ctx.get(*q), since, f"{profile} {q}")

    try:
        ctx.check_property(st.tuples(st.sampled_from(["realistic", "edge"]), queries()), check)
    finally:
        ctx.server.gateway.set_data_profile("realistic")


@case(
    "3.2", "decoding", "edge values: call 0 (no ratio), put 0, above 2^31 and 2^53, int64 max", server="edge", order=10
)
def edge_values(ctx: CaseContext) -> None:
    """On the edge data profile (single-row pages), fetch_all returns the served
    values exactly: a missing ratio stays missing (null), not 0 or NaN; values
    above 2^31 and 2^53 keep every digit; totals up to 2^63-1 survive."""
    for market, dtype in (("US_SECURITY", "VOLUME"), ("HK_INDEX", "OPEN_INTEREST")):
        ctx.example = (market, dtype, "2026-03-02", "2026-04-30")
        reply = ctx.fetch_all(*ctx.example)
        rows = ctx.expect_success(reply, f"fetch_all{ctx.example}")
        ctx.expect_rows(rows, ctx.truth(*ctx.example), f"fetch_all{ctx.example}")


@case("3.3", "decoding", "a range without a session is an empty success, without a key", order=11)
def empty_range(ctx: CaseContext) -> None:
    """2026-06-13..14 is a weekend: the server answers RET_OK with no rows and no
    key; the client must return an empty success (not an error, not a key)."""
    ctx.example = ("US_INDEX", "VOLUME", "2026-06-13", "2026-06-14")
    reply = ctx.get(*ctx.example)
    rows = ctx.expect_success(reply, "weekend range")
    if rows or reply.get("page_req_key") is not None:
        raise CaseFailure("weekend range: rows or a key appeared", expected="[] and null", actual=reply)


# 4 pagination ------------------------------------------------------------------------
@case("4.1", "pagination", "page by page, each key is the server's and leads to the next page", order=20)
def page_by_page(ctx: CaseContext) -> None:
    """A one-year query has three pages of 100/100/≤52 rows; the client hands back
    each page and the server's key, and the key passed back yields the next page."""
    q = ("HK_SECURITY", "OPEN_INTEREST", "2025-06-16", "2026-06-12")
    ctx.example = q
    key, pages = None, 0
    while True:
        since = ctx.mark()
        reply = ctx.get(*q, key=key)
        _check_page_against_journal(ctx, reply, since, f"page {pages + 1}")
        pages += 1
        key = reply.get("page_req_key")
        if key is None:
            break
        if pages > 10:
            raise CaseFailure("more than 10 pages for a one-year query", expected="3 pages", actual=pages)
    if pages != 3:
        raise CaseFailure("a one-year query has 3 pages of 100 rows", expected=3, actual=pages)


@case("4.2", "pagination", "fetch_all returns every row once, newest first, following keys to the end", order=21)
def fetch_all_complete(ctx: CaseContext) -> None:
    """The client's own paging loop (fetch_all) returns exactly the concatenated
    pages: no page skipped or repeated, no re-ordering."""

    def check(q: tuple[str, str, str, str]) -> None:
        reply = ctx.fetch_all(*q)
        rows = ctx.expect_success(reply, f"fetch_all{q}")
        ctx.expect_rows(rows, ctx.truth(*q), f"fetch_all{q}")

    long_ranges = queries().filter(lambda q: (date.fromisoformat(q[3]) - date.fromisoformat(q[2])).days > 150)
    ctx.check_property(long_ranges, check, examples=max(2, ctx.profile.examples // 3))


@case("4.3", "pagination", "single-row pages are followed to the end", server="edge", order=21)
def single_row_pages(ctx: CaseContext) -> None:
    """With one row per page (edge profile), fetch_all over a month still returns
    every row once."""
    ctx.example = ("US_INDEX", "VOLUME", "2026-05-01", "2026-05-29")
    rows = ctx.expect_success(ctx.fetch_all(*ctx.example), "fetch_all")
    ctx.expect_rows(rows, ctx.truth(*ctx.example), "fetch_all with single-row pages")


# 5 span ---------------------------------------------------------------------------------
@case("5.1", "span", "a range over one year is surfaced as an error", order=30)
def span_over_a_year(ctx: CaseContext) -> None:
    """2024-01-02..2025-01-03 is one day over the limit; the server refuses it and
    the client must say so (an error, not empty data)."""
    ctx.example = ("US_SECURITY", "VOLUME", "2024-01-02", "2025-01-03")
    ctx.in_each_language(lambda: ctx.expect_error(ctx.get(*ctx.example), "span of one year and one day"))


@case("5.2", "span", "exactly one year is served", order=31)
def span_exactly_a_year(ctx: CaseContext) -> None:
    """2024-01-02..2025-01-02 is allowed: the client returns its rows."""
    ctx.example = ("US_SECURITY", "VOLUME", "2024-01-02", "2025-01-02")
    rows = ctx.expect_success(ctx.fetch_all(*ctx.example), "span of exactly one year")
    ctx.expect_rows(rows, ctx.truth(*ctx.example), "span of exactly one year")


@case("5.3", "span", "begin after end is surfaced as an error", order=32)
def begin_after_end(ctx: CaseContext) -> None:
    """The server refuses begin > end; the client must report an error."""
    ctx.example = ("US_SECURITY", "VOLUME", "2026-06-12", "2026-06-01")
    ctx.in_each_language(lambda: ctx.expect_error(ctx.get(*ctx.example), "begin after end"))


# 7 errors ---------------------------------------------------------------------------------
@case("7.1", "errors", "an unknown market or data type is surfaced as an error", order=40)
def bad_market_or_type(ctx: CaseContext) -> None:
    """'N/A' (wire value 0 / -1) is refused by the server (or by the client
    itself); either way the caller sees an error."""

    def run() -> None:
        for q in (("N/A", "VOLUME", "2026-06-01", "2026-06-12"), ("US_SECURITY", "N/A", "2026-06-01", "2026-06-12")):
            ctx.example = q
            ctx.expect_error(ctx.get(*q), f"{q[0]}/{q[1]}")

    ctx.in_each_language(run)


@case("7.2", "errors", "a foreign page key is surfaced as an error", order=41)
def bad_key(ctx: CaseContext) -> None:
    """A key the server did not issue is refused; the client must not turn that
    into an empty page or a silent end of data."""
    ctx.example = (*GOOD, base64.b64encode(b"not-a-key").decode())
    ctx.in_each_language(lambda: ctx.expect_error(ctx.get(*GOOD, key=ctx.example[-1]), "garbage page key"))


@case("7.3", "errors", "the server's error message reaches the caller", level=OPTIONAL, order=42)
def error_text(ctx: CaseContext) -> None:
    """The retMsg of an error reply ('…must not exceed one year…') should be in
    the error the caller sees, in Chinese (OpenD's default) and in English; an
    error without it is NON-STRICT."""

    def run() -> None:
        since = ctx.mark()
        text = ctx.expect_error(ctx.get("US_SECURITY", "VOLUME", "2024-01-02", "2025-01-03"), "span error")
        entry = _last_3301(ctx, since)
        if entry is not None and entry.ret_msg not in text:
            raise NonStrict(f"error reported without the server's message ({entry.ret_msg!r}): {text!r}")

    ctx.in_each_language(run)


# 6 rate limit -----------------------------------------------------------------------------
def _with_rate_limit(ctx: CaseContext, spec: RateSpec, fn: Callable[[], None]) -> None:
    limiter = ctx.server.rate_limiter
    old = limiter.spec
    limiter.spec = spec
    limiter.reset()
    try:
        fn()
    finally:
        limiter.spec = old
        limiter.reset()


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
            if rows and first_difference(rows, ctx.truth(*ctx.example)) is None:
                raise NonStrict("the client backed off and returned the right rows")
            raise CaseFailure(
                "the rejected request came back as a success",
                expected="an error",
                actual=f"{len(rows)} rows" if rows else "empty data",
            )

    ctx.in_each_language(lambda: _with_rate_limit(ctx, RateSpec(5, 30.0), run))


@case("6.2", "rate limit", "no burst of retries after a rejection", order=51)
def no_hammering(ctx: CaseContext) -> None:
    """After the server rejects a request for the rate limit, the client sends at
    most one more first-page request for that call (the journal counts them) —
    with the rejection's text in Chinese (OpenD's default) and in English, so a
    client that retries when it recognises the text is caught."""

    def run() -> None:
        for m in range(1, 3):
            ctx.get("HK_INDEX", "VOLUME", f"2026-0{m}-01", f"2026-0{m}-28")
        since = ctx.mark()
        ctx.example = ("HK_INDEX", "VOLUME", "2026-03-01", "2026-03-31")
        ctx.get(*ctx.example)
        sent = [
            e for e in ctx.entries(since, 3301) if e.request is not None and not e.request.c2s.HasField("nextPageKey")
        ]
        if len(sent) > 2:
            raise CaseFailure(
                "burst of retries after a rate-limit rejection",
                expected="at most 2 requests",
                actual=f"{len(sent)} requests",
            )

    ctx.in_each_language(lambda: _with_rate_limit(ctx, RateSpec(2, 30.0), run))


# 2 session -----------------------------------------------------------------------------
@case("2.1", "session", "reconnect opens a new session that works", level=OPTIONAL, order=60)
def reconnect(ctx: CaseContext) -> None:
    """After 'reconnect' the client uses a new connection (new connID, a new
    InitConnect/Init) and its next query is answered."""
    ctx.get(*GOOD)  # a session to replace, also when the case runs alone (replay)
    since = ctx.mark()
    ctx.call("reconnect", timeout=25)
    inits = [e for e in ctx.entries(since) if e.proto_id in (1001, 1)]
    if not inits:
        raise CaseFailure("no new InitConnect after reconnect", expected="InitConnect", actual="none")
    rows = ctx.expect_success(ctx.get(*GOOD), "query after reconnect")
    ctx.expect_rows(rows, ctx.truth(*GOOD), "query after reconnect")


@case("2.2", "session", "what the client says about itself in InitConnect", level=OPTIONAL, order=61)
def client_identity(ctx: CaseContext) -> None:
    """Recorded only: clientVer, clientID, programmingLanguage, packetEncAlgo."""
    inits = [e for e in ctx.server.journal.entries() if e.proto_id in (1001, 1) and e.request is not None]
    if not inits:
        raise Informational("no InitConnect seen")
    c2s = inits[-1].request.c2s
    fields = {f.name: v for f, v in c2s.ListFields()}
    raise Informational(f"{inits[-1].transport}: {fields}")


# 8 faults ------------------------------------------------------------------------------
def _fault_case(ctx: CaseContext, kind: str, must_succeed: bool = False, **spec: Any) -> None:
    ctx.ensure_fresh_session()
    ctx.server.faults.remove()
    ctx.server.faults.add(kind=kind, proto_id=3301, **spec)
    ctx.example = {"fault": kind, **spec, "query": GOOD}
    truth = ctx.truth(*GOOD)
    reply = ctx.get(*GOOD, timeout=ctx.profile.fault_timeout)
    ctx.server.faults.remove()
    if reply.get("ret") == 0:
        ctx.expect_rows(reply.get("rows") or [], truth, f"after a {kind} fault the client returned a success")
        outcome = "returned the right rows"
    else:
        if must_succeed:
            raise CaseFailure(
                f"{kind}: the client failed although the reply only came late",
                expected="the rows",
                actual=reply.get("error"),
            )
        outcome = f"reported an error: {reply.get('error')!r}"
    # recovery without help: the next call, on the same client session
    try:
        after = ctx.get(*GOOD, timeout=15)
        recovered = after.get("ret") == 0 and first_difference(after.get("rows") or [], truth) is None
    except ClientGone:
        recovered = False
        ctx.restart_client()
    ctx.shared.setdefault("recovery", {})[kind] = recovered
    ctx.ensure_fresh_session()
    ctx.shared.setdefault("fault_outcomes", {})[kind] = outcome


@case("8.1", "faults", "added latency (300 ms) gives the right rows", order=70)
def fault_latency(ctx: CaseContext) -> None:
    """A reply delayed by 300 ms, far inside any client timeout, must be returned."""
    _fault_case(ctx, "latency", must_succeed=True, latency_ms=300)


@case(
    "8.2",
    "faults",
    "no reply: an error (or a retry with the right rows), never wrong rows",
    order=71,
    together="lost replies",
)
def fault_no_reply(ctx: CaseContext) -> None:
    """The server drops the reply; the client times out and reports it, or retries
    and returns the right rows; it must not hang past the kit's 40 s nor invent data."""
    _fault_case(ctx, "no_reply")


@case("8.3", "faults", "connection reset: an error or a recovery, never wrong rows", order=72, together="lost replies")
def fault_reset(ctx: CaseContext) -> None:
    """The server resets the TCP connection instead of replying."""
    _fault_case(ctx, "reset")


@case("8.4", "faults", "truncated frame: an error or a recovery, never wrong rows", order=73, together="lost replies")
def fault_truncate(ctx: CaseContext) -> None:
    """Half a reply frame, then the connection closes."""
    _fault_case(ctx, "truncate")


@case("8.5", "faults", "corrupted SHA-1 (or body on WebSocket): an error, never the corrupted rows", order=74)
def fault_corrupt(ctx: CaseContext) -> None:
    """The reply's checksum is wrong; a client that verifies it reports an error."""
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


# 9 stateful ------------------------------------------------------------------------------
@case("9.1", "stateful", "any mix of queries, pages, bursts, faults, profiles, reconnects and clock moves", order=85)
def stateful(ctx: CaseContext) -> None:
    """A Hypothesis state machine mixes first pages, continuations, bursts against
    a 6-per-30-s limit, injected faults (latency, error replies, corrupted
    checksums), data-profile switches, reconnects and clock moves; after every
    step the client's answer matches what the server did (rows and key, or an
    error — also for a reply damaged on the way)."""
    limiter = ctx.server.rate_limiter
    old_spec = limiter.spec
    clock0 = ctx.server.clock.now_datetime()

    class Machine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            limiter.spec = RateSpec(6, 30.0)
            limiter.reset()
            ctx.server.clock.set(clock0)
            ctx.server.faults.remove()
            ctx.server.gateway.set_data_profile("realistic")
            self.key: tuple[tuple[str, str, str, str], str] | None = None
            self.steps: list[Any] = []
            ctx.example = self.steps

        def _ask(self, q: tuple[str, str, str, str], key: str | None) -> None:
            since = ctx.mark()
            reply = ctx.get(*q, key=key)
            _check_page_against_journal(ctx, reply, since, f"step {len(self.steps)}")
            nk = reply.get("page_req_key") if reply.get("ret") == 0 else None
            self.key = (q, nk) if nk else None

        @rule(q=queries())
        def first_page(self, q: tuple[str, str, str, str]) -> None:
            self.steps.append(("query", q))
            self._ask(q, None)

        @precondition(lambda self: self.key is not None)
        @rule()
        def next_page(self) -> None:
            assert self.key is not None
            q, key = self.key
            self.steps.append(("next_page", q))
            self._ask(q, key)

        @rule(n=st.integers(2, 5), q=queries(max_span=40))
        def burst(self, n: int, q: tuple[str, str, str, str]) -> None:
            self.steps.append(("burst", n, q))
            for _ in range(n):
                self._ask(q, None)

        @rule()
        def reconnect(self) -> None:
            self.steps.append(("reconnect",))
            with contextlib.suppress(Exception):
                ctx.call("reconnect", timeout=25)
            self.key = None

        @rule(profile=st.sampled_from(["realistic", "edge"]))
        def data_profile(self, profile: str) -> None:
            self.steps.append(("data_profile", profile))
            ctx.server.gateway.set_data_profile(profile)
            self.key = None  # keys stay valid, but the rows behind them change

        @rule(kind=st.sampled_from(["latency", "error", "corrupt_sha1"]))
        def fault_on_next_request(self, kind: str) -> None:
            self.steps.append(("fault", kind))
            spec = {"latency_ms": 50} if kind == "latency" else {}
            ctx.server.faults.add(kind=kind, proto_id=3301, **spec)

        @rule(seconds=st.sampled_from([1, 15, 31, 3600]))
        def move_clock(self, seconds: int) -> None:
            self.steps.append(("advance_clock", seconds))
            ctx.server.clock.advance(seconds)

        @invariant()
        def alive(self) -> None:
            if not ctx.client.alive:
                raise CaseFailure("the client process died", expected="alive", actual=ctx.client.stderr_tail)

    from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
    from hypothesis.stateful import get_state_machine_test

    machine_settings = settings(
        max_examples=ctx.profile.stateful_runs,
        stateful_step_count=ctx.profile.stateful_steps,
        deadline=None,
        database=None,
        print_blob=False,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.shrink),
    )
    try:
        seed(ctx.seed)(get_state_machine_test(Machine, settings=machine_settings))()
    finally:
        limiter.spec = old_spec
        limiter.reset()
        ctx.server.clock.set(clock0)
        ctx.server.faults.remove()
        ctx.server.gateway.set_data_profile("realistic")


# 1 wire (from the journal of everything above) -----------------------------------------------
def _traffic(ctx: CaseContext) -> None:
    """Some requests of the case's own, so a wire check run alone has material."""
    ctx.get(*GOOD)
    ctx.fetch_all("HK_INDEX", "VOLUME", "2025-06-16", "2026-06-12")


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


@case("1.4", "wire", "KeepAlive at the advertised interval on an idle connection", order=95)
def keepalive(ctx: CaseContext) -> None:
    """The server advertises keepAliveInterval 2 s; on an idle TCP connection the
    client sends KeepAlive (1004) at least every 3 s (the Python SDK: every 0.8 x
    interval, on a 1 s tick). Not applicable over WebSocket (no KeepAlive there)."""
    ctx.ensure_fresh_session()
    ctx.get(*GOOD)
    since = ctx.mark()
    conn = _last_3301(ctx, ctx.start_seq)
    if conn is not None and conn.transport == "ws":
        raise Informational("not applicable: the WebSocket protocol has no KeepAlive")
    t0 = time.time()

    def seen() -> list[Any]:
        return [e for e in ctx.entries(since, 1004) if conn is None or e.conn_id == conn.conn_id]

    while time.time() - t0 < 6.5 and len(seen()) < 2:  # two KeepAlives show the cadence
        time.sleep(0.1)
    pings = seen()
    times = [t0, *[e.wall_time for e in pings], time.time()]
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(times)]
    ctx.example = {"pings": len(pings), "gaps_s": gaps}
    if not pings:
        raise CaseFailure("no KeepAlive in 6.5 s of idle time", expected="a KeepAlive every ≤ 3 s", actual="none")
    if max(gaps) > 3.5:
        raise NonStrict(f"KeepAlive gaps {gaps} exceed 1.5 x the advertised 2 s")


def ordered(server: str | None = None) -> list[Case]:
    cases = [c for c in CASES.values() if server is None or c.server == server]
    return sorted(cases, key=lambda c: (c.order, c.id))
