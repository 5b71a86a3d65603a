"""Runs cases: starts the mock servers (in process) and the client (a process),
turns each case's outcome into a verdict, and keeps the evidence."""

from __future__ import annotations

import random
import shlex
import threading
import time
from collections.abc import Callable
from typing import Any

from mock_opend.server import MockOpenD

from .cases import CASES, KIT_NOW
from .client import ClientDied, ClientHung, ClientProcess
from .context import PROFILES, CaseContext, ClientGone, Profile, case_seed
from .registry import Case, case_key, ordered, run_order
from .results import Failure, Result
from .verdicts import FAILED, CaseFailure, Informational, NonStrict, UnsupportedOp, Verdict


class DriverCannotStart(RuntimeError):
    """The driver exited (or closed its stdout) before answering its first
    request: nothing can be judged, and the run stops with one line."""


# One server per configuration; the client is started once per server.  They
# speak the gateway's default language (zh); cases about error texts switch to
# en as well (CaseContext.in_each_language).
SERVERS: dict[str, dict[str, Any]] = {
    "main": {"now": KIT_NOW, "rate_limit": "off", "keep_alive_interval": 2, "lang": "zh", "page_size": 100},
    "edge": {
        "now": KIT_NOW,
        "rate_limit": "off",
        "keep_alive_interval": 2,
        "lang": "zh",
        "data_profile": "edge",
        "page_size": 1,
    },
}


# what a --mock-config (parity.toml) may change in the kit's mock: how the gateway answers. Everything
# else (clock, rate limit, KeepAlive interval, data profile, ports, proxying) the cases are timed and judged by.
FROM_MOCK_CONFIG = frozenset({"span_policy", "page_size", "lang", "server_ver", "server_build_no"})
PAGE_SIZES = (10, 200)  # the pagination and fault cases need a year to take several pages
# the kit's own defaults that a gateway's measured settings replace
TAKEN_FROM_BASE = frozenset({"lang", "page_size"})


