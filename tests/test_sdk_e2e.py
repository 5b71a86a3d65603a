"""The real futu-api and moomoo-api SDKs against in-process and subprocess servers."""

from __future__ import annotations

import itertools
import time

import pytest
from conftest import run_sdk_query, sdk_context

from mock_opend.frame import FrameHeader, encode_frame
from mock_opend.messages import OptionMarketStatisticRequest, OptionMarketStatisticResponse

pytestmark = pytest.mark.sdk


def test_futu_and_moomoo_in_one_process_with_the_server(opend_server_factory) -> None:
    server = opend_server_factory(now="2026-06-15")
    with sdk_context("futu", server.host, server.port) as f, sdk_context("moomoo", server.host, server.port) as m:
        assert f.get_sync_conn_id() != m.get_sync_conn_id()
        rf = f.get_option_market_statistic("HK_SECURITY", "OPEN_INTEREST", "2026-05-01", "2026-06-12")
        rm = m.get_option_market_statistic("HK_SECURITY", "OPEN_INTEREST", "2026-05-01", "2026-06-12")
    assert rf[0] == rm[0] == 0
    assert rf[1].equals(rm[1]) and len(rf[1]) > 20


def test_sdk_pages_through_a_year(opend_server_factory) -> None:
    server = opend_server_factory(now="2026-06-15", page_size=100)
    with sdk_context("futu", server.host, server.port) as ctx:
        frames, key = [], None
        while True:
            ret, data, key = ctx.get_option_market_statistic(
                "US_INDEX", "VOLUME", "2025-06-15", "2026-06-15", page_req_key=key
            )
            assert ret == 0, data
            frames.append(data)
            if key is None:
                break
        whole_server = opend_server_factory(now="2026-06-15", page_size=1000)
        with sdk_context("futu", whole_server.host, whole_server.port) as ctx2:
            ret, whole, key2 = ctx2.get_option_market_statistic("US_INDEX", "VOLUME", "2025-06-15", "2026-06-15")
    assert ret == 0 and key2 is None
    assert [len(f) for f in frames] == [100, 100, 50]
    joined = [r for f in frames for r in f.to_dict("records")]
    assert joined == whole.to_dict("records")
    times = [r["time"] for r in joined]
    assert times == sorted(times, reverse=True) and len(set(times)) == len(times)


def test_sdk_sees_int64_beyond_2_31_and_2_53(opend_server_factory, tmp_path) -> None:
    fx = tmp_path / "edge.csv"
    fx.write_text(
        "market,data_type,date,call,put\n"
        f"US_INDEX,OPEN_INTEREST,2026-06-12,{2**53 + 1},{2**62 + 3}\n"
        f"US_INDEX,OPEN_INTEREST,2026-06-11,0,{2**31 + 1}\n"
        f"US_INDEX,OPEN_INTEREST,2026-06-10,{2**31 + 7},0\n"
    )
    server = opend_server_factory(now="2026-06-15", fixtures=[str(fx)])
    with sdk_context("futu", server.host, server.port) as ctx:
        ret, data, _ = ctx.get_option_market_statistic("US_INDEX", "OPEN_INTEREST", "2026-06-10", "2026-06-12")
    assert ret == 0
    r12, r11, r10 = data.to_dict("records")
    assert (r12["call_value"], r12["put_value"], r12["total_value"]) == (2**53 + 1, 2**62 + 3, 2**53 + 2**62 + 4)
    assert r11["call_value"] == 0 and r11["ratio"] == "N/A" and r11["total_value"] == 2**31 + 1
    assert r10["ratio"] == 0.0 and r10["put_value"] == 0


def test_server_errors_reach_the_sdk_caller(opend_server_factory) -> None:
    server = opend_server_factory(now="2026-06-15", lang="en")
    with sdk_context("futu", server.host, server.port) as ctx:
        ret, msg, key = ctx.get_option_market_statistic("US_SECURITY", "N/A", "2026-06-01", "2026-06-12")
        assert (ret, key) == (-1, None) and "unknown dataType=-1" in msg
        ret, msg, key = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", "2026-06-12", "2026-06-01")
        assert ret == -1 and "after endTime" in msg
        ret, msg, key = ctx.get_option_market_statistic(
            "US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12", page_req_key=b"garbage"
        )
        assert ret == -1 and "invalid nextPageKey" in msg
        ret, data, key = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")
        assert ret == 0 and len(data) == 10  # the connection is still fine


