"""Installed as a user installs it: the built wheel in a fresh virtual
environment, then every console script, and an unrelated project's pytest
session (the pytest11 entry points load in every session of the environment).

Needs the package index (as ``pip install`` does); pip's cache makes it quick
after the first run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

UNRELATED = """
def test_unrelated():
    assert 1 + 1 == 2
"""


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    src = out / "src"  # a copy: parallel workers never build in the same build/ folder
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "node_modules"))
    done = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        cwd=out,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (whl,) = out.glob("mock_opend-*.whl")
    return whl


def _unrelated_session_passes(bin_: Path, tmp_path: Path) -> Path:
    """An unrelated project's pytest session in that environment: one trivial test, passed."""
    project = tmp_path / "other"
    project.mkdir()
    (project / "test_other.py").write_text(UNRELATED)
    other = _run([str(bin_ / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, timeout=120)
    assert other.returncode == 0, other.stdout[-3000:] + other.stderr[-2000:]
    assert "1 passed" in other.stdout
    return project


def _fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin"


def test_plain_install_gives_working_console_scripts_and_leaves_other_projects_alone(
    wheel: Path, tmp_path: Path
) -> None:
    bin_ = _fresh_venv(tmp_path / "venv")
    done = _run([str(bin_ / "pip"), "install", "-q", str(wheel)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    # every console script answers
    listed = _run([str(bin_ / "opend-conformance"), "list"], cwd=tmp_path, timeout=60)
    assert listed.returncode == 0, listed.stderr
    import conformance.cases

    assert len(listed.stdout.splitlines()) == len(conformance.cases.CASES)
    for argv in (
        ["mock-opend", "--help"],
        ["mock-opend", "errors"],
        ["mock-opend", "record", "--help"],
        ["opend-conformance", "run", "--help"],
    ):
        r = _run([str(bin_ / argv[0]), *argv[1:]], cwd=tmp_path, timeout=60)
        assert r.returncode == 0, (argv, r.stderr[-2000:])
    _record_from_an_installed_server(bin_, tmp_path)
    # the kit runs a shell-command driver (a from-scratch Python client shipped with the package)
    driver = f"{bin_ / 'python'} -m conformance.drivers.raw_python"
    kit = [str(bin_ / "opend-conformance"), "run", "--client-cmd", driver]
    ran = _run(
        [*kit, "--cases", "3.3,5.1", "--seed", "3", "--junit", str(tmp_path / "j.xml")],
        cwd=tmp_path,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    assert "2 passed (2 OK), 0 failed, 0 skipped" in ran.stdout
    _unrelated_session_passes(bin_, tmp_path)  # with mock-opend merely installed


def _record_from_an_installed_server(bin_: Path, tmp_path: Path) -> None:
    """`mock-opend record` (and its progress bar's dependency) from the plain install."""
    import json
    import subprocess

    server = subprocess.Popen(
        [str(bin_ / "mock-opend"), "serve", "--port", "0", "--ws-port", "off", "--now", "2026-06-15"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert server.stdout is not None
        port = json.loads(server.stdout.readline())["port"]
        out = tmp_path / "captured"
        args = ["--market", "US_SECURITY", "--type", "VOLUME", "--begin", "2026-06-01", "--end", "2026-06-12"]
        r = _run([str(bin_ / "mock-opend"), "record", "--opend", f"127.0.0.1:{port}", "-o", str(out), *args,
                  "--progress"], cwd=tmp_path, timeout=60)  # fmt: skip
        assert r.returncode == 0, r.stderr[-2000:]
        assert json.loads(r.stdout)["rows_in_file"] == 10 and "100%" in r.stderr
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()


def test_plugins_do_not_break_pytest_even_when_the_kit_cannot_import(wheel: Path, tmp_path: Path) -> None:
    """``pip install --no-deps`` beside a bare pytest: no Hypothesis, numpy or
    protobuf.  The entry points still load, and an unrelated session passes."""
    bin_ = _fresh_venv(tmp_path / "venv")
    done = _run([str(bin_ / "pip"), "install", "-q", "pytest"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    done = _run([str(bin_ / "pip"), "install", "-q", "--no-deps", str(wheel)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _run([str(bin_ / "python"), "-c", "import hypothesis"], cwd=tmp_path).returncode != 0
    project = _unrelated_session_passes(bin_, tmp_path)
    # both plugins are registered (their options show), they simply import nothing heavy
    helped = _run([str(bin_ / "python"), "-m", "pytest", "--help"], cwd=project, timeout=120)
    assert "--opend-client" in helped.stdout
