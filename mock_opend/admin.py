"""The admin API's logic, without HTTP: clock, reset, journal, faults.

``Admin.handle(method, path, query, body, headers)`` returns ``(status, json)``;
``admin_http`` is only the aiohttp shell around it, and the pytest fixture can
call the same operations directly on the server object.  It is given what it
works on (the gateway, the configuration, a function that describes the
server), never the server itself.

Every input is checked before anything changes (4xx, nothing half-applied),
and requests a web page could make are refused: a browser's ``Origin`` or a
``Host`` that is not a loopback name or the configured admin host (DNS
rebinding), whatever the content type.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .body import nests_deeper, strict_json
from .clock import parse_instant
from .config import Config
from .faults import FaultError
from .gateway import Gateway
from .journal import JournalEntry
from .stubs import StubError

PREFIX = "/__admin"
# The clock stays where the calendars, the data and the replies are defined.
CLOCK_MIN = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_MAX = datetime(2100, 1, 1, tzinfo=UTC)
JOURNAL_PAGE_MAX = 1000
SOURCES = ("mock", "stub", "upstream", "fault")  # who answers a request (journal answered_by)
MAX_JSON_DEPTH = 32


class AdminError(Exception):
    def __init__(self, status: int, message: str, allow: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.allow = allow or []


def _int_param(query: Mapping[str, str], name: str, lo: int = 0, hi: int = (1 << 63) - 1) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    digits = raw[1:] if raw[:1] == "-" else raw
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 20) or not lo <= int(raw) <= hi:
        raise AdminError(400, f"query parameter {name!r} must be an integer in {lo}..{hi}, got {raw[:40]!r}")
    return int(raw)


def _host_name(value: str) -> str:
    """'127.0.0.1:8080' → '127.0.0.1'; '[::1]:80' → '::1'; lower case; '' when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1 :] if end > 0 else "x"
        if end < 0 or (rest and not (rest[:1] == ":" and rest[1:].isdigit())):
            return ""
        return value[1:end]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _local_name(name: str, configured: str) -> bool:
    if name in ("localhost", configured.lower()) or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class JournalPage:
    """A journal answer to stream: the head fields, then the entries one by one."""

    head: dict[str, Any]
    entries: list[JournalEntry]

    def document(self) -> dict[str, Any]:
        return {**self.head, "entries": [e.to_dict() for e in self.entries]}


