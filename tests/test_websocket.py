"""The WebSocket endpoint: framing (sans-I/O) and a real socket (aiohttp client)."""

from __future__ import annotations

import asyncio
import hashlib
import json

import aiohttp
import pytest

from mock_opend.config import Config
from mock_opend.connection import Close, Send
from mock_opend.gateway import Gateway
from mock_opend.messages import OptionMarketStatisticRequest, OptionMarketStatisticResponse
from mock_opend.ws_protocol import (
    InitWebSocketRequest,
    InitWebSocketResponse,
    WsConnection,
    pack_request,
    unpack_reply,
)


def init_body(key: str = "") -> bytes:
    req = InitWebSocketRequest()
    req.c2s.websocketKey = hashlib.md5(key.encode()).hexdigest() if key else ""
    req.c2s.programmingLanguage = "JavaScript"
    return req.SerializeToString()


def stat_body(market: int = 1) -> bytes:
    req = OptionMarketStatisticRequest()
    req.c2s.optionMarket, req.c2s.dataType, req.c2s.beginTime, req.c2s.endTime = market, 0, "2026-06-01", "2026-06-12"
    return req.SerializeToString()


def conn(**settings) -> WsConnection:
    return WsConnection(Gateway(Config(now="2026-06-15", **settings).validate()))


def replies(actions) -> list[tuple]:
    return [unpack_reply(a.data) for a in actions if isinstance(a, Send)]


def test_init_then_a_query() -> None:
    c = conn()
    ((cmd, section, error, errmsg, body),) = replies(c.receive_message(pack_request(1, 2, init_body())))
    rsp = InitWebSocketResponse.FromString(body)
    assert (cmd, section, error, errmsg) == (1, 2, 0, "") and rsp.retType == 0 and rsp.s2c.connID == c.conn_id
    ((cmd, section, error, _, body),) = replies(c.receive_message(pack_request(3301, 2**40 + 3, stat_body())))
    assert (cmd, section, error) == (3301, 2**40 + 3, 0)
    assert len(OptionMarketStatisticResponse.FromString(body).s2c.statisticList) == 10


def test_requests_before_init_are_refused_in_the_body() -> None:
    c = conn(lang="en")
    ((_, section, error, _, body),) = replies(c.receive_message(pack_request(3301, 7, stat_body())))
    rsp = OptionMarketStatisticResponse.FromString(body)
    assert section == 7 and error == 0 and rsp.retType == -1 and "InitConnect" in rsp.retMsg


@pytest.mark.parametrize(
    ("message", "needle"),
    [
        ("hello", "text messages"),
        (b"ft-v1", "shorter than the 20-byte header"),
        (b"xx-v1.0\x00" + bytes(12), "is not 'ft-v1.0'"),
    ],
)
def test_bad_messages_get_an_error_and_the_connection_stays_open(message, needle) -> None:
    c = conn(lang="en")
    ((_, _, error, errmsg, body),) = replies(c.receive_message(message))
    assert error == -500 and errmsg == "invalid message" and errmsg.isascii()
    assert c.gateway.journal.entries()[-1].error == "WS_BAD_FRAME"
    assert needle in OptionMarketStatisticResponse.FromString(body).retMsg
    assert not c.closed
    assert replies(c.receive_message(pack_request(1, 2, init_body())))[0][2] == 0


def test_wrong_key_is_refused_and_closed() -> None:
    c = conn(ws_key="secret", lang="en")
    actions = c.receive_message(pack_request(1, 2, init_body("guess")))
    ((_, _, error, errmsg, body),) = replies(actions)
    assert error == -1 and errmsg == "wrong websocket key"
    assert InitWebSocketResponse.FromString(body).retType == -1
    assert isinstance(actions[-1], Close) and c.closed
    ok = conn(ws_key="secret")
    assert replies(ok.receive_message(pack_request(1, 2, init_body("secret"))))[0][2] == 0


def test_faults_apply_on_websocket_too() -> None:
    c = conn()
    c.receive_message(pack_request(1, 2, init_body()))
    gw = c.gateway
    gw.faults.add(kind="latency", latency_ms=250)
    (a,) = c.receive_message(pack_request(3301, 3, stat_body()))
    assert a.delay == 0.25
    gw.faults.add(kind="no_reply")
    assert c.receive_message(pack_request(3301, 4, stat_body())) == []
    gw.faults.add(kind="corrupt_sha1")
    (a,) = c.receive_message(pack_request(3301, 5, stat_body()))
    assert unpack_reply(a.data)[1] == 5  # header intact, body corrupted
    gw.faults.add(kind="reset")
    (a,) = c.receive_message(pack_request(3301, 6, stat_body()))
    assert isinstance(a, Close) and a.reset and c.closed
    kinds = [e.extra.get("fault") for e in gw.journal.entries() if e.transport == "ws"]
    assert kinds[-4:] == ["latency", "no_reply", "corrupt_sha1", "reset"]


def test_real_socket_and_shutdown(opend_server_factory) -> None:
    server = opend_server_factory(ws_port=0, now="2026-06-15")
    assert server.ready_info()["ws_port"] == server.ws_port > 0

    async def talk() -> tuple:
        async with aiohttp.ClientSession() as s, s.ws_connect(f"ws://127.0.0.1:{server.ws_port}/") as ws:
            await ws.send_bytes(pack_request(1, 2, init_body()))
            init = unpack_reply((await ws.receive(timeout=5)).data)
            await ws.send_str("not binary")
            bad = unpack_reply((await ws.receive(timeout=5)).data)
            await ws.send_bytes(pack_request(3301, 9, stat_body()))
            rows = unpack_reply((await ws.receive(timeout=5)).data)
            return init, bad, rows

    init, bad, rows = asyncio.run(talk())
    assert init[2] == 0 and bad[2] == -500 and rows[1] == 9
    entries = [e for e in server.journal.entries() if e.transport == "ws"]
    assert [e.proto_id for e in entries] == [1, 0, 3301]
    assert json.dumps(entries[-1].to_dict())  # journal entries serialise


def test_ws_port_off_and_in_config() -> None:
    assert not Config(ws_port="off").validate().ws_enabled
    assert Config().validate().ws_port == 11112
    with pytest.raises(ValueError):
        Config(ws_port="maybe").validate()