def mock_config(settings: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The settings of a --mock-config the kit takes, and the names it leaves out;
    ConfigError (one line) when a value is bad or a page size is one the cases cannot use."""
    from mock_opend.config import ConfigError, build_config

    taken = {k: v for k, v in settings.items() if k in FROM_MOCK_CONFIG}
    build_config(None, **taken)  # every value checked as the server would
    size = taken.get("page_size")
    if size is not None and not PAGE_SIZES[0] <= size <= PAGE_SIZES[1]:
        lo, hi = PAGE_SIZES
        raise ConfigError(f"page_size {size}: the kit's cases need {lo}..{hi} rows a page (a year in several pages)")
    return taken, sorted(set(settings) - FROM_MOCK_CONFIG)


class Suite:
    def __init__(
        self,
        client_argv: list[str] | str,
        *,
        profile: str | Profile = "ci",
        seed: int | None = None,
        client_label: str = "",
        replay_client: str = "",
        base_settings: dict[str, Any] | None = None,
    ) -> None:
        """``base_settings``: the mock configured like a user's gateway (``--mock-config``);
        only FROM_MOCK_CONFIG is taken: the rest its cases are timed and judged by."""
        self.client_argv = client_argv
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self.seed = seed if seed is not None else random.randrange(1, 2**31)
        self.client_label = client_label or (client_argv if isinstance(client_argv, str) else shlex.join(client_argv))
        self.replay_client = replay_client or f"--client-cmd {shlex.quote(self.client_label)}"
        self.base_settings = {k: v for k, v in (base_settings or {}).items() if k in FROM_MOCK_CONFIG}
        self._servers: dict[str, MockOpenD] = {}
        self._clients: dict[str, ClientProcess] = {}
        self._side: dict[str, list[MockOpenD]] = {}  # servers of cases that ran together, by configuration
        self.shared: dict[str, Any] = {}
        self._answered = False  # some driver process of the run has answered a request
        # run() stops at once when the driver cannot start; a single case (run_case, the
        # pytest plugin) gets the verdict FAILED instead
        self._stop_if_cannot_start = False

    # -- resources ----------------------------------------------------------------
    def server(self, name: str) -> MockOpenD:
        if name not in self._servers:
            self._servers[name] = self._new_server(name)
        return self._servers[name]

    def _new_server(self, name: str) -> MockOpenD:
        own = SERVERS[name]
        base = {k: v for k, v in self.base_settings.items() if k not in own or k in TAKEN_FROM_BASE}
        settings = {**own, **base, "seed": self.seed % 1000 + 1}
        if name == "edge":
            settings["page_size"] = own["page_size"]  # single-row pages are what the edge server is for
        return MockOpenD(host="127.0.0.1", port=0, ws_port=0, **settings).start_background()

    def _start_client(self, srv: MockOpenD) -> ClientProcess:
        env = {"OPEND_HOST": srv.host, "OPEND_PORT": str(srv.port), "OPEND_WS_PORT": str(srv.ws_port or "")}
        proc = ClientProcess(self.client_argv, env)
        proc.start()
        return proc

    def client(self, name: str, fresh: bool = False) -> ClientProcess:
        if fresh and name in self._clients:
            self._clients.pop(name).stop()
        if name not in self._clients:
            self._clients[name] = self._start_client(self.server(name))
        return self._clients[name]

    def close(self) -> None:
        for c in self._clients.values():
            c.stop()
        for s in self._servers.values():
            s.stop_background()
        self._clients.clear()
        self._servers.clear()
        self._side.clear()

    def __enter__(self) -> Suite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running ----------------------------------------------------------------------
    def replay_command(self, case: Case) -> str:
        return (
            f"opend-conformance replay {case.id} --seed {self.seed} --profile {self.profile.name} {self.replay_client}"
        )

    def run_case(self, case: Case) -> Result:
        return self._run_case(case, self.server(case.server), lambda fresh: self.client(case.server, fresh))

    def _run_alone(self, case: Case) -> Result:
        """A case on a server and client of its own, stopped after it (its journal is
        kept for the run's wire checks)."""
        srv = self._new_server(case.server)
        clients: list[ClientProcess] = []

        def client(fresh: bool) -> ClientProcess:
            if fresh or not clients:
                if clients:
                    clients[-1].stop()
                clients.append(self._start_client(srv))
            return clients[-1]

        try:
            return self._run_case(case, srv, client)
        finally:
            if clients:
                clients[-1].stop()
            srv.stop_background()
            self._side.setdefault(case.server, []).append(srv)

    def _run_case(self, case: Case, srv: MockOpenD, get_client: Callable[[bool], ClientProcess]) -> Result:
        client = get_client(False)
        n_calls = len(client.calls)
        ctx = CaseContext(
            srv,
            client,
            self.profile,
            case_seed(self.seed, case.id),
            self.shared,
            lambda: get_client(True),
            self._side.get(case.server, []),
        )
        result = Result(case, Verdict.OK, seed=self.seed)
        t0 = time.monotonic()
        try:
            try:
                case.func(ctx)
            except BaseExceptionGroup as group:  # Hypothesis found several distinct failures
                gone = _leaves(group, ClientGone)
                if gone:
                    raise gone[0] from None
                raise _Failures(group) from None
            result.message = "requirement met"
        except CaseFailure as exc:
            _failed(result, [exc])
        except _Failures as exc:
            _failed(result, exc.failures, flaky=exc.flaky)
        except NonStrict as exc:
            result.verdict, result.message = Verdict.NON_STRICT, str(exc)
        except Informational as exc:
            result.verdict, result.message = Verdict.INFORMATIONAL, str(exc)
        except UnsupportedOp as exc:
            result.verdict, result.message = Verdict.UNSUPPORTED, str(exc)
        except (ClientGone, ClientHung, ClientDied) as exc:
            cause = exc.cause if isinstance(exc, ClientGone) else exc
            if (
                self._stop_if_cannot_start
                and not self._answered
                and not ctx.client.answered
                and isinstance(cause, ClientDied)
            ):
                raise DriverCannotStart(_cannot_start(cause, ctx.client)) from None
            result.verdict, result.message = Verdict.FAILED, str(cause)
            result.actual = ctx.client.stderr_tail or None
            ctx.restart_client()
        except Exception as exc:  # a check that blew up is a failure of the client's answer
            result.verdict, result.message = Verdict.FAILED, f"{exc.__class__.__name__}: {exc}"
        self._answered = self._answered or ctx.client.answered or client.answered
        result.seconds = time.monotonic() - t0
        if result.example is None:
            result.example = _jsonable(ctx.example)
        mine = srv.journal.entries(lambda e: e.seq > ctx.start_seq)
        result.connections = len({e.conn_id for e in mine})
        result.wire = [e.to_dict() for e in mine[-60:]]
        result.calls = ctx.client.calls[n_calls:][-60:] if ctx.client is client else ctx.client.calls[-60:]
        if result.verdict is Verdict.FAILED:
            result.replay = self.replay_command(case)
        if case.restart_client_after:
            get_client(True)
        return result

    def run(self, cases: list[Case] | None = None, on_result: Callable[[Result], None] | None = None) -> list[Result]:
        chosen = cases if cases is not None else ordered()
        self._stop_if_cannot_start = True
        plan = run_order(chosen, list(SERVERS))
        results: list[Result] = []
        done = set()
        for case in plan:
            if case.id in done:
                continue
            group = [c for c in plan if case.together and c.together == case.together and c.server == case.server]
            for r in self._run_together(group) if group else [self.run_case(case)]:
                done.add(r.case.id)
                results.append(r)
                if on_result is not None:
                    on_result(r)
        return sorted(results, key=lambda r: case_key(r.case.id))

    def _run_together(self, group: list[Case]) -> list[Result]:
        """The first case on the shared server and client, the others each alone, all at once."""
        out: dict[str, Result] = {}

        def run(case: Case, alone: bool) -> None:
            try:
                out[case.id] = self._run_alone(case) if alone else self.run_case(case)
            except DriverCannotStart as exc:
                out[case.id] = Result(case, Verdict.FAILED, message=str(exc), seed=self.seed)
            except BaseException as exc:  # a server or client that could not start: this case fails, the run goes on
                out[case.id] = Result(case, Verdict.FAILED, message=f"{type(exc).__name__}: {exc}", seed=self.seed)

        threads = [
            threading.Thread(target=run, args=(c, i > 0), name=f"case {c.id}", daemon=True) for i, c in enumerate(group)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [out[c.id] for c in group]


def select(ids: str | None) -> list[Case]:
    """'3.1,4' → case 3.1 and every case of group 4."""
    if not ids:
        return ordered()
    out = []
    for part in ids.split(","):
        part = part.strip()
        matched = [c for c in ordered() if c.id == part or c.id.startswith(part + ".")]
        if not matched:
            raise KeyError(f"no case {part!r}; see `opend-conformance list`")
        out.extend(m for m in matched if m not in out)
    return out


def exit_code(results: list[Result]) -> int:
    """The one exit-code rule of ``run`` and ``replay``: 0 unless a case's outcome
    is failed (a required case that FAILED or is UNSUPPORTED); optional cases
    never fail the run."""
    return 1 if any(r.outcome == FAILED for r in results) else 0


class _Failures(Exception):
    """The CaseFailures of an exception group (anything else in it, as a CaseFailure)."""

    def __init__(self, group: BaseExceptionGroup) -> None:
        super().__init__(str(group))
        from hypothesis.errors import FlakyFailure

        self.flaky = isinstance(group, FlakyFailure)
        self.failures = [
            e if isinstance(e, CaseFailure) else CaseFailure(f"{e.__class__.__name__}: {e}")
            for e in _leaves(group, BaseException)
        ]


def _leaves(group: BaseExceptionGroup, kind: type[BaseException]) -> list[Any]:
    out: list[Any] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            out.extend(_leaves(exc, kind))
        elif isinstance(exc, kind):
            out.append(exc)
    return out


def _failed(result: Result, failures: list[CaseFailure], flaky: bool = False) -> None:
    """Every distinct failure, each with its own example; the first is the case's message.
    ``flaky``: the failure did not happen again when Hypothesis replayed it."""
    result.verdict = Verdict.FAILED
    result.failures = [
        Failure(f.message, _jsonable(f.expected), _jsonable(f.actual), _jsonable(f.example)) for f in failures
    ]
    first = result.failures[0]
    result.expected, result.actual = first.expected, first.actual
    if first.example is not None:
        result.example = first.example
    if len(failures) == 1:
        result.message = first.message
    else:
        result.message = f"{len(failures)} distinct failures: " + " | ".join(
            f"({i}) {f.message}" for i, f in enumerate(result.failures, 1)
        )
    if flaky:
        result.message = f"flaky (it did not fail again when replayed, so replay may pass): {result.message}"


def _cannot_start(cause: ClientDied, client: ClientProcess) -> str:
    code = None if client.proc is None else client.proc.poll()
    how = f"it exited with code {code}" if code is not None else str(cause)
    tail = [line.strip() for line in client.stderr_tail.splitlines() if line.strip()]
    said = f": {tail[-1][:300]}" if tail else ""
    return f"the driver could not start ({how} before answering a request){said}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


__all__ = ["CASES", "SERVERS", "DriverCannotStart", "Suite", "exit_code", "select"]
