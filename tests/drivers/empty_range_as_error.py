"""Broken on purpose: a page without rows and without a key is reported as an error ("no data")."""

from conformance.driver import ClientError, Page, Query
from conformance.drivers.raw_python import RawPythonDriver


class EmptyAsError(RawPythonDriver):
    def get_option_market_statistic(self, query: Query) -> Page:
        page = super().get_option_market_statistic(query)
        if not page.rows and page.page_req_key is None:
            raise ClientError("no data")
        return page


EmptyAsError().run()
