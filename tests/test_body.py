"""Protobuf and JSON bodies as the SDK writes and reads them."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from mock_opend.body import BodyError, decode_body, encode_body
from mock_opend.frame import FMT_JSON, FMT_PROTOBUF
from mock_opend.messages import OptionMarketStatisticRequest, OptionMarketStatisticResponse


def _request(begin: str = "2024-01-01 00:00:00", end: str = "2024-06-01 00:00:00", key: bytes | None = None):
    req = OptionMarketStatisticRequest()
    req.c2s.optionMarket = 1
    req.c2s.dataType = 0
    req.c2s.beginTime = begin
    req.c2s.endTime = end
    if key is not None:
        req.c2s.nextPageKey = key
    return req


def test_protobuf_bytes_match_the_documented_wire_example() -> None:
    body = encode_body(FMT_PROTOBUF, _request())
    assert body.hex() == ("0a2e080110001a13" + b"2024-01-01 00:00:00".hex() + "2213" + b"2024-06-01 00:00:00".hex())
    assert encode_body(FMT_PROTOBUF, _request(key=b"\x00page2")).endswith(bytes.fromhex("2a06007061676532"))


def test_sdk_style_json_request_is_understood() -> None:
    # what the SDK's MessageToJson sends: indented, int64 quoted, bytes base64
    text = json_format.MessageToJson(_request(key=b"v1.abc"))
    req = decode_body(FMT_JSON, text.encode(), OptionMarketStatisticRequest)
    assert req.c2s.beginTime == "2024-01-01 00:00:00" and req.c2s.nextPageKey == b"v1.abc"


def test_json_reply_uses_field_names_and_string_int64() -> None:
    rsp = OptionMarketStatisticResponse()
    rsp.retType = 0
    item = rsp.s2c.statisticList.add()
    item.time, item.callValue, item.putValue, item.totalValue = "2026-06-12", 2**60, 1, 2**60 + 1
    rsp.s2c.optionMarket, rsp.s2c.dataType = 1, 0
    doc = json.loads(encode_body(FMT_JSON, rsp))
    assert doc["retType"] == 0
    assert doc["s2c"]["statisticList"][0]["callValue"] == str(2**60)
    assert "ratio" not in doc["s2c"]["statisticList"][0]


@pytest.mark.parametrize(
    ("fmt", "body", "needle"),
    [
        (FMT_PROTOBUF, b"\xff\xff\xff", "protobuf"),
        (FMT_JSON, b"not json", "json"),
        (FMT_JSON, b"\xff\xfe", "UTF-8"),
        (FMT_JSON, b'{"c2s": {"optionMarket": "x"}}', "json"),
        (FMT_JSON, b"[1, 2]", "json"),
        (7, b"", "unknown body format 7"),
    ],
)
def test_undecodable_bodies_raise_body_error(fmt: int, body: bytes, needle: str) -> None:
    with pytest.raises(BodyError, match=needle):
        decode_body(fmt, body, OptionMarketStatisticRequest)


@given(
    market=st.integers(-(2**31), 2**31 - 1),
    begin=st.text(max_size=30),
    key=st.none() | st.binary(max_size=80),
    fmt=st.sampled_from([FMT_PROTOBUF, FMT_JSON]),
)
def test_request_round_trip_in_both_formats(market: int, begin: str, key: bytes | None, fmt: int) -> None:
    req = _request(begin=begin, key=key)
    req.c2s.optionMarket = market
    assert decode_body(fmt, encode_body(fmt, req), OptionMarketStatisticRequest) == req
