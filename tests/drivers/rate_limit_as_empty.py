"""Broken on purpose: a rate-limit rejection comes back as an empty page."""

from conformance.driver import ClientError, Page, Query
from conformance.drivers.raw_python import RawPythonDriver


class RateLimitAsEmpty(RawPythonDriver):
    def get_option_market_statistic(self, query: Query) -> Page:
        try:
            return super().get_option_market_statistic(query)
        except ClientError as exc:
            if "frequently" in str(exc) or "频率" in str(exc):
                return Page([], None)
            raise


RateLimitAsEmpty().run()
