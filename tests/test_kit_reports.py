"""What the kit's reports tell a client author: a driver that cannot start is
one line; several distinct failures are each shown with their own example;
a row mismatch shows the missing and extra dates first."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conformance.rows import difference
from conformance.suite import Suite, select
from conformance.verdicts import Verdict

ROOT = Path(__file__).resolve().parent.parent
DRIVERS = ROOT / "tests" / "drivers"


def _row(day: str, call: int = 10, put: int = 5) -> dict[str, object]:
    return {
        "time": day,
        "timestamp": 1.0,
        "call_value": call,
        "put_value": put,
        "total_value": call + put,
        "ratio": 0.5,
    }


def test_a_driver_that_cannot_start_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--client-cmd",
            "/nonexistent/driver",
            "--json",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "could not start" in lines[0] and "exited with code 127" in lines[0], lines
    assert "not found" in lines[0]  # what the shell said
    assert not (tmp_path / "r").exists()  # no cases ran, no report


def test_a_driver_that_crashes_on_import_is_one_line_too(tmp_path: Path) -> None:
    driver = tmp_path / "broken.py"
    driver.write_text("import no_such_module_here\n")
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--client-cmd", f"{sys.executable} {driver}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "could not start" in line and "No module named 'no_such_module_here'" in line


def test_each_distinct_failure_is_reported_with_its_own_example(tmp_path: Path) -> None:
    """Two bugs in one driver (a wrong market table and a re-rounded ratio): 3.1
    reports both, each with the example that shows it."""
    driver = tmp_path / "two_bugs.py"
    driver.write_text(
        (DRIVERS / "hk_security_as_hk_index.py")
        .read_text()
        .replace(
            "    def fill(",
            "    def row(self, item: Any) -> dict[str, Any]:\n"
            "        ratio = round(item.ratio, 3) if item.HasField('ratio') else None\n"
            "        return {**super().row(item), 'ratio': ratio}\n\n"
            "    def fill(",
        )
    )
    with Suite(f"{sys.executable} {driver}", seed=3) as suite:
        (r,) = suite.run(select("3.1"))
    assert r.verdict is Verdict.FAILED
    assert len(r.failures) == 2, r.message
    messages = " ".join(f.message for f in r.failures)
    assert "asked HK_SECURITY (3), sent HK_INDEX (4)" in messages and "ratio differs" in messages
    examples = [f.example for f in r.failures]
    assert all(examples) and examples[0] != examples[1]
    assert r.message.startswith("2 distinct failures: (1) ")


def test_a_missing_oldest_row_is_named_before_anything_else() -> None:
    want = [_row(f"2026-06-{d:02d}") for d in (12, 11, 10, 9, 8)]
    diff = difference(want[:-1], want)
    assert diff is not None
    assert diff.message == "4 rows instead of 5; missing 1 date (2026-06-08)"
    assert diff.expected == {"missing": [want[-1]]}


def test_extra_repeated_and_reordered_rows_are_told_apart() -> None:
    want = [_row(f"2026-06-{d:02d}") for d in (12, 11, 10)]
    extra = difference([*want, _row("2026-06-07")], want)
    assert extra is not None and "1 date the server did not send" in extra.message
    assert extra.actual == {"extra": [_row("2026-06-07")]}
    repeated = difference([want[0], want[0], want[1]], want)
    assert repeated is not None and "missing 1 date (2026-06-10)" in repeated.message
    assert "1 date repeated (2026-06-12)" in repeated.message
    reordered = difference(want[::-1], want)
    assert reordered is not None and "wrong order (oldest first" in reordered.message


def test_a_field_the_server_sent_may_not_be_missing() -> None:
    want = [_row("2026-06-12")]
    diff = difference([{**want[0], "total_value": None}], want)
    assert diff is not None and diff.message == "row 0 (2026-06-12): total_value missing (the server sent it)"
    left_out = [{**want[0], "ratio": None}]
    assert difference(left_out, left_out) is None  # None where the server left the field out
    made_up = difference([{**want[0], "ratio": 0.0}], left_out)
    assert made_up is not None and "ratio present (the server left it out)" in made_up.message


def _imports(module: Path, package: str) -> set[str]:
    """Modules of ``package`` that ``module`` imports, TYPE_CHECKING blocks included."""
    tree = ast.parse(module.read_text())
    parts = list(module.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    here = parts if module.name == "__init__.py" else parts[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            name = ".".join([*base, *(node.module or "").split(".")]).strip(".") if node.level else node.module or ""
            for alias in node.names:
                full = f"{name}.{alias.name}"
                out.add(full if (ROOT / Path(*full.split("."))).with_suffix(".py").exists() else name)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m == package or m.startswith(package + ".")}


def test_the_kit_has_no_import_cycles() -> None:
    graph = {}
    for path in (ROOT / "conformance").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        graph[".".join(parts)] = _imports(path, "conformance")
    seen: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        if seen.get(node) == 1:
            raise AssertionError("import cycle: " + " → ".join([*stack[stack.index(node) :], node]))
        if seen.get(node) == 2:
            return
        seen[node] = 1
        for dep in graph.get(node, ()):
            if dep != node and not node.startswith(dep + "."):  # a package's own __init__ is not a cycle
                visit(dep, [*stack, node])
        seen[node] = 2

    for node in graph:
        visit(node, [])
    assert "conformance.results" not in graph["conformance.context"]
