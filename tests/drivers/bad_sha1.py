"""Broken on purpose: the header's SHA-1 covers the wrong bytes."""

import hashlib

from conformance.drivers.raw_python import RawPythonDriver


class BadSha1(RawPythonDriver):
    def sha1(self, body: bytes) -> bytes:
        return hashlib.sha1(body + b"\x00").digest()


BadSha1().run()
