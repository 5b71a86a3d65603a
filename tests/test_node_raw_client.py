"""The second-language raw client (examples/node-raw-client, Node.js + protobufjs)
gets exactly the Python SDK's rows."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, run_sdk_query

pytestmark = pytest.mark.sdk


def run_client(client, port: int, *args: str) -> dict:
    done = subprocess.run(
        ["node", str(client), "--port", str(port), "--proto", str(ROOT / "proto"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("market", "dtype", "begin", "end"),
    [("US_SECURITY", "VOLUME", "2025-06-16", "2026-06-15"), ("HK_INDEX", "OPEN_INTEREST", "2026-01-01", "2026-06-15")],
)
def test_raw_node_client_matches_the_python_sdk(node_raw_client, server_process, market, dtype, begin, end) -> None:
    from mock_opend.markets import DataType, OptionMarket

    server = server_process("--now", "2026-06-15", "--seed", "3", "--keep-alive-interval", "1")
    out = run_client(
        node_raw_client,
        server.port,
        "--market",
        str(int(OptionMarket[market])),
        "--type",
        str(int(DataType[dtype])),
        "--begin",
        begin,
        "--end",
        end,
        "--hold",
        "2.2",
    )
    assert "error" not in out, out
    py = run_sdk_query(
        sys.executable, server.port, [{"market": market, "data_type": dtype, "begin": begin, "end": end}]
    )
    py_rows = [r for p in py["results"][0]["pages"] for r in p["rows"]]
    node_rows = [
        {
            **r,
            "call_value": int(r["call_value"]),
            "put_value": int(r["put_value"]),
            "total_value": int(r["total_value"]),
        }
        for r in out["rows"]
    ]
    assert node_rows == py_rows
    assert out["pages"] == len(py["results"][0]["pages"])
    server.stop()
    log = [json.loads(line) for line in server.stderr_text().splitlines()]
    pings = [r for r in log if r.get("proto") == 1004 and r.get("conn") == int(out["conn_id"])]
    assert len(pings) >= 2 and all(r["outcome"] == "ok" for r in pings)


def test_raw_node_client_reports_server_errors(node_raw_client, server_process) -> None:
    server = server_process("--lang", "en")
    out = run_client(
        node_raw_client, server.port, "--market", "1", "--type", "0", "--begin", "2024-01-01", "--end", "2026-01-01"
    )
    assert "must not exceed one year" in out["error"]
