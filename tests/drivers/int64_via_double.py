"""Broken on purpose: values pass through a double on their way (as in JSON.parse), losing digits above 2^53."""

from typing import Any

from conformance.drivers.raw_python import RawPythonDriver


class Int64ViaDouble(RawPythonDriver):
    def row(self, item: Any) -> dict[str, Any]:
        row = super().row(item)
        for k in ("call_value", "put_value", "total_value"):
            if row[k] is not None:
                row[k] = int(float(row[k]))
        return row


Int64ViaDouble().run()
