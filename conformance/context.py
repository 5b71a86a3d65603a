"""What a case works with: the server (the oracle), the client, the journal."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from mock_opend.export import Query as ExportQuery
from mock_opend.export import gateway_rows
from mock_opend.markets import parse_data_type, parse_market

from .client import ClientDied, ClientHung, ClientProcess
from .results import CaseFailure, NonStrict, UnsupportedOp

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


ROW_FIELDS = ("time", "timestamp", "call_value", "put_value", "total_value", "ratio")


def normalise(row: dict[str, Any]) -> dict[str, Any]:
    """A client's row in canonical form (int64 may come as decimal strings)."""
    out: dict[str, Any] = {}
    for k in ROW_FIELDS:
        v = row.get(k)
        if k in ("call_value", "put_value", "total_value") and isinstance(v, str) and v.lstrip("-").isdigit():
            v = int(v)
        if k in ("timestamp", "ratio") and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        out[k] = v
    return out


def first_difference(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> tuple[str, Any, Any] | None:
    if len(got) != len(want):
        gd = [r.get("time") for r in got]
        wd = [r.get("time") for r in want]
        return f"{len(got)} rows instead of {len(want)}", wd[:12], gd[:12]
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        g = normalise(g)
        for k in ROW_FIELDS:
            if g[k] != w[k] and not (k == "total_value" and g[k] is None):
                return f"row {i} ({w['time']}): {k} differs", w[k], g[k]
    return None


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

    # -- the client ----------------------------------------------------------------
    def call(self, op: str, *, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """One driver call: at most ``timeout`` (the profile's call timeout by
        default), and never past the case's budget."""
        left = self.deadline - time.monotonic()
        budget = f"the case used up its budget of {self.profile.case_budget:g} s"
        if left <= 0:
            raise ClientGone(ClientHung(budget))
        wanted = timeout or self.profile.call_timeout
        try:
            reply = self.client.call(op, min(wanted, left), **fields)
        except ClientHung as exc:
            raise ClientGone(ClientHung(f"{budget} ({exc})") if left < wanted else exc) from None
        except ClientDied as exc:
            raise ClientGone(exc) from None
        if reply.get("unsupported"):
            raise UnsupportedOp(f"the client does not support {op}")
        return reply

    def get(
        self, market: str, dtype: str, begin: str | None, end: str | None, key: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        return self.call(
            "get_option_market_statistic",
            option_market=market,
            data_type=dtype,
            begin_time=begin,
            end_time=end,
            page_req_key=key,
            **kw,
        )

    def fetch_all(self, market: str, dtype: str, begin: str | None, end: str | None, **kw: Any) -> dict[str, Any]:
        return self.call("fetch_all", option_market=market, data_type=dtype, begin_time=begin, end_time=end, **kw)

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
                    exc.message = f"[lang={lang}] {exc.message}"
                    exc.args = (exc.message,)
                    raise
                except NonStrict as exc:
                    lenient.append(f"[lang={lang}] {exc}")
        if lenient:
            raise NonStrict("; ".join(lenient))

    def restart_client(self) -> None:
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

    def truth(self, market: str, dtype: str, begin: str | None, end: str | None) -> list[dict[str, Any]]:
        """Every row the server serves for a query (all pages)."""
        q = ExportQuery(parse_market(market), parse_data_type(dtype), begin or "", end or "")
        return [r.as_dict() for r in gateway_rows(self.server.gateway, q)]

    @staticmethod
    def served(entry: JournalEntry) -> list[dict[str, Any]]:
        return [r.as_dict() for r in entry.rows or []]

    # -- checks ---------------------------------------------------------------------
    def expect_rows(self, got: list[dict[str, Any]], want: list[dict[str, Any]], what: str) -> None:
        diff = first_difference(got, want)
        if diff is not None:
            raise CaseFailure(f"{what}: {diff[0]}", expected=diff[1], actual=diff[2])

    def expect_success(self, reply: dict[str, Any], what: str) -> list[dict[str, Any]]:
        if reply.get("ret") != 0:
            raise CaseFailure(f"{what}: the client reported an error", expected="ret 0", actual=reply.get("error"))
        return list(reply.get("rows") or [])

    def expect_error(self, reply: dict[str, Any], what: str) -> str:
        if reply.get("ret") == 0:
            rows = reply.get("rows") or []
            shown = "empty data" if not rows else f"{len(rows)} rows"
            raise CaseFailure(f"{what}: surfaced as success with {shown}", expected="an error", actual=reply)
        return str(reply.get("error", ""))

    @staticmethod
    def key_bytes(reply: dict[str, Any]) -> bytes | None:
        key = reply.get("page_req_key")
        return None if key is None else base64.b64decode(key)

    # -- Hypothesis -------------------------------------------------------------------
    def check_property(
        self, strategy: st.SearchStrategy[Any], check: Callable[[Any], None], examples: int | None = None
    ) -> None:
        """Run ``check`` on generated examples; a failure is shrunk to a minimal example."""

        @settings(
            max_examples=examples or self.profile.examples,
            deadline=None,
            database=None,
            derandomize=False,
            print_blob=False,
            verbosity=Verbosity.quiet,
            suppress_health_check=list(HealthCheck),
            phases=(Phase.explicit, Phase.generate, Phase.shrink),
        )
        @seed(self.seed)
        @given(strategy)
        def prop(example: Any) -> None:
            self.example = example
            check(example)

        prop()
