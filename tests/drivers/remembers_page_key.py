"""Broken on purpose: remembers the last page key per market and type and sends it
with the next first page of that market and type ("resume where we left off")."""

from conformance.driver import Page, Query
from conformance.drivers.raw_python import RawPythonDriver


class RemembersKey(RawPythonDriver):
    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[tuple[str, str], bytes] = {}

    def get_option_market_statistic(self, query: Query) -> Page:
        slot = (query.option_market, query.data_type)
        if query.page_req_key is None and slot in self.keys:
            query = Query(query.option_market, query.data_type, query.begin_time, query.end_time, self.keys[slot])
        page = super().get_option_market_statistic(query)
        if page.page_req_key is None:
            self.keys.pop(slot, None)
        else:
            self.keys[slot] = page.page_req_key
        return page


RemembersKey().run()
