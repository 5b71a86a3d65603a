"""Drivers are other people's programs: whatever one does — hang, fork, ignore
SIGTERM, close its stdout, flood stderr, print megabytes that are not protocol
lines — a case ends within its timeout plus the documented stop margin, the
whole process group is gone afterwards, and the kit's memory stays bounded.

Each driver is a shell command string, as a third party passes it with
``--client-cmd``."""

from __future__ import annotations

import resource
import shlex
import sys
import threading
import time
from pathlib import Path

import pytest

from conformance.client import STDERR_LINES, STOP_MARGIN, ClientProcess
from conformance.context import Profile
from conformance.results import Verdict
from conformance.suite import Suite, select

TIMEOUT = 2.0
FAST = Profile("fast", examples=1, stateful_runs=1, stateful_steps=1, call_timeout=TIMEOUT, fault_timeout=TIMEOUT)


def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie no one reaps yet is dead
    except FileNotFoundError:
        return True


def _wait_all_dead(pids: list[int], within: float) -> list[int]:
    deadline = time.monotonic() + within
    while True:
        alive = [p for p in pids if not _dead(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _pids(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _run_one_case(cmd: str, tmp_path: Path, case: str = "3.3") -> tuple[Verdict, str, float, float]:
    """(verdict, message, seconds the case took, seconds closing took)."""
    suite = Suite(cmd, profile=FAST, seed=3)
    try:
        suite.server("main")  # start the server first: only the case is timed
        (c,) = select(case)
        t0 = time.monotonic()
        r = suite.run_case(c)
        took = time.monotonic() - t0
    finally:
        t1 = time.monotonic()
        suite.close()
        closing = time.monotonic() - t1
    return r.verdict, r.message, took, closing


def _driver_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("driver-")]


@pytest.fixture
def pidfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pids"
    monkeypatch.setenv("PIDS", str(path))
    return path


BAD_DRIVERS = {
    "hangs": 'echo $$ >> "$PIDS"; read line; sleep 600',
    "forks a child that keeps the pipes": (
        'echo $$ >> "$PIDS"; sh -c \'echo $$ >> "$PIDS"; exec sleep 600\' & read line; sleep 600'
    ),
    "forks and the parent exits": "sh -c 'echo $$ >> \"$PIDS\"; exec sleep 600' & read line; exit 0",
    "ignores SIGTERM": "trap '' TERM; echo $$ >> \"$PIDS\"; read line; sleep 600",
    "closes stdout": 'exec 1>&-; echo $$ >> "$PIDS"; read line; sleep 600',
    "floods stderr": 'echo $$ >> "$PIDS"; exec yes "a very chatty driver writes to stderr" >&2',
    "floods stdout with non-protocol lines": 'echo $$ >> "$PIDS"; exec yes "not a protocol line"',
    "prints a 40 MB line": ("echo $$ >> \"$PIDS\"; head -c 40000000 /dev/zero | tr '\\0' x; read line; sleep 600"),
    "never reads stdin": 'echo $$ >> "$PIDS"; exec sleep 600 < /dev/null',
}


@pytest.mark.parametrize("behaviour", sorted(BAD_DRIVERS))
def test_a_misbehaving_driver_fails_its_case_in_bounded_time(behaviour: str, pidfile: Path, tmp_path: Path) -> None:
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    verdict, message, took, closing = _run_one_case(BAD_DRIVERS[behaviour], tmp_path)
    assert verdict is Verdict.FAILED, message
    assert "the client" in message
    # the case: its call timeout, then stopping the driver (and starting it again for the next case)
    assert took < TIMEOUT + STOP_MARGIN, (behaviour, took, message)
    assert closing < STOP_MARGIN, (behaviour, closing)
    pids = _pids(pidfile)
    assert pids, "the driver did not start"
    assert _wait_all_dead(pids, within=3.0) == [], f"{behaviour}: processes outlived the kit"
    deadline = time.monotonic() + 3.0
    while _driver_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _driver_threads() == []
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mb < 100, f"{behaviour}: the kit's peak memory grew by {grown_mb:.0f} MB"


def test_stdout_closed_is_reported_at_once(pidfile: Path, tmp_path: Path) -> None:
    verdict, message, took, _ = _run_one_case(BAD_DRIVERS["closes stdout"], tmp_path)
    assert verdict is Verdict.FAILED and "closed its stdout" in message
    assert took < TIMEOUT, "an EOF on stdout needs no timeout"


def test_stderr_tail_is_bounded() -> None:
    proc = ClientProcess("yes 'x' >&2 & yes 'y' | head -c 300000 >&2; read line", {})
    proc.start()
    try:
        deadline = time.monotonic() + 10
        while len(proc._stderr) < STDERR_LINES and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(proc._stderr) == STDERR_LINES
    finally:
        proc.stop()
    assert not proc.alive


def test_noise_before_and_between_replies_does_not_break_a_good_driver(tmp_path: Path) -> None:
    raw = shlex.join([sys.executable, "-m", "conformance.drivers.raw_python"])
    noise = "yes 'chatter before the driver starts' | head -n 20000; head -c 3000000 /dev/zero | tr '\\0' z; echo"
    cmd = f"{noise}; exec {raw}"
    with Suite(cmd, profile=FAST, seed=4) as suite:
        results = suite.run(select("3.3,5.3"))
    assert {r.case.id: r.verdict for r in results} == {"3.3": Verdict.OK, "5.3": Verdict.OK}


def test_a_slow_but_answering_driver_is_stopped_by_the_case_budget(tmp_path: Path) -> None:
    """Each reply well inside the call timeout, but the case as a whole past its budget."""
    driver = tmp_path / "slow.py"
    driver.write_text(
        "import sys, time, json\n"
        "for line in sys.stdin:\n"
        "    req = json.loads(line)\n"
        "    time.sleep(0.6)\n"
        "    print(json.dumps({'id': req['id'], 'ret': -1, 'error': 'slow, but an error'}), flush=True)\n"
    )
    budget = Profile("budget", examples=1, stateful_runs=1, stateful_steps=1, call_timeout=2, case_budget=1.5)
    with Suite(f"{shlex.quote(sys.executable)} {shlex.quote(str(driver))}", profile=budget, seed=5) as suite:
        suite.server("main")
        (case,) = select("7.1")  # four error replies: 2 queries x (zh, en)
        t0 = time.monotonic()
        r = suite.run_case(case)
        took = time.monotonic() - t0
    assert r.verdict is Verdict.FAILED and "budget of 1.5 s" in r.message, r.message
    assert took < 1.5 + STOP_MARGIN


ANSWER_AND_EXIT = (  # the process exits, and its last line arrives 0.3 s later (from a child still writing)
    "import json, os, sys, time\n"
    "line = sys.stdin.readline()\n"
    "if os.fork() == 0:\n"
    "    time.sleep(0.3)\n"
    "    os.write(1, (json.dumps({'id': json.loads(line)['id'], 'ret': 0}) + '\\n').encode())\n"
    "    os._exit(0)\n"
    "os._exit(0)\n"
)


def test_a_reply_that_arrives_just_after_the_exit_is_an_answer() -> None:
    """A driver that answers close and exits: its reply may still be on the way when
    the exit is seen (seen on a loaded CI machine as 'the client exited with code 0
    during close').  The exit counts once stdout has ended, or 1 s after."""
    client = ClientProcess([sys.executable, "-c", ANSWER_AND_EXIT], {})
    client.start()
    try:
        assert client.call("close", timeout=10) == {"id": 1, "ret": 0}
    finally:
        client.stop()
