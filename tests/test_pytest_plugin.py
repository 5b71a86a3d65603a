"""The pytest plugin, as a client project would use it (via pytester)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def test_plugin_fixtures_in_a_foreign_test_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import socket
        import pytest

        @pytest.mark.opend(page_size=5, now="2026-06-15", lang="en")
        def test_marker_settings(opend_server):
            assert opend_server.host == "127.0.0.1" and opend_server.port > 0
            assert opend_server.config.page_size == 5 and opend_server.clock.frozen
            socket.create_connection(opend_server.address, timeout=2).close()

        def test_factory_gives_independent_servers(opend_server_factory):
            a = opend_server_factory(seed=1, now="2026-01-01")
            b = opend_server_factory(seed=2, now="2026-01-01")
            assert a.port != b.port
            b.clock.advance(30)
            assert b.clock.now() - a.clock.now() == 30

        PORTS = []

        def test_record_port(opend_server):
            PORTS.append(opend_server.port)

        def test_previous_server_is_gone():
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", PORTS[0]), timeout=1)
        """
    )
    # no -p: the plugin is registered through its pytest11 entry point
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=4)


def test_plugin_is_safe_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("i", range(8))
        def test_many(opend_server, i):
            assert opend_server.port > 0
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-q")
    result.assert_outcomes(passed=8)


ROWS = "market,data_type,date,call,put\nUS_SECURITY,VOLUME,2026-06-12,45658870,28723978\n"


def _pytest_in(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_marker_paths_are_resolved_from_the_test_file(pytester: pytest.Pytester) -> None:
    sub = pytester.mkdir("suite")
    (sub / "data").mkdir()
    (sub / "data" / "rows.csv").write_text(ROWS)
    test = sub / "test_rows.py"
    test.write_text(
        "import pytest\n\n"
        '@pytest.mark.opend(now="2026-06-15", fixtures=["data/rows.csv"])\n'
        "def test_rows(opend_server):\n"
        "    assert opend_server.config.fixtures[0].endswith('suite/data/rows.csv')\n\n"
        "def test_factory(opend_server_factory):\n"
        '    server = opend_server_factory(now="2026-06-15", fixtures=["data/rows.csv"])\n'
        "    assert server.config.fixtures[0].endswith('suite/data/rows.csv')\n"
    )
    # from the project root, from the test's own folder, from an unrelated folder
    for cwd in (pytester.path, sub, pytester.mkdir("elsewhere")):
        done = _pytest_in(cwd, str(test))
        assert done.returncode == 0 and "2 passed" in done.stdout, (cwd, done.stdout[-2000:])


def test_a_missing_marker_file_is_one_line_naming_where_it_looked(pytester: pytest.Pytester) -> None:
    sub = pytester.mkdir("suite")
    test = sub / "test_missing.py"
    test.write_text(
        'import pytest\n\n@pytest.mark.opend(fixtures=["data/nope.csv"])\ndef test_rows(opend_server):\n    pass\n'
    )
    done = _pytest_in(pytester.path, str(test))
    assert done.returncode == 1, done.stdout
    where = str(sub / "data" / "nope.csv")
    wanted = f"opend setting fixtures: no such file 'data/nope.csv' (looked at {where})"
    lines = [line for line in done.stdout.splitlines() if wanted in line]
    assert lines, done.stdout[-2000:]
    assert "Traceback" not in done.stdout and "raise " not in done.stdout, done.stdout[-3000:]
