"""The conformance cases as pytest items, for a client project's own test suite:

    pytest --opend-client futu-api             # a built-in driver
    pytest --opend-client "node my_driver.mjs"  # any driver command
           [--opend-profile ci|dev|thorough] [--opend-seed N] [--opend-cases 3,4.2]

Outcomes follow the kit's one rule (``conformance.verdicts.outcome``): a
required case that FAILED or is UNSUPPORTED fails its test; an optional case
that FAILED is xfail, an optional UNSUPPORTED one is skipped.

Installed as a ``pytest11`` entry point, this module is imported by every
pytest session of the environment, used or not: at import time it needs
nothing but pytest, and the kit itself (Hypothesis, the server) is imported
only when ``--opend-client`` is given.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .registry import Case
    from .results import Result
    from .suite import Suite


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
        from .verdicts import FAILED, SKIPPED, Verdict

        suite: Suite = self.config.stash[_SUITE]
        result = suite.run_case(self.case)
        self.user_properties.append(("verdict", result.verdict.value))
        self.user_properties.append(("level", self.case.level))
        if result.outcome == SKIPPED:
            if result.verdict is Verdict.FAILED:
                pytest.xfail(f"optional case FAILED: {result.message}")
            pytest.skip(f"optional case {result.verdict.value}: {result.message}")
        if result.outcome == FAILED:
            raise ConformanceFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceFailed):
            from .results import Failure

            r = excinfo.value.result
            text = f"{r.case.id} {r.case.title}: {r.verdict.value} ({r.case.level})\n"
            text += f"  requirement: {r.case.requirement}\n"
            shown = r.failures or [Failure(r.message, r.expected, r.actual, r.example)]
            for i, f in enumerate(shown, 1):
                if len(shown) > 1:
                    text += f"  failure {i} of {len(shown)}:\n"
                text += f"  {f.message}\n  expected: {f.expected!r}\n  actual:   {f.actual!r}\n"
                text += f"  example:  {f.example!r}\n"
            return text + f"  replay:   {r.replay}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "opend-conformance", None, f"{self.case.id} {self.case.title}"


_SUITE = pytest.StashKey["Suite"]()


def pytest_configure(config: pytest.Config) -> None:
    spec = config.getoption("--opend-client", default=None)
    if not spec:
        return
    from .drivers import BUILTIN, command_for
    from .suite import Suite

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
    from .registry import run_order
    from .suite import SERVERS, select

    chosen = select(config.getoption("--opend-cases"))
    for case in run_order(chosen, list(SERVERS)):
        items.append(ConformanceItem.from_parent(session, name=f"opend[{case.id}]", case=case))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SUITE in config.stash:
        config.stash[_SUITE].close()
