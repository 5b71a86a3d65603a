"""``mock-opend parity``: where the mock and a real OpenD differ, measured.

The mock's 3301 was built from the API page, the SDK's source and the proto's
comments, and these disagree (over a year: reject, or paginate?).  Nobody here
can reach a real gateway, but every user with an account can.  This module runs
one fixed script of exchanges (``SCRIPT`` below, documented in
docs/parity.md) against the user's gateway and against a mock started
in-process with the gateway's own date, and compares what came back
behaviour by behaviour: ``validated`` (the same), ``divergent`` (both sides
shown) or ``skipped`` (with the reason).  Values (volumes, open interest) are
compared by shape only — never by number.  From the differences it proposes
the mock settings that match the gateway best (``parity.toml``).

Each side is one blocking session (``gateway_client.GatewaySession``, as
``mock-opend record`` uses), paced under the gateway's 60-per-30-s limit on
3301 requests by the same pacer.
"""

from __future__ import annotations

import base64
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from google.protobuf import json_format

from .crypto import RsaKey
from .gateway_client import GatewayError, GatewaySession, Pacer, keep_alive_period
from .gateway_client import rate_limited as gateway_rate_limited
from .proto_ids import message_types
from .rate_limit import parse_rate
from .redact import Secrets

MARKETS: Final = {"US_SECURITY": 1, "US_INDEX": 2, "HK_SECURITY": 3, "HK_INDEX": 4}
TYPES: Final = {"VOLUME": 0, "OPEN_INTEREST": 1}
ZONES: Final = {1: "America/New_York", 2: "America/New_York", 3: "Asia/Hong_Kong", 4: "Asia/Hong_Kong"}
PACE: Final = "50/30s"  # 3301 requests per window: under the gateway's 60 per 30 s, pages included
MAX_PAGES: Final = 20  # pages followed for one query
RATE_WINDOW: Final = 30.0  # seconds: the gateway's documented 3301 window
VALIDATED, DIVERGENT, SKIPPED = "validated", "divergent", "skipped"


ParityError = GatewayError  # the gateway cannot be reached, or is not an OpenD: one line, exit 2
RATE_RETRIES: Final = 3
RATE_PROBES: Final = 80  # first pages sent to find the rate limit


def rate_limited(doc: dict[str, Any]) -> bool:
    """A refusal for the request rate (the mock's RATE_LIMITED, or a gateway's text that says so)."""
    if doc.get("retType", -400) == 0:
        return False
    return doc.get("errCode") == 3301008 or gateway_rate_limited(str(doc.get("retMsg", "")))


# -- one side's session ------------------------------------------------------------------
@dataclass
class Exchange:
    proto_id: int
    request: dict[str, Any]
    reply: dict[str, Any]  # protobuf JSON of the Response
    raw_request: bytes
    raw_reply: bytes