def test_global_state_follows_the_mock_clock(opend_server_factory) -> None:
    # 2026-06-15 14:00 UTC: 10:00 in New York (trading), 22:00 in Hong Kong (closed)
    server = opend_server_factory(now="2026-06-15T14:00:00Z")
    with sdk_context("futu", server.host, server.port) as ctx:
        ret, state = ctx.get_global_state()
        assert ret == 0
        assert (state["market_us"], state["market_hk"], state["qot_logined"]) == ("AFTERNOON", "CLOSED", True)
        assert state["timestamp"] == str(int(server.clock.now()))
        server.clock.advance(-12 * 3600)  # 02:00 UTC: 10:00 in Hong Kong, Sunday night in New York
        ret, state = ctx.get_global_state()
        assert (state["market_hk"], state["market_us"]) == ("MORNING", "CLOSED")


@pytest.mark.slow
def test_connection_survives_three_keepalive_intervals(opend_server_factory) -> None:
    server = opend_server_factory(now="2026-06-15", keep_alive_interval=2)
    with sdk_context("futu", server.host, server.port) as ctx:
        conn_id = ctx.get_sync_conn_id()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pings = [e for e in server.journal.entries() if e.conn_id == conn_id and e.proto_id == 1004]
            if len(pings) >= 4:
                break
            time.sleep(0.2)
        assert len(pings) >= 4, f"only {len(pings)} KeepAlives"
        assert all(e.ret_type == 0 for e in pings)
        gaps = [b.wall_time - a.wall_time for a, b in itertools.pairwise(pings)]
        assert all(1.0 <= g <= 3.5 for g in gaps), gaps  # 0.8 x 2 s, on the SDK's 1 s tick
        ret, data, _ = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")
        assert ret == 0 and len(data) == 10 and ctx.get_sync_conn_id() == conn_id


def test_bad_frames_do_not_disturb_other_connections(opend_server_factory, raw_client) -> None:
    server = opend_server_factory(now="2026-06-15", lang="en", max_body_len=65536)
    req = OptionMarketStatisticRequest()
    req.c2s.optionMarket, req.c2s.dataType, req.c2s.beginTime, req.c2s.endTime = 1, 0, "2026-06-01", "2026-06-12"
    body = req.SerializeToString()
    with sdk_context("futu", server.host, server.port) as ctx:
        ret, before, _ = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")

        sha = raw_client(server.host, server.port)
        sha.init_connect()
        bad = bytearray(encode_frame(3301, 7, body))
        bad[30] ^= 0x55
        sha.send_raw(bytes(bad))
        h, reply = sha.recv_frame()
        assert h.serial == 7 and "SHA-1 mismatch" in OptionMarketStatisticResponse.FromString(reply).retMsg
        sha.send(3301, body)
        assert OptionMarketStatisticResponse.FromString(sha.recv_frame()[1]).retType == 0  # still usable

        magic = raw_client(server.host, server.port)
        magic.send_raw(b"HTTP/1.1 GET / \r\n" + bytes(40))
        h, reply = magic.recv_frame()
        assert "bad frame magic" in OptionMarketStatisticResponse.FromString(reply).retMsg
        assert magic.at_eof()

        huge = raw_client(server.host, server.port)
        huge.send_raw(FrameHeader(3301, 9, 0xFFFFFFFF, bytes(20)).pack())
        h, reply = huge.recv_frame()
        assert h.serial == 9 and "exceeds the limit of 65536" in OptionMarketStatisticResponse.FromString(reply).retMsg
        assert huge.at_eof()

        trickle = raw_client(server.host, server.port)
        trickle.send_raw(encode_frame(1001, 1, b"")[:20])  # half a header, then silence

        ret2, after, _ = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")
    assert ret == ret2 == 0 and before.equals(after)


def test_subprocess_server_with_subprocess_moomoo_client(server_process) -> None:
    import sys

    sp = server_process("--now", "2026-06-15", "--seed", "7")
    q = {"market": "HK_INDEX", "data_type": "VOLUME", "begin": "2025-06-16", "end": "2026-06-15"}
    a = run_sdk_query(sys.executable, sp.port, [q], sdk="moomoo")
    b = run_sdk_query(sys.executable, sp.port, [q], sdk="futu")
    pages_a, pages_b = a["results"][0]["pages"], b["results"][0]["pages"]
    assert [p["rows"] for p in pages_a] == [p["rows"] for p in pages_b]
    assert len(pages_a) == 3 and pages_a[-1]["key"] is None
    assert a["conn_id"] != b["conn_id"]
