"""Broken on purpose: every request carries the same serial number."""

from conformance.drivers.raw_python import RawPythonDriver
from mock_opend.frame import FrameHeader


class ReusesSerials(RawPythonDriver):
    def frame(self, proto_id: int, body: bytes) -> tuple[int, bytes]:
        header = FrameHeader(proto_id, 7, len(body), self.sha1(body))
        return 7, header.pack() + body


ReusesSerials().run()
