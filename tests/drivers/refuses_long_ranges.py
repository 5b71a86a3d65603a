"""Broken on purpose: refuses any range over one year itself, even where the server would page through it."""

from datetime import date
from typing import Any

from conformance.driver import ClientError, Query
from conformance.drivers.raw_python import RawPythonDriver


class RefusesLongRanges(RawPythonDriver):
    def fetch_all(self, query: Query) -> list[dict[str, Any]]:
        if query.begin_time and query.end_time:
            begin, end = date.fromisoformat(query.begin_time), date.fromisoformat(query.end_time)
            if (end - begin).days > 366:
                raise ClientError("the range must not exceed one year")
        return super().fetch_all(query)


RefusesLongRanges().run()
