"""The numbered cases, one module per group.  Each case states its
requirement and the client bug it catches, runs against the mock (the oracle:
it knows the true rows and journals what the client sent) and raises
CaseFailure / NonStrict / Informational, or returns for OK.

Importing this package registers every case in ``registry.CASES``."""

from __future__ import annotations

from ..registry import CASES, Case, ordered
from . import decoding, errors, faults, pagination, rate_limit, session, span, stateful, wire
from .common import GOOD, KIT_NOW, MARKETS, TYPES, queries

__all__ = [
    "CASES",
    "GOOD",
    "KIT_NOW",
    "MARKETS",
    "TYPES",
    "Case",
    "decoding",
    "errors",
    "faults",
    "ordered",
    "pagination",
    "queries",
    "rate_limit",
    "session",
    "span",
    "stateful",
    "wire",
]
