"""Broken on purpose: opens a new connection for every call and never closes the old ones."""

from conformance.driver import Page, Query
from conformance.drivers.raw_python import RawPythonDriver


class ConnectionPerCall(RawPythonDriver):
    def __init__(self) -> None:
        super().__init__()
        self.old: list[object] = []

    def get_option_market_statistic(self, query: Query) -> Page:
        if self.sock is not None:
            self.old.append(self.sock)  # forgotten, still open
            self.sock = None
        self.connect()
        return super().get_option_market_statistic(query)


ConnectionPerCall().run()
