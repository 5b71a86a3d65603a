"""The 44-byte OpenD frame header and a sans-I/O stream decoder.

Layout (little-endian, packed): magic ``FT`` | proto_id u32 | fmt u8 |
proto_ver u8 | serial u32 | body_len u32 | sha1 20 bytes | reserved 8 bytes,
then ``body_len`` body bytes.  ``body_len`` counts the bytes on the wire
(ciphertext when encrypted); ``sha1`` is over the plaintext body.

The decoder never touches a socket: feed it bytes, get frames or one fatal
``FramingError`` (after which the stream cannot be resynchronised).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Final, NamedTuple

MAGIC: Final = b"FT"
HEADER: Final = struct.Struct("<2sIBBII20s8s")
HEADER_LEN: Final = HEADER.size  # 44
RESERVED: Final = bytes(8)

FMT_PROTOBUF: Final = 0
FMT_JSON: Final = 1

DEFAULT_MAX_BODY_LEN: Final = 1 << 20


class FrameHeader(NamedTuple):  # a tuple: built for every frame, it must be cheap
    proto_id: int
    serial: int
    body_len: int
    sha1: bytes
    fmt: int = FMT_PROTOBUF
    proto_ver: int = 0
    magic: bytes = MAGIC
    reserved: bytes = RESERVED

    def pack(self) -> bytes:
        return HEADER.pack(
            self.magic,
            self.proto_id,
            self.fmt,
            self.proto_ver,
            self.serial,
            self.body_len,
            self.sha1,
            self.reserved,
        )

    @classmethod
    def unpack(cls, data: bytes | bytearray | memoryview) -> FrameHeader:
        magic, proto_id, fmt, ver, serial, body_len, sha1, reserved = HEADER.unpack(data)
        return _new_header(cls, (proto_id, serial, body_len, sha1, fmt, ver, magic, reserved))


_new_header = tuple.__new__


class Frame(NamedTuple):
    header: FrameHeader
    body: bytes

    @property
    def sha1_ok(self) -> bool:
        return hashlib.sha1(self.body).digest() == self.header.sha1


@dataclass(frozen=True, slots=True)
class FramingError:
    """The byte stream is broken beyond repair; ``header`` is what was read."""

    kind: str  # "bad_magic" | "body_too_large"
    header: FrameHeader


def encode_frame(
    proto_id: int,
    serial: int,
    body: bytes,
    *,
    fmt: int = FMT_PROTOBUF,
    plaintext: bytes | None = None,
) -> bytes:
    """One frame; ``plaintext`` is what the SHA-1 covers when ``body`` is ciphertext."""
    digest = hashlib.sha1(body if plaintext is None else plaintext).digest()
    return FrameHeader(proto_id, serial, len(body), digest, fmt).pack() + body


class FrameDecoder:
    """Reassembles frames from arbitrary chunks of a TCP stream."""

    __slots__ = ("_buf", "_max_body_len", "broken")

    def __init__(self, max_body_len: int = DEFAULT_MAX_BODY_LEN) -> None:
        self._buf = bytearray()
        self._max_body_len = max_body_len
        self.broken = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Drop what is buffered (the connection is gone)."""
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame | FramingError]:
        if self.broken:
            return []
        buf = self._buf
        if not buf and len(data) >= HEADER_LEN:  # the common case: one whole frame, nothing before it
            header = FrameHeader.unpack(data[:HEADER_LEN])
            if (
                header.magic == MAGIC
                and header.body_len <= self._max_body_len
                and len(data) == HEADER_LEN + header.body_len
            ):
                return [Frame(header, data[HEADER_LEN:])]
        buf += data
        out: list[Frame | FramingError] = []
        pos = 0
        end = len(buf)
        while end - pos >= HEADER_LEN:
            header = FrameHeader.unpack(memoryview(buf)[pos : pos + HEADER_LEN])
            if header.magic != MAGIC:
                out.append(FramingError("bad_magic", header))
                break
            if header.body_len > self._max_body_len:
                out.append(FramingError("body_too_large", header))
                break
            total = HEADER_LEN + header.body_len
            if end - pos < total:
                break
            out.append(Frame(header, bytes(buf[pos + HEADER_LEN : pos + total])))
            pos += total
        if out and isinstance(out[-1], FramingError):
            self.broken = True
            buf.clear()
        elif pos:
            del buf[:pos]
        return out
