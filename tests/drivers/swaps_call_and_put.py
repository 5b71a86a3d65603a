"""Broken on purpose: call and put columns swapped when mapping the reply."""

from typing import Any

from conformance.drivers.raw_python import RawPythonDriver


class SwapsCallPut(RawPythonDriver):
    def row(self, item: Any) -> dict[str, Any]:
        row = super().row(item)
        row["call_value"], row["put_value"] = row["put_value"], row["call_value"]
        return row


SwapsCallPut().run()
