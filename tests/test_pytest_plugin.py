"""The pytest plugin, as a client project would use it (via pytester)."""

from __future__ import annotations

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
