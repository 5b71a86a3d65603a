"""Broken on purpose: never checks a reply's SHA-1, so a damaged reply is taken as good."""

from conformance.drivers.raw_python import RawPythonDriver
from mock_opend.frame import FrameHeader


class SkipsSha1(RawPythonDriver):
    def verify(self, header: FrameHeader, body: bytes) -> None:
        pass  # computed by nobody, compared by nobody


SkipsSha1().run()
