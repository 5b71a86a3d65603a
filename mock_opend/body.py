"""Protobuf and JSON bodies, the two formats a frame's ``fmt`` byte selects.

JSON is protobuf's canonical JSON mapping with the proto field names (which
equal the JSON names for every served message): int64 as decimal strings,
bytes as base64.  The Python SDK's own JSON reader cannot take a bytes field
from JSON at all (it assigns a str to a bytes field and fails), so a JSON reply
that carries ``nextPageKey`` stalls that SDK — as it would against a real
OpenD; see README, "Known client limitations".
"""

from __future__ import annotations

import json

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from .frame import FMT_JSON, FMT_PROTOBUF


class BodyError(ValueError):
    """A request body that cannot be decoded; the message says why."""


def decode_body(fmt: int, body: bytes, cls: type[Message]) -> Message:
    if fmt == FMT_PROTOBUF:
        try:
            return cls.FromString(body)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise BodyError(f"protobuf: {exc}") from None
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


def encode_body(fmt: int, msg: Message) -> bytes:
    if fmt == FMT_JSON:
        doc = json_format.MessageToDict(msg, preserving_proto_field_name=True)
        return json.dumps(doc, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return msg.SerializeToString()
