"""Broken on purpose: validates the range itself and refuses begin == end, without asking the server."""

from conformance.driver import ClientError, Page, Query
from conformance.drivers.raw_python import RawPythonDriver


class RefusesSingleDay(RawPythonDriver):
    def get_option_market_statistic(self, query: Query) -> Page:
        if query.begin_time and query.begin_time == query.end_time:
            raise ClientError("begin_time must be earlier than end_time")
        return super().get_option_market_statistic(query)


RefusesSingleDay().run()
