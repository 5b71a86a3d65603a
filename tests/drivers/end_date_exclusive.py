"""Broken on purpose: treats the end date as exclusive and sends the day before it."""

from datetime import date, timedelta
from typing import Any

from conformance.driver import Query
from conformance.drivers.raw_python import RawPythonDriver


class EndExclusive(RawPythonDriver):
    def fill(self, c: Any, query: Query) -> None:
        super().fill(c, query)
        if query.end_time:
            c.endTime = (date.fromisoformat(query.end_time) - timedelta(days=1)).isoformat()


EndExclusive().run()
