"""The admin API described for machines: an OpenAPI 3.0 document.

Served at ``GET /__admin/openapi.json`` so clients can be generated from it
and tools can fuzz the API with it (the tests run Schemathesis over it, and
check every real answer against these schemas).  Built here from small
helpers rather than kept as a file, so that ranges and enumerations come from
the code that enforces them (fault kinds and bounds, the journal page size).
"""

from __future__ import annotations

from typing import Any

from . import __version__
from .faults import KINDS, PAGES

INT32 = {"type": "integer", "minimum": -(1 << 31), "maximum": (1 << 31) - 1}
UINT32 = {"type": "integer", "minimum": 0, "maximum": (1 << 32) - 1}
UINT64 = {"type": "integer", "minimum": 0, "maximum": (1 << 64) - 1}
COUNT = {"type": "integer", "minimum": 0}
INT63 = {"type": "integer", "minimum": 0, "maximum": (1 << 63) - 1}
DAY = "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"
NULLABLE_INT = {"type": "integer", "nullable": True}


def _obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "the request is not valid; the message names the field"),
    "401": _json(_ref("Error"), "an admin token is configured and the request lacks it"),
    "403": _json(_ref("Error"), "a request a web page could have made (foreign Origin, Host or Sec-Fetch-Site)"),
    "408": _json(_ref("Error"), "the body did not arrive within http_timeout"),
    "413": _json(_ref("Error"), "the body is over 1 MiB"),
}


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    status: str = "200",
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[str, ...] = (),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {status: ok, **{code: ERRORS[code] for code in ("401", "403", *errors)}},
    }
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
        for code in ("400", "408", "413"):
            op["responses"].setdefault(code, ERRORS[code])
    if params:
        op["parameters"] = params
        op["responses"].setdefault("400", ERRORS["400"])
    return op


def _one(
    summary: str, ok: dict[str, Any], what: str, missing: str, *params: dict[str, Any], errors: tuple[str, ...] = ()
) -> dict[str, Any]:
    """An operation on one thing (a stub, a fault, the recording) that may not exist: 200 or 404."""
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": _json(ok, what),
            **{code: ERRORS[code] for code in ("401", "403", *errors)},
            "404": _json(_ref("Error"), missing),
        },
    }
    if params:
        op["parameters"] = list(params)
    return op


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


