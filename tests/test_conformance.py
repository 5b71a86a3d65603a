"""The conformance kit catches real bugs: each deliberately broken driver FAILS
on its case, and the real SDKs pass every required case."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.drivers import command_for
from conformance.results import Verdict
from conformance.suite import Suite, exit_code, select

ROOT = Path(__file__).resolve().parent.parent
DRIVERS = ROOT / "tests" / "drivers"


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
    assert len(by_id) == 28 and doc["seed"] == 5
    assert all(
        c["verdict"] in ("OK", "NON-STRICT", "INFORMATIONAL") for c in by_id.values() if c["level"] == "required"
    )
    assert by_id["8.7"]["verdict"] == "FAILED" and "truncate" in by_id["8.7"]["message"]  # the SDK's known bug
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and int(suite.get("tests")) == 28 and int(suite.get("failures")) == 0
    text = page.read_text()
    assert "every required case passed" in text and "wire exchange from the journal" in text


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


def test_unsupported_ops_are_skipped_not_passed(tmp_path: Path) -> None:
    driver = tmp_path / "minimal.py"
    driver.write_text("from conformance.driver import Driver\nDriver().run()\n")
    with Suite([sys.executable, str(driver)], seed=1) as suite:
        results = suite.run(select("3.3,2.1"))
    assert {r.case.id: r.verdict for r in results} == {"3.3": Verdict.UNSUPPORTED, "2.1": Verdict.UNSUPPORTED}
    assert exit_code(results) == 1  # a skipped required case is not a pass


def test_a_hanging_or_dying_client_is_failed_not_waited_for(tmp_path: Path) -> None:
    driver = tmp_path / "dies.py"
    driver.write_text("import sys\nsys.stdin.readline()\nsys.exit(3)\n")
    with Suite([sys.executable, str(driver)], seed=1) as suite:
        (r,) = suite.run(select("3.3"))
    assert r.verdict is Verdict.FAILED and "exited with code 3" in r.message


def test_list_and_bad_arguments() -> None:
    done = subprocess.run([sys.executable, "-m", "conformance", "list"], capture_output=True, text=True, cwd=ROOT)
    lines = done.stdout.splitlines()
    assert len(lines) == 28 and lines[0].split()[:2] == ["1.1", "wire"]
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
    ok.assert_outcomes(passed=5)
    ok.stdout.fnmatch_lines(["*5 passed*"])
    bad_cmd = f"{sys.executable} {DRIVERS / 'sorts_ascending.py'}"
    bad = pytester.runpytest_subprocess("--opend-client", bad_cmd, "--opend-cases", "3.1", "-p", "no:cacheprovider")
    bad.assert_outcomes(passed=1, failed=1)
    bad.stdout.fnmatch_lines(
        ["*3.1 rows equal the rows the server sent*FAILED*", "*replay:*opend-conformance replay 3.1*"]
    )


@pytest.mark.sdk
@pytest.mark.parametrize(
    ("client", "cases"),
    [
        ("moomoo-api", "3.1,4.2,6.1,7.2"),
        ("node-raw", "1.2,1.4,3.1,3.2,4.2,6.1,8.5"),
        ("js-sdk", "3.1,3.2,4.2,6.1,8.6"),
    ],
)
def test_other_builtin_drivers(client: str, cases: str, js_env) -> None:
    """Each built-in driver runs by name; these cases pass for all of them.
    (js_env: skips without Node outside CI; the drivers install their npm packages.)"""
    got = verdicts(command_for(client), cases)
    assert all(v.passed for v in got.values()), got