class Session:
    """One side (the gateway or the mock): a ``GatewaySession`` whose requests and
    replies are protobuf JSON, paced under the gateway's 3301 limit."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        rsa: RsaKey | None = None,
        timeout: float = 15.0,
        pace: str = PACE,
        label: str = "the gateway",
    ) -> None:
        self.label = label
        self.where = f"{host}:{port}" if label == "the gateway" else f"{label} ({host}:{port})"
        self.session = GatewaySession(host, port, name=self.where, client_id="mock-opend-parity", rsa=rsa,
                                      timeout=timeout)  # fmt: skip
        self.ready = self.session.ready
        spec = parse_rate(pace)  # None: "off"
        period = keep_alive_period(self.ready)
        self.pacer = None if spec is None else Pacer(spec, self.session.keep_alive, period)
        self.paced = True  # False while the rate limit itself is measured
        self.exchanges: list[Exchange] = []
        self.first_pages: list[float] = []  # when each 3301 first page that was served left

    def ask(self, proto_id: int, c2s: dict[str, Any]) -> dict[str, Any]:
        """One request; the Response as protobuf JSON (int64 as strings, bytes as base64).
        A 3301 refused for its rate (the account used elsewhere, or a run just before)
        is asked again after the window, twice at most: a limit is never a behaviour."""
        for _ in range(RATE_RETRIES):
            doc = self._ask(proto_id, c2s)
            if not (proto_id == 3301 and self.paced and rate_limited(doc)):
                return doc
            print(
                f"parity: {self.label} refused for its rate limit ({doc.get('retMsg', '')[:80]}); "
                f"waiting {RATE_WINDOW:g} s",
                file=sys.stderr,
                flush=True,
            )
            if self.pacer is not None:
                self.pacer.sleep(RATE_WINDOW + 1)  # with KeepAlive
            else:
                time.sleep(RATE_WINDOW + 1)
        raise ParityError(f"{self.label} {self.where} keeps refusing 3301 for its rate limit: run again later")

    def _ask(self, proto_id: int, c2s: dict[str, Any]) -> dict[str, Any]:
        types = message_types(proto_id)
        assert types is not None and types[0] is not None
        paced = proto_id == 3301 and self.paced and self.pacer is not None
        if paced:
            assert self.pacer is not None
            self.pacer.wait_turn(_said_pacing)
        sent = time.monotonic()
        raw = json_format.ParseDict({"c2s": c2s}, types[0]()).SerializePartialToString()
        reply = self.session.request(proto_id, raw)
        if paced:
            assert self.pacer is not None
            self.pacer.answered()
        response = types[1]()
        try:
            response.ParseFromString(reply.body)
        except Exception as exc:  # protobuf's DecodeError and kin: a reply in another shape
            raise ParityError(f"{self.where}: proto {proto_id} reply does not decode: {exc}") from None
        doc = json_format.MessageToDict(response, preserving_proto_field_name=True)
        if doc.get("retMsg") and self.ready.secrets:  # the reports quote texts: never the session's ids
            doc["retMsg"] = Secrets.of(self.ready.secrets).hide_in_text(doc["retMsg"])
        if proto_id == 3301 and "nextPageKey" not in c2s and doc.get("retType", -400) == 0:
            self.first_pages.append(sent)  # a first page served: what a rate limit counts
        self.exchanges.append(Exchange(proto_id, {"c2s": c2s}, doc, raw, reply.body))
        return doc

    def close(self) -> None:
        self.session.close()


def _said_pacing(seconds: float) -> None:
    print(f"parity: pacing, {seconds:.0f} s under the gateway's 3301 limit", file=sys.stderr, flush=True)


# -- what is compared ---------------------------------------------------------------------
@dataclass
class Behaviour:
    id: str
    title: str
    status: str = VALIDATED
    gateway: Any = None
    mock: Any = None
    reason: str = ""
    setting: dict[str, Any] = field(default_factory=dict)  # mock settings that match the gateway here

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "gateway": self.gateway,
            "mock": self.mock,
            "reason": self.reason,
            "setting": self.setting,
        }


def compare(bid: str, title: str, gateway: Any, mock: Any, setting: dict[str, Any] | None = None) -> Behaviour:
    status = VALIDATED if gateway == mock else DIVERGENT
    return Behaviour(bid, title, status, gateway, mock, setting=(setting or {}) if status == DIVERGENT else {})


def skipped(bid: str, title: str, reason: str) -> Behaviour:
    return Behaviour(bid, title, SKIPPED, reason=reason)


@dataclass
class Query:
    """What one fetch of a market × type saw: its pages and the shape of its rows."""

    ok: bool
    error: tuple[int, int, str] | None = None  # retType, errCode, retMsg of a refusal
    pages: list[int] = field(default_factory=list)  # rows per page
    keys: list[bool] = field(default_factory=list)  # a nextPageKey on each page
    days: list[str] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    ratio_rule: bool = True  # ratio == round(put / call, 6) wherever present
    midnight: bool = True  # timestamp == the day's local midnight wherever present
    totals: bool = True  # totalValue == call + put, nothing negative
    first_key: str | None = None  # the first page's key (base64), for the foreign-key probe


def fetch(session: Session, market: int, dtype: int, begin: str, end: str) -> Query:
    key: str | None = None
    q = Query(ok=True)
    zone = ZoneInfo(ZONES[market])
    for _ in range(MAX_PAGES):
        c2s: dict[str, Any] = {"optionMarket": market, "dataType": dtype, "beginTime": begin, "endTime": end}
        if key is not None:
            c2s["nextPageKey"] = key
        doc = session.ask(3301, c2s)
        if doc.get("retType", -400) != 0:
            return Query(ok=False, error=(doc.get("retType"), doc.get("errCode", 0), doc.get("retMsg", "")))
        s2c = doc.get("s2c", {})
        rows = s2c.get("statisticList", [])
        q.pages.append(len(rows))
        key = s2c.get("nextPageKey")
        q.keys.append(key is not None)
        if q.first_key is None and key is not None:
            q.first_key = key
        for row in rows:
            q.days.append(row["time"])
            q.fields |= set(row)
            call, put = int(row["callValue"]), int(row["putValue"])
            if call < 0 or put < 0 or ("totalValue" in row and int(row["totalValue"]) != call + put):
                q.totals = False
            if "ratio" in row and (call == 0 or not math.isclose(row["ratio"], round(put / call, 6), abs_tol=1e-9)):
                q.ratio_rule = False
            if "timestamp" in row:
                midnight = datetime.fromisoformat(row["time"]).replace(tzinfo=zone).timestamp()
                q.midnight = q.midnight and row["timestamp"] == midnight
        if key is None:
            return q
    return q


def _error(doc: dict[str, Any]) -> tuple[int, int, str] | None:
    return None if doc.get("retType", -400) == 0 else (doc.get("retType"), doc.get("errCode", 0), doc.get("retMsg", ""))


def language(text: str) -> str:
    return "zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en"


# -- the script -----------------------------------------------------------------------------
@dataclass
class Sides:
    gateway: Session
    mock: Session
    today: date  # the gateway's date (New York)
    include_rate_limit: bool = False
    progress: Callable[[str], None] = lambda _: None
    serves_3301: bool = True  # what the first 3301 probe found
    keys: dict[tuple[int, int], tuple[str | None, str | None]] = field(default_factory=dict)  # first-page keys


def run(sides: Sides) -> list[Behaviour]:
    """The whole script, in order; each step says what it does on stderr."""
    out: list[Behaviour] = []
    for step in SCRIPT:
        sides.progress(step.__doc__.splitlines()[0] if step.__doc__ else step.__name__)
        out.extend(step(sides))
    return out


def init_connect(s: Sides) -> Iterator[Behaviour]:
    """InitConnect: its fields, keepAliveInterval, connAESKey, serverVer."""
    g, m = s.gateway.ready, s.mock.ready
    gf, mf = set(g.fields), set(m.fields)
    yield compare("init.fields", "InitConnect: which fields the reply has", sorted(gf), sorted(mf))
    yield compare(
        "init.keep_alive_interval",
        "InitConnect: keepAliveInterval",
        g.keep_alive_interval,
        m.keep_alive_interval,
        {"keep_alive_interval": g.keep_alive_interval},
    )
    yield compare("init.conn_aes_key", "InitConnect: connAESKey is present", "connAESKey" in gf, "connAESKey" in mf)
    yield compare("init.server_ver", "InitConnect: serverVer", g.server_ver, m.server_ver, {"server_ver": g.server_ver})


def global_state(s: Sides) -> Iterator[Behaviour]:
    """GetGlobalState: which fields are present."""
    g = s.gateway.ask(1002, {"userID": 0})
    m = s.mock.ask(1002, {"userID": 0})
    yield compare(
        "global_state.fields",
        "GetGlobalState: which fields the reply has",
        sorted(g.get("s2c", {})),
        sorted(m.get("s2c", {})),
    )


def statistics(s: Sides) -> Iterator[Behaviour]:
    """3301 for every market × data type: default range, days, fields, ratio, timestamps, order, pages."""
    probe = s.gateway.ask(3301, {"optionMarket": 1, "dataType": 0, "beginTime": "", "endTime": ""})
    if probe.get("retType", -400) != 0:
        why = f"the gateway does not serve 3301: {probe.get('retMsg', '')!r} (retType {probe.get('retType')})"
        for bid, title in STATISTICS_BEHAVIOURS:
            yield skipped(bid, title, why)
        s.serves_3301 = False
        return
    per: dict[str, list[tuple[str, Any, Any]]] = {bid: [] for bid, _ in STATISTICS_BEHAVIOURS}
    first_pages: list[tuple[int, int]] = []
    for mname, market in MARKETS.items():
        for tname, dtype in TYPES.items():
            label = f"{mname} {tname}"
            g, m = fetch(s.gateway, market, dtype, "", ""), fetch(s.mock, market, dtype, "", "")
            if not (g.ok and m.ok):
                per["3301.default_range"].append((label, g.error or "ok", m.error or "ok"))
                continue
            s.keys[market, dtype] = (g.first_key, m.first_key)
            span = lambda q: (q.days[-1], q.days[0]) if q.days else None  # noqa: E731
            per["3301.default_range"].append((label, span(g), span(m)))
            per["3301.trading_days"].append((label, g.days, m.days))
            per["3301.fields"].append((label, sorted(g.fields), sorted(m.fields)))
            per["3301.ratio_rule"].append((label, g.ratio_rule, m.ratio_rule))
            per["3301.local_midnight"].append((label, g.midnight, m.midnight))
            per["3301.totals"].append((label, g.totals, m.totals))
            per["3301.descending"].append(
                (label, g.days == sorted(g.days, reverse=True), m.days == sorted(m.days, reverse=True))
            )
            rule = lambda q: all(k == (i < len(q.keys) - 1) for i, k in enumerate(q.keys))  # noqa: E731
            per["3301.page_key_rule"].append((label, rule(g), rule(m)))
            per["3301.rows_per_page"].append(
                (label, g.pages[0] if len(g.pages) > 1 else None, m.pages[0] if len(m.pages) > 1 else None)
            )
            if len(g.pages) > 1:
                first_pages.append((g.pages[0], market))
            weekend = _last_weekend(s.today)
            gw, mw = (
                fetch(s.gateway, market, dtype, *weekend),
                fetch(s.mock, market, dtype, *weekend),
            )
            per["3301.no_session"].append((label, _empty(gw), _empty(mw)))
            future = ((s.today + timedelta(days=7)).isoformat(), (s.today + timedelta(days=14)).isoformat())
            gf, mf = fetch(s.gateway, market, dtype, *future), fetch(s.mock, market, dtype, *future)
            per["3301.future"].append((label, _empty(gf), _empty(mf)))
    titles = dict(STATISTICS_BEHAVIOURS)
    for bid, items in per.items():
        differ = [(label, g, m) for label, g, m in items if g != m]
        if not items:
            yield skipped(bid, titles[bid], "no market answered")
            continue
        if not differ:
            yield Behaviour(bid, titles[bid], VALIDATED, gateway=_one(items, 1), mock=_one(items, 2))
            continue
        setting: dict[str, Any] = {}
        if bid == "3301.rows_per_page":
            sizes = {g for _, g, _ in differ if g is not None}
            if len(sizes) == 1:
                setting = {"page_size": sizes.pop()}
        yield Behaviour(
            bid,
            titles[bid],
            DIVERGENT,
            gateway={label: _short(g) for label, g, _ in differ},
            mock={label: _short(m) for label, _, m in differ},
            setting=setting,
        )


STATISTICS_BEHAVIOURS: Final = (
    ("3301.default_range", "3301: the range served when begin and end are left out"),
    ("3301.trading_days", "3301: the trading days served (same calendar, no weekends, holidays absent)"),
    ("3301.fields", "3301: which row fields are present (timestamp, totalValue, ratio)"),
    ("3301.ratio_rule", "3301: ratio == round(put / call, 6)"),
    ("3301.local_midnight", "3301: timestamp is the day's local midnight"),
    ("3301.totals", "3301: totalValue == call + put, nothing negative"),
    ("3301.descending", "3301: rows newest first"),
    ("3301.page_key_rule", "3301: nextPageKey present exactly when rows remain"),
    ("3301.rows_per_page", "3301: rows on a page that has a next page"),
    ("3301.no_session", "3301: a range with no session (a past weekend)"),
    ("3301.future", "3301: a range in the future"),
)


def _one(items: list[tuple[str, Any, Any]], side: int) -> Any:
    values = [_short(i[side]) for i in items]
    return values[0] if all(v == values[0] for v in values) else dict(zip([i[0] for i in items], values, strict=True))


def _short(value: Any) -> Any:
    """A long list of days shown by its ends and its length."""
    if isinstance(value, list) and len(value) > 6:
        return {"first": value[0], "last": value[-1], "count": len(value)}
    if isinstance(value, tuple):
        return list(value)
    return value


def _empty(q: Query) -> Any:
    return {"ok": q.ok, "rows": sum(q.pages), "key": any(q.keys)} if q.ok else {"error": list(q.error or ())[:2]}


def _last_weekend(today: date) -> tuple[str, str]:
    saturday = today - timedelta(days=(today.weekday() - 5) % 7 or 7)
    return saturday.isoformat(), (saturday + timedelta(days=1)).isoformat()


def errors(s: Sides) -> Iterator[Behaviour]:
    """Errors: over a year, begin after end, unknown market and type, foreign and garbled keys."""
    if not s.serves_3301:
        for bid, title in ERROR_BEHAVIOURS:
            yield skipped(bid, title, "the gateway does not serve 3301")
        return
    today = s.today
    two_years = today - timedelta(days=731)  # over one year whatever the leap days
    over = {"optionMarket": 1, "dataType": 0, "beginTime": two_years.isoformat(), "endTime": today.isoformat()}
    g, m = (
        fetch(s.gateway, 1, 0, over["beginTime"], over["endTime"]),
        fetch(s.mock, 1, 0, over["beginTime"], over["endTime"]),
    )
    kind = lambda q: "paginate" if q.ok else "reject"  # noqa: E731
    yield compare(
        "errors.over_one_year",
        "a range over one year: rejected, or served in pages",
        kind(g),
        kind(m),
        {"span_policy": kind(g)},
    )
    texts: list[tuple[str, str]] = []
    if not g.ok and not m.ok:
        yield _error_behaviour(
            "errors.over_one_year.reply", "the refusal of a range over one year", g.error, m.error, texts
        )
    cases = {
        "errors.begin_after_end": (
            "begin after end",
            {
                "optionMarket": 1,
                "dataType": 0,
                "beginTime": today.isoformat(),
                "endTime": (today - timedelta(days=30)).isoformat(),
            },
        ),
        "errors.unknown_market": (
            "an unknown market (99)",
            {"optionMarket": 99, "dataType": 0, "beginTime": "", "endTime": ""},
        ),
        "errors.unknown_type": (
            "an unknown data type (9)",
            {"optionMarket": 1, "dataType": 9, "beginTime": "", "endTime": ""},
        ),
        "errors.garbled_key": (
            "a garbled page key",
            {
                "optionMarket": 1,
                "dataType": 0,
                "beginTime": "",
                "endTime": "",
                "nextPageKey": base64.b64encode(b"not a key of anyone's").decode(),
            },
        ),
    }
    for bid, (title, c2s) in cases.items():
        yield _error_behaviour(bid, title, _error(s.gateway.ask(3301, c2s)), _error(s.mock.ask(3301, c2s)), texts)
    keys = s.keys.get((1, 0))
    if keys and keys[0] and keys[1]:
        gk, mk = keys
        base = {"optionMarket": 1, "dataType": 0, "beginTime": "", "endTime": ""}
        yield _error_behaviour(
            "errors.foreign_key",
            "a page key the other side made",
            _error(s.gateway.ask(3301, {**base, "nextPageKey": mk})),
            _error(s.mock.ask(3301, {**base, "nextPageKey": gk})),
            texts,
        )
    else:
        yield skipped(
            "errors.foreign_key", "a page key the other side made", "no query had a second page on both sides"
        )
    if texts:
        g_lang = {language(t) for t, _ in texts}
        m_lang = {language(t) for _, t in texts}
        gl = g_lang.pop() if len(g_lang) == 1 else "mixed"
        yield compare(
            "errors.language",
            "the language of error texts",
            gl,
            m_lang.pop() if len(m_lang) == 1 else "mixed",
            {"lang": gl} if gl in ("zh", "en") else {},
        )
    else:
        yield skipped("errors.language", "the language of error texts", "no error text on both sides")


ERROR_BEHAVIOURS: Final = (
    ("errors.over_one_year", "a range over one year: rejected, or served in pages"),
    ("errors.begin_after_end", "begin after end"),
    ("errors.unknown_market", "an unknown market (99)"),
    ("errors.unknown_type", "an unknown data type (9)"),
    ("errors.garbled_key", "a garbled page key"),
    ("errors.foreign_key", "a page key the other side made"),
    ("errors.language", "the language of error texts"),
)


def _error_behaviour(
    bid: str, title: str, g: tuple[int, int, str] | None, m: tuple[int, int, str] | None, texts: list[tuple[str, str]]
) -> Behaviour:
    """retType and errCode compared; the text too when both sides speak the same language."""
    if g is None or m is None:
        return compare(bid, title, "answered" if g is None else list(g), "answered" if m is None else list(m))
    texts.append((g[2], m[2]))
    if language(g[2]) == language(m[2]):
        return compare(bid, title, list(g), list(m))
    b = compare(bid, title, list(g[:2]), list(m[:2]))
    b.reason = "texts in different languages: compared in errors.language"
    return b


def rate_limit(s: Sides) -> Iterator[Behaviour]:
    """Rate limit (only with --include-rate-limit): the limit, a rejection, continuation pages."""
    titles = (
        ("rate.limit", "3301 first pages accepted in one window"),
        ("rate.rejection", "what a rate-limit rejection looks like"),
        ("rate.continuations_free", "continuation pages do not count"),
    )
    if not s.include_rate_limit or not s.serves_3301:
        why = (
            "not asked (--include-rate-limit spends the account's window)"
            if s.include_rate_limit is False
            else "the gateway does not serve 3301"
        )
        for bid, title in titles:
            yield skipped(bid, title, why)
        return
    results = []
    for side in (s.gateway, s.mock):
        side.paced = False  # this step measures the limit itself
        try:
            results.append(_measure_limit(side, s.today))
        finally:
            side.paced = True
    (gn, grej, gfree), (mn, mrej, mfree) = results
    if grej is None or mrej is None:
        side = "the gateway" if grej is None else "the mock"
        for bid, title in titles:
            yield skipped(bid, title, f"{side} refused no first page in {RATE_PROBES} within its window: no limit seen")
        return
    yield compare("rate.limit", titles[0][1], gn, mn, {"rate_limit": f"{gn}/30s"})
    yield compare("rate.rejection", titles[1][1], grej and list(grej[:2]), mrej and list(mrej[:2]))
    yield compare("rate.continuations_free", titles[2][1], gfree, mfree)


def _measure_limit(session: Session, today: date) -> tuple[int, tuple[int, int, str] | None, bool | None]:
    begin = (today - timedelta(days=300)).isoformat()  # under a year: several pages
    first = session.ask(3301, {"optionMarket": 1, "dataType": 0, "beginTime": begin, "endTime": today.isoformat()})
    key = first.get("s2c", {}).get("nextPageKey")
    accepted, rejection = 0, None
    for day in range(1, RATE_PROBES + 1):
        d = (today - timedelta(days=day)).isoformat()
        doc = session.ask(3301, {"optionMarket": 3, "dataType": 0, "beginTime": d, "endTime": d})
        if doc.get("retType", -400) != 0:
            rejection = _error(doc)
            refused = time.monotonic()  # the first pages served in the window before the refusal
            accepted = sum(1 for t in session.first_pages if refused - t < RATE_WINDOW)
            break
    free = None
    if rejection is not None and key is not None:
        c2s = {"optionMarket": 1, "dataType": 0, "beginTime": begin, "endTime": today.isoformat(), "nextPageKey": key}
        free = session.ask(3301, c2s).get("retType", -400) == 0
    return accepted, rejection, free


SCRIPT: Final = (init_connect, global_state, statistics, errors, rate_limit)


def gateway_today(session: Session) -> tuple[date, datetime]:
    """The gateway's own date (New York) and instant, from GetGlobalState's ``time``."""
    doc = session.ask(1002, {"userID": 0})
    stamp = int(doc.get("s2c", {}).get("time", 0)) or int(time.time())
    instant = datetime.fromtimestamp(stamp, UTC)
    return instant.astimezone(ZoneInfo("America/New_York")).date(), instant


def suggested(behaviours: list[Behaviour]) -> dict[str, Any]:
    """The mock settings that match the gateway where they diverge."""
    out: dict[str, Any] = {}
    for b in behaviours:
        if b.status == DIVERGENT:
            out.update(b.setting)
    return out


def exit_code(behaviours: list[Behaviour]) -> int:
    return 1 if any(b.status == DIVERGENT for b in behaviours) else 0
