"""Broken on purpose: never checks a reply's SHA-1, so a damaged reply is taken as good."""

import hashlib

from conformance.driver import ClientError
from conformance.drivers.raw_python import RawPythonDriver
from mock_opend.frame import HEADER_LEN, FrameHeader


class SkipsSha1(RawPythonDriver):
    def _recv_frame(self) -> tuple[FrameHeader, bytes]:
        assert self.sock is not None
        while True:
            if len(self.buf) >= HEADER_LEN:
                h = FrameHeader.unpack(self.buf[:HEADER_LEN])
                if len(self.buf) >= HEADER_LEN + h.body_len:
                    body = self.buf[HEADER_LEN : HEADER_LEN + h.body_len]
                    self.buf = self.buf[HEADER_LEN + h.body_len :]
                    hashlib.sha1(body)  # computed, never compared
                    return h, body
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ClientError("connection closed by the server")
            self.buf += chunk


SkipsSha1().run()
