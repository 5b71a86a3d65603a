"""Broken on purpose: reports the timestamp in milliseconds."""

from typing import Any

from conformance.drivers.raw_python import RawPythonDriver


class TimestampMs(RawPythonDriver):
    def row(self, item: Any) -> dict[str, Any]:
        row = super().row(item)
        if row["timestamp"] is not None:
            row["timestamp"] = row["timestamp"] * 1000
        return row


TimestampMs().run()
