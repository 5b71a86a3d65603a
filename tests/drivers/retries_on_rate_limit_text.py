"""Broken on purpose: recognises the rate-limit rejection by its text — Chinese
by default, as OpenD speaks it, or RETRY_TEXT — and retries at once, in a loop."""

import os

from conformance.driver import ClientError, Page, Query
from conformance.drivers.raw_python import RawPythonDriver

TEXT = os.environ.get("RETRY_TEXT", "频率太高")


class RetriesOnText(RawPythonDriver):
    def get_option_market_statistic(self, query: Query) -> Page:
        for _ in range(5):
            try:
                return super().get_option_market_statistic(query)
            except ClientError as exc:
                if TEXT not in str(exc):
                    raise
        raise ClientError("gave up after 5 tries")


RetriesOnText().run()