SCHEMAS: dict[str, Any] = {
    "Error": _obj(["error"], error={"type": "string"}),
    "Clock": _obj(
        ["now", "unix", "frozen"], now={"type": "string"}, unix={"type": "number"}, frozen={"type": "boolean"}
    ),
    "ClockChange": {
        "oneOf": [
            {
                **_obj(
                    ["advance_seconds"],
                    advance_seconds={
                        "type": "number",
                        "description": "move the clock by this many seconds (any amount that keeps it in "
                        "[2000-01-01, 2100-01-01))",
                    },
                    tick={"type": "boolean", "nullable": True, "description": "let the clock run from there"},
                ),
                "additionalProperties": False,
            },
            {
                **_obj(
                    ["now"],
                    now={
                        "type": "string",
                        "maxLength": 64,
                        "description": "YYYY-MM-DD (00:00 UTC) or an ISO datetime (naive = UTC), "
                        "in [2000-01-01, 2100-01-01)",
                        "example": "2026-06-15T20:00:00Z",
                    },
                    tick={"type": "boolean", "nullable": True, "description": "let the clock run from there"},
                ),
                "additionalProperties": False,
            },
        ]
    },
    "Fault": _obj(
        ["id", "kind", "proto_id", "conn_id", "count", "latency_ms", "ret_type", "ret_msg", "applied"],
        id={"type": "integer"},
        kind={"type": "string", "enum": list(KINDS)},
        proto_id={**UINT32, "nullable": True},
        conn_id={**UINT64, "nullable": True},
        page={"type": "string", "enum": list(PAGES), "nullable": True},
        count={**NULLABLE_INT, "minimum": 1},
        duration={"type": "number", "nullable": True},
        latency_ms={"type": "number"},
        truncate_bytes=NULLABLE_INT,
        ret_type=INT32,
        ret_msg={"type": "string"},
        err_code={**INT32, "nullable": True},
        applied=COUNT,
    ),
    "FaultSpec": _obj(
        ["kind"],
        kind={"type": "string", "enum": list(KINDS)},
        proto_id={**UINT32, "nullable": True, "description": "default 3301; null = any"},
        conn_id={**UINT64, "nullable": True},
        page={
            "type": "string",
            "enum": list(PAGES),
            "nullable": True,
            "description": "first: requests without a page key; next: continuations; null = any",
        },
        count={"type": "integer", "minimum": 1, "maximum": 1_000_000_000, "nullable": True},
        duration_seconds={
            "type": "number",
            "minimum": 0,
            "exclusiveMinimum": True,
            "maximum": 30 * 86400,
            "nullable": True,
        },
        latency_ms={"type": "number", "minimum": 0, "maximum": 600_000},
        truncate_bytes={"type": "integer", "minimum": 0, "maximum": 1 << 31, "nullable": True},
        ret_type=INT32,
        ret_msg={"type": "string", "maxLength": 4096},
        err_code={**INT32, "nullable": True},
    ),
    "JournalEntry": _obj(
        ["seq", "time", "conn_id", "transport", "proto_id", "serial", "fmt", "answered_by"],
        seq={"type": "integer"},
        time={"type": "number"},
        wall_time={"type": "number"},
        conn_id={"type": "integer"},
        transport={"type": "string", "enum": ["tcp", "ws"]},
        proto_id={"type": "integer"},
        serial={"type": "integer"},
        fmt={"type": "string"},
        body_len={"type": "integer"},
        sha1_ok={"type": "boolean"},
        request={"type": "object", "nullable": True},
        ret_type={"type": "integer", "nullable": True},
        ret_msg={"type": "string"},
        error={"type": "string", "nullable": True},
        rows={"type": "array", "nullable": True, "items": {"type": "object"}},
        next_key={"type": "string", "nullable": True},
        duration_us={"type": "integer"},
        answered_by={
            "type": "string",
            "enum": ["mock", "stub", "upstream", "fault"],
            "description": "fault only for an injected error reply; other faults keep who answered",
        },
        fault={"type": "string", "description": "the kind of fault applied to this request"},
        fault_id={"type": "integer"},
        stub={"type": "string", "description": "the id of the stub that answered"},
        pushes={"type": "integer", "description": "how many recorded pushes followed the reply"},
        push={"type": "boolean", "description": "a push the upstream sent, not a request"},
        record={"type": "string", "description": "what the recorder did with this exchange"},
        truncated={"type": "string", "description": "request fields cut to keep the journal bounded"},
        encryption={"type": "string", "nullable": True, "description": "the AES mode an InitConnect set up"},
    ),
    "JournalPage": _obj(
        ["count", "total", "more", "entries"],
        count=COUNT,
        total=COUNT,
        more={"type": "boolean"},
        next_since_seq={"type": "integer", "nullable": True},
        entries={"type": "array", "items": _ref("JournalEntry")},
    ),
    "Stub": _obj(
        ["proto_id"],
        id={"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,119}$"},
        proto_id={"type": "integer", "minimum": 1, "maximum": (1 << 32) - 1},
        name={"type": "string"},
        captured_at={"type": "string"},
        server_ver=INT32,
        format={"type": "string", "enum": ["protobuf", "json"]},
        request={"description": "protobuf JSON of the request to match (any JSON for a shape the mock does not know)"},
        request_base64={"type": "string", "format": "byte"},
        reply={"description": "protobuf JSON of the reply (any JSON for a shape the mock does not know)"},
        reply_base64={"type": "string", "format": "byte"},
        ignore={"type": "array", "items": {"type": "string"}},
        pushes={"type": "array", "maxItems": 50, "items": _ref("Push")},
        source={"type": "string", "readOnly": True, "description": "file, admin, api or record"},
        hits={"type": "integer", "readOnly": True, "description": "requests it answered"},
    ),
    "Push": _obj(
        ["proto_id"],
        proto_id={"type": "integer", "minimum": 1, "maximum": (1 << 32) - 1},
        name={"type": "string"},
        after_ms={"type": "integer", "minimum": 0, "maximum": 600_000},
        serial=UINT32,
        reply={"type": "object"},
        reply_base64={"type": "string", "format": "byte"},
    ),
    "StubSummary": _obj(
        ["id", "proto_id", "name", "source", "hits", "pushes", "ignore"],
        id={"type": "string"},
        proto_id={"type": "integer"},
        name={"type": "string"},
        source={"type": "string"},
        hits=COUNT,
        pushes=COUNT,
        ignore={"type": "array", "items": {"type": "string"}},
    ),
    "Removed": _obj(["removed"], removed=COUNT),
}

JOURNAL_PARAMS = [
    _query("conn_id", INT63, "one connection's requests"),
    _query("proto_id", UINT32, "one protocol's requests"),
    _query("error", {"type": "string"}, "an error name from the catalogue, or 'any'"),
    _query("fault", {"type": "string"}, "a fault kind, or 'any'"),
    _query("answered_by", {"type": "string", "enum": ["mock", "stub", "upstream", "fault"]}, "who answered"),
    _query("since_seq", INT63, "the oldest entries after this sequence number"),
    _query("limit", {"type": "integer", "minimum": 0, "maximum": 1000}, "at most this many (default 1000)"),
]


