"""Cases, verdicts and results: the vocabulary of the kit."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import CaseContext


class Verdict(enum.Enum):
    OK = "OK"
    NON_STRICT = "NON-STRICT"  # passes, with a behaviour the protocol tolerates
    INFORMATIONAL = "INFORMATIONAL"  # recorded, never a failure
    FAILED = "FAILED"
    UNSUPPORTED = "UNSUPPORTED"  # the client answered {"unsupported": true}: skipped, not passed

    @property
    def passed(self) -> bool:
        return self in (Verdict.OK, Verdict.NON_STRICT, Verdict.INFORMATIONAL)


REQUIRED = "required"
OPTIONAL = "optional"

# The one rule every output follows (terminal, JSON, JUnit, HTML, pytest, exit code):
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


def outcome(verdict: Verdict, level: str) -> str:
    """passed: OK, NON-STRICT, INFORMATIONAL.  failed: a *required* case that
    FAILED or is UNSUPPORTED (a required case the client cannot run is not a
    pass).  skipped: an *optional* case that FAILED or is UNSUPPORTED — reported
    with its verdict, never failing the run."""
    if verdict.passed:
        return PASSED
    return FAILED if level == REQUIRED else SKIPPED


class CaseFailure(Exception):
    """A case's requirement is not met: what was expected, what happened."""

    def __init__(self, message: str, expected: Any = None, actual: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.actual = actual


class NonStrict(Exception):
    """Passed, with a tolerated deviation (the message says which)."""


class Informational(Exception):
    """Nothing to judge; the message records what the client did."""


class UnsupportedOp(Exception):
    """The client does not support an operation the case needs."""


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    title: str
    level: str
    requirement: str
    server: str  # which server configuration it runs on
    func: Callable[[CaseContext], None]
    order: int = 0  # run order within the server group (wire checks run last)
    restart_client_after: bool = False
    # cases sharing a name here run at the same time, each but the first on a server and
    # client of its own: they spend their time waiting for the client's own timers
    together: str = ""


@dataclass
class Result:
    case: Case
    verdict: Verdict
    message: str = ""
    expected: Any = None
    actual: Any = None
    example: Any = None  # the minimal failing example (Hypothesis), or the input used
    seed: int | None = None
    replay: str = ""
    wire: list[dict[str, Any]] = field(default_factory=list)  # journal entries of the case
    calls: list[dict[str, Any]] = field(default_factory=list)  # driver requests and replies
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        return outcome(self.verdict, self.case.level)

    def to_dict(self) -> dict[str, Any]:
        c = self.case
        return {
            "id": c.id,
            "group": c.group,
            "title": c.title,
            "level": c.level,
            "requirement": c.requirement,
            "verdict": self.verdict.value,
            "outcome": self.outcome,
            "message": self.message,
            "expected": self.expected,
            "actual": self.actual,
            "example": self.example,
            "seed": self.seed,
            "replay": self.replay,
            "seconds": round(self.seconds, 3),
            "wire": self.wire,
            "calls": self.calls,
        }
