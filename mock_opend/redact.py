"""What a recording must never hold, and how it is kept out.

A recorder writes files that are assumed to end up in a public repository, so
secrets are kept out twice over:

- **By field name, deny by default.** Besides the named account and session
  fields (``stubs.DEFAULT_REDACT``) and the user's ``record_redact`` rules, any
  field whose name has a credential-like word in it (key, token, secret,
  password, sign, cookie, auth…: ``webKey``, ``websocketKey``, ``connAESKey``)
  (or, lower-cased, contains one: ``apikey``, ``accesstoken``,
  ``authorization``) is replaced, unless it is data a replay needs (the paging
  cursors ``nextPageKey`` and ``nextReqKey``, ``typeSign``, ``session``).
- **By value, in every encoding.** The live session's ids and keys (the
  upstream's connID and loginUserID, its AES key and IV, the client's connID)
  are looked for wherever they may hide: as a number or a decimal string value,
  inside a longer text, as a JSON object key, as a float, inside a bytes field
  (a paging cursor that carries session state); in bytes kept as base64, as a
  varint or zigzag varint, fixed32/fixed64 either way round, a double, decimal,
  hex or base64 text.  Only values long
  enough to be unambiguous are looked for (``MIN_CHARS``): ``loginUserID = 1``
  would otherwise turn every 1 of a recording (a market, a volume) into a
  placeholder.  A value too short is said so in the recording's journal note,
  and field names alone protect it.

``scrub`` reports exactly the fields it changed, so what the journal says was
redacted is what was redacted.
"""

from __future__ import annotations

import base64
import functools
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

MIN_CHARS = 6  # an id or key is looked for by value only from this many digits or characters
SAFE_NAMES = frozenset(  # data, not credentials: paging cursors a replay needs (their bytes are still
    # checked for the session's ids), a ticker's sign type, a trading session
    {"nextPageKey", "nextReqKey", "typeSign", "session", "keyword", "keywords"}
)
# anywhere in a lower-cased name: "apikey", "accesstoken", "authorization", "webkeys", "passphrase"
CREDENTIAL_PARTS = (
    "key",
    "token",
    "secret",
    "passw",
    "passphrase",
    "pwd",
    "sign",
    "cookie",
    "credential",
    "auth",
    "sessionid",
    "cert",
    "bearer",
    "passcode",
)
CREDENTIAL_WORDS = frozenset(
    {
        "key",
        "keys",
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwd",
        "pwd",
        "sign",
        "signature",
        "cookie",
        "cookies",
        "credential",
        "credentials",
        "auth",
        "cert",
        "otp",
        "salt",
        "iv",
        "pin",
        "webkey",
    }
)
REDACTED = "REDACTED"
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(name: str) -> list[str]:
    """``'connAESKey'`` → ``['conn', 'aes', 'key']``; ``'web_key'`` → ``['web', 'key']``."""
    return [w.lower() for w in _WORD.findall(name)]


@functools.lru_cache(maxsize=4096)
def credential_like(name: str) -> bool:
    """Whether a field of this name may carry a credential (deny by default)."""
    if name in SAFE_NAMES:
        return False
    lowered = name.lower()
    return (
        lowered in CREDENTIAL_WORDS
        or any(w in CREDENTIAL_WORDS for w in words(name))
        or any(part in lowered for part in CREDENTIAL_PARTS)
    )


