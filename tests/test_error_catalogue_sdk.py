"""Every error in the catalogue, as the real futu SDK's caller receives it.

Errors the SDK's public API can provoke go through it; the rest (frames no SDK
would send) go through the SDK's own request machinery
(``_get_sync_query_processor``) with a hand-made frame, so the reply is still
matched, parsed and unpacked by the SDK exactly as for a normal call.
NOT_INITIALIZED and ALREADY_INITIALIZED cannot be reached from an SDK (it
sends InitConnect first and only once); tests/test_connection.py covers them
with a raw client.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import sdk_context
from futu.common.utils import get_unique_id32
from futu.quote.quote_query import GetOptionMarketStatistic

from mock_opend.errors import CATALOGUE
from mock_opend.frame import FrameHeader, encode_frame
from mock_opend.messages import OptionMarketStatisticRequest

pytestmark = pytest.mark.sdk

GOOD = ("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")


def stat_body(begin: str = "2026-06-01 00:00:00", end: str = "2026-06-12 00:00:00") -> bytes:
    req = OptionMarketStatisticRequest()
    c = req.c2s
    c.optionMarket, c.dataType, c.beginTime, c.endTime = 1, 0, begin, end
    return req.SerializeToString()


def generic_unpack(rsp_pb: Any) -> tuple[int, str, Any]:
    return (-1, rsp_pb.retMsg, None) if rsp_pb.retType != 0 else (0, "", rsp_pb)


def through_sdk(ctx: Any, proto_id: int, frame: Callable[[int], bytes], unpack=GetOptionMarketStatistic.unpack_rsp):
    """Send a hand-made frame with the SDK's machinery; return what the caller gets."""
    serial = get_unique_id32()
    data = frame(serial)

    def pack(**_: Any) -> tuple[int, str, bytes, int, int]:
        return 0, "", data, proto_id, serial

    return ctx._get_sync_query_processor(pack, unpack)()


def _bad_sha(serial: int) -> bytes:
    data = bytearray(encode_frame(3301, serial, stat_body()))
    data[16] ^= 0xFF
    return bytes(data)


UNPACK_3301 = GetOptionMarketStatistic.unpack_rsp
CRAFTED: dict[str, tuple[int, Callable[[int], bytes], Any]] = {
    "SHA1_MISMATCH": (3301, _bad_sha, UNPACK_3301),
    "BAD_MAGIC": (3301, lambda s: b"XX" + encode_frame(3301, s, stat_body())[2:], UNPACK_3301),
    "BODY_TOO_LARGE": (3301, lambda s: FrameHeader(3301, s, 1 << 31, bytes(20)).pack(), UNPACK_3301),
    "BAD_FORMAT": (3301, lambda s: encode_frame(3301, s, stat_body(), fmt=7), UNPACK_3301),
    "BAD_BODY": (3301, lambda s: encode_frame(3301, s, b"\xff\xff\xff"), UNPACK_3301),
    "MISSING_FIELD": (3301, lambda s: encode_frame(3301, s, b""), UNPACK_3301),
    "UNKNOWN_PROTO": (3103, lambda s: encode_frame(3103, s, b"\x0a\x00"), generic_unpack),
    "BAD_TIME": (3301, lambda s: encode_frame(3301, s, stat_body(begin="2026/06/01")), UNPACK_3301),
}

PUBLIC_API: dict[str, tuple[Any, ...]] = {
    "BAD_MARKET": ("N/A", "VOLUME", "2026-06-01", "2026-06-12"),
    "BAD_DATA_TYPE": ("US_SECURITY", "N/A", "2026-06-01", "2026-06-12"),
    "BEGIN_AFTER_END": ("US_SECURITY", "VOLUME", "2026-06-12", "2026-06-01"),
    "SPAN_TOO_LONG": ("US_SECURITY", "VOLUME", "2025-01-02", "2026-01-03"),
}

