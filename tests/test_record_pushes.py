"""A subscription session recorded through the proxy and replayed offline, with
the real SDK: subscribe, quote pushes spread over 16 s, the same snapshot twice.

Recording, each push belongs to the subscription it concerns (it used to go to
whatever request came last: the snapshot), and recording the snapshot again
keeps what is on disk.  Replaying, every call is answered within a second
while the pushes arrive at their recorded offsets (a push due at 16 s used to
hold every later reply until then)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import ROOT, sdk_context, start_server_process, stop_all

pytestmark = [pytest.mark.sdk, pytest.mark.slow]

UPSTREAM = ROOT / "tests" / "upstream_opend.py"
GAP_S = 8  # pushes at 0, 8 and 16 s after the subscription
CODE = "HK.00700"


def _session(port: int) -> dict[str, Any]:
    """subscribe, snapshot at once, the pushes, snapshot again: what the caller saw, and how fast."""
    import futu

    got: list[tuple[float, pd.DataFrame]] = []
    three = threading.Event()

    class Handler(futu.StockQuoteHandlerBase):
        def on_recv_rsp(self, rsp_pb: Any) -> Any:
            ret, data = super().on_recv_rsp(rsp_pb)
            if ret == 0:
                got.append((time.monotonic(), data))
                if len(got) >= 3:
                    three.set()
            return ret, data

    took = {}
    with sdk_context("futu", "127.0.0.1", port) as ctx:
        ctx.set_handler(Handler())
        t0 = time.monotonic()
        ret, msg = ctx.subscribe([CODE], ["QUOTE"])
        took["subscribe"] = time.monotonic() - t0
        assert ret == 0, msg
        t = time.monotonic()
        ret, first = ctx.get_market_snapshot([CODE])
        took["snapshot"] = time.monotonic() - t
        assert ret == 0, first
        assert three.wait(2 * GAP_S + 10), f"{len(got)} pushes"
        t = time.monotonic()
        ret, second = ctx.get_market_snapshot([CODE])
        took["snapshot again"] = time.monotonic() - t
        assert ret == 0, second
    return {
        "took": took,
        "snapshots": (first, second),
        "pushes": pd.concat([d for _, d in got[:3]], ignore_index=True),
        "offsets": [round(at - t0, 1) for at, _ in got[:3]],
    }


def test_a_subscription_session_records_and_replays_with_its_pushes_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPSTREAM_PUSH_GAP_MS", str(GAP_S * 1000))
    started = []
    try:
        up = start_server_process("--now", "2026-06-15", script=UPSTREAM)
        started.append(up)
        proxy = start_server_process(
            "--now", "2026-06-15", "--upstream", f"127.0.0.1:{up.port}", "--record", str(tmp_path)
        )
        started.append(proxy)
        live = _session(proxy.port)
    finally:
        stop_all(started)
    stubs = {
        json.loads(p.read_text())["proto_id"]: json.loads(p.read_text()) for p in (tmp_path / "stubs").glob("*.json")
    }
    assert len(stubs[3001].get("pushes", [])) == 3, "the pushes belong to the subscription"
    assert [round(p["after_ms"] / 1000) for p in stubs[3001]["pushes"]] == [0, GAP_S, 2 * GAP_S]
    assert not stubs[3203].get("pushes"), "not to the snapshot that happened to come last"

    started = []
    try:
        offline = start_server_process("--now", "2026-06-15", "--stubs", str(tmp_path))
        started.append(offline)
        again = _session(offline.port)
    finally:
        stop_all(started)
    assert all(s < 1.0 for s in again["took"].values()), again["took"]
    for a, b in zip(live["snapshots"], again["snapshots"], strict=True):
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(live["pushes"], again["pushes"])  # the recorded push sequence
    assert [round(o / GAP_S) for o in again["offsets"]] == [0, 1, 2], again["offsets"]
