"""The admin HTTP API on loopback: clock, reset, journal, faults, errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from conftest import sdk_context

from mock_opend.admin import Admin


def call(server, method: str, path: str, body: Any = None, raw: bytes | None = None, headers=None) -> tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.admin_port}{path}", data=data, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as rsp:
            return rsp.status, json.loads(rsp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def server(opend_server_factory):
    return opend_server_factory(admin_port=0, now="2026-06-15", page_size=5)


def test_ready_info_reports_the_admin_port(server) -> None:
    assert server.ready_info()["admin_port"] == server.admin_port > 0
    status, doc = call(server, "GET", "/__admin/health")
    assert status == 200 and doc["status"] == "ok" and doc["port"] == server.port
    assert "POST /__admin/faults" in doc["endpoints"]


def test_clock_get_advance_and_set(server) -> None:
    status, doc = call(server, "GET", "/__admin/clock")
    assert status == 200 and doc == {"now": "2026-06-15T00:00:00+00:00", "unix": 1781481600.0, "frozen": True}
    status, doc = call(server, "POST", "/__admin/clock", {"advance_seconds": 90})
    assert doc["unix"] == 1781481690.0 and server.clock.now() == 1781481690.0
    status, doc = call(server, "POST", "/__admin/clock", {"now": "2026-07-01T12:00:00+08:00"})
    assert doc["now"] == "2026-07-01T04:00:00+00:00"
    status, doc = call(server, "POST", "/__admin/clock", {"now": "2026-07-01", "tick": True})
    assert doc["frozen"] is False


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{oops", "invalid JSON body"),
        (b"[1]", "must be an object"),
        (b'{"advance_seconds": "x"}', "must be a finite number"),
        (b'{"now": "yesterday"}', "not a date"),
        (b'{"speed": 2}', "advance_seconds"),
        (b'{"advance_seconds": 1, "now": "2026-01-01"}', "not both"),
    ],
)
def test_clock_bad_input_is_a_400(server, body: bytes, needle: str) -> None:
    status, doc = call(server, "POST", "/__admin/clock", raw=body)
    assert status == 400 and needle in doc["error"]


def test_unknown_paths_and_methods(server) -> None:
    assert call(server, "GET", "/nope")[0] == 404
    assert call(server, "GET", "/__admin/nope")[0] == 404
    status, doc = call(server, "PUT", "/__admin/clock", {})
    assert status == 405 and "GET, POST" in doc["error"]
    assert call(server, "DELETE", "/__admin/faults/xyz")[0] == 400
    assert call(server, "DELETE", "/__admin/faults/999")[0] == 404


def test_journal_after_sdk_calls_with_filters(server) -> None:
    with sdk_context("futu", server.host, server.port) as ctx:
        conn_id = ctx.get_sync_conn_id()
        _, data, key = ctx.get_option_market_statistic("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")
        _, data2, _ = ctx.get_option_market_statistic(
            "US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12", page_req_key=key
        )
        ctx.get_option_market_statistic("US_SECURITY", "N/A", "2026-06-01", "2026-06-12")
    status, doc = call(server, "GET", f"/__admin/journal?proto_id=3301&conn_id={conn_id}")
    assert status == 200 and doc["count"] == 3
    first, second, bad = doc["entries"]
    assert first["request"]["c2s"] == {
        "optionMarket": 1,
        "dataType": 0,
        "beginTime": "2026-06-01 00:00:00",
        "endTime": "2026-06-12 00:00:00",
    }
    assert first["fmt"] == "protobuf" and first["sha1_ok"] and first["ret_type"] == 0
    assert [r["time"] for r in first["rows"]] == list(data["time"])
    assert first["rows"][0]["call_value"] == data.iloc[0]["call_value"]
    assert first["next_key"] == key.decode() and second["next_key"] is None
    assert "nextPageKey" in second["request"]["c2s"]
    assert [r["time"] for r in second["rows"]] == list(data2["time"])
    assert bad["error"] == "BAD_DATA_TYPE" and bad["ret_type"] == -1 and bad["rows"] is None
    assert call(server, "GET", "/__admin/journal?error=BAD_DATA_TYPE")[1]["count"] == 1
    assert call(server, "GET", "/__admin/journal?proto_id=1001")[1]["count"] == 1
    assert call(server, "GET", "/__admin/journal?limit=1")[1]["entries"][0]["seq"] == bad["seq"]
    assert call(server, "GET", f"/__admin/journal?since_seq={first['seq']}&proto_id=3301")[1]["count"] == 2
    assert call(server, "GET", "/__admin/journal?conn_id=abc")[0] == 400
    status, doc = call(server, "DELETE", "/__admin/journal")
    assert status == 200 and doc["cleared"] >= 4
    assert call(server, "GET", "/__admin/journal")[1]["count"] == 0


def test_faults_crud_and_validation(server) -> None:
    status, f = call(server, "POST", "/__admin/faults", {"kind": "latency", "latency_ms": 50, "count": 3})
    assert status == 201 and f["id"] >= 1 and f["proto_id"] == 3301
    status, f2 = call(server, "POST", "/__admin/faults", {"kind": "no_reply", "duration_seconds": 60, "proto_id": None})
    assert status == 201 and f2["count"] is None and f2["duration"] == 60
    assert len(call(server, "GET", "/__admin/faults")[1]["faults"]) == 2
    assert call(server, "DELETE", f"/__admin/faults/{f['id']}")[1] == {"removed": 1}
    assert call(server, "DELETE", "/__admin/faults")[1] == {"removed": 1}
    for bad, needle in [
        ({"kind": "explode"}, "fault kind must be one of"),
        ({"kind": "latency"}, "latency_ms"),
        ({"kind": "error", "ret_type": "x"}, "wrong type"),
        ({"kind": "error", "colour": 1}, "unknown fault field"),
        ({"kind": "error", "count": 0}, "'count' must be in 1.."),
        ({"kind": "error", "count": None}, "needs a count or a duration"),
    ]:
        status, doc = call(server, "POST", "/__admin/faults", bad)
        assert status == 400 and needle in doc["error"], bad


def test_reset_clears_rate_windows_journal_and_faults(opend_server_factory) -> None:
    server = opend_server_factory(admin_port=0, now="2026-06-15", rate_limit="1/30s")
    with sdk_context("futu", server.host, server.port) as ctx:
        assert ctx.get_option_market_statistic("US_INDEX", "VOLUME", "2026-06-01", "2026-06-12")[0] == 0
        assert ctx.get_option_market_statistic("US_INDEX", "VOLUME", "2026-06-01", "2026-06-12")[0] == -1
        assert call(server, "GET", "/__admin/rate-limit")[1] == {
            "limit": 1,
            "window_seconds": 30.0,
            "scope": "server",
            "used": 1,
        }
        call(server, "POST", "/__admin/faults", {"kind": "error", "ret_msg": "x"})
        status, doc = call(server, "POST", "/__admin/reset")
        assert status == 200 and doc["reset"] == ["rate_limit", "journal", "faults"]
        assert call(server, "GET", "/__admin/faults")[1]["faults"] == []
        assert ctx.get_option_market_statistic("US_INDEX", "VOLUME", "2026-06-01", "2026-06-12")[0] == 0
    assert call(server, "GET", "/__admin/journal?proto_id=3301")[1]["count"] == 1


def test_clock_move_rolls_the_rate_window_through_the_sdk(opend_server_factory) -> None:
    server = opend_server_factory(admin_port=0, now="2026-06-15", rate_limit="2/30s")
    with sdk_context("futu", server.host, server.port) as ctx:
        q = ("HK_INDEX", "VOLUME", "2026-06-01", "2026-06-12")
        assert [ctx.get_option_market_statistic(*q)[0] for _ in range(3)] == [0, 0, -1]
        call(server, "POST", "/__admin/clock", {"advance_seconds": 30})
        assert ctx.get_option_market_statistic(*q)[0] == 0


def test_token_protects_the_api(opend_server_factory) -> None:
    server = opend_server_factory(admin_port=0, admin_token="s3cret-token")
    status, doc = call(server, "GET", "/__admin/health")
    assert status == 401 and "token" in doc["error"]
    assert call(server, "GET", "/__admin/health", headers={"Authorization": "Bearer wrong-token"})[0] == 401
    assert call(server, "GET", "/__admin/health", headers={"Authorization": "Bearer s3cret-token"})[0] == 200
    assert call(server, "GET", "/__admin/config", headers={"X-Admin-Token": "s3cret-token"})[1]["admin_token"] == "***"


@pytest.mark.opend(now="2026-06-15")
def test_admin_logic_without_http(opend_server) -> None:
    admin = Admin(opend_server.gateway, opend_server.config, opend_server.describe)
    status, doc = admin.handle("POST", "/__admin/clock", {}, b'{"advance_seconds": 5}', {})
    assert status == 200 and doc["unix"] == opend_server.clock.now() == 1781481605.0


def test_fault_ids_are_decimal_digits_only() -> None:
    """int() would take ' 1', '1_0' and '+1': the path's id is digits or a 400."""
    from mock_opend.admin import Admin, AdminError
    from mock_opend.config import Config
    from mock_opend.gateway import Gateway

    cfg = Config(now="2026-06-15").validate()
    gw = Gateway(cfg)
    admin = Admin(gw, cfg, dict)
    fault = gw.faults.add(kind="error", ret_msg="x")
    for raw in (" 1", "1_0", "+1", "-1", "1 ", "١", str(1 << 63), "9" * 400):
        with pytest.raises(AdminError) as exc:
            admin.delete_fault(raw)
        assert exc.value.status == 400, raw
    assert admin.delete_fault(str(fault.id)) == (200, {"removed": 1})
    with pytest.raises(AdminError) as exc:
        admin.delete_fault(str(fault.id))
    assert exc.value.status == 404
