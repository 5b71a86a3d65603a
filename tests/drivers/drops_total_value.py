"""Broken on purpose: never reads totalValue (the caller can add call and put, it reasons)."""

from typing import Any

from conformance.drivers.raw_python import RawPythonDriver


class DropsTotal(RawPythonDriver):
    def row(self, item: Any) -> dict[str, Any]:
        return {**super().row(item), "total_value": None}


DropsTotal().run()
