"""Fuzzing the protocol core with Hypothesis.

The invariants, for any bytes in any chunking:

- nothing raises out of the frame decoder or a connection's state machine;
- every complete frame gets exactly one reply frame carrying its proto id and
  serial, with a valid SHA-1 and a body that decodes, until the stream breaks
  (bad magic, oversized body), which gets one error reply and a close;
- nothing is sent after a close; the same holds for WebSocket messages;
- every handler answers any body (unknown, missing or repeated fields, JSON
  that is not JSON) with a reply that has a retType;
- every field of every served request, given a hostile value of its own type
  (invalid UTF-8, lone surrogates, overlong encodings, non-ASCII digits, huge
  strings, boundary integers, NaN and infinities), gets a specific error or a
  success — never ``INTERNAL``.

The tests run these properties with a few hundred examples;
``python -m mock_opend.fuzz --minutes 10`` runs a long campaign (Hypothesis
must be installed: the ``test`` extra).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import math
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .config import Config
from .connection import Close, Connection, Send
from .frame import Frame, FrameDecoder, FrameHeader, FramingError, encode_frame
from .gateway import PROTOCOLS, Gateway
from .messages import ErrorResponse
from .ws_protocol import REPLY_HEADER, WsConnection, pack_request, unpack_reply

MAX_BODY = 4096
PROTO_IDS = st.one_of(st.sampled_from([1001, 1002, 1004, 3301, 1, 0, 2**32 - 1]), st.integers(0, 2**32 - 1))


# -- strategies ------------------------------------------------------------------
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


@st.composite
def protobuf_fields(draw: st.DrawFn, depth: int = 0) -> bytes:
    """Raw protobuf wire data: known and unknown field numbers, any wire type,
    repeated and nested fields — valid framing, arbitrary meaning."""
    out = b""
    for _ in range(draw(st.integers(0, 6))):
        number = draw(st.one_of(st.integers(1, 7), st.integers(1, 2**29 - 1)))
        wire = draw(st.sampled_from([0, 1, 2, 5]))
        out += _varint(number << 3 | wire)
        if wire == 0:
            out += _varint(draw(st.integers(-(2**63), 2**64 - 1)))
        elif wire == 1:
            out += draw(st.binary(min_size=8, max_size=8))
        elif wire == 5:
            out += draw(st.binary(min_size=4, max_size=4))
        else:
            inner = (
                draw(protobuf_fields(depth + 1))
                if depth < 2 and draw(st.booleans())
                else draw(st.one_of(st.binary(max_size=40), st.text(max_size=20).map(str.encode)))
            )
            out += _varint(len(inner)) + inner
    return out


# Values that have broken servers: not UTF-8, lone surrogates (as CESU-8 bytes and as
# JSON escapes), overlong encodings, NUL, non-ASCII digits, huge strings, boundary integers.
BAD_STRINGS: tuple[bytes, ...] = (
    b"\xff\xfe",
    b"2026-06-\xff1",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\x00",
    "２０２６-06-01".encode(),
    "2026-06-٠١".encode(),
    b" 2026-06-01",
    b"2026-06-01\n",
    b"9" * 5000,
    b"2026-06-01",
    b"2026-06-12 23:59:59",
    b"",
)
BOUNDARY_INTS: tuple[int, ...] = (
    0, 1, -1, 2**31 - 1, -(2**31), 2**31, 2**32 - 1, 2**32, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1,
)  # fmt: skip
JSON_STRINGS: tuple[str, ...] = ("\ud800", "\udfff", "\x00", "２０２６-06-01", "9" * 5000, "2026-06-01")


@st.composite
def typed_fields(draw: st.DrawFn, descriptor: Any, depth: int = 0) -> bytes:
    """Wire bytes for a message type: each declared field maybe present, maybe
    repeated, with a hostile value of its own wire type."""
    out = b""
    for fd in descriptor.fields:
        for _ in range(draw(st.sampled_from([0, 1, 1, 2]))):
            t = fd.type
            if t == fd.TYPE_MESSAGE:
                inner = draw(typed_fields(fd.message_type, depth + 1)) if depth < 3 else b""
                out += _varint(fd.number << 3 | 2) + _varint(len(inner)) + inner
            elif t in (fd.TYPE_STRING, fd.TYPE_BYTES):
                value = draw(st.one_of(st.sampled_from(BAD_STRINGS), st.binary(max_size=40)))
                out += _varint(fd.number << 3 | 2) + _varint(len(value)) + value
            elif t in (fd.TYPE_DOUBLE, fd.TYPE_FIXED64, fd.TYPE_SFIXED64):
                out += _varint(fd.number << 3 | 1) + draw(
                    st.sampled_from([struct.pack("<d", x) for x in (math.nan, math.inf, -math.inf, 1e308, 0.0)])
                )
            elif t in (fd.TYPE_FLOAT, fd.TYPE_FIXED32, fd.TYPE_SFIXED32):
                out += _varint(fd.number << 3 | 5) + draw(
                    st.sampled_from([struct.pack("<f", x) for x in (math.nan, math.inf, -0.0)])
                )
            else:  # varints: ints, enums, bools
                out += _varint(fd.number << 3) + _varint(draw(st.sampled_from(BOUNDARY_INTS)))
    return out


@st.composite
def typed_json(draw: st.DrawFn, descriptor: Any, depth: int = 0) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for fd in descriptor.fields:
        if not draw(st.booleans()):
            continue
        t = fd.type
        if t == fd.TYPE_MESSAGE:
            doc[fd.name] = draw(typed_json(fd.message_type, depth + 1)) if depth < 3 else {}
        elif t in (fd.TYPE_STRING, fd.TYPE_BYTES):
            doc[fd.name] = draw(st.sampled_from(JSON_STRINGS))
        else:
            doc[fd.name] = draw(
                st.one_of(st.sampled_from(BOUNDARY_INTS), st.sampled_from([2**64, -(2**64), 1.5, "1e999", "NaN"]))
            )
    return doc


@st.composite
def hostile_requests(draw: st.DrawFn) -> tuple[int, bytes, int]:
    """(proto id, body, fmt): a served request type with hostile values in every field."""
    proto_id = draw(st.sampled_from(sorted(PROTOCOLS)))
    descriptor = PROTOCOLS[proto_id].request.DESCRIPTOR
    if draw(st.booleans()):
        return proto_id, draw(typed_fields(descriptor)), 0
    text = json.dumps(draw(typed_json(descriptor)))  # lone surrogates become \ud800 escapes
    return proto_id, text.encode("utf-8", "surrogatepass"), 1


def json_bodies() -> st.SearchStrategy[bytes]:
    """JSON that is not the request, JSON that is not JSON, and worse."""
    junk = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
        lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
        max_leaves=10,
    )
    as_json = junk.map(lambda v: json.dumps(v).encode())
    requestish = st.fixed_dictionaries(
        {
            "c2s": st.dictionaries(
                st.sampled_from(
                    [
                        "optionMarket",
                        "dataType",
                        "beginTime",
                        "endTime",
                        "nextPageKey",
                        "clientVer",
                        "clientID",
                        "time",
                        "x",
                    ]
                ),
                junk,
                max_size=5,
            )
        }
    ).map(lambda v: json.dumps(v).encode())
    return st.one_of(as_json, requestish, st.binary(max_size=60), st.just(b"[" * 500), st.just(b'{"c2s": ' * 300))


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """A frame with any header values and a body of any kind; the SHA-1 and the
    length are usually right (so the body is what gets tested)."""
    proto = draw(PROTO_IDS)
    fmt = draw(st.sampled_from([0, 0, 0, 1, 1, 2, 255]))
    body = draw(st.one_of(protobuf_fields(), json_bodies(), st.binary(max_size=200)))
    serial = draw(st.integers(0, 2**32 - 1))
    sha = hashlib.sha1(body).digest() if draw(st.integers(0, 9)) else draw(st.binary(min_size=20, max_size=20))
    ver = draw(st.sampled_from([0, 0, 1, 255]))
    reserved = bytes(8) if draw(st.booleans()) else draw(st.binary(min_size=8, max_size=8))
    return FrameHeader(proto, serial, len(body), sha, fmt, ver, b"FT", reserved).pack() + body


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """A session: usually InitConnect first, then frames, sometimes garbage or a
    broken header; cut into arbitrary chunks (split and coalesced writes)."""
    parts = []
    if draw(st.booleans()):
        parts.append(encode_frame(1001, 1, b"\x0a\x0c\x08\xac\x02\x12\x07fuzzing"))
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            parts.append(draw(st.binary(max_size=80)))
        elif kind == 1:  # a header at its extremes
            proto = draw(st.sampled_from([0, 3301, 2**32 - 1]))
            length = draw(st.sampled_from([0, 1, MAX_BODY, MAX_BODY + 1, 2**31, 2**32 - 1]))
            magic = draw(st.sampled_from([b"FT", b"FT", b"TF", b"\x00\x00"]))
            body = bytes(min(length, 64))
            parts.append(FrameHeader(proto, 2**32 - 1, length, hashlib.sha1(body).digest(), 0, 0, magic).pack() + body)
        else:
            parts.append(draw(frames()))
    stream = b"".join(parts)
    cuts = sorted(set(draw(st.lists(st.integers(0, max(0, len(stream))), max_size=12))))
    return stream, cuts


def _chunks(stream: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(edges) if b > a]


# -- properties (plain functions: the tests and the campaign wrap them) ------------------
def gateway() -> Gateway:
    return Gateway(Config(now="2026-06-15", rate_limit="off", max_body_len=MAX_BODY, journal_size=100).validate())


def check_decoder(stream: bytes, cuts: list[int]) -> None:
    dec = FrameDecoder(MAX_BODY)
    events: list[Frame | FramingError] = []
    for chunk in _chunks(stream, cuts):
        events.extend(dec.feed(chunk))
    errors = [i for i, e in enumerate(events) if isinstance(e, FramingError)]
    assert len(errors) <= 1 and (not errors or errors[0] == len(events) - 1)
    # the same stream in one piece decodes to the same events
    assert [(type(e), e.header) for e in FrameDecoder(MAX_BODY).feed(stream)] == [(type(e), e.header) for e in events]


def _no_internal_errors(gw: Gateway) -> None:
    bugs = [e.ret_msg for e in gw.journal.entries() if e.error == "INTERNAL"]
    assert not bugs, f"a handler failed: {bugs[0]}"


def check_connection(stream: bytes, cuts: list[int]) -> None:
    reference = FrameDecoder(MAX_BODY).feed(stream)
    gw = gateway()
    conn = Connection(gw)
    actions = []
    for chunk in _chunks(stream, cuts):
        actions.extend(conn.receive_data(chunk))
    closes = [i for i, a in enumerate(actions) if isinstance(a, Close)]
    assert len(closes) <= 1 and (not closes or closes[0] == len(actions) - 1), "nothing may follow a close"
    sent = b"".join(a.data for a in actions if isinstance(a, Send))
    replies = FrameDecoder(1 << 30).feed(sent)
    assert all(isinstance(r, Frame) and r.sha1_ok for r in replies), "every reply is a well-formed frame"
    expected = [e.header for e in reference]
    assert [(r.header.proto_id, r.header.serial) for r in replies] == [(h.proto_id, h.serial) for h in expected]
    for r in replies:
        if r.header.fmt == 0:
            msg = ErrorResponse.FromString(r.body)
            assert msg.HasField("retType")
        else:
            assert "retType" in json.loads(r.body)
    assert bool(closes) == any(isinstance(e, FramingError) for e in reference)
    assert conn.receive_data(b"FT" + bytes(60)) == [] or not closes
    _no_internal_errors(gw)


def check_handler(proto_id: int, body: bytes, fmt: int) -> None:
    """Any body for a served proto: exactly one reply, with a retType, never INTERNAL."""
    _one_reply(gateway(), proto_id, body, fmt)


def check_fields(proto_id: int, body: bytes, fmt: int) -> None:
    """A served request with hostile field values (bodies up to the default 1 MiB limit)."""
    _one_reply(Gateway(Config(now="2026-06-15", rate_limit="off", journal_size=100).validate()), proto_id, body, fmt)


def _one_reply(gw: Gateway, proto_id: int, body: bytes, fmt: int) -> None:
    conn = Connection(gw)
    conn.receive_data(encode_frame(1001, 1, b"\x0a\x0c\x08\xac\x02\x12\x07fuzzing"))
    (action,) = conn.receive_data(encode_frame(proto_id, 7, body, fmt=fmt))
    assert isinstance(action, Send)
    (reply,) = FrameDecoder(1 << 30).feed(action.data)
    assert isinstance(reply, Frame) and reply.header.serial == 7
    spec = PROTOCOLS[proto_id]
    if reply.header.fmt == 0:
        assert spec.response.FromString(reply.body).HasField("retType")
    else:
        assert "retType" in json.loads(reply.body)
    _no_internal_errors(gw)


def check_websocket(messages: list[bytes | str]) -> None:
    gw = gateway()
    conn = WsConnection(gw)
    for message in messages:
        if conn.closed:
            assert conn.receive_message(message) == []
            continue
        actions = conn.receive_message(message)
        sends = [a for a in actions if isinstance(a, Send)]
        assert len(sends) == 1
        assert len(sends[0].data) >= REPLY_HEADER.size
        _cmd, _section, _error, errmsg, _body = unpack_reply(sends[0].data)
        assert errmsg.isascii()
    _no_internal_errors(gw)


@st.composite
def ws_messages(draw: st.DrawFn) -> list[bytes | str]:
    out: list[bytes | str] = []
    if draw(st.booleans()):
        out.append(pack_request(1, 1, b"\x0a\x02\x22\x00"))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 4))
        if kind == 0:
            out.append(draw(st.text(max_size=30)))
        elif kind == 1:
            out.append(draw(st.binary(max_size=40)))
        else:
            cmd = draw(st.one_of(st.sampled_from([1, 1001, 1004, 3301]), st.integers(0, 2**32 - 1)))
            out.append(pack_request(cmd, draw(st.integers(0, 2**64 - 1)), draw(protobuf_fields())))
    return out


# -- Hypothesis wrappers ------------------------------------------------------------------
def properties(examples: int) -> dict[str, Callable[[], None]]:
    common = settings(max_examples=examples, deadline=2000, database=None, suppress_health_check=list(HealthCheck))
    return {
        "decoder": common(given(streams())(lambda s: check_decoder(*s))),
        "connection": common(given(streams())(lambda s: check_connection(*s))),
        "handlers": common(
            given(
                st.sampled_from(sorted(PROTOCOLS)),
                st.one_of(protobuf_fields(), json_bodies()),
                st.sampled_from([0, 1]),
            )(check_handler)
        ),
        "websocket": common(given(ws_messages())(check_websocket)),
        "fields": common(given(hostile_requests())(lambda r: check_fields(*r))),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mock_opend.fuzz", description="A long fuzzing campaign.")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--examples", type=int, default=2000, help="examples per property per round")
    args = ap.parse_args(argv)
    logging.getLogger("mock_opend").setLevel(logging.ERROR)  # framing errors are the point here
    deadline = time.monotonic() + args.minutes * 60
    rounds = 0
    totals: dict[str, int] = {}
    while time.monotonic() < deadline:
        for name, prop in properties(args.examples).items():
            t0 = time.monotonic()
            prop()  # a failure raises with Hypothesis's minimal example
            totals[name] = totals.get(name, 0) + args.examples
            print(f"round {rounds + 1}: {name}: {args.examples} examples in {time.monotonic() - t0:.1f} s", flush=True)
            if time.monotonic() >= deadline:
                break
        rounds += 1
    print(json.dumps({"fuzz": "done", "rounds": rounds, "examples": totals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