SPECIAL = {"INTERNAL", "BAD_PAGE_KEY", "PAGE_KEY_QUERY_MISMATCH", "RATE_LIMITED"}
# An SDK always sends InitConnect first and exactly once (it will not even send
# a second one through its own machinery); test_connection.py covers these.
NOT_FROM_AN_SDK = {"NOT_INITIALIZED", "ALREADY_INITIALIZED"}
# Encrypted mode and the WebSocket endpoint have their own SDK tests.
OTHER_TRANSPORTS = {
    "ENCRYPTION_REQUIRED": "test_encryption.py",
    "DECRYPT_FAILED": "test_encryption.py",
    "WS_KEY_MISMATCH": "test_js_sdk.py",
    "WS_BAD_FRAME": "test_websocket.py",
    "TOO_MANY_CONNECTIONS": "test_limits.py",
    # stubs and the proxy: through the SDK, against stub files and upstream processes
    "NO_STUB_MATCH": "test_record_replay.py",
    "NO_STUB": "test_record_replay.py",
    "UPSTREAM_UNREACHABLE": "test_record_replay.py",
    "UPSTREAM_TIMEOUT": "test_record_replay.py",
    "UPSTREAM_LOST": "test_record_replay.py",
    "UPSTREAM_BAD_REPLY": "test_relay_format.py",
}


def test_every_catalogue_entry_is_covered_here() -> None:
    covered = set(CRAFTED) | set(PUBLIC_API) | SPECIAL | NOT_FROM_AN_SDK | set(OTHER_TRANSPORTS)
    assert covered == set(CATALOGUE)
    here = Path(__file__).parent
    for name, module in OTHER_TRANSPORTS.items():
        assert name in (here / module).read_text(), (name, module)


def _expect(server, name: str, got: tuple[Any, ...], lang: str) -> None:
    spec = CATALOGUE[name]
    ret, msg, key = got
    assert (ret, key) == (-1, None), got
    last = [e for e in server.journal.entries() if e.error == name][-1]
    assert last.ret_type == spec.ret_type and last.ret_msg == msg
    fixed = (spec.zh if lang == "zh" else spec.en).split("{")[0]
    assert msg.startswith(fixed), (msg, fixed)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_frames(opend_server_factory, name: str, lang: str) -> None:
    server = opend_server_factory(now="2026-06-15", lang=lang, max_body_len=4096)
    proto_id, frame, unpack = CRAFTED[name]
    with sdk_context("futu", server.host, server.port) as ctx:
        got = through_sdk(ctx, proto_id, frame, unpack)
    _expect(server, name, got, lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", sorted(PUBLIC_API))
def test_public_api(opend_server_factory, name: str, lang: str) -> None:
    server = opend_server_factory(now="2026-06-15", lang=lang)
    with sdk_context("futu", server.host, server.port) as ctx:
        got = ctx.get_option_market_statistic(*PUBLIC_API[name])
    _expect(server, name, got, lang)


def test_page_key_errors(opend_server_factory) -> None:
    server = opend_server_factory(now="2026-06-15", page_size=3)
    with sdk_context("futu", server.host, server.port) as ctx:
        _, _, key = ctx.get_option_market_statistic(*GOOD)
        assert key is not None
        got = ctx.get_option_market_statistic(*GOOD, page_req_key=key[:-2])
        _expect(server, "BAD_PAGE_KEY", got, "zh")
        got = ctx.get_option_market_statistic("US_INDEX", *GOOD[1:], page_req_key=key)
        _expect(server, "PAGE_KEY_QUERY_MISMATCH", got, "zh")


def test_rate_limited(opend_server_factory) -> None:
    server = opend_server_factory(now="2026-06-15")
    with sdk_context("futu", server.host, server.port) as ctx:
        results = [ctx.get_option_market_statistic(*GOOD) for _ in range(61)]
    assert [r[0] for r in results] == [0] * 60 + [-1]
    assert results[-1] == (-1, "获取期权市场统计频率太高，请求失败，每30秒最多60次。", None)
    _expect(server, "RATE_LIMITED", results[-1], "zh")


def test_internal_error(opend_server_factory, monkeypatch) -> None:
    server = opend_server_factory(now="2026-06-15", lang="en")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(server.gateway.statistics, "plan", broken)
    with sdk_context("futu", server.host, server.port) as ctx:
        got = ctx.get_option_market_statistic(*GOOD)
    _expect(server, "INTERNAL", got, "en")
    assert "simulated bug" in got[1]