def document() -> dict[str, Any]:
    stub_id = _path("stub_id", {"type": "string"})
    return {
        "openapi": "3.0.3",
        "security": [{}, {"bearer": []}, {"adminToken": []}],
        "info": {
            "title": "mock-opend admin API",
            "version": __version__,
            "description": "Control a running mock-opend: clock, journal, faults, stubs, recording. "
            "Off unless --admin-port is given; loopback only unless --admin-host and --admin-token are.",
        },
        "paths": {
            "/__admin/health": {
                "get": _op(
                    "status, ports, open connections, endpoints",
                    _json(
                        _obj(
                            ["status", "version", "endpoints", "host", "port", "connections", "max_connections"],
                            status={"type": "string", "enum": ["ok"]},
                            version={"type": "string"},
                            endpoints={"type": "array", "items": {"type": "string"}},
                            host={"type": "string"},
                            port={"type": "integer"},
                            ws_port={"type": "integer", "nullable": True},
                            admin_port={"type": "integer", "nullable": True},
                            connections={"type": "integer"},
                            max_connections={"type": "integer"},
                            warm_up={
                                "type": "string",
                                "enum": ["not run", "running", "done", "failed"],
                                "description": "the data warm-up `serve` runs after its ready line",
                            },
                        ),
                        "the server is up",
                    ),
                )
            },
            "/__admin/openapi.json": {"get": _op("this document", _json({"type": "object"}, "OpenAPI 3.0"))},
            "/__admin/clock": {
                "get": _op("the mock clock", _json(_ref("Clock"), "now")),
                "post": _op(
                    "move or set the mock clock",
                    _json(_ref("Clock"), "the clock after the change"),
                    body=_ref("ClockChange"),
                ),
            },
            "/__admin/reset": {
                "post": _op(
                    "clear rate-limit windows, the journal and faults (not the clock)",
                    _json(_obj(["reset"], reset={"type": "array", "items": {"type": "string"}}), "what was reset"),
                    body={"type": "object"},
                )
            },
            "/__admin/journal": {
                "get": _op(
                    "requests received, oldest first", _json(_ref("JournalPage"), "a page"), params=JOURNAL_PARAMS
                ),
                "delete": _op("forget them", _json(_obj(["cleared"], cleared=COUNT), "how many")),
            },
            "/__admin/faults": {
                "get": _op(
                    "active faults",
                    _json(_obj(["faults"], faults={"type": "array", "items": _ref("Fault")}), "the faults"),
                ),
                "post": _op(
                    "add a fault", _json(_ref("Fault"), "the fault added"), status="201", body=_ref("FaultSpec")
                ),
                "delete": _op("remove every fault", _json(_ref("Removed"), "how many")),
            },
            "/__admin/faults/{fault_id}": {
                "delete": _one(
                    "remove one fault",
                    _ref("Removed"),
                    "removed",
                    "no such fault",
                    _path("fault_id", {"type": "integer", "minimum": 0, "maximum": (1 << 63) - 1}),
                    errors=("400",),
                ),
            },
            "/__admin/rate-limit": {
                "get": _op(
                    "the 3301 rate limit and slots used now",
                    _json(
                        _obj(
                            ["limit", "window_seconds", "scope", "used"],
                            limit=NULLABLE_INT,
                            window_seconds={"type": "number", "nullable": True},
                            scope={"type": "string"},
                            used=COUNT,
                        ),
                        "the limit",
                    ),
                    params=[_query("conn_id", INT63, "for this connection")],
                ),
            },
            "/__admin/config": {
                "get": _op("the effective settings, secrets masked", _json({"type": "object"}, "every setting"))
            },
            "/__admin/stubs": {
                "get": _op(
                    "the stubs answered from",
                    _json(
                        _obj(["count", "stubs"], count=COUNT, stubs={"type": "array", "items": _ref("StubSummary")}),
                        "the stubs",
                    ),
                    params=[_query("proto_id", UINT32, "one protocol's stubs")],
                ),
                "post": _op(
                    "add a stub (or replace the one with its id)",
                    _json(_ref("Stub"), "the stub added"),
                    status="201",
                    body=_ref("Stub"),
                ),
                "delete": _op("remove every stub", _json(_ref("Removed"), "how many")),
            },
            "/__admin/stubs/{stub_id}": {
                "get": _one("one stub", _ref("Stub"), "the stub, with its source and hits", "no such stub", stub_id),
                "delete": _one("remove one stub", _ref("Removed"), "removed", "no such stub", stub_id),
            },
            "/__admin/record": {
                "get": _one(
                    "while recording: what was written and what was not, and why",
                    _obj(
                        ["directory", "stubs", "pushes", "fixture_rows", "skipped"],
                        directory={"type": "string"},
                        stubs=COUNT,
                        pushes=COUNT,
                        fixture_rows=COUNT,
                        pending={
                            **COUNT,
                            "description": "exchanges and pushes still being recorded off the event loop",
                        },
                        skipped={"type": "array", "items": {"type": "string"}},
                    ),
                    "the recording",
                    "not recording",
                ),
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {  # only when the server was given --admin-token
                "bearer": {"type": "http", "scheme": "bearer"},
                "adminToken": {"type": "apiKey", "in": "header", "name": "X-Admin-Token"},
            },
        },
    }
