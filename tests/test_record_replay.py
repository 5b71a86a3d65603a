"""Record a "real" OpenD through the proxy, replay it offline — with the real futu SDK.

The "real OpenD" is ``tests/upstream_opend.py``, a second process: a mock-opend
with its own 3301 fixtures and seed, plus a market snapshot (3203) and a
subscription (3001) that pushes quotes (3005) — protocols mock-opend itself
does not serve.  Every server here is a real process on an ephemeral port.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import ROOT, ServerProcess, admin_call, sdk_context, serial_peer, start_server_process, stop_all

pytestmark = pytest.mark.sdk

UPSTREAM = ROOT / "tests" / "upstream_opend.py"
LOGIN_USER_ID = 987654321012  # the upstream's (tests/upstream_opend.py)
DOC_EXAMPLE = str(ROOT / "fixtures" / "doc_example.toml")
CODES = ["HK.00700", "US.AAPL"]
RANGES = [
    ("US_SECURITY", "VOLUME", "2026-06-01", "2026-06-12"),  # the API page's table (upstream fixtures)
    ("US_INDEX", "OPEN_INTEREST", "2025-07-01", "2026-06-12"),  # three pages of the upstream's own data
]


def admin(sp: ServerProcess, path: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    return admin_call(sp.ready["admin_port"], method, path, body)


def statistics(ctx: Any, market: str, dtype: str, begin: str, end: str) -> pd.DataFrame:
    """Every page of a query, as one DataFrame (what a caller assembles)."""
    frames, key = [], None
    for _ in range(20):
        ret, df, key = ctx.get_option_market_statistic(market, dtype, begin, end, page_req_key=key)
        assert ret == 0, df
        frames.append(df)
        if key is None:
            return pd.concat(frames, ignore_index=True)
    raise AssertionError("more than 20 pages")


class Quotes:
    """The futu SDK's quote push handler, collecting what it is given."""

    def __init__(self) -> None:
        import futu

        got: list[pd.DataFrame] = []
        arrived = threading.Event()

        class Handler(futu.StockQuoteHandlerBase):
            def on_recv_rsp(self, rsp_pb: Any) -> Any:
                ret, data = super().on_recv_rsp(rsp_pb)
                if ret == 0:
                    got.append(data)
                    if len(got) >= 3:
                        arrived.set()
                return ret, data

        self.handler, self.got, self.arrived = Handler(), got, arrived


