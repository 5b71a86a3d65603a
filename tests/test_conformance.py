"""The conformance kit catches real bugs: each deliberately broken driver FAILS
on its case, and the real SDKs pass every required case."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance import report
from conformance.drivers import command_for
from conformance.results import Verdict
from conformance.suite import Suite, exit_code, select

ROOT = Path(__file__).resolve().parent.parent
DRIVERS = ROOT / "tests" / "drivers"
N_CASES = 37


def broken(name: str) -> list[str]:
    return [sys.executable, str(DRIVERS / f"{name}.py")]


def verdicts(argv: list[str] | str, cases: str, seed: int = 11) -> dict[str, Verdict]:
    with Suite(argv, seed=seed) as suite:
        return {r.case.id: r.verdict for r in suite.run(select(cases))}


@pytest.mark.parametrize(
    ("driver", "cases", "failing"),
    [
        ("ignores_next_page_key", "4.1,4.2", {"4.1", "4.2"}),
        ("sorts_ascending", "3.1,4.2", {"3.1", "4.2"}),
        ("wrong_ratio_rounding", "3.1", {"3.1"}),
        ("rate_limit_as_empty", "6.1", {"6.1"}),
        ("bad_sha1", "1.2", {"1.2"}),
        ("no_keepalive", "1.4", {"1.4"}),
    ],
)
def test_each_broken_driver_fails_on_its_case(driver: str, cases: str, failing: set[str]) -> None:
    got = verdicts(broken(driver), cases)
    assert {cid for cid, v in got.items() if v is Verdict.FAILED} == failing, got


@pytest.mark.parametrize("text", ["频率太高", "too frequently"])
def test_a_client_that_retries_on_the_rate_limit_text_is_caught_in_either_language(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kit's servers speak zh, OpenD's default; 6.2 also runs in en."""
    monkeypatch.setenv("RETRY_TEXT", text)
    with Suite(broken("retries_on_rate_limit_text"), seed=11) as suite:
        (r,) = suite.run(select("6.2"))
    assert r.verdict is Verdict.FAILED and "burst of retries" in r.message
    assert r.message.startswith("[lang=zh]" if text == "频率太高" else "[lang=en]")


def test_the_kit_speaks_chinese_by_default() -> None:
    with Suite(command_for("raw-python"), seed=2) as suite:
        (r,) = suite.run(select("6.1"))
        assert suite.server("main").gateway.lang == "zh"
    assert r.verdict is Verdict.OK
    assert any("频率太高" in (c.get("reply") or {}).get("error", "") for c in r.calls)
    assert any("too frequently" in (c.get("reply") or {}).get("error", "") for c in r.calls)


def test_the_reference_raw_driver_passes_the_same_cases() -> None:
    got = verdicts(command_for("raw-python"), "1.2,1.4,3.1,4.1,4.2,6.1")
    assert all(v is Verdict.OK for v in got.values()), got


@pytest.mark.sdk
@pytest.mark.slow
def test_futu_api_sdk_passes_every_required_case(tmp_path: Path) -> None:
    """The acceptance run: `opend-conformance run --client futu-api` (ci profile),
    with all three reports."""
    junit, js, page = tmp_path / "r.xml", tmp_path / "r.json", tmp_path / "r.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--client",
            "futu-api",
            "--seed",
            "5",
            "--junit",
            str(junit),
            "--json",
            str(js),
            "--html",
            str(page),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "every required case passed" in done.stdout
    doc = json.loads(js.read_text())
    by_id = {c["id"]: c for c in doc["cases"]}
    assert len(by_id) == N_CASES and doc["seed"] == 5
    assert all(
        c["verdict"] in ("OK", "NON-STRICT", "INFORMATIONAL") for c in by_id.values() if c["level"] == "required"
    )
    assert by_id["8.7"]["verdict"] == "FAILED" and "truncate" in by_id["8.7"]["message"]  # the SDK's known bug
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and int(suite.get("tests")) == N_CASES and int(suite.get("failures")) == 0
    # JUnit time is the run's wall time, not the sum of cases that ran at the same time
    assert abs(float(suite.get("time")) - doc["seconds"]) < 0.01
    assert sum(float(tc.get("time")) for tc in suite.findall("testcase")) > doc["seconds"]
    text = page.read_text()
    assert "every required case passed" in text and "wire exchange from the journal" in text


