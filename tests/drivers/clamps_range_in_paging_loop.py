"""Broken on purpose: its paging loop silently clamps a range over one year to the last year."""

from datetime import date
from typing import Any

from conformance.driver import Query
from conformance.drivers.raw_python import RawPythonDriver


class ClampsRange(RawPythonDriver):
    def fetch_all(self, query: Query) -> list[dict[str, Any]]:
        if query.begin_time and query.end_time:
            end = date.fromisoformat(query.end_time)
            begin = date.fromisoformat(query.begin_time)
            try:
                floor = end.replace(year=end.year - 1)
            except ValueError:
                floor = end.replace(year=end.year - 1, day=28)
            if begin < floor:
                query = Query(query.option_market, query.data_type, floor.isoformat(), query.end_time)
        return super().fetch_all(query)


ClampsRange().run()
