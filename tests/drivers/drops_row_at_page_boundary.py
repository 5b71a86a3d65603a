"""Broken on purpose: "de-duplicates" the row at each page boundary, dropping the last row of every full page."""

from typing import Any

from conformance.driver import Query
from conformance.drivers.raw_python import RawPythonDriver


class DropsBoundaryRow(RawPythonDriver):
    def fetch_all(self, query: Query) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        key = None
        while True:
            page = self.get_option_market_statistic(
                Query(query.option_market, query.data_type, query.begin_time, query.end_time, key)
            )
            key = page.page_req_key
            rows.extend(page.rows[:-1] if key is not None else page.rows)
            if key is None:
                return rows


DropsBoundaryRow().run()
