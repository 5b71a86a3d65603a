"""The numbered cases, as the case modules register them: id, group, title,
level, which server they need and when they run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .verdicts import REQUIRED

if TYPE_CHECKING:
    from .context import CaseContext

CaseFunc = Callable[["CaseContext"], None]


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    title: str
    level: str
    requirement: str  # the case's docstring: the requirement, and the client bug it catches
    server: str  # which server configuration it runs on
    func: CaseFunc
    order: int = 0  # run order within the server group (wire checks run last)
    restart_client_after: bool = False
    # cases sharing a name here run at the same time, each but the first on a server and
    # client of its own: they spend their time waiting for the client's own timers
    together: str = ""


CASES: dict[str, Case] = {}


def case(
    cid: str,
    group: str,
    title: str,
    *,
    level: str = REQUIRED,
    server: str = "main",
    order: int = 0,
    requirement: str = "",
    restart_client_after: bool = False,
    together: str = "",
) -> Callable[[CaseFunc], CaseFunc]:
    def register(fn: CaseFunc) -> CaseFunc:
        text = requirement or " ".join((fn.__doc__ or "").split())
        CASES[cid] = Case(cid, group, title, level, text, server, fn, order, restart_client_after, together)
        return fn

    return register


def case_key(case_id: str) -> list[int]:
    return [int(p) for p in case_id.split(".")]


def ordered(server: str | None = None) -> list[Case]:
    cases = [c for c in CASES.values() if server is None or c.server == server]
    return sorted(cases, key=lambda c: (c.order, case_key(c.id)))


def run_order(cases: list[Case], servers: list[str]) -> list[Case]:
    """Each server's cases together, in their order (wire checks last)."""
    by_order = sorted(cases, key=lambda c: (c.order, case_key(c.id)))
    return [c for name in servers for c in by_order if c.server == name]
