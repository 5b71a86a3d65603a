"""Broken on purpose: a continuation sends only the key (the key "knows" the query), leaving the dates out."""

from typing import Any

from conformance.driver import Query
from conformance.drivers.raw_python import RawPythonDriver


class ContinuationWithoutDates(RawPythonDriver):
    def fill(self, c: Any, query: Query) -> None:
        super().fill(c, query)
        if query.page_req_key is not None:
            c.beginTime = c.endTime = ""


ContinuationWithoutDates().run()
