"""What the client sent, held against what it was asked.

The journal says what reached the server; the kit knows what it asked the
driver for.  Every 3301 request a call causes must carry the market, data type
and dates it was asked for; a first page carries no key; each continuation
carries exactly the previous reply's key and the same query.  A client whose
market table maps HK_SECURITY to HK_INDEX, that reuses a remembered key for a
new query, or that pages by dates instead of by key is caught here, by name,
whatever the rows look like.

Normalisations (documented in DRIVER.md): a date bound asked as ``null`` may be
sent empty or filled in with the client's own default; a time of day after the
date is ignored.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_opend.markets import DataType, OptionMarket

from .verdicts import CaseFailure

if TYPE_CHECKING:
    from mock_opend.journal import JournalEntry

PROTO_3301 = 3301
MARKET_WIRE = {"N/A": 0, **{m.name: m.value for m in OptionMarket}}
TYPE_WIRE = {"N/A": -1, **{t.name: t.value for t in DataType}}
_MARKET_NAME = {v: k for k, v in MARKET_WIRE.items()}
_TYPE_NAME = {v: k for k, v in TYPE_WIRE.items()}
# a reply that did not reach the client intact: retrying (or restarting) is fine
LOST = frozenset({"no_reply", "reset", "truncate", "corrupt_sha1", "error"})


@dataclass(frozen=True)
class Asked:
    """One driver call, as the kit asked it."""

    op: str  # "get_option_market_statistic" | "fetch_all"
    market: str
    data_type: str
    begin: str | None
    end: str | None
    key: bytes | None = None

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "option_market": self.market,
            "data_type": self.data_type,
            "begin_time": self.begin,
            "end_time": self.end,
        }
        if self.op != "fetch_all":
            d["page_req_key"] = None if self.key is None else base64.b64encode(self.key).decode()
        return d


def key_of(entry: JournalEntry) -> bytes | None:
    c2s = getattr(entry.request, "c2s", None)
    if c2s is None or not c2s.HasField("nextPageKey"):
        return None
    return bytes(c2s.nextPageKey)


def sent(entry: JournalEntry) -> dict[str, Any]:
    """A request as the report shows it."""
    c2s = getattr(entry.request, "c2s", None)
    if c2s is None:
        return {"undecodable": entry.error or "no c2s"}
    key = key_of(entry)
    return {
        "optionMarket": c2s.optionMarket if c2s.HasField("optionMarket") else None,
        "dataType": c2s.dataType if c2s.HasField("dataType") else None,
        "beginTime": c2s.beginTime,
        "endTime": c2s.endTime,
        "nextPageKey": None if key is None else base64.b64encode(key).decode(),
    }


def _named(table: dict[int, str], value: int) -> str:
    return f"{table.get(value, 'unknown')} ({value})"


def field_problems(asked: Asked, entry: JournalEntry) -> list[str]:
    """How one request differs from the query it was asked (the key aside)."""
    c2s = getattr(entry.request, "c2s", None)
    if c2s is None:
        return [f"the server could not decode the request ({entry.error or 'no c2s'})"]
    out = []
    want = MARKET_WIRE.get(asked.market)
    if not c2s.HasField("optionMarket"):
        if asked.market != "N/A":  # an unknown market may be left out
            out.append(f"asked {asked.market}, sent no optionMarket")
    elif want is not None and c2s.optionMarket != want:
        out.append(f"asked {asked.market} ({want}), sent {_named(_MARKET_NAME, c2s.optionMarket)}")
    want = TYPE_WIRE.get(asked.data_type)
    if not c2s.HasField("dataType"):
        if asked.data_type != "N/A":
            out.append(f"asked {asked.data_type}, sent no dataType")
    elif want is not None and c2s.dataType != want:
        out.append(f"asked {asked.data_type} ({want}), sent {_named(_TYPE_NAME, c2s.dataType)}")
    for name, asked_day, text in (("begin", asked.begin, c2s.beginTime), ("end", asked.end, c2s.endTime)):
        if asked_day is not None and text[:10] != asked_day:
            out.append(f"asked {name} {asked_day}, sent {text!r}" if text else f"asked {name} {asked_day}, sent none")
    return out


def _delivered(entry: JournalEntry) -> bool:
    """The reply reached the client as a success."""
    return entry.ret_type == 0 and entry.extra.get("fault") not in LOST


def _fail(message: str, asked: Asked, entry: JournalEntry) -> CaseFailure:
    return CaseFailure(message, expected=asked.describe(), actual=sent(entry))


def check_page_call(asked: Asked, entries: list[JournalEntry]) -> None:
    """One page: every request (a retry repeats it) is the call's query and key."""
    for i, e in enumerate(entries, 1):
        where = "the request" if len(entries) == 1 else f"request {i} of {len(entries)}"
        problems = field_problems(asked, e)
        if problems:
            raise _fail(f"{where} is not what the caller asked: {'; '.join(problems)}", asked, e)
        key = key_of(e)
        if asked.key is None and key is not None:
            raise _fail(
                f"{where} carries a page key the caller did not give (a first page carries none; "
                "is a key from an earlier query reused?)",
                asked,
                e,
            )
        if asked.key is not None and key != asked.key:
            what = "no key" if key is None else "another key"
            raise _fail(f"{where} carries {what}, not the page key the caller gave", asked, e)


def check_paging_call(asked: Asked, entries: list[JournalEntry]) -> None:
    """A whole-range read: the first page without a key, then each continuation
    with the previous reply's key, all with the same query; a request repeated
    or restarted after a reply that did not arrive is a retry, not a mistake."""
    if not entries:
        return
    first = entries[0]
    if key_of(first) is not None:
        raise _fail(
            "the call's first request carries a page key: no first page was asked for (a key from an earlier "
            "query reused, or a first page answered from a cache?)",
            asked,
            first,
        )
    first_pages = 1
    for prev, e in itertools.pairwise(entries):
        key = key_of(e)
        if key is None:
            if _delivered(prev):
                first_pages += 1
            continue
        allowed = {prev.next_key} if _delivered(prev) else {prev.next_key, key_of(prev)}
        if key not in allowed:
            raise _fail(
                f"page {entries.index(e) + 1} carries a key that is not the previous reply's nextPageKey", asked, e
            )
    if first_pages > 1:
        raise CaseFailure(
            f"{first_pages} first pages for one query; continuation pages must carry the key "
            "(send the previous reply's nextPageKey with the same query, not a new first page)",
            expected="1 first page, then continuations with nextPageKey",
            actual=[sent(e) for e in entries[:6]],
        )
    for i, e in enumerate(entries, 1):
        problems = field_problems(asked, e)
        if problems:
            raise _fail(f"page {i} is not the query the caller asked: {'; '.join(problems)}", asked, e)


def check_call(asked: Asked, entries: list[JournalEntry]) -> None:
    mine = [e for e in entries if e.proto_id == PROTO_3301]
    if asked.op == "fetch_all":
        check_paging_call(asked, mine)
    else:
        check_page_call(asked, mine)
