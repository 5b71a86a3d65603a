"""pytest fixtures: an in-process mock OpenD on an ephemeral loopback port.

``opend_server`` starts one server per test (settings from
``@pytest.mark.opend(page_size=10, now="2026-06-15")``) and stops it after the
test; ``opend_server_factory`` starts as many as a test asks for.  Each server
binds 127.0.0.1:0, so parallel workers (pytest-xdist) never collide.

Relative file paths in the settings (fixtures, stubs, RSA keys, a
recording folder) are resolved from the folder of the test file that names
them, so that a test passes whatever directory pytest was started from; a
missing file fails the test with one line that says where it was looked for.

Installed as a ``pytest11`` entry point, this module is imported by *every*
pytest session of the environment, so it imports nothing but pytest at import
time: the server is imported when a test first asks for a fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from .server import MockOpenD


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "opend(**settings): settings for the opend_server fixture")


# settings naming files or folders: one path, or a list of them
PATH_SETTINGS: Final = ("fixtures", "stubs", "rsa_key", "upstream_rsa_key", "record")
MUST_EXIST: Final = ("fixtures", "stubs", "rsa_key", "upstream_rsa_key")  # `record` is created


def resolve_paths(settings: dict[str, Any], base: Path, test: str) -> dict[str, Any]:
    """``settings`` with relative paths made absolute from ``base`` (the test
    file's folder); a missing file fails ``test`` in one line."""
    out = dict(settings)
    for name in PATH_SETTINGS:
        value = out.get(name)
        if value is None:
            continue
        many = isinstance(value, list | tuple)
        paths = []
        for item in value if many else [value]:
            path = Path(item)
            if not path.is_absolute():
                path = base / path
            if name in MUST_EXIST and not path.exists():
                where = f"{item!r} (looked at {path})" if str(path) != str(item) else repr(str(path))
                pytest.fail(f"{test}: opend setting {name}: no such file {where}", pytrace=False)
            paths.append(str(path))
        out[name] = paths if many else paths[0]
    return out


def _test_of(request: pytest.FixtureRequest) -> tuple[Path, str]:
    path = Path(request.node.path)
    return path.parent, request.node.nodeid


@pytest.fixture
def opend_server_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., MockOpenD]]:
    from .config import ConfigError
    from .crypto import CryptoError
    from .fixtures import FixtureError
    from .server import MockOpenD
    from .stubs import StubError

    started: list[MockOpenD] = []
    base, test = _test_of(request)

    def make(**settings: Any) -> MockOpenD:
        settings = resolve_paths(settings, base, test)
        settings.setdefault("host", "127.0.0.1")
        settings.setdefault("port", 0)
        settings.setdefault("ws_port", "off")  # ws_port=0 opens the WebSocket endpoint
        clock = settings.pop("clock", None)
        try:
            server = MockOpenD(clock=clock, **settings).start_background()
        except (ConfigError, FixtureError, CryptoError, StubError) as exc:
            pytest.fail(f"{test}: the opend server cannot start: {exc}", pytrace=False)
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
