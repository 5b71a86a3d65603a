"""Broken on purpose: drops the page key, so paging stops after the first page."""

from conformance.driver import Page, Query
from conformance.drivers.raw_python import RawPythonDriver


class IgnoresNextPageKey(RawPythonDriver):
    def get_option_market_statistic(self, query: Query) -> Page:
        return Page(super().get_option_market_statistic(query).rows, None)


IgnoresNextPageKey().run()
