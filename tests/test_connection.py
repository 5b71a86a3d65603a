"""The per-connection state machine, without sockets."""

from __future__ import annotations

import json

import pytest

from mock_opend.config import Config
from mock_opend.connection import Close, Connection, Send
from mock_opend.frame import FrameDecoder, FrameHeader, encode_frame
from mock_opend.gateway import Gateway
from mock_opend.messages import (
    ErrorResponse,
    InitConnectRequest,
    InitConnectResponse,
    KeepAliveRequest,
    KeepAliveResponse,
    OptionMarketStatisticRequest,
    OptionMarketStatisticResponse,
)


def make_conn(**settings) -> Connection:
    cfg = Config(now="2026-06-15", **settings).validate()
    return Connection(Gateway(cfg))


def frames_of(actions) -> list:
    dec = FrameDecoder()
    out = []
    for a in actions:
        if isinstance(a, Send):
            out.extend(dec.feed(a.data))
    return out


def init_body() -> bytes:
    req = InitConnectRequest()
    req.c2s.clientVer, req.c2s.clientID, req.c2s.packetEncAlgo = 300, "PyNormal", -1
    return req.SerializeToString()


def stat_body(market=1, dtype=0, begin="2026-06-01", end="2026-06-15") -> bytes:
    req = OptionMarketStatisticRequest()
    c = req.c2s
    c.optionMarket, c.dataType, c.beginTime, c.endTime = market, dtype, begin, end
    return req.SerializeToString()


def ready_conn(**settings) -> Connection:
    conn = make_conn(**settings)
    (f,) = frames_of(conn.receive_data(encode_frame(1001, 1, init_body())))
    assert InitConnectResponse.FromString(f.body).retType == 0
    return conn


def test_init_connect_reply() -> None:
    conn = make_conn(keep_alive_interval=7, login_user_id=4242)
    (f,) = frames_of(conn.receive_data(encode_frame(1001, 77, init_body())))
    assert (f.header.proto_id, f.header.serial) == (1001, 77) and f.sha1_ok
    rsp = InitConnectResponse.FromString(f.body)
    assert rsp.retType == 0
    assert rsp.s2c.connID == conn.conn_id != 0
    assert rsp.s2c.keepAliveInterval == 7 and rsp.s2c.loginUserID == 4242
    assert len(rsp.s2c.connAESKey) == 16 and not rsp.s2c.HasField("aesCBCiv")
    assert rsp.s2c.IsInitialized()


def test_conn_ids_are_unique_across_connections_and_servers() -> None:
    ids = {make_conn().conn_id for _ in range(50)}
    assert len(ids) == 50 and 0 not in ids


def test_request_before_init_gets_an_error_and_the_connection_stays_usable() -> None:
    conn = make_conn()
    (f,) = frames_of(conn.receive_data(encode_frame(3301, 5, stat_body())))
    rsp = OptionMarketStatisticResponse.FromString(f.body)
    assert (f.header.proto_id, f.header.serial) == (3301, 5)
    assert rsp.retType == -1 and "InitConnect" in rsp.retMsg
    (f,) = frames_of(conn.receive_data(encode_frame(1001, 6, init_body())))
    assert InitConnectResponse.FromString(f.body).retType == 0
    (f,) = frames_of(conn.receive_data(encode_frame(3301, 7, stat_body())))
    assert OptionMarketStatisticResponse.FromString(f.body).retType == 0


def test_second_init_connect_is_refused() -> None:
    conn = ready_conn()
    (f,) = frames_of(conn.receive_data(encode_frame(1001, 2, init_body())))
    rsp = InitConnectResponse.FromString(f.body)
    assert rsp.retType == -1 and str(conn.conn_id) in rsp.retMsg


@pytest.mark.parametrize("proto", [0, 1003, 3004, 2201, 4294967295])
def test_unknown_proto_ids_get_a_clear_error(proto: int) -> None:
    conn = ready_conn(lang="en")
    (f,) = frames_of(conn.receive_data(encode_frame(proto, 3, b"\x08\x01")))
    rsp = ErrorResponse.FromString(f.body)
    assert (f.header.proto_id, f.header.serial) == (proto, 3)
    assert rsp.retType == -1 and f"unsupported proto id {proto}" in rsp.retMsg
    (f,) = frames_of(conn.receive_data(encode_frame(1004, 4, KeepAliveRequest(c2s={"time": 1}).SerializeToString())))
    assert KeepAliveResponse.FromString(f.body).retType == 0


def test_keep_alive_answers_with_mock_time() -> None:
    conn = ready_conn()
    req = KeepAliveRequest()
    req.c2s.time = 1700000000
    (f,) = frames_of(conn.receive_data(encode_frame(1004, 9, req.SerializeToString())))
    rsp = KeepAliveResponse.FromString(f.body)
    assert rsp.retType == 0 and rsp.s2c.time == 1781481600  # 2026-06-15T00:00Z


