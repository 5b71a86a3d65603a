"""Recorded exchanges for any protocol id, matched and replayed like WireMock's
stub mappings.

A stub is one readable JSON file: the protocol (id and name), the request to
match and the reply to give, both as protobuf JSON with the gateway's field
names, plus the pushes that followed the request when it was recorded.  A
request matches a stub of its protocol when the two are equal field by field,
after removing the fields the stub (or the server) says to ignore — volatile
ones such as timestamps, and every field redacted at recording.  A request no
stub matches gets the nearest stub's name and the first field that differs.

Protocols whose message shapes mock-opend does not know (``proto_ids.SCHEMAS``)
are kept as base64 protobuf (``request_base64``/``reply_base64``) and match
byte for byte.  Nothing here does I/O beyond reading and writing stub files.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from .body import BodyError, decode_body, encode_body, nests_deeper, strict_json
from .frame import FMT_JSON, FMT_PROTOBUF
from .proto_ids import PUSH_IDS, SESSION_PROTOS, label, message_types, name_of
from .redact import placeholder
from .user_files import read_text

MAX_STUBS = 10000  # stubs one server holds (files, recordings and admin calls together)
MAX_PUSHES = 50  # pushes kept after one request
MAX_PUSH_DELAY_MS = 600_000
MAX_STUB_FILE = 16 << 20  # bytes of one stub file
SEEN_CACHE = 4096  # request bodies remembered with the stub they matched
NEAR_MISS_SCAN = 1000  # stubs compared with a request no stub matches, to name the nearest
NEAR_MISS_BUDGET = 0.02  # seconds of work one miss may spend naming the nearest stub (the rest is skipped)
NEAR_MISS_DIFFS = 50  # differences counted per stub compared (the score; past it, "far")
NEAR_MISS_PER_SECOND = 0.1  # seconds of near-miss work in any one second, all clients together
MAX_DEPTH = 64  # nesting of a JSON body of unknown shape (protobuf's own parser stops at 100)
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,119}")
RULE_RE = re.compile(r"[A-Za-z_*][A-Za-z0-9_*-]*(\.[A-Za-z_*][A-Za-z0-9_*-]*)*")

# Fields that identify an account, a user or a connection: never written to a
# stub file, whatever protocol carries them (names match at any depth).
DEFAULT_REDACT: tuple[str, ...] = (
    "accID",
    "accIDList",
    "cardNum",
    "uniCardNum",
    "connID",
    "loginUserID",
    "userID",
    "nickName",
    "avatarUrl",
    "pwdMD5",
    "connAESKey",
    "aesCBCiv",
)


class StubError(ValueError):
    """A stub that cannot be used; the message names the file (or entry) and field."""


# -- bodies -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Body:
    """One message as a stub holds it: protobuf JSON (``doc``) when its shape is
    known or it came as JSON, else the exact protobuf bytes (``raw``)."""

    doc: Any = None
    raw: bytes | None = None

    def to_json(self, key: str) -> dict[str, Any]:
        if self.raw is not None:
            return {f"{key}_base64": base64.b64encode(self.raw).decode("ascii")}
        return {key: self.doc}


def message_doc(msg: Message) -> dict[str, Any]:
    return json_format.MessageToDict(msg, preserving_proto_field_name=True)


def body_of(proto_id: int, kind: str, fmt: int, data: bytes) -> Body:
    """A request (``kind='request'``) or reply body off the wire, as a stub keeps it.

    Raises ``BodyError`` when the bytes do not decode as the protocol's message.
    """
    types = message_types(proto_id)
    cls = None if types is None else (types[0] if kind == "request" else types[1])
    if cls is not None:
        return Body(doc=message_doc(decode_body(fmt, data, cls)))
    if fmt == FMT_JSON:
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise BodyError(f"json: {exc}") from None
        if nests_deeper(doc, MAX_DEPTH):
            raise BodyError(f"json: nested deeper than {MAX_DEPTH} levels")
        return Body(doc=doc)
    return Body(raw=bytes(data))


def _parse_body(proto_id: int, kind: str, body: Body, where: str, strict: bool = False) -> Message | None:
    """The message a stub's body stands for (None for a schema-less one).  With
    ``strict`` (a hand-written stub) a reply must be complete: every required
    field set, as the JS SDK's parser demands; a recorded one is kept as the
    upstream sent it."""
    types = message_types(proto_id)
    cls = None if types is None else (types[0] if kind == "request" else types[1])
    if cls is None:
        return None
    name = f"{name_of(proto_id)} {kind}"
    if body.raw is not None:
        try:
            msg = cls.FromString(body.raw)
        except Exception as exc:  # DecodeError and friends: the bytes are not this message
            raise StubError(f"{where}: {kind}_base64 is not a valid {name}: {exc}") from None
    elif not isinstance(body.doc, dict):
        raise StubError(f"{where}: {kind} must be a JSON object (protobuf JSON of {name_of(proto_id)}.{kind.title()})")
    else:
        try:
            msg = json_format.ParseDict(body.doc, cls())
        except (json_format.ParseError, ValueError, TypeError, RecursionError, OverflowError) as exc:
            raise StubError(f"{where}: {kind} is not a valid {name}: {exc}") from None
    if strict and kind == "reply":
        missing = msg.FindInitializationErrors()
        if missing:
            raise StubError(f"{where}: {kind} lacks required field(s) {', '.join(missing[:5])}")
    return msg


# -- field rules (ignore, redact) -------------------------------------------------------------------


def check_rule(rule: object) -> str:
    """A field rule: a name (matches at any depth) or a dotted path from the top,
    ``*`` for any one name; lists are walked through.  Raises ValueError."""
    if not isinstance(rule, str) or not RULE_RE.fullmatch(rule) or len(rule) > 200:
        raise ValueError(f"field rule must look like 'time', 'c2s.header' or 'c2s.*.time', got {rule!r}")
    return rule


def _rule_parts(rule: str) -> tuple[bool, list[str]]:
    parts = rule.split(".")
    return len(parts) == 1, parts


def _name_matches(pattern: str, name: str) -> bool:
    return pattern == "*" or pattern == name


def strip_fields(doc: Any, rules: Iterable[str], replace: Any = None) -> Any:
    """A copy of ``doc`` with the fields ``rules`` name removed (``replace=None``)
    or replaced by a placeholder of the same JSON kind."""
    out = json.loads(json.dumps(doc)) if isinstance(doc, dict | list) else doc
    rules = list(rules)
    names = {r for r in rules if "." not in r and r != "*"}
    if names:  # plain names, anywhere: one walk for all of them
        _apply_names(out, names, replace)
    for rule in rules:
        if rule not in names:
            anywhere, parts = _rule_parts(rule)
            _apply(out, parts, anywhere, replace)
    return out


def _apply_names(node: Any, names: set[str], replace: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _apply_names(item, names, replace)
        return
    if not isinstance(node, dict):
        return
    for key in list(node):
        if key in names:
            if replace is None:
                del node[key]
            else:
                node[key] = placeholder(node[key])
            continue
        _apply_names(node[key], names, replace)
        if replace is None and node[key] == {}:
            del node[key]  # a message left empty by the rule: as if absent


def _apply(node: Any, parts: list[str], anywhere: bool, replace: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _apply(item, parts, anywhere, replace)
        return
    if not isinstance(node, dict):
        return
    head = parts[0]
    for key in list(node):
        if _name_matches(head, key):
            if len(parts) == 1:
                if replace is None:
                    del node[key]
                else:
                    node[key] = placeholder(node[key])
                continue
            _apply(node[key], parts[1:], False, replace)
        if anywhere and key in node:
            _apply(node[key], parts, True, replace)
        if replace is None and key in node and node[key] == {}:
            del node[key]  # a message left empty by the rule: as if absent


def touched(doc: Any, rules: Iterable[str]) -> list[str]:
    """The rules among ``rules`` that name at least one field of ``doc`` (no copy made)."""
    rules = list(rules)
    keys = _all_keys(doc, set())
    out = []
    for rule in rules:
        anywhere, parts = _rule_parts(rule)
        if anywhere and parts[0] != "*":
            if parts[0] in keys:
                out.append(rule)
        elif _present(doc, parts, anywhere):
            out.append(rule)
    return out


def _all_keys(node: Any, into: set[str]) -> set[str]:
    if isinstance(node, dict):
        into.update(node)
        for value in node.values():
            _all_keys(value, into)
    elif isinstance(node, list):
        for item in node:
            _all_keys(item, into)
    return into


def _present(node: Any, parts: list[str], anywhere: bool) -> bool:
    if isinstance(node, list):
        return any(_present(item, parts, anywhere) for item in node)
    if not isinstance(node, dict):
        return False
    for key, value in node.items():
        if _name_matches(parts[0], key) and (len(parts) == 1 or _present(value, parts[1:], False)):
            return True
        if anywhere and _present(value, parts, True):
            return True
    return False


# -- differences --------------------------------------------------------------------------------


def differences(want: Any, got: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, stub value, request value) for every place the two documents differ;
    ``...`` stands for a missing field."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got), key=lambda k: (k not in want, k)):
            sub = f"{path}.{key}" if path else key
            yield from differences(want.get(key, ...), got.get(key, ...), sub)
    elif isinstance(want, list) and isinstance(got, list):
        for i in range(max(len(want), len(got))):
            yield from differences(want[i] if i < len(want) else ..., got[i] if i < len(got) else ..., f"{path}[{i}]")
    elif not _same(want, got):
        yield path or "(whole message)", want, got


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def show(value: Any) -> str:
    if value is ...:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


# -- stubs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PushStub:
    proto_id: int
    after_ms: int
    reply: Body
    serial: int = 0
    wire: bytes = b""  # the reply as protobuf bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "proto_id": self.proto_id,
            "name": name_of(self.proto_id),
            "after_ms": self.after_ms,
            "serial": self.serial,
            **self.reply.to_json("reply"),
        }


@dataclass(slots=True)
class Stub:
    id: str
    proto_id: int
    request: Body
    reply: Body
    ignore: tuple[str, ...] = ()
    pushes: list[PushStub] = field(default_factory=list)
    captured_at: str | None = None
    server_ver: int | None = None
    fmt: str = "protobuf"  # the wire format it was recorded in
    source: str = "admin"  # a file path, "admin" or "recorded"
    hits: int = 0
    key: Any = None  # the request document matching compares (ignored fields removed)
    reply_wire: bytes = b""  # the reply as protobuf bytes (when it has a known shape or came raw)
    reply_message: Message | None = None

    @property
    def name(self) -> str:
        return name_of(self.proto_id)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": self.id, "proto_id": self.proto_id, "name": self.name}
        if self.captured_at is not None:
            doc["captured_at"] = self.captured_at
        if self.server_ver is not None:
            doc["server_ver"] = self.server_ver
        doc["format"] = self.fmt
        doc.update(self.request.to_json("request"))
        doc.update(self.reply.to_json("reply"))
        if self.ignore:
            doc["ignore"] = list(self.ignore)
        if self.pushes:
            doc["pushes"] = [p.to_json() for p in self.pushes]
        return doc

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "proto_id": self.proto_id,
            "name": self.name,
            "source": self.source,
            "hits": self.hits,
            "pushes": len(self.pushes),
            "ignore": list(self.ignore),
        }

    def reply_bytes(self, fmt: int) -> bytes:
        """The reply in the client's body format.  A stub of an unknown shape has
        one format only (bytes or JSON), and only a request in that format
        matches it (``match``)."""
        if self.reply_message is not None:
            return self.reply_wire if fmt == FMT_PROTOBUF else encode_body(FMT_JSON, self.reply_message)
        if self.reply.raw is not None:
            return self.reply_wire
        return json.dumps(self.reply.doc, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def stub_id(proto_id: int, request: Body) -> str:
    """A stable id (and file name) for a protocol and a request."""
    canon = request.raw if request.raw is not None else json.dumps(request.doc, sort_keys=True).encode()
    return f"{proto_id}-{name_of(proto_id)}-{hashlib.sha1(canon).hexdigest()[:10]}".replace(" ", "_")


def _int(doc: Mapping[str, Any], key: str, where: str, lo: int, hi: int, default: int | None = None) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise StubError(f"{where}: {key} must be an integer {lo}..{hi}, got {show(value)}")
    return value


def _body(doc: Mapping[str, Any], key: str, where: str, required: bool = True) -> Body | None:
    if f"{key}_base64" in doc:
        raw = doc[f"{key}_base64"]
        try:
            if not isinstance(raw, str):
                raise ValueError
            return Body(raw=base64.b64decode(raw, validate=True))
        except ValueError:
            raise StubError(f"{where}: {key}_base64 must be base64 text") from None
    if key in doc:
        return Body(doc=doc[key])
    if required:
        raise StubError(f"{where}: needs {key!r} (protobuf JSON) or {key + '_base64'!r}")
    return None


def stub_from_json(doc: Any, where: str, extra_ignore: Sequence[str] = (), source: str = "admin") -> Stub:
    """A checked stub from its JSON form; every problem names ``where`` and the field.
    Stubs given at run time (``admin``, ``api``) must have complete replies."""
    strict = source in ("admin", "api")
    if not isinstance(doc, dict):
        raise StubError(f"{where}: a stub is a JSON object")
    known = {
        "id", "proto_id", "name", "captured_at", "server_ver", "format", "request", "request_base64",
        "reply", "reply_base64", "ignore", "pushes",
    }  # fmt: skip
    unknown = sorted(set(doc) - known)
    if unknown:
        raise StubError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))})")
    proto_id = _int(doc, "proto_id", where, 1, (1 << 32) - 1)
    if proto_id in SESSION_PROTOS:
        raise StubError(f"{where}: {label(proto_id)} belongs to the session and is always answered by mock-opend")
    request = _body(doc, "request", where, required=True)
    reply = _body(doc, "reply", where, required=True)
    assert request is not None and reply is not None
    ignore = doc.get("ignore", [])
    if not isinstance(ignore, list):
        raise StubError(f"{where}: ignore must be a list of field rules")
    try:
        rules = tuple(check_rule(r) for r in ignore)
    except ValueError as exc:
        raise StubError(f"{where}: ignore: {exc}") from None
    fmt = doc.get("format", "protobuf")
    if fmt not in ("protobuf", "json"):
        raise StubError(f"{where}: format must be 'protobuf' or 'json', got {show(fmt)}")
    sid = doc.get("id") or stub_id(proto_id, request)
    if not isinstance(sid, str) or not ID_RE.fullmatch(sid):
        raise StubError(f"{where}: id must be 1-120 letters, digits, '.', '_' or '-', starting with a letter or digit")
    captured = doc.get("captured_at")
    if captured is not None and not isinstance(captured, str):
        raise StubError(f"{where}: captured_at must be a string")
    server_ver = doc.get("server_ver")
    if server_ver is not None:
        server_ver = _int(doc, "server_ver", where, -(1 << 31), (1 << 31) - 1)
    if proto_id in PUSH_IDS:
        raise StubError(f"{where}: {label(proto_id)} is a push; put it under a request's 'pushes'")
    request_msg = _parse_body(proto_id, "request", request, where)
    reply_msg = _parse_body(proto_id, "reply", reply, where, strict)
    if request_msg is not None:
        request = Body(doc=message_doc(request_msg))  # normal form: what a decoded request looks like
    stub = Stub(
        id=sid,
        proto_id=proto_id,
        request=request,
        reply=reply,
        ignore=rules,
        captured_at=captured,
        server_ver=server_ver,
        fmt=fmt,
        source=source,
    )
    stub.reply_message = reply_msg
    if reply.raw is not None:
        stub.reply_wire = reply.raw
    elif reply_msg is not None:
        stub.reply_wire = reply_msg.SerializePartialToString()
    stub.pushes = _pushes(doc.get("pushes", []), where, strict)
    stub.key = _key(request, (*rules, *extra_ignore))
    return stub


def _pushes(items: Any, where: str, strict: bool = False) -> list[PushStub]:
    if not isinstance(items, list) or len(items) > MAX_PUSHES:
        raise StubError(f"{where}: pushes must be a list of at most {MAX_PUSHES} pushes")
    out = []
    for i, item in enumerate(items):
        at = f"{where}: pushes[{i}]"
        if not isinstance(item, dict):
            raise StubError(f"{at}: a push is a JSON object")
        unknown = sorted(set(item) - {"proto_id", "name", "after_ms", "serial", "reply", "reply_base64"})
        if unknown:
            raise StubError(f"{at}: unknown key(s) {', '.join(map(repr, unknown))}")
        pid = _int(item, "proto_id", at, 1, (1 << 32) - 1)
        after = _int(item, "after_ms", at, 0, MAX_PUSH_DELAY_MS, default=0)
        serial = _int(item, "serial", at, 0, (1 << 32) - 1, default=0)
        body = _body(item, "reply", at)
        assert body is not None
        msg = _parse_body(pid, "reply", body, at, strict)
        if body.raw is not None:
            wire = body.raw
        elif msg is not None:
            wire = msg.SerializePartialToString()
        else:
            raise StubError(f"{at}: {label(pid)} has no known shape: give reply_base64 (protobuf bytes)")
        out.append(PushStub(pid, after, body, serial, wire))
    return out


def _key(request: Body, rules: Sequence[str]) -> Any:
    if request.raw is not None:
        return {"__bytes__": base64.b64encode(request.raw).decode("ascii")}
    return strip_fields(request.doc, rules)


@dataclass(frozen=True, slots=True)
class NearMiss:
    """No stub matched: the closest one and where it first differs."""

    stub: Stub | None
    path: str = ""
    stub_value: Any = None
    request_value: Any = None
    candidates: int = 0


class StubStore:
    """The stubs one server answers from; safe to change from the admin thread.

    Matching is a dictionary lookup (the request's normal form, per set of ignore
    rules), so 10,000 stubs cost what one does; only a miss looks for the nearest
    stub, among at most ``NEAR_MISS_SCAN`` of them."""

    def __init__(self, ignore: Sequence[str] = (), limit: int = MAX_STUBS) -> None:
        self.ignore = tuple(check_rule(r) for r in ignore)
        self.limit = limit
        self._by_proto: dict[int, dict[str, Stub]] = {}
        self._by_id: dict[str, Stub] = {}
        # proto id → a stub's own ignore rules → the normal form of its request → stubs, oldest first
        self._index: dict[int, dict[tuple[str, ...], dict[str, list[Stub]]]] = {}
        self._seen: dict[tuple[int, int, bytes], Stub] = {}  # request bytes already matched (cleared on change)
        self._missed: dict[tuple[int, int, bytes], NearMiss] = {}  # request bytes no stub matched, and why
        self._version = 0  # bumped by every change: a search only caches what it found if none came between
        self._scan_window = (0.0, 0.0)  # (start of the current second, near-miss work spent in it)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_id)

    def has(self, proto_id: int) -> bool:
        return bool(self._by_proto.get(proto_id))

    def all(self) -> list[Stub]:
        with self._lock:
            return list(self._by_id.values())

    def get(self, sid: str) -> Stub | None:
        return self._by_id.get(sid)

    def add(self, stub: Stub, *, replace: bool = True) -> Stub:
        """Add (or replace, same id) a stub; raises StubError past the limit."""
        with self._lock:
            existing = self._by_id.get(stub.id)
            if existing is not None and not replace:
                raise StubError(f"a stub with id {stub.id!r} exists")
            if existing is None and len(self._by_id) >= self.limit:
                raise StubError(f"at most {self.limit} stubs; remove some first")
            if existing is not None:
                self._drop(existing)
            self._seen.clear()
            self._missed.clear()
            self._version += 1
            self._by_id[stub.id] = stub
            self._by_proto.setdefault(stub.proto_id, {})[stub.id] = stub
            table = self._index.setdefault(stub.proto_id, {}).setdefault(stub.ignore, {})
            table.setdefault(_canonical(stub.key), []).append(stub)
            return stub

    def _drop(self, stub: Stub) -> None:
        self._seen.clear()
        self._missed.clear()
        self._version += 1
        del self._by_id[stub.id]
        group = self._by_proto[stub.proto_id]
        del group[stub.id]
        if not group:
            del self._by_proto[stub.proto_id]
        tables = self._index[stub.proto_id]
        table = tables[stub.ignore]
        bucket = table[_canonical(stub.key)]
        bucket.remove(stub)
        if not bucket:
            del table[_canonical(stub.key)]
        if not table:
            del tables[stub.ignore]
        if not tables:
            del self._index[stub.proto_id]

    def add_json(self, doc: Any, where: str = "stub", source: str = "admin") -> Stub:
        return self.add(stub_from_json(doc, where, self.ignore, source))

    def remove(self, sid: str | None = None) -> int:
        """Remove one stub by id (or all with None); how many went."""
        with self._lock:
            if sid is None:
                n = len(self._by_id)
                self._seen.clear()
                self._missed.clear()
                self._version += 1
                self._by_id.clear()
                self._by_proto.clear()
                self._index.clear()
                return n
            stub = self._by_id.get(sid)
            if stub is None:
                return 0
            self._drop(stub)
            return 1

    def load_dir(self, directory: str | Path) -> int:
        """Every ``*.json`` stub in ``directory`` (or its ``stubs/``), sorted by name."""
        base = Path(directory)
        if not base.is_dir():
            raise StubError(f"{base}: not a directory of stubs")
        sub = base / "stubs"
        files = sorted((sub if sub.is_dir() else base).glob("*.json"))
        for path in files:
            try:
                doc = strict_json(read_text(path, MAX_STUB_FILE))
            except OSError as exc:
                raise StubError(f"{path}: cannot read stub: {exc.strerror or exc}") from None
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                raise StubError(f"{path}: cannot read stub: {exc}") from None
            self.add(stub_from_json(doc, str(path), self.ignore, source=str(path)))
        return len(files)

    def match(self, proto_id: int, fmt: int, body: bytes, *, nearest: bool = True) -> Stub | NearMiss:
        """The stub for this request, or the nearest miss (``nearest=False``: a miss
        without a search, for a request that goes upstream or to a handler anyway).
        Raises BodyError when the request does not decode as its protocol's message."""
        seen = self._seen.get((proto_id, fmt, body))
        if seen is not None:  # the same bytes as before: the same stub (a client repeating itself)
            seen.hits += 1
            return seen
        missed = self._missed.get((proto_id, fmt, body))
        if missed is not None:  # the same bytes missed before: the same answer, no search again
            return missed
        with self._lock:
            version = self._version
            tables = list(self._index.get(proto_id, {}).items())
            group = list(self._by_proto.get(proto_id, {}).values())[:NEAR_MISS_SCAN]
            count = len(self._by_proto.get(proto_id, {}))
        if not tables:
            return NearMiss(None)
        request = body_of(proto_id, "request", fmt, body)
        for rules, table in tables:
            bucket = table.get(_canonical(_key(request, (*self.ignore, *rules))))
            if bucket:
                stub = bucket[0]
                stub.hits += 1
                with self._lock:
                    if len(self._seen) >= SEEN_CACHE:
                        self._seen.clear()
                    if self._version == version:  # no change since the lookup began
                        self._seen[(proto_id, fmt, bytes(body))] = stub
                return stub
        # the nearest stub, within a budget: the request is normalised once per set of
        # ignore rules, each comparison stops after NEAR_MISS_DIFFS differences, and the
        # scan stops after NEAR_MISS_BUDGET seconds (however large the request or the store)
        if not nearest:
            return NearMiss(None, candidates=count)
        best: tuple[int, Stub, tuple[str, Any, Any]] | None = None
        keys: dict[tuple[str, ...], Any] = {}
        started = time.perf_counter()
        deadline = started + self._budget(started)
        for stub in group:
            key = keys.get(stub.ignore)
            if key is None:
                key = keys[stub.ignore] = _key(request, (*self.ignore, *stub.ignore))
            if _is_bytes(stub.key) != _is_bytes(key):  # an unknown shape, recorded in the other body format
                fmts = ("protobuf", "json") if _is_bytes(stub.key) else ("json", "protobuf")
                score, first = 1 << 30, ("(body format)", *fmts)
            else:
                diffs = list(itertools.islice(differences(stub.key, key), NEAR_MISS_DIFFS))
                if not diffs:  # equal after all (e.g. 1 vs 1.0 normalise differently): a match
                    stub.hits += 1
                    return stub
                score, first = len(diffs), diffs[0]
            if best is None or score < best[0]:
                best = (score, stub, first)
            if score <= 1 or time.perf_counter() > deadline:
                break
        assert best is not None
        _, stub, (path, want, got) = best
        miss = NearMiss(stub, path, want, got, count)
        now = time.perf_counter()
        with self._lock:
            second, spent = self._scan_window
            self._scan_window = (second, spent + (now - started))
            if len(self._missed) >= SEEN_CACHE:
                self._missed.clear()
            if self._version == version:
                self._missed[(proto_id, fmt, bytes(body))] = miss
        return miss

    def _budget(self, now: float) -> float:
        """This miss's time for the search: NEAR_MISS_BUDGET, within what is left of
        the server-wide NEAR_MISS_PER_SECOND (0 when it is spent: one stub is compared)."""
        with self._lock:
            second, spent = self._scan_window
            if now - second >= 1.0:
                second, spent = now, 0.0
                self._scan_window = (second, spent)
        return max(0.0, min(NEAR_MISS_BUDGET, NEAR_MISS_PER_SECOND - spent))


def _canonical(key: Any) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


def _is_bytes(key: Any) -> bool:
    return isinstance(key, dict) and "__bytes__" in key


def stub_file_json(stub: Stub) -> str:
    return json.dumps(stub.to_json(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"
