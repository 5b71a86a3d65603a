"""Broken on purpose: any error reply from the server becomes an empty result."""

from conformance.driver import ClientError, Page, Query
from conformance.drivers.raw_python import RawPythonDriver


class ErrorAsEmpty(RawPythonDriver):
    def get_option_market_statistic(self, query: Query) -> Page:
        try:
            return super().get_option_market_statistic(query)
        except ClientError:
            return Page([], None)


ErrorAsEmpty().run()
