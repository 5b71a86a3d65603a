"""A repeated request is answered from the reply cache: same bytes as building the
reply anew, and the rate limit, faults, journal and log still apply to every one."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime

import pytest
from test_connection import frames_of, init_body, ready_conn, stat_body

from mock_opend import logs, request_log
from mock_opend.config import Config
from mock_opend.connection import Connection
from mock_opend.frame import FMT_JSON, encode_frame
from mock_opend.gateway import PROTOCOLS, Gateway, ProtoSpec, Reply
from mock_opend.journal import JournalEntry
from mock_opend.markets import HKEX, NYSE
from mock_opend.messages import OptionMarketStatisticRequest, OptionMarketStatisticResponse
from mock_opend.reply_cache import CachedReply, ReplyCache
from mock_opend.trading_calendar import calendar_for

SECRET = "reply-cache-test"


def ask(conn: Connection, body: bytes, serial: int, fmt: int = 0) -> tuple[int, bytes]:
    (frame,) = frames_of(conn.receive_data(encode_frame(3301, serial, body, fmt=fmt)))
    return frame.header.serial, frame.body


def fresh_answer(body: bytes, fmt: int = 0, **settings) -> bytes:
    """What a server that never saw the request answers."""
    conn = ready_conn(page_key_secret=SECRET, **settings)
    return ask(conn, body, 77, fmt)[1]


def continuation_body(key: bytes) -> bytes:
    req = OptionMarketStatisticRequest.FromString(stat_body(begin="2025-06-16", end="2026-06-12"))
    req.c2s.nextPageKey = key
    return req.SerializeToString()


@pytest.mark.parametrize("fmt", [0, FMT_JSON])
def test_repeats_are_byte_identical_to_a_fresh_answer_with_their_own_serial(fmt: int) -> None:
    conn = ready_conn(page_key_secret=SECRET, rate_limit="off")
    first = OptionMarketStatisticResponse.FromString(ask(conn, stat_body(begin="2025-06-16", end="2026-06-12"), 2)[1])
    bodies = [
        stat_body(),
        stat_body(market=2, dtype=1, begin="2025-06-16", end="2026-06-12"),
        stat_body(begin="", end=""),  # the default range: it follows the clock
        continuation_body(first.s2c.nextPageKey),
    ]
    if fmt == FMT_JSON:
        bodies = [json.dumps({"c2s": _as_json(OptionMarketStatisticRequest.FromString(b))}).encode() for b in bodies]
    for i, body in enumerate(bodies):
        replies = [ask(conn, body, 10 * i + n, fmt) for n in range(1, 4)]
        assert [serial for serial, _ in replies] == [10 * i + 1, 10 * i + 2, 10 * i + 3]
        assert {data for _, data in replies} == {fresh_answer(body, fmt)}
    assert len(conn.gateway.replies) == len(bodies) + 1


def _as_json(req: OptionMarketStatisticRequest) -> dict:
    from google.protobuf import json_format

    return json_format.MessageToDict(req.c2s)


def test_every_repeat_is_journaled_and_logged_like_the_first() -> None:
    conn = ready_conn(page_key_secret=SECRET)
    for serial in (2, 3, 4):
        ask(conn, stat_body(), serial)
    entries = [e.to_dict() for e in conn.gateway.journal.entries() if e.proto_id == 3301]
    assert [e["serial"] for e in entries] == [2, 3, 4]
    assert len({e["seq"] for e in entries}) == 3
    for e in entries:
        for key in ("seq", "serial", "wall_time", "duration_us"):
            e.pop(key)
    assert entries[0] == entries[1] == entries[2]
    assert entries[0]["answered_by"] == "mock" and len(entries[0]["rows"]) == 10
    assert entries[0]["request"]["c2s"]["beginTime"] == "2026-06-01"


def test_the_rate_limit_counts_repeats() -> None:
    conn = ready_conn(rate_limit="3/30s", lang="en")
    rets = [OptionMarketStatisticResponse.FromString(ask(conn, stat_body(), s)[1]) for s in range(2, 7)]
    assert [r.retType for r in rets] == [0, 0, 0, -1, -1]
    assert "at most 3 requests every 30 seconds" in rets[3].retMsg
    conn.gateway.clock.advance(30)
    assert OptionMarketStatisticResponse.FromString(ask(conn, stat_body(), 9)[1]).retType == 0


def test_a_fault_planned_after_a_reply_was_kept_still_applies() -> None:
    conn = ready_conn()
    ask(conn, stat_body(), 2)
    conn.gateway.faults.add(kind="error", ret_msg="planned", count=1)
    faulted = OptionMarketStatisticResponse.FromString(ask(conn, stat_body(), 3)[1])
    assert faulted.retMsg == "planned"
    assert OptionMarketStatisticResponse.FromString(ask(conn, stat_body(), 4)[1]).retType == 0
    assert conn.gateway.journal.entries()[-2].source == "fault"


def test_moving_the_clock_or_switching_data_is_seen_at_once() -> None:
    conn = ready_conn()
    body = stat_body(begin="", end="")  # the year up to the last completed session
    monday = OptionMarketStatisticResponse.FromString(ask(conn, body, 2)[1])
    conn.gateway.clock.advance(86400)  # Tuesday 00:00 UTC: Monday's NYSE session has closed
    tuesday = OptionMarketStatisticResponse.FromString(ask(conn, body, 3)[1])
    assert monday.s2c.statisticList[0].time == "2026-06-12"
    assert tuesday.s2c.statisticList[0].time == "2026-06-15"
    conn.gateway.set_data_profile("edge")
    edge = OptionMarketStatisticResponse.FromString(ask(conn, body, 4)[1])
    assert edge.s2c.statisticList[0] != tuesday.s2c.statisticList[0]


def test_a_running_clock_crossing_the_close_is_seen_without_anyone_moving_it() -> None:
    close = datetime(2026, 6, 15, 20, 0, tzinfo=UTC)  # NYSE 16:00 in June
    conn = Connection(Gateway(Config(now="2026-06-15T19:59:59.700000+00:00", clock_tick=True).validate()))
    conn.receive_data(encode_frame(1001, 1, init_body()))
    body = stat_body(begin="", end="")
    before = OptionMarketStatisticResponse.FromString(ask(conn, body, 2)[1])
    while conn.gateway.clock.now() < close.timestamp():
        time.sleep(0.05)
    after = OptionMarketStatisticResponse.FromString(ask(conn, body, 3)[1])
    assert before.s2c.statisticList[0].time == "2026-06-12"
    assert after.s2c.statisticList[0].time == "2026-06-15"


def test_stable_until_is_the_next_close_or_midnight() -> None:
    nyse = calendar_for(NYSE)
    ts = lambda text: datetime.fromisoformat(text).timestamp()  # noqa: E731
    # a session before its close: the close; after it: the next midnight in New York
    assert nyse.stable_until(datetime.fromisoformat("2026-06-15T15:00:00+00:00")) == ts("2026-06-15T20:00:00+00:00")
    assert nyse.stable_until(datetime.fromisoformat("2026-06-15T20:00:00+00:00")) == ts("2026-06-16T04:00:00+00:00")
    # a half day closes at 13:00; a holiday and a weekend only have midnights
    assert nyse.stable_until(datetime.fromisoformat("2026-11-27T15:00:00+00:00")) == ts("2026-11-27T18:00:00+00:00")
    assert nyse.stable_until(datetime.fromisoformat("2026-11-26T15:00:00+00:00")) == ts("2026-11-27T05:00:00+00:00")
    hkex = calendar_for(HKEX)
    assert hkex.stable_until(datetime.fromisoformat("2026-06-15T02:00:00+00:00")) == ts("2026-06-15T08:10:00+00:00")


def test_a_handler_or_stub_put_in_later_answers_the_next_repeat() -> None:
    conn = ready_conn()
    ask(conn, stat_body(), 2)
    gw = conn.gateway
    original = PROTOCOLS[3301]

    def replaced(gw: Gateway, session, req) -> Reply:
        rsp = OptionMarketStatisticResponse()
        rsp.retType, rsp.retMsg = -1, "replaced"
        return Reply(rsp)

    gw.protocols[3301] = ProtoSpec(3301, original.name, original.request, original.response, replaced)
    assert OptionMarketStatisticResponse.FromString(ask(conn, stat_body(), 3)[1]).retMsg == "replaced"
    gw.protocols[3301] = original
    ask(conn, stat_body(), 4)
    c2s = {"optionMarket": 1, "dataType": 0, "beginTime": "2026-06-01", "endTime": "2026-06-15"}
    stub = {"proto_id": 3301, "request": {"c2s": c2s}, "reply": {"retType": -1, "retMsg": "stubbed"}}
    gw.stubs.add_json(stub, "t", source="admin")
    assert OptionMarketStatisticResponse.FromString(ask(conn, stat_body(), 5)[1]).retMsg == "stubbed"


def test_error_replies_are_not_kept() -> None:
    conn = ready_conn()
    ask(conn, stat_body(begin="2026-13-01"), 2)
    assert len(conn.gateway.replies) == 0


def test_the_cache_is_bounded_in_entries_and_bytes() -> None:
    cache = ReplyCache(max_entries=3, max_bytes=1000)

    def put(i: int, size: int) -> None:
        cache.put(3301, 0, bytes([i]), CachedReply(bytes(size), None, (0, 0), 1e18, False, None, None, None))

    for i in range(5):
        put(i, 10)
    assert len(cache) == 3 and cache.get(3301, 0, bytes([0])) is None and cache.get(3301, 0, bytes([4]))
    put(9, 200)  # over max_bytes // 8: never kept
    assert cache.get(3301, 0, bytes([9])) is None
    for i in range(10, 20):
        put(i, 100)
    assert cache.bytes <= 1000
    cache.put(3301, 0, bytes(5000), CachedReply(b"x", None, (0, 0), 1e18, False, None, None, None))
    assert cache.get(3301, 0, bytes(5000)) is None  # a long request body is never a key


@pytest.fixture
def json_logs():
    """logs.configure for one test; the mock_opend logger is put back as it was."""
    logger = logging.getLogger("mock_opend")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def test_request_lines_are_what_the_json_formatter_writes(json_logs) -> None:
    entry = JournalEntry(
        seq=1,
        time=0.0,
        wall_time=1781546400.123456,
        conn_id=1 << 40,
        transport="tcp",
        proto_id=3301,
        serial=7,
        fmt="protobuf",
        body_len=30,
        sha1_ok=True,
        request=None,
        ret_type=-1,
        error="BAD_TIME",
        rows=None,
        duration_us=42,
    )
    direct = io.StringIO()
    logs.configure("info", direct)
    assert request_log._json_handler() is not None
    request_log._write([(entry, "error"), (entry, None)])
    # the same entries as ordinary records, through the formatter (a filter disables the direct path)
    via_records = io.StringIO()
    logs.configure("info", via_records)
    logging.getLogger("mock_opend").handlers[0].addFilter(lambda r: True)
    assert request_log._json_handler() is None
    request_log._write([(entry, "error"), (entry, None)])
    assert direct.getvalue() == via_records.getvalue()
    first = json.loads(direct.getvalue().splitlines()[0])
    assert first["ts"] == "2026-06-15T18:00:00.123456+00:00" and first["outcome"] == "BAD_TIME"


def test_in_a_loop_lines_wait_for_the_replies_then_go_out_together(json_logs) -> None:
    import asyncio

    out = io.StringIO()
    logs.configure("info", out)
    conn = Connection(Gateway(Config(now="2026-06-15").validate()))

    async def serve() -> tuple[str, str]:
        conn.receive_data(encode_frame(1001, 1, init_body()))
        for serial in range(2, 5):
            conn.receive_data(encode_frame(3301, serial, stat_body()))
        during = out.getvalue()
        await asyncio.sleep(0)
        return during, out.getvalue()

    during, after = asyncio.run(serve())
    assert during == ""
    assert [json.loads(line)["serial"] for line in after.splitlines()] == [1, 2, 3, 4]


def test_changing_page_size_span_policy_or_history_start_is_seen_at_once() -> None:
    """Found in review: these settings are read by the handler, so a cached reply must not outlive them."""
    from datetime import date

    conn = ready_conn(page_size=100)
    body = stat_body()
    assert len(OptionMarketStatisticResponse.FromString(ask(conn, body, 2)[1]).s2c.statisticList) == 10
    conn.gateway.statistics.page_size = 5
    assert len(OptionMarketStatisticResponse.FromString(ask(conn, body, 3)[1]).s2c.statisticList) == 5
    conn.gateway.statistics.page_size = 100
    conn.gateway.dataset.history_start = date(2026, 6, 10)
    assert len(OptionMarketStatisticResponse.FromString(ask(conn, body, 4)[1]).s2c.statisticList) == 3
    long = stat_body(begin="2024-01-02", end="2026-06-12")
    conn.gateway.statistics.span_policy = "paginate"
    assert OptionMarketStatisticResponse.FromString(ask(conn, long, 5)[1]).retType == 0
    conn.gateway.statistics.span_policy = "reject"
    assert OptionMarketStatisticResponse.FromString(ask(conn, long, 6)[1]).retType == -1
