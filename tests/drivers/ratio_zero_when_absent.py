"""Broken on purpose: a missing ratio (call value 0) comes back as 0.0, the protobuf default."""

from typing import Any

from conformance.drivers.raw_python import RawPythonDriver


class RatioZero(RawPythonDriver):
    def row(self, item: Any) -> dict[str, Any]:
        return {**super().row(item), "ratio": item.ratio}


RatioZero().run()