@pytest.mark.sdk
@pytest.mark.slow
def test_a_naive_shell_command_driver_finishes_the_ci_profile(tmp_path: Path) -> None:
    """examples/naive-driver: futu-api wrapped from DRIVER.md alone, with none of the
    built-in driver's workarounds, given as a shell command string."""
    js = tmp_path / "r.json"
    cmd = f"{shlex.quote(sys.executable)} examples/naive-driver/futu_naive_driver.py"
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--client-cmd", cmd, "--seed", "5", "--json", str(js)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    took = time.monotonic() - t0
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert took < 90, f"the ci profile took {took:.0f} s"
    cases = {c["id"]: c for c in json.loads(js.read_text())["cases"]}
    assert len(cases) == N_CASES
    assert all(c["outcome"] == "passed" for c in cases.values() if c["level"] == "required")
    assert cases["8.7"]["verdict"] == "FAILED" and "truncate" in cases["8.7"]["message"]  # the SDK's own bug


def test_failure_report_and_exact_replay(tmp_path: Path) -> None:
    cmd = f"{sys.executable} {DRIVERS / 'wrong_ratio_rounding.py'}"
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--client-cmd",
            cmd,
            "--cases",
            "3.1",
            "--seed",
            "77",
            "--html",
            str(html),
            "--json",
            str(js),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 1
    (case,) = json.loads(js.read_text())["cases"]
    assert case["verdict"] == "FAILED" and "ratio differs" in case["message"]
    assert case["replay"].startswith("opend-conformance replay 3.1 --seed 77")
    assert "replay: opend-conformance replay 3.1 --seed 77" in done.stdout
    assert "Minimal failing example" in html.read_text()
    # the printed command reproduces the same minimal example
    replay = shlex.split(case["replay"])[1:]
    again = subprocess.run(
        [sys.executable, "-m", "conformance", *replay, "--html", str(tmp_path / "again.html")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert again.returncode == 1
    assert f"minimal example: {json.dumps(case['example'])}" in again.stdout


def _junit_counts(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(the root's counts, the counts of the elements)."""
    root = ET.parse(path).getroot()
    cases = root.findall("testcase")
    said = {k: int(root.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    seen = {
        "tests": len(cases),
        "failures": sum(c.find("failure") is not None for c in cases),
        "errors": sum(c.find("error") is not None for c in cases),
        "skipped": sum(c.find("skipped") is not None for c in cases),
    }
    return said, seen


def test_unsupported_ops_are_skipped_not_passed(tmp_path: Path) -> None:
    driver = tmp_path / "minimal.py"
    driver.write_text("from conformance.driver import Driver\nDriver().run()\n")
    with Suite([sys.executable, str(driver)], seed=1) as suite:
        results = suite.run(select("3.3,2.1"))
    assert {r.case.id: r.verdict for r in results} == {"3.3": Verdict.UNSUPPORTED, "2.1": Verdict.UNSUPPORTED}
    assert exit_code(results) == 1  # a required case the client cannot run is not a pass
    report.write_junit(tmp_path / "j.xml", {}, results)
    said, seen = _junit_counts(tmp_path / "j.xml")
    assert said == seen == {"tests": 2, "failures": 1, "errors": 0, "skipped": 1}


def test_every_output_reports_an_optional_failure_the_same_way(tmp_path: Path) -> None:
    """2.1 is optional and FAILS, 3.3 is required and passes: run and replay exit
    0, the terminal, JSON, JUnit and HTML all say 1 passed, 0 failed, 1 skipped."""
    cmd = f"{sys.executable} {DRIVERS / 'reconnect_does_nothing.py'}"
    outputs = {k: tmp_path / f"r.{k}" for k in ("xml", "json", "html")}
    kit = [sys.executable, "-m", "conformance"]
    reports = ["--junit", str(outputs["xml"]), "--json", str(outputs["json"]), "--html", str(outputs["html"])]
    run = subprocess.run(
        [*kit, "run", "--client-cmd", cmd, "--cases", "2.1,3.3", "--seed", "8", *reports],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    replay = subprocess.run(
        [*kit, "replay", "2.1", "--seed", "8", "--client-cmd", cmd],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0 == replay.returncode, run.stdout + replay.stdout
    assert "2 cases in" in run.stdout and "1 passed (1 OK), 0 failed, 1 skipped (optional: 1 not met)" in run.stdout
    assert "every required case passed (optional, skipped: 2.1 not met)" in run.stdout
    assert "1 case in" in replay.stdout and "0 passed, 0 failed, 1 skipped (optional: 1 not met)" in replay.stdout
    assert "every required case passed" in replay.stdout
    for out in (run.stdout, replay.stdout):  # no "0 failed … FAILED": an optional case is skipped, not failed
        summary = out[out.index("\n\n") :]
        assert "FAILED" not in summary and "1 cases" not in summary
    said, seen = _junit_counts(outputs["xml"])
    assert said == seen == {"tests": 2, "failures": 0, "errors": 0, "skipped": 1}
    skipped = ET.parse(outputs["xml"]).getroot().find("testcase/skipped")
    assert skipped is not None and skipped.get("message", "").startswith("optional case FAILED")
    doc = json.loads(outputs["json"].read_text())
    assert doc["outcomes"] == {"passed": 1, "failed": 0, "skipped": 1} and doc["passed"] is True
    assert {c["id"]: (c["level"], c["verdict"], c["outcome"]) for c in doc["cases"]} == {
        "2.1": ("optional", "FAILED", "skipped"),
        "3.3": ("required", "OK", "passed"),
    }
    page = outputs["html"].read_text()
    assert "<span class='lvl optional'>optional</span>" in page and "<span class='lvl required'>required</span>" in page
    assert "1 passed (1 OK), 0 failed, 1 skipped (optional: 1 not met)" in page


def test_a_hanging_or_dying_client_is_failed_not_waited_for(tmp_path: Path) -> None:
    """A driver that answered once and then dies fails its case (one that dies
    before answering anything cannot start: test_kit_reports.py)."""
    driver = tmp_path / "dies.py"
    driver.write_text(
        "import json, sys\n"
        "req = json.loads(sys.stdin.readline())\n"
        "print(json.dumps({'id': req['id'], 'ret': 0, 'rows': [], 'page_req_key': None}), flush=True)\n"
        "sys.stdin.readline()\nsys.exit(3)\n"
    )
    with Suite([sys.executable, str(driver)], seed=1) as suite:
        results = suite.run(select("3.3,5.3"))
    verdicts = {r.case.id: (r.verdict, r.message) for r in results}
    assert verdicts["3.3"][0] is Verdict.OK
    assert verdicts["5.3"][0] is Verdict.FAILED and "exited with code 3" in verdicts["5.3"][1]


def test_list_and_bad_arguments() -> None:
    done = subprocess.run([sys.executable, "-m", "conformance", "list"], capture_output=True, text=True, cwd=ROOT)
    lines = done.stdout.splitlines()
    assert len(lines) == N_CASES and lines[0].split()[:2] == ["1.1", "wire"]
    bad = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--client", "raw-python", "--cases", "99"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and "no case '99'" in bad.stderr


pytest_plugins = ["pytester"]


def test_cases_are_collectable_by_pytest(pytester: pytest.Pytester) -> None:
    """A client project adds the kit to its own suite with --opend-client."""
    pytester.makepyfile("def test_own():\n    assert True\n")
    ok = pytester.runpytest_subprocess("--opend-client", "raw-python", "--opend-cases", "3.3,5", "--opend-seed", "2")
    ok.assert_outcomes(passed=7)
    ok.stdout.fnmatch_lines(["*7 passed*"])
    bad_cmd = f"{sys.executable} {DRIVERS / 'sorts_ascending.py'}"
    bad = pytester.runpytest_subprocess("--opend-client", bad_cmd, "--opend-cases", "3.1", "-p", "no:cacheprovider")
    bad.assert_outcomes(passed=1, failed=1)
    bad.stdout.fnmatch_lines(
        ["*3.1 rows equal the rows the server sent*FAILED*", "*replay:*opend-conformance replay 3.1*"]
    )
