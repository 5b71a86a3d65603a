"""OpenD's encrypted mode: RSA for InitConnect, then AES on every packet.

- InitConnect bodies are RSA PKCS#1 v1.5 in 128-byte blocks (the SDK encrypts
  100-byte chunks with the public key and reads replies in 128-byte blocks, so
  only 1024-bit keys work).  The reply is RSA-encrypted only when the request
  asked for encryption (packetEncAlgo != -1).
- After that, each body of the connection is AES-encrypted with the 16-char
  ``connAESKey``: AES-CBC with PKCS#7 padding and a fresh cipher (same IV) per
  packet when the reply carried ``aesCBCiv``; otherwise Futu's "FTAES_ECB":
  zero padding plus a 16-byte trailer whose last byte is ``len % 16``.
- The frame's SHA-1 is always over the plaintext.

Uses the ``cryptography`` package, imported only when ``rsa_key`` is set.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .user_files import read_bytes

MAX_KEY_FILE = 64 << 10  # bytes of a PEM key file (a 1024-bit key is ~900)
RSA_BLOCK = 128
RSA_CHUNK = 100  # plaintext bytes per block, as the SDK cuts them
_ALPHABET = string.ascii_letters + string.digits


class CryptoError(ValueError):
    """Cannot encrypt or decrypt a body; the message says why."""


class RsaKey:
    """The gateway's RSA key pair (the same file the SDK is given)."""

    def __init__(self, private_key: Any) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise CryptoError("not an RSA private key")
        if private_key.key_size != 1024:
            raise CryptoError(
                f"the SDK only works with 1024-bit RSA keys (128-byte blocks); this key has {private_key.key_size} bits"
            )
        self._key = private_key

    @classmethod
    def load(cls, path: str | Path) -> RsaKey:
        from cryptography.hazmat.primitives import serialization

        try:
            data = read_bytes(path, MAX_KEY_FILE)
        except OSError as exc:
            raise CryptoError(f"{path}: cannot read RSA key: {exc.strerror or exc}") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise CryptoError(f"{path}: not a PEM RSA private key without password ({exc})") from None
        return cls(key)

    def decrypt(self, body: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import padding

        if not body or len(body) % RSA_BLOCK:
            raise CryptoError(f"RSA body of {len(body)} bytes is not a whole number of {RSA_BLOCK}-byte blocks")
        out = bytearray()
        for i in range(0, len(body), RSA_BLOCK):
            try:
                out += self._key.decrypt(body[i : i + RSA_BLOCK], padding.PKCS1v15())
            except ValueError:
                raise CryptoError("RSA decryption failed: the client used another key") from None
        return bytes(out)

    def encrypt(self, plaintext: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import padding

        public = self._key.public_key()
        return b"".join(
            public.encrypt(plaintext[i : i + RSA_CHUNK], padding.PKCS1v15())
            for i in range(0, max(len(plaintext), 1), RSA_CHUNK)
        )


def generate_key_pem() -> bytes:
    """A fresh 1024-bit RSA key, PKCS#1 PEM (``BEGIN RSA PRIVATE KEY``), as the SDK ships."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def random_token(n: int = 16) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


@dataclass(frozen=True, slots=True)
class AesSession:
    """The AES state of one connection after an encrypted InitConnect."""

    key: bytes  # 16 bytes
    iv: bytes | None  # AES-CBC when set, FTAES_ECB otherwise

    @property
    def mode(self) -> str:
        return "aes_cbc" if self.iv is not None else "ftaes_ecb"

    def _cipher(self) -> Any:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        mode = modes.CBC(self.iv) if self.iv is not None else modes.ECB()
        return Cipher(algorithms.AES(self.key), mode)

    def encrypt(self, plaintext: bytes) -> bytes:
        if self.iv is not None:
            pad = 16 - len(plaintext) % 16
            enc = self._cipher().encryptor()
            return enc.update(plaintext + bytes([pad]) * pad) + enc.finalize()
        tail = len(plaintext) % 16
        padded = plaintext + b"\x00" * ((16 - tail) % 16)
        enc = self._cipher().encryptor()
        return enc.update(padded) + enc.finalize() + b"\x00" * 15 + bytes([tail])

    def decrypt(self, body: bytes) -> bytes:
        if self.iv is not None:
            if not body or len(body) % 16:
                raise CryptoError(f"AES-CBC body of {len(body)} bytes is not a multiple of 16")
            dec = self._cipher().decryptor()
            plain = dec.update(body) + dec.finalize()
            pad = plain[-1]
            if not 1 <= pad <= 16:
                raise CryptoError("AES-CBC padding is wrong: clear text, or another key")
            return plain[:-pad]
        if len(body) < 16 or len(body) % 16:
            raise CryptoError(f"FTAES_ECB body of {len(body)} bytes is not a multiple of 16 plus a 16-byte trailer")
        data, trailer = body[:-16], body[-16:]
        dec = self._cipher().decryptor()
        plain = dec.update(data) + dec.finalize()
        tail = trailer[-1]
        if tail > 15:
            raise CryptoError("FTAES_ECB trailer is wrong: clear text, or another key")
        return plain[: len(plain) - (16 - tail)] if tail else plain
