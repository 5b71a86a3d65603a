"""Broken on purpose: its market table maps HK_SECURITY to HK_INDEX's wire value (a copy-paste slip)."""

from typing import Any

from conformance.driver import Query
from conformance.drivers.raw_python import RawPythonDriver

WIRE = {"US_SECURITY": 1, "US_INDEX": 2, "HK_SECURITY": 4, "HK_INDEX": 4}


class WrongMarketTable(RawPythonDriver):
    def fill(self, c: Any, query: Query) -> None:
        super().fill(c, query)
        if query.option_market in WIRE:
            c.optionMarket = WIRE[query.option_market]


WrongMarketTable().run()
