"""Verdicts, levels and outcomes: the words every report uses, and the
exceptions a case raises to say which verdict it reached.

Nothing here imports the rest of the kit, so every other module can."""

from __future__ import annotations

import enum
from typing import Any


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
    """A case's requirement is not met: what was expected, what happened, and
    (when the case knows it) the input that showed it."""

    def __init__(self, message: str, expected: Any = None, actual: Any = None, example: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.actual = actual
        self.example = example

    def prefix(self, text: str) -> None:
        self.message = f"{text} {self.message}"
        self.args = (self.message,)


class NonStrict(Exception):
    """Passed, with a tolerated deviation (the message says which)."""


class Informational(Exception):
    """Nothing to judge; the message records what the client did."""


class UnsupportedOp(Exception):
    """The client does not support an operation the case needs."""
