"""The admin API's logic, without HTTP: clock, reset, journal, faults.

``Admin.handle(method, path, query, body, headers)`` returns ``(status, json)``;
``admin_http`` is only the aiohttp shell around it, and the pytest fixture can
call the same operations directly on the server object.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from . import __version__
from .clock import parse_instant
from .faults import FaultError
from .journal import JournalEntry

if TYPE_CHECKING:
    from .server import MockOpenD

PREFIX = "/__admin"


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise AdminError(400, f"query parameter {name!r} must be an integer, got {raw!r}") from None


class Admin:
    def __init__(self, server: MockOpenD) -> None:
        self.server = server
        self.gw = server.gateway
        self._routes: dict[tuple[str, str], Callable[[Mapping[str, str], Any], tuple[int, Any]]] = {
            ("GET", "/health"): self.health,
            ("GET", "/clock"): self.get_clock,
            ("POST", "/clock"): self.set_clock,
            ("POST", "/reset"): self.reset,
            ("GET", "/journal"): self.get_journal,
            ("DELETE", "/journal"): self.clear_journal,
            ("GET", "/faults"): self.get_faults,
            ("POST", "/faults"): self.add_fault,
            ("DELETE", "/faults"): self.clear_faults,
            ("GET", "/rate-limit"): self.rate_limit,
            ("GET", "/config"): self.config,
        }

    # -- dispatch -------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: Mapping[str, str], body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, Any]:
        try:
            self._authorize(headers)
            if not path.startswith(PREFIX):
                raise AdminError(404, f"no such endpoint: {path} (the admin API lives under {PREFIX}/)")
            sub = path[len(PREFIX) :].rstrip("/") or "/"
            if sub.startswith("/faults/") and method == "DELETE":
                return self.delete_fault(sub.removeprefix("/faults/"))
            route = self._routes.get((method, sub))
            if route is None:
                allowed = sorted(m for m, p in self._routes if p == sub)
                if allowed:
                    raise AdminError(405, f"{method} not allowed on {path}; use {', '.join(allowed)}")
                raise AdminError(404, f"no such endpoint: {path}; see GET {PREFIX}/health for the list")
            payload = self._json(body) if method == "POST" else None
            return route(query, payload)
        except AdminError as exc:
            return exc.status, {"error": exc.message}

    def _authorize(self, headers: Mapping[str, str]) -> None:
        token = self.server.config.admin_token
        if token is None:
            return
        given = headers.get("X-Admin-Token") or headers.get("x-admin-token") or ""
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            given = given or auth[7:].strip()
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            raise AdminError(401, "missing or wrong admin token (send 'Authorization: Bearer <token>')")

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            doc = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AdminError(400, f"invalid JSON body: {exc}") from None
        if not isinstance(doc, dict):
            raise AdminError(400, "the JSON body must be an object")
        return doc

    # -- endpoints --------------------------------------------------------------
    def health(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, {
            "status": "ok",
            "version": __version__,
            "host": self.server.host,
            "port": self.server.port,
            "admin_port": self.server.admin_port,
            "connections": self.server.connection_count(),
            "endpoints": [f"{m} {PREFIX}{p}" for m, p in self._routes] + [f"DELETE {PREFIX}/faults/<id>"],
        }

    def _clock_state(self) -> dict[str, Any]:
        clock = self.gw.clock
        return {"now": clock.now_datetime().isoformat(), "unix": clock.now(), "frozen": clock.frozen}

    def get_clock(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, self._clock_state()

    def set_clock(self, query: Mapping[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        known = {"advance_seconds", "now", "tick"}
        unknown = set(body) - known
        if unknown or not ({"advance_seconds", "now"} & set(body)):
            raise AdminError(400, 'send {"advance_seconds": N} or {"now": "ISO datetime"} (optional "tick": bool)')
        if "advance_seconds" in body and "now" in body:
            raise AdminError(400, "send either advance_seconds or now, not both")
        tick = body.get("tick")
        if tick is not None and not isinstance(tick, bool):
            raise AdminError(400, "tick must be true or false")
        clock = self.gw.clock
        if "advance_seconds" in body:
            n = body["advance_seconds"]
            if isinstance(n, bool) or not isinstance(n, int | float):
                raise AdminError(400, f"advance_seconds must be a number, got {n!r}")
            clock.advance(float(n))
            if tick is not None:
                clock.set(clock.now_datetime(), tick=tick)
        else:
            try:
                instant = parse_instant(str(body["now"]))
            except ValueError as exc:
                raise AdminError(400, f"now: {exc}") from None
            clock.set(instant, tick=tick)
        return 200, self._clock_state()

    def reset(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        self.gw.reset()
        return 200, {"reset": ["rate_limit", "journal", "faults"]}

    def get_journal(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        conn_id = _int_param(query, "conn_id")
        proto_id = _int_param(query, "proto_id")
        since = _int_param(query, "since_seq")
        limit = _int_param(query, "limit")
        error = query.get("error")
        fault = query.get("fault")

        def where(e: JournalEntry) -> bool:
            return (
                (conn_id is None or e.conn_id == conn_id)
                and (proto_id is None or e.proto_id == proto_id)
                and (since is None or e.seq > since)
                and (error is None or (e.error or "") == error or (error == "any" and e.error is not None))
                and (fault is None or e.extra.get("fault") == fault or (fault == "any" and "fault" in e.extra))
            )

        entries = self.gw.journal.entries(where)
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        return 200, {"count": len(entries), "entries": [e.to_dict() for e in entries]}

    def clear_journal(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        n = len(self.gw.journal.entries())
        self.gw.journal.clear()
        return 200, {"cleared": n}

    def get_faults(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, {"faults": [f.to_dict() for f in self.gw.faults.list()]}

    def add_fault(self, query: Mapping[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        try:
            fault = self.gw.faults.add(**body)
        except FaultError as exc:
            raise AdminError(400, str(exc)) from None
        return 201, fault.to_dict()

    def clear_faults(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, {"removed": self.gw.faults.remove()}

    def delete_fault(self, raw_id: str) -> tuple[int, Any]:
        try:
            fault_id = int(raw_id)
        except ValueError:
            raise AdminError(400, f"fault id must be an integer, got {raw_id!r}") from None
        removed = self.gw.faults.remove(fault_id)
        if not removed:
            raise AdminError(404, f"no active fault {fault_id}")
        return 200, {"removed": removed}

    def rate_limit(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        limiter = self.gw.rate_limiter
        spec = limiter.spec
        conn_id = _int_param(query, "conn_id") or 0
        return 200, {
            "limit": None if spec is None else spec.limit,
            "window_seconds": None if spec is None else spec.window,
            "scope": limiter.scope,
            "used": limiter.used(conn_id, self.gw.clock.now()),
        }

    def config(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        cfg = asdict(self.server.config)
        if cfg.get("admin_token"):
            cfg["admin_token"] = "***"
        return 200, cfg
