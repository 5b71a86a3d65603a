"""Broken on purpose: pages by dates, a new first page per page, using the key only as a "more" flag."""

from datetime import date, timedelta
from typing import Any

from conformance.driver import Query
from conformance.drivers.raw_python import RawPythonDriver


class PagesByDates(RawPythonDriver):
    def fetch_all(self, query: Query) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        end = query.end_time
        while True:
            page = self.get_option_market_statistic(Query(query.option_market, query.data_type, query.begin_time, end))
            rows.extend(page.rows)
            if page.page_req_key is None or not page.rows:
                return rows
            end = (date.fromisoformat(page.rows[-1]["time"]) - timedelta(days=1)).isoformat()


PagesByDates().run()