def session(port: int) -> dict[str, Any]:
    """What the SDK's caller sees for snapshots, quote pushes and 3301."""
    with sdk_context("futu", "127.0.0.1", port) as ctx:
        ret, snap = ctx.get_market_snapshot(CODES)
        assert ret == 0, snap
        quotes = Quotes()
        ctx.set_handler(quotes.handler)
        ret, msg = ctx.subscribe(["HK.00700"], ["QUOTE"])
        assert ret == 0, msg
        assert quotes.arrived.wait(15), f"{len(quotes.got)} quote pushes within 15 s"
        stats = [statistics(ctx, *r) for r in RANGES]
    return {"snapshot": snap, "pushes": pd.concat(quotes.got[:3], ignore_index=True), "stats": stats}


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    pd.testing.assert_frame_equal(a["snapshot"], b["snapshot"])
    pd.testing.assert_frame_equal(a["pushes"], b["pushes"])
    for x, y in zip(a["stats"], b["stats"], strict=True):
        pd.testing.assert_frame_equal(x, y)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Direct, proxied and recorded sessions; the upstream is gone afterwards."""
    rec = tmp_path_factory.mktemp("rec")
    started: list[ServerProcess] = []
    try:
        up = start_server_process(
            "--config", DOC_EXAMPLE, "--seed", "77", "--ws-port", "off", "--admin-port", "0", script=UPSTREAM
        )
        started.append(up)
        proxy = start_server_process(
            "--now", "2026-06-15", "--admin-port", "0", "--upstream", f"127.0.0.1:{up.port}",
            "--upstream-3301", "--record", str(rec),
        )  # fmt: skip
        started.append(proxy)
        direct = session(up.port)
        proxied = session(proxy.port)
        _, up_journal = admin(up, "/journal")
        _, px_journal = admin(proxy, "/journal")
        _, record = admin(proxy, "/record")
    finally:
        stop_all(started)
    ids = {e["conn_id"] for e in up_journal["entries"]} | {e["conn_id"] for e in px_journal["entries"]}
    return {"dir": rec, "direct": direct, "proxied": proxied, "ids": ids, "journal": px_journal, "record": record}


def test_a_through_the_proxy_the_sdk_gets_the_upstreams_answers(recorded: dict[str, Any]) -> None:
    assert_same(recorded["direct"], recorded["proxied"])
    snap = recorded["proxied"]["snapshot"]
    assert list(snap["code"]) == CODES and list(snap["name"]) == ["NAME-00700", "NAME-AAPL"]
    table = recorded["proxied"]["stats"][0]
    assert table.iloc[0].to_dict()["call_value"] == 45658870  # the API page's first row (upstream fixture)
    assert len(recorded["proxied"]["stats"][1]) > 200  # paged through the upstream's own keys
    by = {(e["proto_id"], e["answered_by"]) for e in recorded["journal"]["entries"] if not e.get("push")}
    assert {(1001, "mock"), (3203, "upstream"), (3001, "upstream"), (3301, "upstream")} <= by
    assert {source for proto, source in by if proto in (1001, 1002, 1004)} == {"mock"}  # session: never relayed
    pushes = [e for e in recorded["journal"]["entries"] if e.get("push")]
    assert len(pushes) >= 3 and {e["proto_id"] for e in pushes} == {3005}
    assert all(e["answered_by"] == "upstream" for e in pushes)


def test_proxy_serves_3301_itself_unless_told_to_relay(server_process, recorded: dict[str, Any]) -> None:
    up = server_process("--config", DOC_EXAMPLE, "--seed", "77", "--ws-port", "off", script=UPSTREAM)
    proxy = server_process("--now", "2026-06-15", "--upstream", f"127.0.0.1:{up.port}")
    with sdk_context("futu", "127.0.0.1", proxy.port) as ctx:
        own = statistics(ctx, *RANGES[1])
        ret, snap = ctx.get_market_snapshot(CODES)
    assert ret == 0 and list(snap["name"]) == ["NAME-00700", "NAME-AAPL"]  # relayed
    assert not own.equals(recorded["direct"]["stats"][1])  # seed 1 (local), not the upstream's seed 77


def test_b_offline_replay_gives_identical_dataframes(server_process, recorded: dict[str, Any]) -> None:
    """The README's command: --stubs DIR serves the stubs and the 3301 rows recorded beside them."""
    offline = server_process("--now", "2026-06-15", "--stubs", str(recorded["dir"]))
    assert_same(recorded["direct"], session(offline.port))


def test_c_recorded_files_hold_no_account_or_connection_id(recorded: dict[str, Any]) -> None:
    files = [p for p in recorded["dir"].rglob("*") if p.is_file()]
    names = sorted(p.name for p in files)
    assert "option_market_statistic.csv" in names and any(n.startswith("3203-Qot_GetSecuritySnapshot") for n in names)
    assert any(n.startswith("3001-Qot_Sub") for n in names)
    docs = (ROOT / "docs" / "record-replay.md").read_text(encoding="utf-8")
    for shown in re.findall(r"cassette/(\S+\.(?:json|csv))", docs):  # the walkthrough's files, as recorded
        assert (recorded["dir"] / shown).exists(), shown
    assert len(recorded["ids"]) >= 3  # the direct and proxied SDK connections, the proxy's upstream link
    for path in files:
        text = path.read_text()
        for secret in (*recorded["ids"], LOGIN_USER_ID):
            assert str(secret) not in text, (path.name, secret)
    sub = json.loads(next(p for p in files if p.name.startswith("3001-")).read_text())
    assert sub["name"] == "Qot_Sub" and sub["server_ver"] == 1011 and sub["captured_at"].endswith("Z")
    assert [p["name"] for p in sub["pushes"]] == ["Qot_UpdateBasicQot"] * 3
    assert recorded["record"]["stubs"] >= 2 and recorded["record"]["pushes"] == 3


