"""The frame codec: header layout, reassembly from any chunking, fatal errors."""

from __future__ import annotations

import hashlib
import struct

from hypothesis import given
from hypothesis import strategies as st

from mock_opend.frame import HEADER_LEN, Frame, FrameDecoder, FrameHeader, FramingError, encode_frame

u32 = st.integers(0, 2**32 - 1)


def test_header_matches_the_sdk_struct_layout() -> None:
    body = b"\x0a\x02\x08\x01"
    data = encode_frame(3301, 6137, body, fmt=1)
    # the Python SDK packs with '<1s1sI2B2I20s8s'
    magic1, magic2, proto, fmt, ver, serial, length, sha, reserved = struct.unpack("<1s1sI2B2I20s8s", data[:44])
    assert (magic1 + magic2, proto, fmt, ver, serial, length) == (b"FT", 3301, 1, 0, 6137, 4)
    assert sha == hashlib.sha1(body).digest() and reserved == bytes(8)
    assert data[44:] == body and HEADER_LEN == 44


def test_documented_initconnect_header_bytes() -> None:
    body = bytes.fromhex("0a2608ac02120850794e6f726d616c180120ffffffffffffffffff0128003206507974686f6e3800")
    data = encode_frame(1001, 6137, body)
    assert data[:16].hex(" ") == "46 54 e9 03 00 00 00 00 f9 17 00 00 28 00 00 00"


@given(proto=u32, serial=u32, fmt=st.integers(0, 255), body=st.binary(max_size=2048))
def test_encode_decode_round_trip(proto: int, serial: int, fmt: int, body: bytes) -> None:
    (frame,) = FrameDecoder().feed(encode_frame(proto, serial, body, fmt=fmt))
    assert isinstance(frame, Frame)
    h = frame.header
    assert (h.proto_id, h.serial, h.fmt, h.body_len, frame.body) == (proto, serial, fmt, len(body), body)
    assert frame.sha1_ok


@given(
    bodies=st.lists(st.binary(max_size=300), min_size=1, max_size=8),
    cuts=st.lists(st.integers(0, 4000), max_size=20),
)
def test_any_chunking_yields_the_same_frames(bodies: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(3301, i, b) for i, b in enumerate(bodies))
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    dec = FrameDecoder()
    frames = [f for c in chunks for f in dec.feed(c)]
    assert [f.body for f in frames if isinstance(f, Frame)] == bodies
    assert [f.header.serial for f in frames if isinstance(f, Frame)] == list(range(len(bodies)))
    assert dec.buffered == 0


def test_zero_length_body_is_a_frame() -> None:
    (frame,) = FrameDecoder().feed(encode_frame(1004, 1, b""))
    assert isinstance(frame, Frame) and frame.body == b""


def test_wrong_sha1_is_reported_not_fatal() -> None:
    data = bytearray(encode_frame(3301, 9, b"abc"))
    data[20] ^= 0xFF
    dec = FrameDecoder()
    (frame,) = dec.feed(bytes(data))
    assert isinstance(frame, Frame) and not frame.sha1_ok
    assert not dec.broken


def test_bad_magic_breaks_the_stream() -> None:
    data = b"XY" + encode_frame(3301, 9, b"abc")[2:]
    dec = FrameDecoder()
    (err,) = dec.feed(data + encode_frame(3301, 10, b"next"))
    assert isinstance(err, FramingError) and err.kind == "bad_magic" and err.header.serial == 9
    assert dec.broken and dec.feed(encode_frame(1, 1, b"")) == []


def test_absurd_body_length_is_refused_before_buffering() -> None:
    header = FrameHeader(3301, 5, 0xFFFFFFF0, bytes(20)).pack()
    dec = FrameDecoder(max_body_len=1024)
    (err,) = dec.feed(header)
    assert isinstance(err, FramingError) and err.kind == "body_too_large"
    assert err.header.body_len == 0xFFFFFFF0


def test_frames_before_an_error_are_kept() -> None:
    good = encode_frame(1004, 1, b"x")
    (f1, err) = FrameDecoder().feed(good + b"ZZ" + bytes(60))
    assert isinstance(f1, Frame) and isinstance(err, FramingError)
