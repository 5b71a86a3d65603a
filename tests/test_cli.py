"""The command line as a user runs it: ready line, signals, config, errors, logs."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, start_server_process

from mock_opend.messages import OptionMarketStatisticRequest, OptionMarketStatisticResponse


def run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_opend", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def test_ready_line_is_one_json_line_with_the_port(server_process) -> None:
    sp = server_process()
    assert sp.ready == {"event": "ready", "host": "127.0.0.1", "port": sp.port}
    assert sp.port > 0
    socket.create_connection((sp.host, sp.port), timeout=2).close()
    sp.stop()
    assert sp.proc.stdout.read() == ""  # nothing after the ready line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_server_within_one_second(server_process, raw_client, sig) -> None:
    sp = server_process()
    client = raw_client(sp.host, sp.port)
    client.init_connect()  # an open, idle connection must not delay the exit
    elapsed = sp.stop(sig)
    assert sp.proc.returncode == 0
    assert elapsed < 1.0, f"took {elapsed:.2f}s"


def test_console_script_entry_point() -> None:
    exe = shutil.which("mock-opend") or str(Path(sys.executable).with_name("mock-opend"))
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0 and done.stdout.startswith("mock-opend ")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["serve", "--port", "abc"], "not an integer"),
        (["serve", "--lang", "fr"], "invalid choice"),
        (["serve", "--bogus"], "unrecognized arguments"),
        (["serve", "--port", "70000"], "port must be 0..65535"),
        (["serve", "--now", "tomorrow"], "not a date or ISO datetime"),
        (["serve", "--page-size", "0"], "page_size must be 1..1000"),
        (["serve", "--keep-alive-interval", "60"], "keep_alive_interval must be 1..40"),
        (["serve", "--fixtures", "/nonexistent/rows.csv"], "cannot read fixture file"),
        (["serve", "--config", "/nonexistent/conf.toml"], "cannot read config file"),
        (["serve", "--rate-limit", "lots"], "rate_limit must look like '60/30s'"),
        (["serve", "--rate-limit-scope", "global"], "invalid choice"),
        (["serve", "--admin-port", "0", "--admin-host", "0.0.0.0"], "an admin_token is required"),
        (["serve", "--span-policy", "truncate"], "invalid choice"),
    ],
)
def test_bad_input_exits_nonzero_with_a_clear_message(args: list[str], needle: str) -> None:
    done = run_cli(*args)
    assert done.returncode != 0
    assert needle in done.stderr
    assert done.stdout == ""


def test_port_in_use_is_an_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("serve", "--port", str(port))
        ws = run_cli("serve", "--port", "0", "--ws-port", str(port))
        admin = run_cli("serve", "--port", "0", "--ws-port", "off", "--admin-port", str(port))
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1: TCP port {port}" in done.stderr and "in use" in done.stderr
    # each port clash is reported under its own port
    assert ws.returncode == 1 and f"WebSocket port {port}" in ws.stderr and "in use" in ws.stderr, ws.stderr
    assert admin.returncode == 1 and f"admin port {port}" in admin.stderr, admin.stderr


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["mock-opend", "serve", "--frobnicate"], "mock-opend serve: error: unrecognized arguments: --frobnicate"),
        (["mock-opend", "serve", "--port", "abc"], "mock-opend serve: error: argument --port: not an integer: 'abc'"),
        (["mock-opend"], "mock-opend: error: the following arguments are required: COMMAND"),
        (["mock-opend", "serve", "--span-policy", "truncate"], "mock-opend serve: error: argument --span-policy"),
        (["mock-opend", "health", "--timeout", "nan"], "mock-opend health: error: argument --timeout"),
        (["opend-conformance", "run"], "opend-conformance run: error: one of the arguments"),
        (["opend-conformance", "list", "--frobnicate"], "opend-conformance: error: unrecognized arguments"),
    ],
)
def test_a_bad_flag_is_one_line_with_a_help_hint(args: list[str], wanted: str) -> None:
    """Not the 35-line usage: the error and where to look."""
    script = shutil.which(args[0], path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run([script, *args[1:]], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    prog = line.split(": error:")[0]
    assert line.startswith(wanted) and line.endswith(f"(see {prog} --help)"), line


def test_a_bad_toml_value_names_the_file(tmp_path: Path) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text("page_size = 5000\n")
    done = run_cli("serve", "--config", str(conf))
    assert done.returncode == 2
    assert f"{conf}: page_size must be 1..1000" in done.stderr


def test_toml_config_and_flags_override_it(tmp_path: Path, raw_client) -> None:
    fixture = tmp_path / "rows.csv"
    fixture.write_text("market,data_type,date,call,put\nHK_SECURITY,VOLUME,2026-06-12,10,30\n")
    conf = tmp_path / "mock.toml"
    conf.write_text('lang = "en"\npage_size = 3\nkeep_alive_interval = 12\nnow = 2026-06-15\nfixtures = ["rows.csv"]\n')
    sp = start_server_process("--config", str(conf), "--page-size", "2")
    try:
        c = raw_client(sp.host, sp.port)
        assert c.init_connect().s2c.keepAliveInterval == 12
        req = OptionMarketStatisticRequest()
        req.c2s.optionMarket, req.c2s.dataType, req.c2s.beginTime, req.c2s.endTime = 3, 0, "2026-06-01", "2026-06-30"
        c.send(3301, req.SerializeToString())
        rsp = OptionMarketStatisticResponse.FromString(c.recv_frame()[1])
        assert [i.time for i in rsp.s2c.statisticList] == [
            "2026-06-12",
            "2026-06-11",
        ]  # page size 2 (flag), now from TOML
        assert (rsp.s2c.statisticList[0].callValue, rsp.s2c.statisticList[0].ratio) == (
            10,
            3.0,
        )  # fixture path relative to the TOML
        req.c2s.optionMarket = 9
        c.send(3301, req.SerializeToString())
        assert (
            "unknown optionMarket=9" in OptionMarketStatisticResponse.FromString(c.recv_frame()[1]).retMsg
        )  # lang from TOML
    finally:
        sp.stop()
        sp.proc.stdout.close()
        sp.proc.stderr.close()


def test_unknown_toml_setting_is_an_error(tmp_path: Path) -> None:
    conf = tmp_path / "mock.toml"
    conf.write_text("pagesize = 3\n")
    done = run_cli("serve", "--config", str(conf))
    assert done.returncode == 2 and "unknown setting(s): pagesize" in done.stderr


def test_one_structured_log_line_per_request(server_process, raw_client) -> None:
    sp = server_process("--now", "2026-06-15")
    c = raw_client(sp.host, sp.port)
    c.init_connect()
    req = OptionMarketStatisticRequest()
    req.c2s.optionMarket, req.c2s.dataType, req.c2s.beginTime, req.c2s.endTime = 1, 0, "2026-06-01", "2026-06-12"
    c.send(3301, req.SerializeToString(), serial=4242)
    c.recv_frame()
    c.send(3301, b"\xff", serial=4243)
    c.recv_frame()
    sp.stop()
    lines = [json.loads(ln) for ln in sp.stderr_text().splitlines()]
    requests = [ln for ln in lines if ln.get("event") == "request"]
    assert [r["proto"] for r in requests] == [1001, 3301, 3301]
    ok, bad = requests[1], requests[2]
    assert ok["serial"] == 4242 and ok["outcome"] == "ok" and ok["rows"] == 10 and isinstance(ok["us"], int)
    assert bad["serial"] == 4243 and bad["outcome"] == "BAD_BODY" and bad["ret_type"] == -500
    assert len({r["conn"] for r in requests}) == 1


def test_errors_command_prints_the_catalogue() -> None:
    done = run_cli("errors")
    names = {e["name"] for e in json.loads(done.stdout)}
    assert {"SHA1_MISMATCH", "UNKNOWN_PROTO", "BAD_MARKET", "SPAN_TOO_LONG"} <= names
    md = run_cli("errors", "--markdown").stdout
    assert md.startswith("| name | retType |")


def test_non_loopback_warning_only_after_every_port_is_bound(monkeypatch, caplog) -> None:
    """Tests only bind to loopback: the bind is made to fail, and then nothing is
    said about listening; the warning itself is checked in the container test."""
    import asyncio
    import logging

    from mock_opend.server import MockOpenD, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1") and not is_loopback("example.com")

    async def refuse(*args, **kwargs):
        raise OSError("bind refused by the test")

    monkeypatch.setattr(asyncio.BaseEventLoop, "create_server", refuse)
    server = MockOpenD(host="0.0.0.0", port=0)
    with caplog.at_level(logging.WARNING, logger="mock_opend"), pytest.raises(OSError, match="refused by the test"):
        asyncio.run(server.start())
    assert not any("listening" in r.getMessage() for r in caplog.records)


def test_a_bad_host_fails_in_one_line_without_a_listening_warning() -> None:
    done = run_cli("serve", "--host", "256.1.1.1", "--port", "0")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "mock-opend: error: cannot listen on 256.1.1.1: TCP port 0: Name or service not known"
    ], done.stderr


def test_an_unreachable_upstream_is_said_at_start(server_process) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    sp = server_process("--upstream", f"127.0.0.1:{port}")
    line = sp.wait_for_stderr("cannot be reached", timeout=15)
    record = json.loads(line)
    assert record["level"] == "warning" and record["upstream"] == f"127.0.0.1:{port}"
    assert "(Connection refused)" in record["event"] and "UPSTREAM_UNREACHABLE" in record["event"]


def test_admin_port_in_the_ready_line_and_fast_shutdown(server_process) -> None:
    import urllib.request

    sp = server_process("--admin-port", "0", "--now", "2026-06-15")
    assert set(sp.ready) == {"event", "host", "port", "admin_port"}
    with urllib.request.urlopen(f"http://127.0.0.1:{sp.ready['admin_port']}/__admin/clock", timeout=5) as rsp:
        assert json.loads(rsp.read())["now"] == "2026-06-15T00:00:00+00:00"
    assert sp.stop() < 1.0 and sp.proc.returncode == 0


def test_an_upstream_name_that_does_not_resolve_is_said_in_words(server_process) -> None:
    sp = server_process("--upstream", "nohost.invalid:1234")
    record = json.loads(sp.wait_for_stderr("cannot be reached", timeout=15))
    assert "Unknown error" not in record["event"] and "nohost.invalid:1234" in record["event"], record["event"]
