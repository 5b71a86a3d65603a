"""Broken on purpose: opens a connection for every call and closes it after the reply."""

from conformance.driver import Page, Query
from conformance.drivers.raw_python import RawPythonDriver


class ConnectionPerCallClosed(RawPythonDriver):
    def get_option_market_statistic(self, query: Query) -> Page:
        self.connect()
        try:
            return super().get_option_market_statistic(query)
        finally:
            self.close()


ConnectionPerCallClosed().run()
