"""Every fault kind, injected in-process and observed through the real SDK."""

from __future__ import annotations

import time

import pytest
from conftest import sdk_context

pytestmark = pytest.mark.sdk

Q = ("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12")


@pytest.fixture
def server(opend_server_factory):
    return opend_server_factory(now="2026-06-15", rate_limit="off")


def timed(ctx):
    t0 = time.monotonic()
    ret, data, key = ctx.get_option_market_statistic(*Q)
    return ret, data, key, time.monotonic() - t0


def fault_entries(server, kind):
    return [e for e in server.journal.entries() if e.extra.get("fault") == kind]


def test_latency_delays_the_reply_and_keeps_it_correct(server) -> None:
    with sdk_context("futu", server.host, server.port) as ctx:
        ret0, clean, _, fast = timed(ctx)
        server.faults.add(kind="latency", latency_ms=400)
        ret, data, key, slow = timed(ctx)
        ret2, _, _, again = timed(ctx)
    assert ret0 == ret == ret2 == 0 and data.equals(clean) and key is None
    assert slow >= 0.4 > fast and again < 0.4
    assert len(fault_entries(server, "latency")) == 1


def test_corrupt_sha1_is_rejected_by_the_sdk(server) -> None:
    with sdk_context("futu", server.host, server.port) as ctx:
        server.faults.add(kind="corrupt_sha1")
        ret, msg, key, _ = timed(ctx)
        assert (ret, key) == (-1, None) and "check sha error" in msg
        assert timed(ctx)[0] == 0  # the connection is unharmed


def test_error_reply_reaches_the_caller(server) -> None:
    with sdk_context("futu", server.host, server.port) as ctx:
        server.faults.add(kind="error", ret_type=-100, ret_msg="gateway busy", err_code=7, count=2)
        assert [timed(ctx)[:3] for _ in range(2)] == [(-1, "gateway busy", None)] * 2
        assert timed(ctx)[0] == 0
    entries = fault_entries(server, "error")
    assert [(e.ret_type, e.ret_msg, e.rows) for e in entries] == [(-100, "gateway busy", None)] * 2


def test_truncated_frame_disconnects_the_sdk(server) -> None:
    """The SDK reports 'Disconnect'.  (It also keeps the half frame in its
    receive buffer across the reconnect, so that context never works again —
    see README, Known client limitations.)"""
    with sdk_context("futu", server.host, server.port) as ctx:
        server.faults.add(kind="truncate")
        ret, msg, key, elapsed = timed(ctx)
        assert (ret, msg, key) == (-1, "Disconnect", None) and elapsed < 2
    assert len(fault_entries(server, "truncate")) == 1


@pytest.mark.slow
def test_reset_disconnects_and_the_sdk_reconnects(server) -> None:
    with sdk_context("futu", server.host, server.port) as ctx:
        first = ctx.get_sync_conn_id()
        server.faults.add(kind="reset")
        assert timed(ctx)[:3] == (-1, "Disconnect", None)
        ret, data, _, waited = timed(ctx)  # the SDK reconnects after 6 s, then serves the call
        assert ret == 0 and len(data) == 10 and 4 < waited < 15
        assert ctx.get_sync_conn_id() != first


@pytest.mark.slow
def test_no_reply_times_out_in_the_sdk(server) -> None:
    with sdk_context("futu", server.host, server.port) as ctx:
        server.faults.add(kind="no_reply")
        ret, msg, key, elapsed = timed(ctx)
        assert (ret, msg, key) == (-1, "PacketErr.Timeout", None) and 11 < elapsed < 15
        assert timed(ctx)[0] == 0
    (entry,) = fault_entries(server, "no_reply")
    assert entry.ret_type == 0 and len(entry.rows) == 10  # processed, reply dropped


def test_fault_by_duration_and_by_connection(server) -> None:
    with sdk_context("futu", server.host, server.port) as a, sdk_context("moomoo", server.host, server.port) as b:
        server.faults.add(kind="error", ret_msg="only a", conn_id=a.get_sync_conn_id(), duration=60)
        assert [timed(a)[1] for _ in range(3)] == ["only a"] * 3
        assert timed(b)[0] == 0
        server.faults.remove()
        assert timed(a)[0] == 0


def test_fault_on_keepalive_or_any_proto(server) -> None:
    server.faults.add(kind="error", proto_id=1002, ret_msg="no state for you")
    with sdk_context("futu", server.host, server.port) as ctx:
        assert ctx.get_global_state() == (-1, "no state for you")
        assert timed(ctx)[0] == 0
