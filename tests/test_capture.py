"""``mock-opend record``: capture 3301 from a gateway, replay it as fixtures.

The gateway is a mock-opend process with another seed and a tight rate limit
on a running clock; the capture must stay under the limit on its own, and an
offline server loading what it wrote must give the SDK the same DataFrames.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from conftest import sdk_context

pytestmark = pytest.mark.sdk

QUERIES = [
    ("US_SECURITY", "VOLUME", "2025-01-01", "2025-12-31"),
    ("HK_INDEX", "OPEN_INTEREST", "2026-01-01", "2026-06-12"),
]


def record(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_opend", "record", *args], capture_output=True, text=True, timeout=120
    )


def all_pages(port: int) -> list[pd.DataFrame]:
    out = []
    with sdk_context("futu", "127.0.0.1", port) as ctx:
        for q in QUERIES:
            frames, key = [], None
            while True:
                ret, df, key = ctx.get_option_market_statistic(*q, page_req_key=key)
                assert ret == 0, df
                frames.append(df)
                if key is None:
                    break
            out.append(pd.concat(frames, ignore_index=True))
    return out


def test_record_captures_under_the_limit_and_replays_identically(server_process, tmp_path: Path) -> None:
    gateway = server_process(
        "--seed", "77", "--now", "2026-06-15", "--clock-tick", "--rate-limit", "6/2s", "--admin-port", "0"
    )
    done = record(
        "--opend", f"127.0.0.1:{gateway.port}", "-o", str(tmp_path), "--begin", "2025-01-01", "--end", "2026-06-12",
        "--market", "US_SECURITY", "--market", "HK_INDEX", "--rate", "6/2s", "--progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["failures"] == [] and summary["queries"] == 8
    assert summary["requests"] > 6 and summary["waited_seconds"] > 0  # it paced itself
    assert summary["rows"] == summary["rows_in_file"] > 700
    assert "100%" in done.stderr and "8/8" in done.stderr  # the progress bar
    url = f"http://127.0.0.1:{gateway.ready['admin_port']}/__admin/journal?error=any"
    with urllib.request.urlopen(url, timeout=10) as rsp:
        assert json.loads(rsp.read())["count"] == 0  # never refused: no RATE_LIMITED
    fixture = tmp_path / "fixtures" / "option_market_statistic.csv"
    direct = all_pages(gateway.port)
    offline = server_process("--now", "2026-06-15", "--fixtures", str(fixture))  # seed 1: only the fixture agrees
    for a, b in zip(direct, all_pages(offline.port), strict=True):
        pd.testing.assert_frame_equal(a, b)
    again = record("--opend", f"127.0.0.1:{gateway.port}", "-o", str(tmp_path), "--market", "US_INDEX",
                   "--type", "VOLUME", "--begin", "2026-06-01", "--end", "2026-06-12", "--no-progress")  # fmt: skip
    assert again.returncode == 0 and again.stderr == ""
    assert json.loads(again.stdout)["rows_in_file"] == summary["rows_in_file"] + 10  # added to the file


def test_record_errors_are_clear(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
        done = record("--opend", f"127.0.0.1:{dead}", "-o", str(tmp_path), "--end", "2026-06-12")
    assert done.returncode == 2 and f"cannot connect to OpenD at 127.0.0.1:{dead}" in done.stderr
    done = record("--opend", "nowhere", "-o", str(tmp_path))
    assert done.returncode == 2 and "--opend must be HOST:PORT" in done.stderr
    done = record("--opend", "127.0.0.1:1", "-o", str(tmp_path), "--begin", "2026-13-01")
    assert done.returncode == 2 and "--begin/--end" in done.stderr
    done = record("--opend", "127.0.0.1:1", "-o", str(tmp_path), "--rate", "off")
    assert done.returncode == 2 and "--rate cannot be off" in done.stderr


def test_record_stops_with_a_hint_when_the_gateway_never_frees_its_window(server_process, tmp_path: Path) -> None:
    """A mock-opend with a frozen clock never frees its rate-limit window: say so, do not wait forever."""
    gateway = server_process("--now", "2026-06-15", "--rate-limit", "2/60s")
    done = record(
        "--opend", f"127.0.0.1:{gateway.port}", "-o", str(tmp_path), "--market", "US_SECURITY",
        "--begin", "2024-01-01", "--end", "2026-06-12", "--rate", "2/1s", "--no-progress",
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "still says too frequent after 4 tries a full window apart" in done.stderr
    assert "--clock-tick" in done.stderr
    assert (tmp_path / "fixtures" / "option_market_statistic.csv").exists()  # what came before is kept
