"""Broken on purpose (an optional case): "reconnect" answers OK but keeps the old session."""

from conformance.drivers.raw_python import RawPythonDriver


class ReconnectDoesNothing(RawPythonDriver):
    def reconnect(self) -> None:
        pass


ReconnectDoesNothing().run()
