"""The conformance cases as pytest items, for a client project's own test suite:

    pytest --opend-client futu-api             # a built-in driver
    pytest --opend-client "node my_driver.mjs"  # any driver command
           [--opend-profile ci|dev|thorough] [--opend-seed N] [--opend-cases 3,4.2]

A FAILED required case fails its test; an optional one is reported as xfail;
an unsupported operation skips.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from .drivers import BUILTIN, command_for
from .results import REQUIRED, Case, Result, Verdict
from .suite import Suite, select


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("opend-conformance")
    g.addoption("--opend-client", help="built-in driver name or driver command: adds the conformance cases")
    g.addoption("--opend-profile", default="ci", choices=["ci", "dev", "thorough"])
    g.addoption("--opend-seed", type=int, default=None)
    g.addoption("--opend-cases", default=None, help="e.g. 3.1,4")


class ConformanceFailed(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.message)
        self.result = result


class ConformanceItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        suite: Suite = self.config.stash[_SUITE]
        result = suite.run_case(self.case)
        self.user_properties.append(("verdict", result.verdict.value))
        if result.verdict is Verdict.UNSUPPORTED:
            pytest.skip(result.message)
        if result.verdict is Verdict.FAILED:
            if self.case.level != REQUIRED:
                pytest.xfail(f"optional case FAILED: {result.message}")
            raise ConformanceFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceFailed):
            r = excinfo.value.result
            return (
                f"{r.case.id} {r.case.title}: FAILED\n  requirement: {r.case.requirement}\n  {r.message}\n"
                f"  expected: {r.expected!r}\n  actual:   {r.actual!r}\n  example:  {r.example!r}\n"
                f"  replay:   {r.replay}"
            )
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "opend-conformance", None, f"{self.case.id} {self.case.title}"


_SUITE = pytest.StashKey[Suite]()


def pytest_configure(config: pytest.Config) -> None:
    spec = config.getoption("--opend-client", default=None)
    if not spec:
        return
    argv: list[str] | str
    if spec in BUILTIN:
        argv, replay = command_for(spec), f"--client {spec}"
    else:
        argv, replay = spec, f"--client-cmd {shlex.quote(spec)}"
    config.stash[_SUITE] = Suite(
        argv,
        profile=config.getoption("--opend-profile"),
        seed=config.getoption("--opend-seed"),
        client_label=spec,
        replay_client=replay,
    )


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if _SUITE not in config.stash:
        return
    chosen = select(config.getoption("--opend-cases"))
    from .suite import SERVERS

    plan = [c for name in SERVERS for c in sorted(chosen, key=lambda c: (c.order, c.id)) if c.server == name]
    for case in plan:
        items.append(ConformanceItem.from_parent(session, name=f"opend[{case.id}]", case=case))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SUITE in config.stash:
        config.stash[_SUITE].close()
