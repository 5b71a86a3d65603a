"""Broken on purpose: its paging loop takes a page without rows as the end, whatever the key says."""

from typing import Any

from conformance.driver import Query
from conformance.drivers.raw_python import RawPythonDriver


class StopsAtEmptyPage(RawPythonDriver):
    def fetch_all(self, query: Query) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        key = None
        while True:
            page = self.get_option_market_statistic(
                Query(query.option_market, query.data_type, query.begin_time, query.end_time, key)
            )
            if not page.rows:
                return rows
            rows.extend(page.rows)
            key = page.page_req_key
            if key is None:
                return rows


StopsAtEmptyPage().run()
