"""The seed's example, end to end: the real SDKs against the shipped fixture."""

from __future__ import annotations

import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import ROOT, run_sdk_query, sdk_context
from seed_example import seed_rows

FIXTURE = str(ROOT / "fixtures" / "doc_example_us_security_volume.csv")
NY = ZoneInfo("America/New_York")

pytestmark = pytest.mark.sdk


def _ny_midnight(day: str) -> float:
    return datetime.fromisoformat(day).replace(tzinfo=NY).timestamp()


def test_seed_table_is_parsed() -> None:
    rows = seed_rows()
    assert [r["time"] for r in rows][:2] == ["2026-06-12", "2026-06-11"]
    assert len(rows) == 10


@pytest.mark.parametrize("sdk", ["futu", "moomoo"])
def test_sdk_returns_the_seed_table_exactly(server_process, sdk: str) -> None:
    """Against a subprocess server: same rows, timestamps, totals and ratios
    as the API page prints (the page was produced on 2026-06-15)."""
    server = server_process("--fixtures", FIXTURE, "--now", "2026-06-15")
    with sdk_context(sdk, server.host, server.port) as ctx:
        mod = sys.modules[sdk]
        ret, data, key = ctx.get_option_market_statistic(
            mod.OptionMarket.US_SECURITY,
            mod.OptionStatisticDataType.VOLUME,
            begin_time="2026-06-01",
            end_time="2026-06-15",
        )
    assert ret == mod.RET_OK, data
    assert key is None
    assert list(data.columns) == ["time", "timestamp", "call_value", "put_value", "total_value", "ratio"]
    expected = seed_rows()
    assert len(data) == len(expected)
    for got, want in zip(data.to_dict("records"), expected, strict=True):
        assert got["time"] == want["time"]
        assert (got["call_value"], got["put_value"], got["total_value"]) == (
            want["call_value"],
            want["put_value"],
            want["total_value"],
        )
        assert f"{got['ratio']:.6f}" == want["ratio_printed"]
        assert got["timestamp"] == _ny_midnight(got["time"])
        assert f"{got['timestamp']:e}" == want["timestamp_printed"]
    # the DataFrame prints exactly like the page
    printed = data.to_string().splitlines()
    assert printed[1].split() == ["0", "2026-06-12", "1.781237e+09", "45658870", "28723978", "74382848", "0.629100"]
    assert data.iloc[0]["timestamp"] == 1781236800.0


def test_in_process_fixture_serves_the_seed_rows(opend_server_factory) -> None:
    server = opend_server_factory(fixtures=[FIXTURE], now="2026-06-15")
    with sdk_context("futu", server.host, server.port) as ctx:
        ret, data, key = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-15")
    assert ret == 0 and key is None
    assert [(r["time"], r["call_value"], r["put_value"]) for r in data.to_dict("records")] == [
        (r["time"], r["call_value"], r["put_value"]) for r in seed_rows()
    ]


def test_json_body_format_through_the_sdk(pb6_python: str, server_process) -> None:
    """SysConfig.set_proto_fmt(Json), in a protobuf-6 environment: the whole
    session (InitConnect, KeepAlive, 3301, 1002) runs in JSON."""
    server = server_process("--fixtures", FIXTURE, "--now", "2026-06-15T12:00:00Z")
    query = {"market": "US_SECURITY", "data_type": "VOLUME", "begin": "2026-06-01", "end": "2026-06-15"}
    out = run_sdk_query(pb6_python, server.port, [query], fmt="json", extra=("--global-state",))
    (page,) = out["results"][0]["pages"]
    assert page["ret"] == 0 and page["key"] is None
    assert [(r["time"], r["call_value"], r["put_value"], r["total_value"]) for r in page["rows"]] == [
        (r["time"], r["call_value"], r["put_value"], r["total_value"]) for r in seed_rows()
    ]
    assert out["global_state"]["ret"] == 0
    assert out["global_state"]["data"]["market_us"] == "PRE_MARKET_BEGIN"  # 08:00 in New York
    server.stop()
    log = server.stderr_text()
    assert '"fmt": "json"' in log and '"proto": 1001' in log and '"proto": 3301' in log
