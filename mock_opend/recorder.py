"""What the proxy writes with ``--record DIR``: stub files and 3301 fixtures.

Every successful reply relayed from the upstream becomes a stub file
(``DIR/stubs/<id>.json``), with the pushes that followed it; 3301 pages become
rows of ``DIR/fixtures/option_market_statistic.csv``, the fixture format
``--fixtures`` loads, so an offline run serves the same rows byte for byte.

Secrets never reach a file (``redact``): fields named like account, user or
connection ids (``stubs.DEFAULT_REDACT`` plus the user's ``record_redact``) or
like credentials (key, token, secret, sign…: deny by default) are replaced by
placeholders and left out of matching, and so is the live links' every id and
key (the upstream's connID and loginUserID, its AES key, the client's connID)
in any encoding, when it is long enough to be told apart from ordinary values.
A body of a protocol whose shape mock-opend does not know cannot be checked
field by field: it is recorded only for quote protocols (``Qot_*``), and only
when none of those values occurs in its bytes, in any encoding.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import hashlib
import io
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .body import BodyError, decode_body
from .dataset import make_row
from .fixtures import COLUMNS, INT64_MAX
from .markets import EXCHANGE_OF, DataType, OptionMarket
from .messages import OptionMarketStatisticResponse
from .proto_ids import message_types, name_of
from .redact import Secrets, scrub
from .stubs import (
    DEFAULT_REDACT,
    MAX_PUSH_DELAY_MS,
    MAX_PUSHES,
    MAX_STUB_FILE,
    MAX_STUBS,
    Body,
    Stub,
    StubError,
    StubStore,
    body_of,
    stub_file_json,
    stub_from_json,
    stub_id,
)
from .trading_calendar import HK_CALENDAR_START, calendar_for

log = logging.getLogger("mock_opend.record")
FIXTURE_FILE = "fixtures/option_market_statistic.csv"
MAX_FILES = MAX_STUBS  # stub files one recording writes
MAX_BYTES = 1 << 30  # bytes one recording writes, stubs and fixture rewrites together
PUSH_WINDOW = 60.0  # seconds after a request during which its pushes are kept
PUSH_FILE_BUDGET = 1 << 20  # a stub file that has grown past this takes no more pushes
MAX_PAGE_ROWS = 1000  # the most rows a 3301 page holds
INLINE_BYTES = 4 << 10  # an exchange or push this small may be recorded at once, when nothing waits
INLINE_PER_SECOND = 0.05  # seconds of recording the event loop itself may do in any one second; past it, the thread
# the recording thread rests as long as each item took (up to REST_MAX): it shares the interpreter
# lock with the event loop, which so keeps at least half of it however much waits to be recorded
REST_MAX = 0.05
QUEUE_BYTES = 64 << 20  # bytes waiting for the recording thread; past this, not recorded (and said so)
SUBSCRIBING = frozenset({3001, 3002, 2008, 3455})  # requests whose pushes follow them
MAX_LEARNED = 64  # credentials seen under their own names (webKey), looked for by value, newest first
FMT_NAME = {0: "protobuf", 1: "JSON"}


@dataclass(slots=True)
class _Open:
    """A recorded exchange that pushes may be attached to."""

    stub: Stub
    at: float
    subscribing: bool
    raw: bytes = b""  # digest of the exchange's bytes, to know a repeat without decoding it
    securities: frozenset[tuple[str, str]] = frozenset()  # what a subscription subscribes
    seen: int = 0  # pushes since this request; those the stub already holds are not added again
    quiet: bool = False  # an unsubscribe: no push is its

    def full(self, on_disk: int) -> bool:
        """No push can be added: the stub holds MAX_PUSHES, or its file is past the budget."""
        return len(self.stub.pushes) >= MAX_PUSHES or on_disk > PUSH_FILE_BUDGET


def _unsubscribes(doc: Any) -> bool:
    """A Qot_Sub with isSubOrUnSub false, or a Qot_RegQotPush with isRegOrUnReg false."""
    c2s = doc.get("c2s") if isinstance(doc, dict) else None
    if not isinstance(c2s, dict):
        return False
    return any(key in c2s and c2s[key] is False for key in ("isSubOrUnSub", "isRegOrUnReg"))


def securities(doc: Any) -> frozenset[tuple[str, str]]:
    """Every (market, code) pair in a protobuf-JSON document: what a subscription
    names, or what a push concerns."""
    found: set[tuple[str, str]] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "code" in node and "market" in node and not isinstance(node["code"], dict | list):
                found.add((str(node["market"]), str(node["code"])))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(found)


@dataclass(slots=True)
class RecordStats:
    stubs: int = 0
    pushes: int = 0
    rows: int = 0
    skipped: list[str] = field(default_factory=list)


class RecordError(RuntimeError):
    """A recording directory that cannot be used; the message names it."""


class Recorder:
    def __init__(
        self,
        directory: str | Path,
        redact: Sequence[str] = (),
        ignore: Sequence[str] = (),
        live: StubStore | None = None,
    ) -> None:
        self.dir = Path(directory)
        self.redact = tuple(dict.fromkeys((*DEFAULT_REDACT, *redact)))
        self.ignore = tuple(ignore)
        self.live = live  # stubs answered from (spy mode): recorded stubs join them
        self.stats = RecordStats()
        self._open: dict[int, _Open] = {}  # each connection's last recorded exchange
        self._subs: dict[int, dict[str, _Open]] = {}  # each connection's subscriptions, by stub id
        self._subscribed: set[int] = set()  # connections that have subscribed (their pushes belong to subscriptions)
        self._pushes_of: dict[str, list[dict[str, Any]]] = {}  # a stub's recorded pushes: a re-recording keeps them
        self._work: collections.deque[tuple[Callable[[], str], int, Callable[[str], None]]] = collections.deque()
        self._work_cond = threading.Condition()
        self._queued_bytes = 0
        self._busy = 0  # submitted and not finished (queued or running)
        self._thread: threading.Thread | None = None
        self._inline = (0.0, 0.0)  # (start of the current second, recording done on the event loop in it)
        self._logged = (0.0, 0)  # (when a skip was last logged, skips since)
        self._rows: dict[tuple[OptionMarket, DataType, date], tuple[int, int]] = {}
        self._lock = threading.RLock()  # _push learns credentials while holding it
        self._written = 0
        self._on_disk: dict[str, int] = {}  # stub id → bytes of its file
        self._same: dict[str, bytes] = {}  # stub id → digest of what it records, to skip repeats
        self._learned: collections.OrderedDict[Any, None] = collections.OrderedDict()  # see _learn
        if self.dir.exists() and not self.dir.is_dir():
            raise RecordError(f"--record {self.dir}: a file, not a directory (give a directory to record into)")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordError(f"--record {self.dir}: cannot create the directory ({exc.strerror})") from None
        for stale in (self.dir / "stubs").glob(".*.tmp"):  # a write cut short by a killed process
            with contextlib.suppress(OSError):
                stale.unlink()
        fixture = self.dir / FIXTURE_FILE
        if fixture.exists():  # recording again adds to what is there
            from .fixtures import read_fixture_file

            for row in read_fixture_file(fixture):
                self._rows[(row.market, row.data_type, row.day)] = (row.call, row.put)

    # -- exchanges -------------------------------------------------------------------------
    def exchange(
        self,
        conn_id: int,
        proto_id: int,
        fmt: int,
        request: bytes,
        reply: bytes,
        *,
        reply_fmt: int | None = None,
        server_ver: int | None,
        secrets: Iterable[str | int],
        now: float,
    ) -> str:
        """Record one relayed request (in ``fmt``) and its successful reply (in
        ``reply_fmt``, the request's by default); what was done.  Never raises: a
        failure is said in one line, with the session's ids and keys hidden."""
        sec = self._secrets(secrets)
        try:
            return self._exchange(conn_id, proto_id, fmt, request, reply, reply_fmt, server_ver, sec, now)
        except Exception as exc:  # reported, never raised: the client has its reply already
            return self._skip(f"{name_of(proto_id)}: not recorded ({type(exc).__name__}: {exc})", sec)

    def learned(self) -> tuple[Any, ...]:
        """The credentials this recording has seen by name (newest first)."""
        with self._lock:
            return tuple(self._learned)

    def said_unsaid(self) -> None:
        """Log how many reasons were held back since the last such line (the
        server is stopping: no later line will carry the count)."""
        since = self._logged[1]
        if since:
            log.warning("record: %d more not recorded since the last such line", since)
            self._logged = (time.monotonic(), 0)

    def _secrets(self, values: Iterable[str | int]) -> Secrets:
        """The link's ids and keys, and every credential this recording has seen."""
        with self._lock:
            learned = tuple(self._learned)
        return Secrets.of([*values, *learned])

    def _learn(self, values: Iterable[Any]) -> None:
        """Credentials seen under their own names (a webKey) are looked for by value from now on."""
        with self._lock:
            for v in values:
                self._learned[v] = None
                self._learned.move_to_end(v, last=False)
            while len(self._learned) > MAX_LEARNED:
                self._learned.popitem()

    def _exchange(
        self,
        conn_id: int,
        proto_id: int,
        fmt: int,
        request: bytes,
        reply: bytes,
        reply_fmt: int | None,
        server_ver: int | None,
        sec: Secrets,
        now: float,
    ) -> str:
        reply_fmt = fmt if reply_fmt is None else reply_fmt
        if proto_id == 3301:
            return self.statistics(reply_fmt, reply)
        raw = hashlib.sha1(b"%d:%d:%d:" % (proto_id, fmt, reply_fmt) + request + b"\0" + reply).digest()
        with self._lock:
            opened = self._open.get(conn_id)
            if opened is not None and opened.raw == raw:
                # the same bytes both ways as this connection's last exchange: on disk already, pushes and
                # all; the pushes that follow are matched against the ones it holds
                opened.at, opened.seen = now, 0
                return f"recorded as stub {opened.stub.id} (again)"
        try:
            req = body_of(proto_id, "request", fmt, request)
            rep = body_of(proto_id, "reply", reply_fmt, reply)
        except BodyError as exc:
            return self._skip(f"{name_of(proto_id)}: not recorded, the body does not decode ({exc})", sec)
        if reply_fmt != fmt and (req.raw is not None or rep.raw is not None):
            why = f"{name_of(proto_id)}: not recorded, a {FMT_NAME.get(reply_fmt, reply_fmt)} reply to a request in"
            return self._skip(f"{why} {FMT_NAME.get(fmt, fmt)}, and its shape is unknown")
        ignore: list[str] = list(self.ignore)
        redacted: list[str] = []
        unsafe = self._unknown_shape(proto_id)
        if unsafe:
            return self._skip(unsafe)
        if req.raw is not None or rep.raw is not None:
            how = sec.in_bytes(request) or sec.in_bytes(reply)
            if how:
                why = f"{name_of(proto_id)} ({proto_id}): not recorded, its bytes hold an id or key ({how})"
                return self._skip(why)
        else:
            b = scrub(rep.doc, self.redact, sec)  # the reply first: a credential it names (a webKey)
            if b.learned:  # is looked for in the request too, and in everything recorded after it
                self._learn(b.learned)
                sec = Secrets.of([*sec.texts, *sec.numbers, *b.learned])
            a = scrub(req.doc, self.redact, sec)
            if a.learned:
                self._learn(a.learned)
            ignore += a.ignore
            redacted = [*(f"request {p}" for p in a.redacted), *(f"reply {p}" for p in b.redacted)]
            req, rep = Body(doc=a.doc), Body(doc=b.doc)
        doc: dict[str, Any] = {
            "id": stub_id(proto_id, req),
            "proto_id": proto_id,
            "captured_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "server_ver": server_ver,
            "format": "json" if fmt == 1 else "protobuf",
            **req.to_json("request"),
            **rep.to_json("reply"),
        }
        if ignore:
            doc["ignore"] = sorted(set(ignore))
        carried = self._pushes_of.get(doc["id"])
        if carried:  # recorded again: the pushes recorded after it before are kept
            doc["pushes"] = carried
        same = hashlib.sha1(repr((doc["request" if req.raw is None else "request_base64"],
                                  doc.get("reply", doc.get("reply_base64")))).encode()).digest()  # fmt: skip
        stub = stub_from_json(doc, f"recorded {name_of(proto_id)}", self.ignore, source="recorded")
        with self._lock:
            # a request and reply on disk already (pushes and all): nothing to write
            again = self._same.get(stub.id) == same and stub.id in self._on_disk
            if not again:
                if stub.id not in self._same and self.stats.stubs >= MAX_FILES:
                    return self._skip(f"{stub.id}: not recorded, this recording already holds {MAX_FILES} stubs")
                why = self._write_stub(stub)
                if why:
                    return self._skip(why)
                if stub.id not in self._same:
                    self.stats.stubs += 1
                self._same[stub.id] = same
            named = securities(req.doc) if proto_id in SUBSCRIBING else frozenset()
            subscribing = proto_id in SUBSCRIBING and not _unsubscribes(req.doc)
            if proto_id in SUBSCRIBING and not subscribing:  # an unsubscribe takes no pushes: its
                subs = self._subs.get(conn_id, {})  # securities leave the subscriptions that named them
                for sid, o in list(subs.items()):
                    o.securities = o.securities - named if named else frozenset()
                    if not o.securities:
                        del subs[sid]
            opened = _Open(stub, now, subscribing, raw, named if subscribing else frozenset())
            opened.quiet = proto_id in SUBSCRIBING and not subscribing
            self._open[conn_id] = opened
            if subscribing:
                self._subs.setdefault(conn_id, {})[stub.id] = opened
                self._subscribed.add(conn_id)
        if again:
            return f"recorded as stub {stub.id} (again)"
        shown = ", ".join(dict.fromkeys(redacted))
        said = f"recorded as stub {stub.id}" + (f" (redacted: {shown})" if redacted else "")
        return f"{said}; {sec.note}" if sec.note else said

    @staticmethod
    def _unknown_shape(proto_id: int) -> str:
        """Why a protocol of unknown shape is not recorded ('' for a quote protocol,
        whose bytes are then checked for ids): its fields cannot be checked by name."""
        if message_types(proto_id) is not None or name_of(proto_id).startswith("Qot_"):
            return ""
        return f"{name_of(proto_id)} ({proto_id}): not recorded, its shape is unknown and it may carry account data"

    def push(
        self,
        conn_id: int,
        proto_id: int,
        serial: int,
        fmt: int,
        body: bytes,
        *,
        secrets: Iterable[str | int],
        now: float,
    ) -> str:
        """Record a push (see ``_push``).  Never raises; a failure is said in one line."""
        sec = self._secrets(secrets)
        try:
            return self._push(conn_id, proto_id, serial, fmt, body, sec, now)
        except Exception as exc:  # reported, never raised: the client has its push already
            return self._skip(f"{name_of(proto_id)}: push not recorded ({type(exc).__name__}: {exc})", sec)

    def _push(self, conn_id: int, proto_id: int, serial: int, fmt: int, body: bytes, sec: Secrets, now: float) -> str:
        """Attach a push to the subscription it concerns (by security, where its
        shape is known); a push naming securities no open subscription names is
        not recorded once the connection has subscribed (it belongs to something
        unsubscribed).  A push of unknown concern goes to the latest subscription,
        and on a connection that never subscribed, to its last recorded request
        (within the push window)."""
        with self._lock:
            subs = [o for o in self._subs.get(conn_id, {}).values() if now - o.at <= MAX_PUSH_DELAY_MS / 1000]
            last = self._open.get(conn_id)
            subscribed = conn_id in self._subscribed
            recent = last is not None and not last.quiet and not subscribed and now - last.at <= PUSH_WINDOW
            candidates = subs or ([last] if recent and last is not None else [])
            if not candidates:
                return "not recorded: no subscription or request of this connection within the push window"
            if all(o.full(self._on_disk.get(o.stub.id, 0)) for o in candidates):  # O(1): nothing decoded
                return f"not recorded: {candidates[-1].stub.id} takes no more pushes"
            unsafe = self._unknown_shape(proto_id)
            if unsafe:
                return self._skip(unsafe)
            try:
                rep = body_of(proto_id, "reply", fmt, body)
            except BodyError as exc:
                return sec.hide_in_text(f"not recorded: the push does not decode ({exc})")
            if rep.raw is not None:
                how = sec.in_bytes(body)
                if how:
                    return f"not recorded: its bytes hold an id or key ({how})"
            else:
                scrubbed = scrub(rep.doc, self.redact, sec)
                self._learn(scrubbed.learned)
                rep = Body(doc=scrubbed.doc)
            opened = candidates[0]
            if subs:
                concerns = securities(rep.doc) if rep.doc is not None else frozenset()
                matching = [o for o in subs if o.securities & concerns]
                if concerns and not matching:
                    return "not recorded: it concerns no open subscription of this connection"
                # the earliest subscription naming the security started its pushes
                opened = min(matching, key=lambda o: o.at) if matching else max(subs, key=lambda o: o.at)
            stub = opened.stub
            if opened.seen < len(stub.pushes):  # a repeat of a push the stub holds already
                opened.seen += 1
                return f"recorded after stub {stub.id} (again, push {opened.seen})"
            if opened.full(self._on_disk.get(stub.id, 0)):
                return f"not recorded: {stub.id} takes no more pushes"
            item: dict[str, Any] = {
                "proto_id": proto_id,
                "after_ms": int(max(0.0, now - opened.at) * 1000),
                "serial": serial,
                **rep.to_json("reply"),
            }
            full = stub.to_json()
            full["pushes"] = [*full.get("pushes", []), item]
            new = stub_from_json(full, f"recorded {stub.id}", self.ignore, source="recorded")
            why = self._write_stub(new)
            if why:
                return self._skip(why)
            opened.stub = new
            opened.seen += 1
            self._pushes_of[new.id] = full["pushes"]
            self.stats.pushes += 1
            return f"recorded after stub {new.id}"

    def note_request(self, conn_id: int, proto_id: int, now: float) -> None:
        """A request answered from a stub ends the previous recorded request's push
        window, unless that one subscribed (pushes follow subscriptions)."""
        with self._lock:
            opened = self._open.get(conn_id)
            if opened is not None and not opened.subscribing:
                del self._open[conn_id]

    def connection_closed(self, conn_id: int) -> None:
        with self._lock:
            self._open.pop(conn_id, None)
            self._subs.pop(conn_id, None)
            self._subscribed.discard(conn_id)

    def _write_stub(self, stub: Stub) -> str:
        """Write (or rewrite) a stub file; why not, when it cannot be."""
        text = stub_file_json(stub)
        size = len(text.encode())
        if stub.pushes and self._on_disk.get(stub.id, 0) > PUSH_FILE_BUDGET:
            # every push rewrites the file: past this size a push costs more than it tells
            return f"{stub.id}: push not written, the stub file already holds {PUSH_FILE_BUDGET >> 20} MiB"
        if size > MAX_STUB_FILE:
            mib = size / (1 << 20)
            return f"{stub.id}: not written, {mib:.1f} MiB is over the {MAX_STUB_FILE >> 20} MiB a stub file may hold"
        if self._written + size > MAX_BYTES:
            return f"{stub.id}: not written, this recording has written {MAX_BYTES >> 30} GiB"
        (self.dir / "stubs").mkdir(exist_ok=True)
        _atomic_write(self.dir / "stubs" / f"{stub.id}.json", text)
        self._written += size
        self._on_disk[stub.id] = size
        if self.live is not None:
            stub.source = str(self.dir / "stubs" / f"{stub.id}.json")
            try:
                self.live.add(stub)
            except StubError as exc:  # the store is full: recorded, but not answered from this run
                return f"{stub.id}: written, but not answered from in this run: {exc}"
        return ""

    # -- 3301 ------------------------------------------------------------------------------
    def statistics(self, fmt: int, reply: bytes) -> str:
        try:
            rsp: Any = decode_body(fmt, reply, OptionMarketStatisticResponse)
            market, dtype = OptionMarket(rsp.s2c.optionMarket), DataType(rsp.s2c.dataType)
        except (BodyError, ValueError) as exc:
            return self._skip(f"Qot_GetOptionMarketStatistic: page not recorded ({exc})")
        cal = calendar_for(EXCHANGE_OF[market])
        added = 0
        notes = []
        items = rsp.s2c.statisticList
        if len(items) > MAX_PAGE_ROWS:
            notes.append(f"a page of {len(items)} rows: only the first {MAX_PAGE_ROWS} are kept")
        latest = date.today().replace(month=12, day=31)
        for item in items[:MAX_PAGE_ROWS]:
            try:
                day = date.fromisoformat(item.time[:10])
            except ValueError:
                notes.append(f"{item.time[:40]!r} is not a date")
                continue
            if not HK_CALENDAR_START <= day <= latest:  # calendars (and fixtures) hold these years only
                notes.append(f"{day} is outside {HK_CALENDAR_START}..{latest}: a fixture cannot hold it")
                continue
            if item.callValue < 0 or item.putValue < 0 or item.callValue + item.putValue > INT64_MAX:
                notes.append(f"{day}: call {item.callValue} and put {item.putValue} do not fit a fixture")
                continue
            if not cal.is_session(day):
                notes.append(f"{day} is not a {cal.exchange.mic} session here: a fixture cannot hold it")
                continue
            again = make_row(day, item.callValue, item.putValue, cal.midnight_timestamp(day))
            same = (
                item.totalValue == again.total
                and item.timestamp == again.timestamp
                and (item.ratio if item.HasField("ratio") else None) == again.ratio
            )
            if not same:
                notes.append(f"{market.name} {dtype.name} {day}: total, ratio or timestamp differ from call/put")
            self._rows[(market, dtype, day)] = (item.callValue, item.putValue)
            added += 1
        for note in notes[:5]:
            self._skip(f"Qot_GetOptionMarketStatistic: {note}")
        with self._lock:
            self._write_fixture()
            self.stats.rows = len(self._rows)
        return f"{added} rows recorded as fixtures"

    def _write_fixture(self) -> None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for (market, dtype, day), (call, put) in sorted(
            self._rows.items(), key=lambda kv: (kv[0][0].name, kv[0][1].name, kv[0][2])
        ):
            writer.writerow([market.name, dtype.name, day.isoformat(), call, put])
        path = self.dir / FIXTURE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        text = out.getvalue()
        if self._written + len(text) > MAX_BYTES:
            self._skip(f"{FIXTURE_FILE}: not rewritten, this recording has written {MAX_BYTES >> 30} GiB")
            return
        _atomic_write(path, text)
        self._written += len(text)

    def _skip(self, why: str, sec: Secrets | None = None) -> str:
        """Say why something was not recorded: in the summary, and in the log at most
        once a second (with how many more there were), so a flood cannot flood the log.
        ``sec``: ids and keys the text may quote (a decoder's error message), hidden."""
        if sec is not None:
            why = sec.hide_in_text(why)
        if len(self.stats.skipped) < 1000:
            self.stats.skipped.append(why)
        now = time.monotonic()
        at, since = self._logged
        if now - at >= 1.0:
            more = f" ({since} more not recorded since the last such line)" if since else ""
            log.warning("record: %s%s", why, more)
            self._logged = (now, 0)
        else:
            self._logged = (at, since + 1)
        return why

    # -- off the event loop ----------------------------------------------------------------
    def submit(self, work: Callable[[], str], size: int, done: Callable[[str], None]) -> str | None:
        """Run ``work`` (an ``exchange`` or ``push``) now when it is small and nothing
        waits, and say what it did; else queue it for the recording thread (in order,
        bounded by QUEUE_BYTES) and return None: ``done`` gets what it did.  The
        event loop never decodes, scrubs or writes a large recording."""
        now = time.monotonic()
        with self._work_cond:
            second, spent = self._inline
            if now - second >= 1.0:
                second, spent = now, 0.0
            inline = not self._busy and size <= INLINE_BYTES and spent < INLINE_PER_SECOND
            if not inline:
                if self._queued_bytes + size > QUEUE_BYTES:
                    return self._skip(f"not recorded: {QUEUE_BYTES >> 20} MiB already wait to be recorded")
                self._work.append((work, size, done))
                self._queued_bytes += size
                self._busy += 1
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="mock-opend-recorder", daemon=True)
                    self._thread.start()
                self._work_cond.notify()
                return None
        said = work()
        with self._work_cond:
            self._inline = (second, spent + time.monotonic() - now)
        return said

    def _run(self) -> None:
        while True:
            with self._work_cond:
                while not self._work:
                    self._work_cond.wait()
                work, size, done = self._work.popleft()
            started = time.monotonic()
            try:
                said = work()  # exchange and push never raise; anything else is said in one line
            except Exception as exc:  # reported, never raised: the client has its reply already
                said = self._skip(f"not recorded: {type(exc).__name__}")
            finally:
                with self._work_cond:
                    self._queued_bytes -= size
                    self._busy -= 1
                    self._work_cond.notify_all()
            done(said)
            time.sleep(min(REST_MAX, time.monotonic() - started))

    def abandon(self) -> int:
        """Drop what waits for the recording thread (the server is stopping); how many."""
        with self._work_cond:
            dropped = len(self._work)
            for _, size, _ in self._work:
                self._queued_bytes -= size
            self._busy -= dropped
            self._work.clear()
            self._work_cond.notify_all()
        if dropped:
            self._skip(f"{dropped} exchange(s) and push(es) not recorded: the server stopped first")
        return dropped

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted is recorded; False if it is not within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._work_cond:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._work_cond.wait(left)
        return True

    def summary(self) -> dict[str, Any]:
        return {
            "directory": str(self.dir),
            "stubs": self.stats.stubs,
            "pushes": self.stats.pushes,
            "fixture_rows": self.stats.rows,
            "pending": self._busy,  # exchanges and pushes still being recorded off the event loop
            "skipped": self.stats.skipped[-20:],
        }


def _atomic_write(path: Path, text: str) -> None:
    """Write a file so that a reader never sees half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
