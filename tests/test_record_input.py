"""Bad input to record/replay is refused whole, in one clear line: the admin API
answers 400 and adds nothing; bad --stubs and --record paths exit 2 naming the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, admin_call

from mock_opend.server import MockOpenD

SNAPSHOT = {
    "proto_id": 3203,
    "request": {"c2s": {"securityList": [{"market": 1, "code": "00700"}]}},
    "reply": {"retType": 0, "s2c": {"snapshotList": []}},
}


def _raw_post(port: int, path: str, body: bytes) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/__admin{path}", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.parametrize(
    ("what", "body"),
    [
        (
            "a 401-digit integer in a double field",
            json.dumps(SNAPSHOT).replace(
                '"snapshotList": []', '"snapshotList": [{"basic": {"curPrice": ' + "9" * 401 + "}}]"
            ),
        ),
        (
            "a lone surrogate in a stub of unknown shape",
            '{"proto_id": 3299, "request": {"a": "\\ud800"}, "reply": {"retType": 0}}',
        ),
        ("1e999 (Infinity without saying so)", '{"proto_id": 3299, "request": {"a": 1e999}, "reply": {"retType": 0}}'),
    ],
)
def test_the_admin_api_answers_400_and_adds_nothing(what: str, body: str) -> None:
    srv = MockOpenD(host="127.0.0.1", port=0, ws_port=None, admin_port=0).start_background()
    try:
        status, text = _raw_post(srv.admin_port, "/stubs", body.encode())
        assert status == 400, (what, status, text)
        assert "error" in json.loads(text)
        code, listed = admin_call(srv.admin_port, "GET", "/stubs")
        assert code == 200 and listed["count"] == 0, listed  # nothing half-added
    finally:
        srv.stop_background()


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_opend", "serve", "--port", "0", "--ws-port", "off", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_a_stub_file_with_a_huge_integer_exits_2_naming_the_file(tmp_path: Path) -> None:
    bad = dict(SNAPSHOT)
    path = tmp_path / "stubs" / "huge.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps(bad).replace('"snapshotList": []', '"snapshotList": [{"basic": {"curPrice": ' + "9" * 401 + "}}]")
    )
    done = _serve("--stubs", str(tmp_path))
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert str(path) in line and "digits" in line, line


@pytest.mark.parametrize("make", ["file", "missing"])
def test_bad_record_and_stubs_paths_exit_2_with_one_line(tmp_path: Path, make: str) -> None:
    target = tmp_path / "target"
    if make == "file":
        target.write_text("not a directory")
        done = _serve("--record", str(target), "--upstream", "127.0.0.1:9")
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert str(target) in line and "not a directory" in line, line
    done = _serve("--stubs", str(target))
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert str(target) in line, line