class Admin:
    def __init__(self, gateway: Gateway, config: Config, describe: Callable[[], dict[str, Any]]) -> None:
        self.gw = gateway
        self.cfg = config
        self.describe = describe  # host, port, admin_port, connections: the server's own view
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
            ("GET", "/stubs"): self.get_stubs,
            ("POST", "/stubs"): self.add_stub,
            ("DELETE", "/stubs"): self.clear_stubs,
            ("GET", "/record"): self.get_record,
            ("GET", "/openapi.json"): self.openapi,
        }

    # -- dispatch -------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: Mapping[str, str], body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, Any]:
        try:
            self._same_origin(headers)
            self._authorize(headers)
            if not path.startswith(PREFIX):
                raise AdminError(404, f"no such endpoint: {path} (the admin API lives under {PREFIX}/)")
            sub = path[len(PREFIX) :].rstrip("/") or "/"
            if sub.startswith("/faults/") and method == "DELETE":
                return self.delete_fault(sub.removeprefix("/faults/"))
            if sub.startswith("/stubs/") and method in ("GET", "DELETE"):
                return self.one_stub(method, sub.removeprefix("/stubs/"))
            route = self._routes.get((method, sub))
            if route is None:
                allowed = sorted(m for m, p in self._routes if p == sub)
                if sub.startswith("/faults/"):
                    allowed = ["DELETE"]
                elif sub.startswith("/stubs/"):
                    allowed = ["DELETE", "GET"]
                if allowed:
                    raise AdminError(405, f"{method} not allowed on {path}; use {', '.join(allowed)}", allowed)
                raise AdminError(404, f"no such endpoint: {path}; see GET {PREFIX}/health for the list")
            payload = self._json(body) if method == "POST" else None
            return route(query, payload)
        except AdminError as exc:
            doc = {"error": exc.message}
            if exc.allow:
                doc["allow"] = exc.allow  # the HTTP shell sends it as the Allow header too
            return exc.status, doc

    def _same_origin(self, headers: Mapping[str, str]) -> None:
        """Refuse what a web page could send: a foreign Origin (CSRF, whatever
        the content type) or a foreign Host (DNS rebinding)."""
        configured = self.cfg.admin_host
        host = headers.get("Host")
        # with a token, the token is the defence (and remote users reach the API by any name)
        if host is not None and self.cfg.admin_token is None and not _local_name(_host_name(host), configured):
            raise AdminError(403, f"Host {host[:80]!r} is not a loopback name or the admin host {configured!r}")
        getall = getattr(headers, "getall", None)
        origins = getall("Origin", []) if getall is not None else [o for o in [headers.get("Origin")] if o is not None]
        for origin in origins:  # every one of them, if a client sends several
            try:
                name = (urlsplit(origin).hostname or "") if origin != "null" else ""
            except ValueError:
                name = ""
            if not _local_name(name, configured):
                raise AdminError(403, f"cross-origin request from {origin[:80]!r} refused")
        if (headers.get("Sec-Fetch-Site") or "").lower() == "cross-site":
            raise AdminError(403, "cross-site request refused")

    def _authorize(self, headers: Mapping[str, str]) -> None:
        token = self.cfg.admin_token
        if token is None:
            return
        given = headers.get("X-Admin-Token") or ""
        auth = headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            given = given or auth[7:].strip()
        raw = given.encode("utf-8", "surrogateescape")  # headers that are not UTF-8 arrive with surrogates
        if not raw or not hmac.compare_digest(raw, token.encode()):
            raise AdminError(401, "missing or wrong admin token (send 'Authorization: Bearer <token>')")

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            doc = strict_json(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise AdminError(400, f"invalid JSON body: {str(exc)[:200]}") from None
        if not isinstance(doc, dict):
            raise AdminError(400, "the JSON body must be an object")
        if nests_deeper(doc, MAX_JSON_DEPTH):
            raise AdminError(400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
        return doc

    # -- endpoints --------------------------------------------------------------
    def health(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, {
            "status": "ok",
            "version": __version__,
            **self.describe(),
            "endpoints": [f"{m} {PREFIX}{p}" for m, p in self._routes]
            + [f"DELETE {PREFIX}/faults/<id>", f"GET {PREFIX}/stubs/<id>", f"DELETE {PREFIX}/stubs/<id>"],
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
        # check everything first: the clock moves only when the whole request is good
        if "advance_seconds" in body:
            n = body["advance_seconds"]
            try:
                seconds = float(n) if isinstance(n, int | float) and not isinstance(n, bool) else math.nan
            except OverflowError:  # an integer of hundreds of digits
                seconds = math.inf
            if not math.isfinite(seconds):
                raise AdminError(400, f"advance_seconds must be a finite number, got {str(n)[:40]}")
            target = clock.now() + seconds
            if not CLOCK_MIN.timestamp() <= target < CLOCK_MAX.timestamp():
                raise AdminError(400, f"advance_seconds {seconds:g} would leave the clock's range {self._range()}")
            instant = datetime.fromtimestamp(target, UTC)
        else:
            if not isinstance(body["now"], str):
                raise AdminError(400, "now must be a string: YYYY-MM-DD or an ISO datetime")
            try:
                instant = parse_instant(body["now"][:64])
            except ValueError as exc:
                raise AdminError(400, f"now: {exc}") from None
            if not CLOCK_MIN <= instant < CLOCK_MAX:
                raise AdminError(400, f"now {instant.isoformat()} is outside the clock's range {self._range()}")
        if "advance_seconds" in body:
            clock.advance(instant.timestamp() - clock.now())
            if tick is not None:
                clock.set(clock.now_datetime(), tick=tick)
        else:
            clock.set(instant, tick=tick)
        return 200, self._clock_state()

    @staticmethod
    def _range() -> str:
        return f"[{CLOCK_MIN.date()}, {CLOCK_MAX.date()})"

    def reset(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        self.gw.reset()
        return 200, {"reset": ["rate_limit", "journal", "faults"]}

    def get_journal(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        """Matching entries, at most ``limit`` (default and maximum 1000): the
        newest ones, or with ``since_seq`` the oldest after it; ``more`` and
        ``next_since_seq`` say how to fetch the rest.  Streamed by the HTTP shell."""
        conn_id = _int_param(query, "conn_id")
        proto_id = _int_param(query, "proto_id", 0, (1 << 32) - 1)
        since = _int_param(query, "since_seq")
        limit = _int_param(query, "limit", 0, JOURNAL_PAGE_MAX)
        limit = JOURNAL_PAGE_MAX if limit is None else limit
        error = query.get("error")
        fault = query.get("fault")
        answered_by = query.get("answered_by")
        if answered_by is not None and answered_by not in SOURCES:
            raise AdminError(400, f"answered_by must be one of {', '.join(SOURCES)}, got {answered_by[:40]!r}")

        def where(e: JournalEntry) -> bool:
            return (
                (conn_id is None or e.conn_id == conn_id)
                and (proto_id is None or e.proto_id == proto_id)
                and (since is None or e.seq > since)
                and (error is None or (e.error or "") == error or (error == "any" and e.error is not None))
                and (fault is None or e.extra.get("fault") == fault or (fault == "any" and "fault" in e.extra))
                and (answered_by is None or e.source == answered_by)
            )

        matching = self.gw.journal.entries(where)
        if since is not None:
            page = matching[:limit]
            more = len(matching) > len(page)
        else:
            page = matching[-limit:] if limit > 0 else []
            more = False
        head = {
            "count": len(page),
            "total": len(matching),
            "more": more,
            "next_since_seq": page[-1].seq if page else since,
        }
        return 200, JournalPage(head, page)

    def clear_journal(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        n = len(self.gw.journal.entries())
        self.gw.journal.clear()
        return 200, {"cleared": n}

    def get_faults(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, {"faults": [f.to_dict() for f in self.gw.faults.list()]}

    def add_fault(self, query: Mapping[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        try:  # FaultPlan checks every field (types, ranges, finiteness) before it adds anything
            fault = self.gw.faults.add(**body)
        except FaultError as exc:
            raise AdminError(400, str(exc)) from None
        return 201, fault.to_dict()

    def clear_faults(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, {"removed": self.gw.faults.remove()}

    def delete_fault(self, raw_id: str) -> tuple[int, Any]:
        # decimal digits only: int() would also take " 1", "1_0" and "+1"
        if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 19 and int(raw_id) < 1 << 63):
            raise AdminError(400, f"fault id must be a decimal integer in [0, 2^63), got {raw_id[:40]!r}")
        fault_id = int(raw_id)
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
        cfg = asdict(self.cfg)
        for secret in ("admin_token", "page_key_secret", "ws_key"):
            if cfg.get(secret):
                cfg[secret] = "***"
        return 200, cfg

    def openapi(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        from .openapi import document

        return 200, document()

    # -- stubs and recording (docs/record-replay.md) --------------------------------
    def get_stubs(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        proto_id = _int_param(query, "proto_id", 0, (1 << 32) - 1)
        stubs = [s for s in self.gw.stubs.all() if proto_id is None or s.proto_id == proto_id]
        return 200, {"count": len(stubs), "stubs": [s.summary() for s in stubs]}

    def add_stub(self, query: Mapping[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        try:  # checked whole (shape, fields, pushes) before the store changes
            stub = self.gw.stubs.add_json(body, "stub", source="admin")
        except StubError as exc:
            raise AdminError(400, str(exc)) from None
        return 201, stub.to_json()

    def clear_stubs(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        return 200, {"removed": self.gw.stubs.remove()}

    def one_stub(self, method: str, sid: str) -> tuple[int, Any]:
        stub = self.gw.stubs.get(sid)
        if stub is None:
            raise AdminError(404, f"no stub {sid[:120]!r}; GET {PREFIX}/stubs lists them")
        if method == "DELETE":
            return 200, {"removed": self.gw.stubs.remove(sid)}
        return 200, {**stub.to_json(), "source": stub.source, "hits": stub.hits}

    def get_record(self, query: Mapping[str, str], body: Any) -> tuple[int, Any]:
        recorder = self.gw.recorder
        if recorder is None:
            raise AdminError(404, "not recording: start the server with --upstream HOST:PORT --record DIR")
        return 200, recorder.summary()