def test_d_an_unmatched_request_names_the_nearest_stub(server_process, recorded: dict[str, Any]) -> None:
    offline = server_process("--now", "2026-06-15", "--stubs", str(recorded["dir"]), "--admin-port", "0")
    with sdk_context("futu", "127.0.0.1", offline.port) as ctx:
        ret, msg = ctx.get_market_snapshot(["HK.09988", "US.AAPL"])
        no_stub = ctx.get_market_state(["HK.00700"])
    assert no_stub[0] != 0
    assert no_stub[1] == "没有 Qot_GetMarketState (3223) 的存根（已加载 2 个其他协议的存根），也没有配置上游 OpenD"
    _, journal = admin(offline, "/journal?error=any")
    assert [e["error"] for e in journal["entries"]] == ["NO_STUB_MATCH", "NO_STUB"]
    assert ret != 0
    assert msg.startswith("没有与请求匹配的存根：Qot_GetSecuritySnapshot (3203)"), msg
    assert "3203-Qot_GetSecuritySnapshot-" in msg
    assert 'c2s.securityList[0].code：存根为 "00700"，请求为 "09988"' in msg, msg
    docs = (ROOT / "docs" / "record-replay.md").read_text(encoding="utf-8")
    assert msg in docs.splitlines()  # the message the walkthrough shows, to the character


def test_spy_mode_answers_from_stubs_and_records_the_rest(server_process, recorded, tmp_path: Path) -> None:
    """Hoverfly's spy / VCR's new_episodes: stubs first, the rest relayed and recorded."""
    up = server_process("--config", DOC_EXAMPLE, "--seed", "77", "--ws-port", "off", script=UPSTREAM)
    import shutil

    shutil.copytree(recorded["dir"], tmp_path / "cassette")
    cassette = tmp_path / "cassette"
    proxy = server_process(
        "--now", "2026-06-15", "--upstream", f"127.0.0.1:{up.port}", "--stubs", str(cassette),
        "--record", str(cassette), "--admin-port", "0",
    )  # fmt: skip
    with sdk_context("futu", "127.0.0.1", proxy.port) as ctx:
        for _ in range(2):
            assert ctx.get_market_snapshot(CODES)[0] == 0
            assert ctx.get_market_snapshot(["HK.09988"])[0] == 0
    _, journal = admin(proxy, "/journal?proto_id=3203")
    assert [e["answered_by"] for e in journal["entries"]] == ["stub", "upstream", "stub", "stub"]
    assert len(list((cassette / "stubs").glob("3203-*.json"))) == 2


