"""Protobuf and JSON bodies, the two formats a frame's ``fmt`` byte selects.

JSON is protobuf's canonical JSON mapping with the proto field names (which
equal the JSON names for every served message): int64 as decimal strings,
bytes as base64.  The Python SDK's own JSON reader cannot take a bytes field
from JSON at all (it assigns a str to a bytes field and fails), so a JSON reply
that carries ``nextPageKey`` stalls that SDK — as it would against a real
OpenD; see docs/limitations.md.
"""

from __future__ import annotations

import json
import math
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from .frame import FMT_JSON, FMT_PROTOBUF


class BodyError(ValueError):
    """A request body that cannot be decoded; the message says why."""


def decode_body(fmt: int, body: bytes, cls: type[Message]) -> Message:
    if fmt == FMT_PROTOBUF:
        try:
            msg = cls.FromString(body)
        except (DecodeError, RuntimeError, ValueError, RecursionError) as exc:
            raise BodyError(f"protobuf: {exc}") from None
        bad = _non_utf8_field(msg, "")
        if bad is not None:
            raise BodyError(f"protobuf: string field {bad} is not valid UTF-8")
        return msg
    if fmt == FMT_JSON:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError(f"json: body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
        try:
            return json_format.Parse(text, cls(), ignore_unknown_fields=True)
        except (json_format.ParseError, RecursionError, ValueError, TypeError) as exc:
            raise BodyError(f"json: {exc}") from None
    raise BodyError(f"unknown body format {fmt}")


def _non_utf8_field(msg: Message, prefix: str) -> str | None:
    """The path of the first string field whose bytes are not UTF-8 (the runtime
    hands those over as ``bytes`` for proto2 files instead of failing), or None."""
    for fd, value in msg.ListFields():
        if fd.type == fd.TYPE_MESSAGE:
            items = value if is_repeated(fd) else [value]
            for item in items:
                bad = _non_utf8_field(item, f"{prefix}{fd.name}.")
                if bad is not None:
                    return bad
        elif fd.type == fd.TYPE_STRING:
            items = value if is_repeated(fd) else [value]
            if any(isinstance(v, bytes) for v in items):
                return prefix + fd.name
    return None


def is_repeated(fd: Any) -> bool:
    """A repeated field, on protobuf runtimes with and without ``FieldDescriptor.label``."""
    return bool(getattr(fd, "is_repeated", False)) or getattr(fd, "label", 0) == 3


def encode_body(fmt: int, msg: Message) -> bytes:
    if fmt == FMT_JSON:
        doc = json_format.MessageToDict(msg, preserving_proto_field_name=True)
        return json.dumps(doc, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return msg.SerializeToString()


MAX_INT_DIGITS = 40  # an integer longer than this fits no protobuf field (int64/uint64 have 20 digits)


def strict_json(text: str | bytes) -> Any:
    """JSON that every later step can hold: no NaN/Infinity (spelled out or as an
    overflowing 1e999), no integer of more than MAX_INT_DIGITS digits, no lone
    surrogate (``"\\ud800"``) in a string or a key.  Raises ValueError naming the
    problem (UnicodeDecodeError, a ValueError, for bytes that are not UTF-8)."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows")

    def number(s: str) -> float:
        value = float(s)
        if not math.isfinite(value):
            raise ValueError(f"{s[:40]} is out of the range of a double")
        return value

    def integer(s: str) -> int:
        if len(s.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueError(f"an integer of {len(s.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
        return int(s)

    doc = json.loads(text, parse_constant=constant, parse_float=number, parse_int=integer)
    stack = [doc]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            _utf8(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                _utf8(k)
                stack.append(x)
        elif isinstance(v, list):
            stack.extend(v)
    return doc


def _utf8(s: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"a lone surrogate in the string {s[:40]!r} (not Unicode text)") from None


def nests_deeper(value: Any, limit: int) -> bool:
    """True when a JSON value nests deeper than ``limit`` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            return True
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return False
