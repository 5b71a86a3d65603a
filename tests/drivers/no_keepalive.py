"""Broken on purpose: never sends KeepAlive."""

from conformance.drivers.raw_python import RawPythonDriver


class NoKeepAlive(RawPythonDriver):
    def sends_keepalive(self) -> bool:
        return False


NoKeepAlive().run()
