"""Broken on purpose: when a later page fails, fetch_all returns the rows it has so far as a success."""

from typing import Any

from conformance.driver import ClientError, Query
from conformance.drivers.raw_python import RawPythonDriver


class PartialRows(RawPythonDriver):
    def fetch_all(self, query: Query) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        key = None
        while True:
            try:
                page = self.get_option_market_statistic(
                    Query(query.option_market, query.data_type, query.begin_time, query.end_time, key)
                )
            except ClientError:
                if rows:
                    return rows  # "good enough"
                raise
            rows.extend(page.rows)
            key = page.page_req_key
            if key is None:
                return rows


PartialRows().run()