def test_upstream_down_gives_a_clear_error_at_once(server_process) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # bound, never listening: connection refused
        proxy = server_process(
            "--now", "2026-06-15", "--upstream", f"127.0.0.1:{dead}", "--lang", "en", "--admin-port", "0"
        )
        with sdk_context("futu", "127.0.0.1", proxy.port) as ctx:
            t0 = time.monotonic()
            ret, msg = ctx.get_market_snapshot(CODES)
            took = time.monotonic() - t0
            ret3301, df, _ = ctx.get_option_market_statistic(*RANGES[0])
    assert ret != 0 and msg.startswith(f"cannot reach the upstream OpenD at 127.0.0.1:{dead}"), msg
    assert "Qot_GetSecuritySnapshot (3203) was not relayed" in msg
    assert took < 5
    assert ret3301 == 0 and len(df) == 10  # what the mock serves itself still works
    _, journal = admin(proxy, "/journal?error=any")
    assert [e["error"] for e in journal["entries"]] == ["UPSTREAM_UNREACHABLE"]


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        ({"kind": "no_reply"}, "UPSTREAM_TIMEOUT", "did not answer Qot_GetSecuritySnapshot (3203) within 1 s"),
        ({"kind": "reset"}, "UPSTREAM_LOST", "dropped"),
    ],
)
def test_slow_or_dropping_upstream(server_process, fault: dict[str, Any], error: str, text: str) -> None:
    up = server_process("--config", DOC_EXAMPLE, "--ws-port", "off", "--admin-port", "0", script=UPSTREAM)
    proxy = server_process(
        "--now", "2026-06-15", "--upstream", f"127.0.0.1:{up.port}", "--upstream-timeout", "1", "--lang", "en",
        "--admin-port", "0",
    )  # fmt: skip
    assert admin(up, "/faults", "POST", {**fault, "proto_id": 3203, "count": 1})[0] == 201
    with sdk_context("futu", "127.0.0.1", proxy.port) as ctx:
        t0 = time.monotonic()
        ret, msg = ctx.get_market_snapshot(CODES)
        took = time.monotonic() - t0
        again, snap = ctx.get_market_snapshot(CODES)  # the link recovers (reconnects after a drop)
    assert ret != 0 and text in msg, msg
    assert took < 4
    assert again == 0 and list(snap["code"]) == CODES
    _, journal = admin(proxy, "/journal?proto_id=3203")
    first, second = journal["entries"]
    assert (first["error"], first["answered_by"]) == (error, "mock")
    assert (second["error"], second["answered_by"]) == (None, "upstream")


def test_upstream_that_is_not_an_opend(server_process) -> None:
    """A port that answers with HTTP: the link breaks with a reason, no hang."""

    def http(conn: socket.socket) -> None:  # every connection (the proxy's start-up check is one)
        if conn.recv(1024):
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" + bytes(64))
            time.sleep(1)

    with serial_peer(http) as port:
        proxy = server_process("--now", "2026-06-15", "--upstream", f"127.0.0.1:{port}", "--lang", "en")
        with sdk_context("futu", "127.0.0.1", proxy.port) as ctx:
            ret, msg = ctx.get_market_snapshot(CODES)
    assert ret != 0 and "not an OpenD frame" in msg, msg


ENCRYPTED_CLIENT = """
import json, sys, futu
futu.SysConfig.set_all_thread_daemon(True)
futu.SysConfig.set_init_rsa_file(sys.argv[2])
futu.SysConfig.enable_proto_encrypt(True)
ctx = futu.OpenQuoteContext(host="127.0.0.1", port=int(sys.argv[1]))
ret, snap = ctx.get_market_snapshot(["HK.00700", "US.AAPL"])
ctx.close()
with open(sys.argv[3], "w") as fh:  # not stdout: the SDK's threads log there
    json.dump([ret, list(snap["name"]) if ret == 0 else snap], fh)
"""


def test_encrypted_upstream_and_client(server_process, tmp_path: Path) -> None:
    """RSA + AES on both sides: the SDK to the proxy, the proxy to the upstream.
    (The SDK's encryption switches are process-wide: the client runs in its own process.)"""
    import subprocess
    import sys

    from mock_opend.crypto import generate_key_pem

    up_key, px_key = tmp_path / "up.pem", tmp_path / "px.pem"
    up_key.write_bytes(generate_key_pem())
    px_key.write_bytes(generate_key_pem())
    up = server_process("--ws-port", "off", "--rsa-key", str(up_key), script=UPSTREAM)
    proxy = server_process(
        "--upstream", f"127.0.0.1:{up.port}", "--upstream-rsa-key", str(up_key), "--rsa-key", str(px_key)
    )
    result = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, "-c", ENCRYPTED_CLIENT, str(proxy.port), str(px_key), str(result)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads(result.read_text()) == [0, ["NAME-00700", "NAME-AAPL"]]
