"""``mock-opend parity`` against real processes: a second mock-opend at its
defaults (all validated), one configured differently (exactly those
divergences, then none with the suggested settings), an upstream that does not
serve 3301 (skipped, with the reason), a closed port (one line, exit 2)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from test_relay_format import fake_upstream  # noqa: F401  (a fixture)

from mock_opend.messages import ErrorResponse

pytestmark = pytest.mark.slow


def parity(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = shutil.which("mock-opend", path=str(Path(sys.executable).parent))
    assert script is not None
    # a mock gateway needs no pacing (the default keeps a real one under its limit, at up to 30 s a run)
    extra = () if "--pace" in args else ("--pace", "off")
    return subprocess.run([script, "parity", *args, *extra], capture_output=True, text=True, timeout=300, cwd=cwd)


def report(out: Path) -> dict[str, Any]:
    doc = json.loads((out / "parity.json").read_text(encoding="utf-8"))
    assert (out / "parity.md").exists() and (out / "parity.html").exists() and (out / "parity.toml").exists()
    return doc


def by_status(doc: dict[str, Any], status: str) -> dict[str, dict[str, Any]]:
    return {b["id"]: b for b in doc["behaviours"] if b["status"] == status}


def test_a_second_mock_at_its_defaults_is_validated_everywhere(server_process, tmp_path: Path) -> None:
    gateway = server_process("--now", "2026-06-15")
    address = f"127.0.0.1:{gateway.port}"
    done = parity(
        "--opend", address, "--out", str(tmp_path / "r"), "--pace", "20/1s", "--include-rate-limit", cwd=tmp_path
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "parity: pacing" in done.stderr  # 47 requests at 20 a second: it waited, twice
    doc = report(tmp_path / "r")
    assert by_status(doc, "divergent") == {} and by_status(doc, "skipped") == {}
    validated = by_status(doc, "validated")
    assert len(validated) == 27 and doc["settings"] == {}
    assert validated["rate.limit"]["gateway"] == 60 and validated["rate.continuations_free"]["gateway"] is True
    assert "27 validated, 0 divergent, 0 skipped" in done.stdout

    fresh = server_process("--now", "2026-06-15")  # the first one's window is spent
    plain = parity("--opend", f"127.0.0.1:{fresh.port}", "--out", str(tmp_path / "plain"), cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout + plain.stderr[-2000:]
    skipped = by_status(report(tmp_path / "plain"), "skipped")
    assert set(skipped) == {"rate.limit", "rate.rejection", "rate.continuations_free"}
    assert "--include-rate-limit" in skipped["rate.limit"]["reason"]


def test_a_gateway_with_another_rate_limit_is_measured(server_process, tmp_path: Path) -> None:
    gateway = server_process("--now", "2026-06-15", "--rate-limit", "40/30s")
    done = parity("--opend", f"127.0.0.1:{gateway.port}", "--out", str(tmp_path / "r"), "--include-rate-limit",
                  cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    doc = report(tmp_path / "r")
    assert set(by_status(doc, "divergent")) == {"rate.limit"} and doc["settings"] == {"rate_limit": "40/30s"}
    assert "parity: 3301 for every market" in done.stderr  # progress


def test_a_differently_configured_gateway_gives_exactly_those_divergences(server_process, tmp_path: Path) -> None:
    gateway = server_process("--now", "2026-06-15", "--span-policy", "paginate", "--page-size", "50", "--lang", "en")
    address = f"127.0.0.1:{gateway.port}"
    done = parity("--opend", address, "--out", str(tmp_path / "first"), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    doc = report(tmp_path / "first")
    assert set(by_status(doc, "divergent")) == {"3301.rows_per_page", "errors.over_one_year", "errors.language"}
    assert doc["settings"] == {"span_policy": "paginate", "page_size": 50, "lang": "en"}
    toml = (tmp_path / "first" / "parity.toml").read_text()
    assert 'span_policy = "paginate"' in toml and "page_size = 50" in toml and 'lang = "en"' in toml
    md = (tmp_path / "first" / "parity.md").read_text()
    assert "| a range over one year: rejected, or served in pages | **divergent** |" in md
    # docs/parity.md shows a run like this one: the same behaviours with the same results
    page = (ROOT / "docs" / "parity.md").read_text(encoding="utf-8")
    shown = page.split("<!-- parity:begin -->")[1].split("<!-- parity:end -->")[0]
    columns = lambda text: [row.split(" | ")[:2] for row in text.splitlines() if row.startswith("| ")]  # noqa: E731
    assert columns(shown) == columns(md), "docs/parity.md: paste a new run's parity.md between its markers"

    again = parity(
        "--opend", address, "--out", str(tmp_path / "again"), "--mock-config", str(tmp_path / "first" / "parity.toml"),
        cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    assert by_status(report(tmp_path / "again"), "divergent") == {}


def test_an_upstream_that_does_not_serve_3301_is_skipped_with_the_reason(fake_upstream, tmp_path: Path) -> None:  # noqa: F811
    refusal = ErrorResponse()
    refusal.retType, refusal.retMsg = -1, "unknown protocol 3301"
    up = fake_upstream(refusal.SerializeToString(), 0)
    done = parity("--opend", f"127.0.0.1:{up.port}", "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    skipped = by_status(report(tmp_path / "r"), "skipped")
    for bid in ("3301.default_range", "3301.trading_days", "3301.rows_per_page", "errors.over_one_year"):
        assert bid in skipped, bid
    reason = skipped["3301.default_range"]["reason"]
    assert "does not serve 3301" in reason and "unknown protocol 3301" in reason, reason


def test_a_closed_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    done = parity("--opend", f"127.0.0.1:{port}", "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"mock-opend parity: error: cannot connect to 127.0.0.1:{port}: Connection refused"
    ], done.stderr
    assert not (tmp_path / "r").exists()


def test_the_kit_runs_against_a_mock_configured_like_the_gateway(tmp_path: Path) -> None:
    """opend-conformance run --mock-config parity.toml: the reference raw client
    passes every case against a mock that pages by 10, paginates long ranges and
    speaks English; settings the cases are timed by are left out, and said so."""
    conf = tmp_path / "parity.toml"
    conf.write_text('lang = "en"\npage_size = 10\nspan_policy = "paginate"\nrate_limit = "5/30s"\n')
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--client", "raw-python", "--mock-config", str(conf),
         "--json", str(tmp_path / "r.json")],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    cases = json.loads((tmp_path / "r.json").read_text())["cases"]
    assert {c["outcome"] for c in cases} == {"passed"}, [
        (c["id"], c["verdict"]) for c in cases if c["outcome"] != "passed"
    ]
    assert "left out: rate_limit" in done.stderr


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("page_size = 1\n", "page_size 1: the kit's cases need 10..200 rows a page"),
        ('page_size = "x"\n', "page_size must be 1..1000"),
        ("bogus = 1\n", "unknown setting(s): bogus"),
    ],
)
def test_a_mock_config_the_kit_cannot_use_is_one_line(tmp_path: Path, text: str, said: str) -> None:
    conf = tmp_path / "parity.toml"
    conf.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--client", "raw-python", "--mock-config", str(conf)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"opend-conformance: error: {conf}: ") and said in line, line


def test_an_unwritable_out_folder_is_one_line_before_anything_is_sent(server_process, tmp_path: Path) -> None:
    gateway = server_process("--now", "2026-06-15")
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = parity("--opend", f"127.0.0.1:{gateway.port}", "--out", str(blocker / "r"), cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"mock-opend parity: error: --out {blocker / 'r'}: cannot write there"), line


def test_a_rate_limit_refusal_is_recognised_in_either_language() -> None:
    from mock_opend.parity import rate_limited

    assert rate_limited({"retType": -1, "errCode": 3301008, "retMsg": "x"})
    assert rate_limited({"retType": -1, "retMsg": "请求过于频繁，请稍后再试"})
    assert rate_limited({"retType": -1, "retMsg": "Requests too frequent"})
    assert not rate_limited({"retType": -1, "errCode": 3301001, "retMsg": "unknown market"})
    assert not rate_limited({"retType": 0})


def test_a_gateway_on_feb_29_is_measured_like_any_day(server_process, tmp_path: Path) -> None:
    gateway = server_process("--now", "2028-02-29T15:00:00+00:00")
    done = parity(
        "--opend", f"127.0.0.1:{gateway.port}", "--out", str(tmp_path / "r"), "--include-rate-limit", cwd=tmp_path
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    doc = report(tmp_path / "r")
    assert doc["gateway_date"] == "2028-02-29" and by_status(doc, "skipped") == {}
    assert by_status(doc, "validated")["errors.over_one_year"]["gateway"] == "reject"


def test_the_mock_side_is_never_a_proxy_or_a_recorder(server_process, tmp_path: Path) -> None:
    """A --mock-config written for serving (an upstream, a recording, admin) still
    gives a plain mock to compare with."""
    gateway = server_process("--now", "2026-06-15")
    conf = tmp_path / "serve.toml"
    conf.write_text(f'upstream = "127.0.0.1:9"\nrecord = "{tmp_path / "rec"}"\nadmin_port = 0\n')
    done = parity("--opend", f"127.0.0.1:{gateway.port}", "--out", str(tmp_path / "r"), "--mock-config", str(conf),
                  cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert not (tmp_path / "rec").exists()
