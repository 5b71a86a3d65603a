"""Broken on purpose: computes put/call itself, rounded to 4 places."""

from typing import Any

from conformance.drivers.raw_python import RawPythonDriver


class WrongRatioRounding(RawPythonDriver):
    def row(self, item: Any) -> dict[str, Any]:
        row = super().row(item)
        row["ratio"] = round(item.putValue / item.callValue, 4) if item.callValue else None
        return row


WrongRatioRounding().run()
