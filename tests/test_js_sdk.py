"""The npm JavaScript SDKs against the WebSocket endpoint, run by Node.

The harness (tests/clients/js) gives Node 20 what the SDK expects of its
runtime — a global WebSocket (the `ws` package) and bundler-style module
resolution for the seed example — without touching the SDK.
"""

from __future__ import annotations

import json
import sys

import pytest
from conftest import ROOT, run_node, run_sdk_query
from seed_example import seed_page

pytestmark = pytest.mark.sdk

FIXTURE = str(ROOT / "fixtures" / "doc_example_us_security_volume.csv")


def seed_js_example(port: int) -> str:
    """The seed page's JavaScript example, verbatim but for the port."""
    text = seed_page()
    start = text.index('import ftWebsocket from "futu-api";')
    tail = text.index("websocket.start(addr, port, enable_ssl, key);", start)
    end = text.index("QotGetOptionMarketStatistic()", tail) + len("QotGetOptionMarketStatistic()")
    code = text[start:end]
    assert code.count("11112") == 1
    return code.replace("11112", str(port)) + "\n"


def last_json(stdout: str) -> dict:
    """The script's result line (the SDK itself prints a login message first)."""
    return json.loads(stdout.strip().splitlines()[-1])


def _py_rows(port: int, q: dict) -> list[tuple]:
    out = run_sdk_query(sys.executable, port, [q])
    return [
        (r["time"], r["timestamp"], r["call_value"], r["put_value"], r["total_value"], r["ratio"])
        for p in out["results"][0]["pages"]
        for r in p["rows"]
    ]


def _js_rows(pages: list[dict]) -> list[tuple]:
    return [
        (r["time"], r["timestamp"], int(r["call_value"]), int(r["put_value"]), int(r["total_value"]), r["ratio"])
        for p in pages
        for r in p["rows"]
    ]


def test_seed_javascript_example_prints_the_python_sdk_rows(js_env, server_process) -> None:
    server = server_process("--ws-port", "0", "--fixtures", FIXTURE, "--now", "2026-06-15")
    script = js_env / "seed_example.mjs"
    script.write_text(seed_js_example(server.ready["ws_port"]))
    done = run_node(js_env, script.name)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "GetOptionMarketStatistic: errCode 0, retMsg , retType 0" in out
    s2c = json.loads(out[out.index("{") :])
    assert (s2c["optionMarket"], s2c["dataType"]) == (1, 0)
    js = [
        (i["time"], i["timestamp"], int(i["callValue"]), int(i["putValue"]), int(i["totalValue"]), i["ratio"])
        for i in s2c["statisticList"]
    ]
    py = _py_rows(
        server.port, {"market": "US_SECURITY", "data_type": "VOLUME", "begin": "2026-06-01", "end": "2026-06-15"}
    )
    assert js == py and len(js) == 10
    assert js[0] == ("2026-06-12", 1781236800, 45658870, 28723978, 74382848, 0.6291)


def test_pages_through_a_year_like_the_python_sdk(js_env, server_process) -> None:
    server = server_process("--ws-port", "0", "--now", "2026-06-20", "--seed", "4")
    done = run_node(js_env, "fetch_all.mjs", str(server.ready["ws_port"]), "4", "1", "2025-06-20", "2026-06-20")
    out = last_json(done.stdout)
    assert out["login"] and out["error"] is None
    py = _py_rows(
        server.port, {"market": "HK_INDEX", "data_type": "OPEN_INTEREST", "begin": "2025-06-20", "end": "2026-06-20"}
    )
    assert 200 < len(py) < 300
    assert [len(p["rows"]) for p in out["pages"]] == [100, 100, len(py) - 200]
    assert _js_rows(out["pages"]) == py


def test_server_errors_reject_the_js_promise(js_env, server_process) -> None:
    server = server_process("--ws-port", "0", "--lang", "en")
    done = run_node(js_env, "fetch_all.mjs", str(server.ready["ws_port"]), "9", "0", "2026-01-01", "2026-02-01")
    out = last_json(done.stdout)
    assert out["error"]["retType"] == -1 and "unknown optionMarket=9" in out["error"]["retMsg"]
    done = run_node(js_env, "fetch_all.mjs", str(server.ready["ws_port"]), "1", "0", "2024-01-01", "2026-01-01")
    assert "must not exceed one year" in last_json(done.stdout)["error"]["retMsg"]


def test_rate_limit_is_shared_between_tcp_and_websocket(js_env, server_process) -> None:
    server = server_process("--ws-port", "0", "--now", "2026-06-15", "--rate-limit", "2/30s", "--lang", "en")
    q = {"market": "US_INDEX", "data_type": "VOLUME", "begin": "2026-06-01", "end": "2026-06-12"}
    run_sdk_query(sys.executable, server.port, [q])  # one first page over TCP
    ws_port = str(server.ready["ws_port"])
    first = last_json(run_node(js_env, "fetch_all.mjs", ws_port, "2", "0", "2026-06-01", "2026-06-12").stdout)
    second = last_json(run_node(js_env, "fetch_all.mjs", ws_port, "2", "0", "2026-06-01", "2026-06-12").stdout)
    assert first["error"] is None and len(first["pages"][0]["rows"]) == 10
    assert "at most 2 requests every 30 seconds" in second["error"]["retMsg"]


@pytest.mark.parametrize("script", ["fetch_all.mjs", "moomoo_login.mjs"])
def test_websocket_key(js_env, server_process, script: str) -> None:
    server = server_process("--ws-port", "0", "--ws-key", "secret", "--now", "2026-06-15")
    port = str(server.ready["ws_port"])
    extra = ("1", "0", "2026-06-01", "2026-06-12") if script == "fetch_all.mjs" else ()
    good = last_json(run_node(js_env, script, port, *extra, "secret").stdout)
    assert good["login"] is True and int(good["conn_id"]) > 0
    bad = run_node(js_env, script, port, *extra, "guess", timeout=20)
    refused = last_json(bad.stdout)
    assert refused["login"] is False and bad.returncode == 0  # refused at once, not by the watchdog
    server.stop()
    log = [json.loads(line) for line in server.stderr_text().splitlines()]
    assert any(r.get("outcome") == "WS_KEY_MISMATCH" and r.get("transport") == "ws" for r in log)


def test_npm_moomoo_api_logs_in(js_env, server_process) -> None:
    """npm's moomoo-api (9.6.5608, newest there) has no 3301, but its session works."""
    server = server_process("--ws-port", "0")
    out = last_json(run_node(js_env, "moomoo_login.mjs", str(server.ready["ws_port"])).stdout)
    assert out["login"] is True and int(out["conn_id"]) > 0
    pkg = json.loads((js_env / "node_modules" / "moomoo-api" / "package.json").read_text())
    assert pkg["version"] == "9.6.5608"
