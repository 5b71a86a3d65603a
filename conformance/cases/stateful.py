"""Group 9, stateful: a Hypothesis state machine mixes everything; the
journal is the oracle after every step."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test, initialize, invariant, precondition, rule

from mock_opend.rate_limit import RateSpec

from ..context import CaseContext
from ..intent import LOST
from ..registry import case
from ..verdicts import CaseFailure
from .common import check_page, queries


@case("9.1", "stateful", "any mix of queries, pages, bursts, faults, profiles, reconnects and clock moves", order=85)
def stateful(ctx: CaseContext) -> None:
    """A Hypothesis state machine mixes first pages, continuations, bursts against
    a 6-per-30-s limit, injected faults (latency, error replies, corrupted
    checksums), data-profile switches, reconnects and clock moves; after every
    step the client's answer matches what the server did (rows and key, or an
    error — also for a reply damaged on the way), and what it sent is what it
    was asked.  Each distinct failure is reported with its own minimal run of steps."""
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
            ctx.ensure_fresh_session()  # no client state carried over from the last run
            self.key: tuple[tuple[str, str, str, str], str] | None = None
            self.steps: list[Any] = []
            ctx.example = self.steps

        def _ask(self, q: tuple[str, str, str, str], key: str | None) -> None:
            try:
                reply = ctx.get(*q, key=key)
                check_page(ctx, reply, f"step {len(self.steps)}")
            except CaseFailure as exc:
                exc.example = list(self.steps)
                raise
            nk = reply.get("page_req_key") if reply.get("ret") == 0 else None
            self.key = (q, nk) if nk is not None else None
            if any(e.extra.get("fault") in LOST for e in ctx.call_entries()):
                # recovering from a damaged reply by itself is 8.7's (optional) question, not this case's
                ctx.ensure_fresh_session()
                self.key = None

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
                raise CaseFailure(
                    "the client process died", expected="alive", actual=ctx.client.stderr_tail, example=list(self.steps)
                )

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
