"""pytest fixtures: an in-process mock OpenD on an ephemeral loopback port.

``opend_server`` starts one server per test (settings from
``@pytest.mark.opend(page_size=10, now="2026-06-15")``) and stops it after the
test; ``opend_server_factory`` starts as many as a test asks for.  Each server
binds 127.0.0.1:0, so parallel workers (pytest-xdist) never collide.

Installed as a ``pytest11`` entry point, this module is imported by *every*
pytest session of the environment, so it imports nothing but pytest at import
time: the server is imported when a test first asks for a fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .server import MockOpenD


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "opend(**settings): settings for the opend_server fixture")


@pytest.fixture
def opend_server_factory() -> Iterator[Callable[..., MockOpenD]]:
    from .server import MockOpenD

    started: list[MockOpenD] = []

    def make(**settings: Any) -> MockOpenD:
        settings.setdefault("host", "127.0.0.1")
        settings.setdefault("port", 0)
        settings.setdefault("ws_port", "off")  # ws_port=0 opens the WebSocket endpoint
        clock = settings.pop("clock", None)
        server = MockOpenD(clock=clock, **settings).start_background()
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.stop_background()


@pytest.fixture
def opend_server(request: pytest.FixtureRequest, opend_server_factory: Callable[..., MockOpenD]) -> MockOpenD:
    marker = request.node.get_closest_marker("opend")
    settings = dict(marker.kwargs) if marker else {}
    return opend_server_factory(**settings)