def test_wrong_sha1_gets_an_error_reply_and_the_connection_continues() -> None:
    conn = ready_conn(lang="en")
    data = bytearray(encode_frame(3301, 11, stat_body()))
    data[16] ^= 1
    actions = conn.receive_data(bytes(data) + encode_frame(3301, 12, stat_body()))
    f1, f2 = frames_of(actions)
    r1 = OptionMarketStatisticResponse.FromString(f1.body)
    assert f1.header.serial == 11 and r1.retType == -500 and "SHA-1" in r1.retMsg
    assert OptionMarketStatisticResponse.FromString(f2.body).retType == 0
    assert not any(isinstance(a, Close) for a in actions)


def test_bad_magic_gets_an_error_then_close() -> None:
    conn = ready_conn(lang="en")
    data = b"GT" + encode_frame(3301, 13, stat_body())[2:]
    actions = conn.receive_data(data)
    assert isinstance(actions[-1], Close)
    raw = actions[0].data
    h = FrameHeader.unpack(raw[:44])
    assert (h.magic, h.proto_id, h.serial) == (b"FT", 3301, 13)
    rsp = OptionMarketStatisticResponse.FromString(raw[44:])
    assert rsp.retType == -500 and "magic" in rsp.retMsg
    assert conn.receive_data(encode_frame(1004, 1, b"")) == []


def test_absurd_body_length_gets_an_error_then_close() -> None:
    conn = ready_conn(lang="en", max_body_len=4096)
    header = FrameHeader(3301, 14, 1 << 31, bytes(20)).pack()
    actions = conn.receive_data(header)
    assert isinstance(actions[-1], Close)
    rsp = OptionMarketStatisticResponse.FromString(actions[0].data[44:])
    assert "2147483648" in rsp.retMsg and "4096" in rsp.retMsg


def test_unknown_body_format_is_answered_in_protobuf() -> None:
    conn = ready_conn(lang="en")
    (f,) = frames_of(conn.receive_data(encode_frame(3301, 15, stat_body(), fmt=9)))
    assert f.header.fmt == 0
    rsp = OptionMarketStatisticResponse.FromString(f.body)
    assert rsp.retType == -500 and "format 9" in rsp.retMsg


def test_json_request_gets_a_json_reply() -> None:
    conn = make_conn()
    body = json.dumps({"c2s": {"clientVer": 300, "clientID": "x", "packetEncAlgo": -1}}).encode()
    (f,) = frames_of(conn.receive_data(encode_frame(1001, 16, body, fmt=1)))
    assert f.header.fmt == 1
    doc = json.loads(f.body)
    assert doc["retType"] == 0 and doc["s2c"]["connID"] == str(conn.conn_id)
    body = json.dumps({"c2s": {"optionMarket": 1, "dataType": 0, "beginTime": "2026-06-01", "endTime": "2026-06-05"}})
    (f,) = frames_of(conn.receive_data(encode_frame(3301, 17, body.encode(), fmt=1)))
    doc = json.loads(f.body)
    assert [i["time"] for i in doc["s2c"]["statisticList"]] == [
        "2026-06-05",
        "2026-06-04",
        "2026-06-03",
        "2026-06-02",
        "2026-06-01",
    ]


def test_bad_json_body_gets_an_error_in_json() -> None:
    conn = ready_conn(lang="en")
    (f,) = frames_of(conn.receive_data(encode_frame(3301, 18, b"{oops", fmt=1)))
    doc = json.loads(f.body)
    assert doc["retType"] == -500 and "cannot decode" in doc["retMsg"]


def test_missing_c2s_is_named() -> None:
    conn = ready_conn(lang="en")
    (f,) = frames_of(conn.receive_data(encode_frame(3301, 19, b"")))
    rsp = OptionMarketStatisticResponse.FromString(f.body)
    assert rsp.retType == -1 and "c2s" in rsp.retMsg


def test_handler_bug_is_answered_not_raised(monkeypatch) -> None:
    conn = ready_conn(lang="en")

    def boom(*a, **k):
        raise ZeroDivisionError("x")

    monkeypatch.setattr(conn.gateway.statistics, "plan", boom)
    (f,) = frames_of(conn.receive_data(encode_frame(3301, 20, stat_body())))
    rsp = OptionMarketStatisticResponse.FromString(f.body)
    assert rsp.retType == -1 and "internal error" in rsp.retMsg


def test_journal_records_each_request() -> None:
    conn = ready_conn()
    conn.receive_data(encode_frame(3301, 21, stat_body()) + encode_frame(9999, 22, b""))
    entries = conn.gateway.journal.entries()
    assert [(e.proto_id, e.serial) for e in entries] == [(1001, 1), (3301, 21), (9999, 22)]
    last3301 = entries[1].to_dict()
    assert last3301["ret_type"] == 0 and len(last3301["rows"]) == 10
    assert last3301["request"]["c2s"]["beginTime"] == "2026-06-01"
    assert entries[2].error == "UNKNOWN_PROTO"
