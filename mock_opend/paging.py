"""Opaque, stateless, tamper-proof page keys for proto 3301.

A key carries the query it belongs to, the range resolved on its first page and
a cursor (the newest day not yet served), signed with an HMAC.  The secret is
random per server process unless ``page_key_secret`` pins it (the seed is
public, so keys signed with it could be forged): with a pinned secret a restart
accepts old keys; another process or any edit does not.  Keys are ASCII, so
they also survive the Python SDK's JSON mode.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import date
from typing import Final

PREFIX: Final = b"v1."
_PAYLOAD: Final = struct.Struct(">BbIIIII")
_TAG_LEN: Final = 16
_KEY_BYTES: Final = _PAYLOAD.size + _TAG_LEN


_REASONS: Final[dict[str, tuple[str, str]]] = {
    "prefix": (
        "不是 mock-opend 签发的 key（缺少 'v1.' 前缀）",
        "not a key issued by mock-opend (no 'v1.' prefix)",
    ),
    "encoding": ("不是 mock-opend 签发的 key（编码错误）", "not a key issued by mock-opend (bad encoding)"),
    "length": (
        "key 被截断或加长（{got} 字节，应为 {want} 字节）",
        "truncated or padded key ({got} bytes, expected {want})",
    ),
    "signature": (
        "签名不符：key 被修改过，或由另一个服务器进程签发",
        "signature mismatch: the key was altered or issued by another server process",
    ),
    "contents": ("key 内容损坏", "corrupt key contents"),
}


class PageKeyError(ValueError):
    """A key that is not one of ours, in words a user can act on."""

    def __init__(self, reason: str, **params: int) -> None:
        super().__init__(_REASONS[reason][1].format(**params))
        self.reason = reason
        self.params = params

    def detail(self, lang: str) -> str:
        zh, en = _REASONS[self.reason]
        return (zh if lang == "zh" else en).format(**self.params)


@dataclass(frozen=True, slots=True)
class QueryId:
    """What a continuation must repeat: market, type and the requested dates."""

    market: int
    data_type: int
    begin: date | None
    end: date | None

    def describe(self) -> str:
        b = self.begin.isoformat() if self.begin else "default"
        e = self.end.isoformat() if self.end else "default"
        return f"optionMarket={self.market}, dataType={self.data_type}, {b}..{e}"


@dataclass(frozen=True, slots=True)
class PageCursor:
    query: QueryId
    first: date  # resolved range, oldest day
    last: date  # resolved range, newest day
    cursor: date  # the next page holds days <= cursor


def _ordinal(d: date | None) -> int:
    return 0 if d is None else d.toordinal()


def _from_ordinal(n: int) -> date | None:
    return None if n == 0 else date.fromordinal(n)


class PageKeys:
    def __init__(self, secret: int | str | bytes) -> None:
        """Keys are signed with a key derived from ``secret``: random per process
        by default (Gateway), a user's fixed string when keys must survive a restart."""
        raw = secret if isinstance(secret, bytes) else str(secret).encode()
        self._secret = hashlib.sha256(b"mock-opend page key v1|" + raw).digest()

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:_TAG_LEN]

    def make(self, page: PageCursor) -> bytes:
        q = page.query
        payload = _PAYLOAD.pack(
            q.market,
            q.data_type,
            _ordinal(q.begin),
            _ordinal(q.end),
            page.first.toordinal(),
            page.last.toordinal(),
            page.cursor.toordinal(),
        )
        return PREFIX + base64.urlsafe_b64encode(payload + self._tag(payload)).rstrip(b"=")

    def read(self, key: bytes) -> PageCursor:
        if not key.startswith(PREFIX):
            raise PageKeyError("prefix")
        text = key[len(PREFIX) :]
        try:
            raw = base64.b64decode(text + b"=" * (-len(text) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise PageKeyError("encoding") from None
        if base64.urlsafe_b64encode(raw).rstrip(b"=") != text:
            raise PageKeyError("encoding")
        if len(raw) != _KEY_BYTES:
            raise PageKeyError("length", got=len(raw), want=_KEY_BYTES)
        payload, tag = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        if not hmac.compare_digest(tag, self._tag(payload)):
            raise PageKeyError("signature")
        market, dtype, qb, qe, first, last, cursor = _PAYLOAD.unpack(payload)
        try:
            return PageCursor(
                QueryId(market, dtype, _from_ordinal(qb), _from_ordinal(qe)),
                date.fromordinal(first),
                date.fromordinal(last),
                date.fromordinal(cursor),
            )
        except (ValueError, OverflowError):
            raise PageKeyError("contents") from None
