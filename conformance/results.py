"""What running a case produced: its verdict, the evidence, and each distinct
failure with its own minimal example."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .registry import Case
from .verdicts import (
    FAILED,
    OPTIONAL,
    PASSED,
    REQUIRED,
    SKIPPED,
    CaseFailure,
    Informational,
    NonStrict,
    UnsupportedOp,
    Verdict,
    outcome,
)


@dataclass
class Failure:
    """One distinct failure of a case (Hypothesis may find several)."""

    message: str
    expected: Any = None
    actual: Any = None
    example: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "expected": self.expected, "actual": self.actual, "example": self.example}


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
    connections: int = 0  # connections the client opened during the case
    failures: list[Failure] = field(default_factory=list)  # every distinct failure (the first is the one above)

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
            "failures": [f.to_dict() for f in self.failures],
            "seed": self.seed,
            "replay": self.replay,
            "seconds": round(self.seconds, 3),
            "connections": self.connections,
            "wire": self.wire,
            "calls": self.calls,
        }


__all__ = [
    "FAILED",
    "OPTIONAL",
    "PASSED",
    "REQUIRED",
    "SKIPPED",
    "Case",
    "CaseFailure",
    "Failure",
    "Informational",
    "NonStrict",
    "Result",
    "UnsupportedOp",
    "Verdict",
    "outcome",
]
