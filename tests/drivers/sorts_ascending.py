"""Broken on purpose: re-sorts every page oldest first."""

from conformance.driver import Page, Query
from conformance.drivers.raw_python import RawPythonDriver


class SortsAscending(RawPythonDriver):
    def get_option_market_statistic(self, query: Query) -> Page:
        page = super().get_option_market_statistic(query)
        return Page(sorted(page.rows, key=lambda r: r["time"]), page.page_req_key)


SortsAscending().run()