@dataclass(frozen=True)
class Secrets:
    """The session's ids and keys: those long enough to look for by value, and
    a note for each one that is not."""

    numbers: tuple[int, ...] = ()
    texts: tuple[str, ...] = ()
    too_short: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str | int | None]) -> Secrets:
        numbers: list[int] = []
        texts: list[str] = []
        short: list[str] = []
        for v in values:
            if v is None or v == "" or isinstance(v, bool):
                continue
            if isinstance(v, int):
                if v == 0:
                    continue
                if len(str(abs(v))) >= MIN_CHARS:
                    numbers.append(v)
                else:
                    short.append(f"an id of {len(str(abs(v)))} digit(s)")
            elif len(v) >= MIN_CHARS:
                texts.append(v)
                if v.isdigit():
                    numbers.append(int(v))
            else:
                short.append(f"a key of {len(v)} character(s)")
        return cls(tuple(dict.fromkeys(numbers)), tuple(dict.fromkeys(texts)), tuple(dict.fromkeys(short)))

    @property
    def note(self) -> str:
        """What the journal says of values too short to look for."""
        if not self.too_short:
            return ""
        return f"{', '.join(self.too_short)} too short to redact by value: only fields named like ids were redacted"

    @functools.cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        """Every value as text, in any case: decimal, hex (of the numbers), the texts themselves."""
        forms = {*self.texts, *(str(n) for n in self.numbers), *(f"{n:x}" for n in self.numbers if n > 0)}
        forms = {f for f in forms if len(f) >= MIN_CHARS}
        if not forms:
            return None
        return re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)), re.IGNORECASE)

    def in_text(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(text) is not None

    def hide_in_text(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(REDACTED, text)

    def equal_number(self, value: float) -> bool:
        return any(value == n for n in self.numbers)

    def in_bytes(self, data: bytes) -> str:
        """How a secret appears in raw bytes ('' when it does not)."""
        lowered = data.lower()
        for n in self.numbers:
            if n > 0 and _varint(n) in data:
                return "a varint"
            if _varint((n << 1) ^ (n >> 63) if n < 0 else n << 1) in data:
                return "a zigzag varint"
            if 0 < n < 1 << 32 and (struct.pack("<I", n) in data or struct.pack(">I", n) in data):
                return "a fixed32"
            if -(1 << 63) <= n < 1 << 64:
                fmt = "Q" if n >= 0 else "q"
                if struct.pack("<" + fmt, n) in data or struct.pack(">" + fmt, n) in data:
                    return "a fixed64"
            if abs(n) < 1 << 53 and (struct.pack("<d", float(n)) in data or struct.pack(">d", float(n)) in data):
                return "a double"
            if str(n).encode() in data:
                return "decimal text"
            if f"{n:x}".encode() in lowered:
                return "hex text"
        for t in self.texts:
            raw = t.encode()
            if raw in data or raw.lower() in lowered:
                return "text"
            if raw.hex().encode() in lowered:
                return "hex text"
            if base64.b64encode(raw).rstrip(b"=") in data:
                return "base64 text"
        return ""


def shown(text: str, secrets: Iterable[str | int], limit: int) -> str:
    """A text someone else wrote (an upstream's retMsg or refusal) as the journal,
    the log and error replies carry it: the session's ids and keys hidden, then cut
    to ``limit`` characters with its length (hidden first, so that an id across the
    cut is never half shown)."""
    values = tuple(secrets)
    margin = max((len(str(v)) for v in values), default=0)
    head = text[: limit + margin]
    out = Secrets.of(values).hide_in_text(head) if values else head
    if len(text) > limit:
        out = out[:limit] + f"… ({len(text)} characters)"
    return out


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


@dataclass
class Scrubbed:
    doc: Any
    redacted: list[str] = field(default_factory=list)  # paths of what was changed, in order
    ignore: list[str] = field(default_factory=list)  # rules a stub's matching must leave out
    learned: tuple[Any, ...] = ()  # values of credential-like fields: secrets of the session from now on


def placeholder(value: Any) -> Any:
    """A stand-in of the same JSON kind (int64 fields are JSON strings of digits)."""
    if isinstance(value, list):
        return []
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return 0
    if isinstance(value, str):
        return "0" if value.lstrip("-").isdigit() else REDACTED
    if isinstance(value, dict):
        return {}
    return None


def scrub(doc: Any, rules: Sequence[str], secrets: Secrets) -> Scrubbed:
    """A copy of ``doc`` (protobuf JSON or any JSON) with every field a rule
    names (a name at any depth, or a dotted path from the top), every
    credential-like field, and every long-enough id or key of ``secrets``
    (as a value, inside a text, as a key, as a number) replaced."""
    names = {r for r in rules if "." not in r}
    paths = [r.split(".") for r in rules if "." in r]
    out = Scrubbed(None)
    learned = [v for v in _credential_values(doc, [], frozenset(names)) if looks_secret(v)]  # not the id names
    if learned:  # a key seen under its own name is looked for everywhere else too
        secrets = Secrets.of([*secrets.texts, *secrets.numbers, *learned])
        out.learned = tuple(dict.fromkeys(learned))

    def hit(path: list[str], rule: str) -> None:
        out.redacted.append(".".join(path))
        out.ignore.append(rule)

    def walk(node: Any, path: list[str]) -> Any:
        if isinstance(node, dict):
            new: dict[str, Any] = {}
            for key, value in node.items():
                name = key
                if isinstance(key, str) and secrets.in_text(key):  # the key itself holds an id: only
                    name = secrets.hide_in_text(key)  # its hidden form goes anywhere from here on
                    hit([*path, name], name)
                here = [*path, name]
                if _named(key, [*path, key], names, paths):
                    new[name] = placeholder(value)
                    hit(here, name)
                    continue
                new[name] = walk(value, here)
            return new
        if isinstance(node, list):
            return [walk(v, path) for v in node]
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int | float):
            if secrets.equal_number(node):
                hit(path, path[-1] if path else "*")
                return 0
            return node
        if isinstance(node, str) and secrets.in_text(node):
            hit(path, path[-1] if path else "*")
            if node.lstrip("-").isdigit():
                return "0"
            return secrets.hide_in_text(node)
        if isinstance(node, str) and len(node) >= 8 and (secrets.numbers or secrets.texts):
            raw = _maybe_base64(node)  # a bytes field (protobuf JSON): a cursor may carry session state
            if raw is not None and secrets.in_bytes(raw):
                hit(path, path[-1] if path else "*")
                return ""
        return node

    out.doc = walk(doc, [])
    out.ignore = [r for r in dict.fromkeys(out.ignore) if len(r) <= 200 and RULE_NAME.fullmatch(r)]
    return out


RULE_NAME = re.compile(r"[A-Za-z_*][A-Za-z0-9_*-]*")  # a field name a stub's ignore rule can hold (stubs.RULE_RE)


def _named(key: Any, path: list[str], names: set[str], paths: list[list[str]]) -> bool:
    """Is this field redacted by its name (a rule, or credential-like)?"""
    return key in names or (isinstance(key, str) and credential_like(key)) or any(_matches(p, path) for p in paths)


# names a value is learned under: a word of the name is one of these (``webKey``, ``access_token``,
# ``apiSecret``), not merely a credential-like part (``signType``, ``author``, ``designation``)
LEARN_WORDS = frozenset({"key", "token", "secret", "password", "passwd", "pwd", "passphrase", "cookie"})
_LEARN_ENDS = tuple(w + s for w in LEARN_WORDS for s in ("", "s"))


def learns_from(name: str) -> bool:
    """``webKey``, ``WEBKEY``, ``accesstoken``, ``api_secrets``: a word of the name, or
    its end in lower case, is key, token, secret, password, pwd, passphrase or cookie."""
    if name in SAFE_NAMES:  # paging cursors (nextPageKey, nextReqKey) are data a replay needs
        return False
    lowered = name.lower()
    return any(w.rstrip("s") in LEARN_WORDS or w in LEARN_WORDS for w in words(name)) or lowered.endswith(_LEARN_ENDS)


def _credential_values(node: Any, path: list[str], skip: frozenset[str] = frozenset()) -> Iterator[Any]:
    """Every text under a field named as a key, token, secret or password (not under
    the id names, the user's rules, or names only like a credential: a nickname, a
    listing date, a signType are data)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key not in skip and learns_from(key):
                yield from (v for _, v in _leaves(key, value))
            else:
                yield from _credential_values(value, [*path, str(key)], skip)
    elif isinstance(node, list):
        for value in node:
            yield from _credential_values(value, path, skip)


LEARN_MIN, LEARN_MAX = 12, 256  # characters of a value learned from a credential field


def looks_secret(value: Any) -> bool:
    """A value worth looking for everywhere once seen under a key's or token's name:
    a text of 12..256 characters, no spaces, with letters and digits, or from 16
    characters with both cases (a webKey, a token).  A short, spaced, all-digit
    or one-case value (``000001``, ``SHA256``, ``market``, ``Tencent Holdings``)
    would turn ordinary data into placeholders."""
    if not isinstance(value, str) or not LEARN_MIN <= len(value) <= LEARN_MAX or any(c.isspace() for c in value):
        return False
    digits, lower, upper = (any(f(c) for c in value) for f in (str.isdigit, str.islower, str.isupper))
    # letters and digits; or, at 16 characters and more, both cases (a random token without a digit)
    return (digits and (lower or upper)) or (len(value) >= 16 and lower and upper)


def _leaves(key: Any, node: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(k, v)
    elif isinstance(node, list):
        for v in node:
            yield from _leaves(key, v)
    elif isinstance(node, str) or (isinstance(node, int) and not isinstance(node, bool)):
        yield key, node


def _maybe_base64(text: str) -> bytes | None:
    """The bytes of standard or URL-safe base64 (never a mix of the two alphabets)."""
    if len(text) > 1 << 20 or not _B64.fullmatch(text):
        return None
    urlsafe = "-" in text or "_" in text
    if urlsafe and ("+" in text or "/" in text):
        return None
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_" if urlsafe else None, validate=True)
    except ValueError:
        return None


_B64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


def _matches(pattern: list[str], path: list[str]) -> bool:
    return len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path, strict=True))
