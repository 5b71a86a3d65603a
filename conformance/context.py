"""What a case works with: the server (the oracle), the client, the journal.

Every call a case makes goes through here, so every call is judged the same
way: what the client sent is held against what it was asked (``intent``), an
error on a valid query must have a reason the journal shows (an injected fault,
the rate limit), and rows are compared field by field (``rows``)."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import example as hypothesis_example
from hypothesis import strategies as st

from mock_opend.export import Query as ExportQuery
from mock_opend.export import gateway_rows
from mock_opend.markets import parse_data_type, parse_market

from . import intent, rows
from .client import ClientDied, ClientHung, ClientProcess
from .intent import LOST, Asked
from .verdicts import CaseFailure, NonStrict, UnsupportedOp

if TYPE_CHECKING:
    from mock_opend.journal import JournalEntry
    from mock_opend.server import MockOpenD


@dataclass(frozen=True)
class Profile:
    name: str
    examples: int  # Hypothesis examples per property
    stateful_runs: int
    stateful_steps: int
    call_timeout: float = 30.0  # one reply (DRIVER.md)
    fault_timeout: float = 40.0  # one reply while a fault is injected
    case_budget: float = 180.0  # one whole case, every call included


PROFILES = {
    "ci": Profile("ci", examples=8, stateful_runs=4, stateful_steps=10),
    "dev": Profile("dev", examples=40, stateful_runs=3, stateful_steps=25, case_budget=600.0),
    "thorough": Profile("thorough", examples=200, stateful_runs=10, stateful_steps=50, case_budget=1800.0),
}
LANGS = ("zh", "en")  # the gateway's default first


class ClientGone(BaseException):
    """The client hung or died: stop the case at once (no shrinking on a dead client)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def case_seed(kit_seed: int, case_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{kit_seed}|{case_id}".encode(), digest_size=4).digest(), "big")


@dataclass
class CallRecord:
    """One driver call of a case: what was asked, the journal window it spans, the reply."""

    asked: Asked
    since: int
    until: int
    reply: dict[str, Any]


RATE_LIMITED = "RATE_LIMITED"
REAL_LIMIT = (60, 30.0)  # OpenD's documented limit for 3301 first pages


class CaseContext:
    def __init__(
        self,
        server: MockOpenD,
        client: ClientProcess,
        profile: Profile,
        seed_value: int,
        shared: dict[str, Any],
        restart_client: Callable[[], ClientProcess],
        others: Sequence[MockOpenD] = (),
    ) -> None:
        self.server = server
        self.others = others  # servers of this configuration that cases running together used
        self.client = client
        self.profile = profile
        self.seed = seed_value
        self.shared = shared  # state between cases of one run (e.g. fault recoveries)
        self._restart = restart_client
        self.example: Any = None
        self.start_seq = server.journal.new_seq()
        self.deadline = time.monotonic() + profile.case_budget
        self.lang = server.gateway.lang
        self.last: CallRecord | None = None
        self.reconnects = 0  # reconnects and restarts the case asked for (new connections are then expected)

    # -- the client ----------------------------------------------------------------
    def call(self, op: str, *, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """One driver call: at most ``timeout`` (the profile's call timeout by
        default), and never past the case's budget."""
        left = self.deadline - time.monotonic()
        budget = f"the case used up its budget of {self.profile.case_budget:g} s"
        if left <= 0:
            raise ClientGone(ClientHung(budget))
        wanted = timeout or self.profile.call_timeout
        if op == "reconnect":
            self.reconnects += 1
        try:
            reply = self.client.call(op, min(wanted, left), **fields)
        except ClientHung as exc:
            raise ClientGone(ClientHung(f"{budget} ({exc})") if left < wanted else exc) from None
        except ClientDied as exc:
            raise ClientGone(exc) from None
        if reply.get("unsupported"):
            raise UnsupportedOp(f"the client does not support {op}")
        return reply

    def _query_call(self, asked: Asked, check: bool, **kw: Any) -> dict[str, Any]:
        since = self.mark()
        reply = self.call(asked.op, **asked.describe(), **kw)  # the driver request's fields, as DRIVER.md names them
        self.last = CallRecord(asked, since, self.mark(), reply)
        if check:
            intent.check_call(asked, self.entries(since, intent.PROTO_3301))
        return reply

    def get(
        self,
        market: str,
        dtype: str,
        begin: str | None,
        end: str | None,
        key: str | None = None,
        *,
        check: bool = True,
        **kw: Any,
    ) -> dict[str, Any]:
        """One page.  With ``check`` (the default) every request it caused must be
        the query and key asked (``intent.check_page_call``)."""
        raw = None if key is None else base64.b64decode(key)
        return self._query_call(Asked("get_option_market_statistic", market, dtype, begin, end, raw), check, **kw)

    def fetch_all(
        self, market: str, dtype: str, begin: str | None, end: str | None, *, check: bool = True, **kw: Any
    ) -> dict[str, Any]:
        """The client's paging loop.  With ``check``, its requests must be one
        first page and continuations with the server's keys (``intent.check_paging_call``)."""
        return self._query_call(Asked("fetch_all", market, dtype, begin, end), check, **kw)

    @contextmanager
    def language(self, lang: str) -> Iterator[None]:
        """The server answers in ``lang`` inside the block."""
        gw = self.server.gateway
        old = gw.lang
        gw.set_lang(lang)
        self.lang = lang
        try:
            yield
        finally:
            gw.set_lang(old)
            self.lang = old

    def in_each_language(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` with the server speaking zh (OpenD's default), then en: a
        client that recognises an error by its text must cope with both.  A
        failure in either fails the case; NON-STRICT in either is reported after both."""
        lenient: list[str] = []
        for lang in LANGS:
            with self.language(lang):
                try:
                    fn()
                except CaseFailure as exc:
                    exc.prefix(f"[lang={lang}]")
                    raise
                except NonStrict as exc:
                    lenient.append(f"[lang={lang}] {exc}")
        if lenient:
            raise NonStrict("; ".join(lenient))

    @contextmanager
    def rate_limit(
        self, limit: int = REAL_LIMIT[0], window: float = REAL_LIMIT[1], *, sliding: bool = False
    ) -> Iterator[None]:
        """The server's 3301 first-page limit inside the block (OpenD's real 60 per
        30 s by default), from an empty window.  ``sliding``: the mock clock runs in
        real time inside the block, so the window slides and a client that waits
        it out is answered (the kit's clock is otherwise frozen)."""
        from mock_opend.rate_limit import RateSpec

        limiter = self.server.rate_limiter
        clock = self.server.clock
        old, instant = limiter.spec, clock.now_datetime()
        limiter.spec = RateSpec(limit, window)
        limiter.reset()
        if sliding:
            clock.set(instant, tick=True)
        try:
            yield
        finally:
            if sliding:
                clock.set(instant, tick=False)
            limiter.spec = old
            limiter.reset()

    @contextmanager
    def statistics(self, **settings: Any) -> Iterator[None]:
        """The 3301 service's settings inside the block: ``span_policy`` (over a year:
        ``reject`` or ``paginate``), ``empty_first_page`` (a first page with no rows
        and a key)."""
        stats = self.server.gateway.statistics
        old = {name: getattr(stats, name) for name in settings}
        for name, value in settings.items():
            setattr(stats, name, value)
        try:
            yield
        finally:
            for name, value in old.items():
                setattr(stats, name, value)

    def restart_client(self) -> None:
        self.reconnects += 1
        self.client = self._restart()

    def ensure_fresh_session(self) -> None:
        """Reconnect (or restart the driver) so a case starts from a healthy client."""
        try:
            self.call("reconnect", timeout=25)
        except (UnsupportedOp, ClientGone):
            self.restart_client()

    # -- the oracle -----------------------------------------------------------------
    def mark(self) -> int:
        return self.server.journal.new_seq()

    def run_entries(self) -> list[JournalEntry]:
        """Every journaled request of the run on this configuration, the servers of
        cases that ran together included (connection ids are unique per process)."""
        return [e for srv in (self.server, *self.others) for e in srv.journal.entries()]

    def entries(self, since: int | None = None, proto_id: int | None = None) -> list[JournalEntry]:
        lo = self.start_seq if since is None else since
        return self.server.journal.entries(lambda e: e.seq > lo and (proto_id is None or e.proto_id == proto_id))

    def call_entries(self, record: CallRecord | None = None) -> list[JournalEntry]:
        """The 3301 requests of one call (the last one by default)."""
        rec = record or self.last
        if rec is None:
            return []
        return self.server.journal.entries(lambda e: rec.since < e.seq <= rec.until and e.proto_id == intent.PROTO_3301)

    def open_connections(self) -> set[int]:
        """Ids of the connections open on the server now."""
        return set(self.server.gateway.open_conn_ids)

    def truth(self, market: str, dtype: str, begin: str | None, end: str | None) -> list[dict[str, Any]]:
        """Every row the server serves for a query (all pages)."""
        q = ExportQuery(parse_market(market), parse_data_type(dtype), begin or "", end or "")
        return [r.as_dict() for r in gateway_rows(self.server.gateway, q)]

    @staticmethod
    def served(entry: JournalEntry) -> list[dict[str, Any]]:
        return [r.as_dict() for r in entry.rows or []]

    # -- checks ---------------------------------------------------------------------
    def expect_rows(self, got: list[dict[str, Any]], want: list[dict[str, Any]], what: str) -> None:
        diff = rows.difference(got, want)
        if diff is not None:
            raise CaseFailure(f"{what}: {diff.message}", expected=diff.expected, actual=diff.actual)

    def rate_limited(self) -> bool:
        """Whether the server refused a request of the last call for the rate limit."""
        return any(e.error == RATE_LIMITED for e in self.call_entries())

    def excuse(self, reply: dict[str, Any]) -> str | None:
        """Why an error reply to a valid query is right, if the journal shows a
        reason: an injected fault or the rate limit on one of the call's requests."""
        for e in self.call_entries() if self.last is not None and self.last.reply is reply else []:
            if e.extra.get("fault") in LOST:
                return f"an injected {e.extra['fault']} fault"
            if e.error == RATE_LIMITED:
                return "the rate limit"
        return None

    def expect_success(self, reply: dict[str, Any], what: str) -> list[dict[str, Any]]:
        """The rows of a successful reply to a valid query.  An error fails the
        case, saying whose it was: the client's own (no request sent), the
        server's answer to what the client sent, or the client's alone."""
        if reply.get("ret") == 0:
            return list(reply.get("rows") or [])
        error = reply.get("error")
        if self.last is None or self.last.reply is not reply:
            raise CaseFailure(f"{what}: the client reported an error", expected="ret 0", actual=error)
        sent = self.call_entries()
        if not sent:
            raise CaseFailure(
                f"{what}: the client reported an error without sending a request", expected="the rows", actual=error
            )
        refused = [e for e in sent if e.ret_type not in (0, None)]
        if refused:
            e = refused[-1]
            raise CaseFailure(
                f"{what}: the client reported an error; the server had refused what it sent ({e.error}: {e.ret_msg})",
                expected="the rows",
                actual={"client": error, "sent": intent.sent(e)},
            )
        raise CaseFailure(
            f"{what}: the client reported an error although the server answered every request",
            expected="the rows",
            actual=error,
        )

    def expect_error(self, reply: dict[str, Any], what: str) -> str:
        if reply.get("ret") == 0:
            got = reply.get("rows") or []
            shown = "empty data" if not got else f"{len(got)} rows"
            raise CaseFailure(f"{what}: surfaced as success with {shown}", expected="an error", actual=reply)
        return str(reply.get("error", ""))

    def expect_all_rows(self, reply: dict[str, Any], q: tuple[str, str, str | None, str | None], what: str) -> None:
        """A whole-range read of a valid query: every row, or an error the
        journal excuses (then there is nothing to compare)."""
        if reply.get("ret") != 0 and self.excuse(reply) is not None:
            return
        if reply.get("ret") == 0 and not self.call_entries():
            raise CaseFailure(f"{what}: success without asking the server", expected="3301 requests", actual=reply)
        self.expect_rows(self.expect_success(reply, what), self.truth(*q), what)

    @staticmethod
    def key_bytes(reply: dict[str, Any]) -> bytes | None:
        key = reply.get("page_req_key")
        return None if key is None else base64.b64decode(key)

    # -- Hypothesis -------------------------------------------------------------------
    def check_property(
        self,
        strategy: st.SearchStrategy[Any],
        check: Callable[[Any], None],
        examples: int | None = None,
        explicit: Sequence[Any] = (),
    ) -> None:
        """Run ``check`` on the ``explicit`` examples (always, in order), then on
        generated ones; a failure is shrunk to a minimal example.  Each failure
        carries the example that showed it (several distinct ones are raised as
        an exception group)."""

        def prop(example: Any) -> None:
            self.example = example
            try:
                check(example)
            except CaseFailure as exc:
                if exc.example is None:
                    exc.example = example
                raise

        for ex in reversed(explicit):
            prop = hypothesis_example(ex)(prop)
        run = settings(
            max_examples=examples or self.profile.examples,
            deadline=None,
            database=None,
            derandomize=False,
            print_blob=False,
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
            phases=(Phase.explicit, Phase.generate, Phase.shrink),
        )(seed(self.seed)(given(strategy)(prop)))
        run()
