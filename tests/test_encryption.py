"""Encrypted mode (RSA for InitConnect, then AES) with the real Python SDK.

The SDK's encryption switches are process-wide, so each client runs in its own
process (tests/clients/sdk_query.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, RawClient, run_sdk_query

from mock_opend.crypto import AesSession, CryptoError, RsaKey
from mock_opend.messages import InitConnectRequest, InitConnectResponse

pytestmark = pytest.mark.sdk

Q = [{"market": "US_SECURITY", "data_type": "VOLUME", "begin": "2025-06-16", "end": "2026-06-15"}]


@pytest.fixture(scope="module")
def key_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh pair from the CLI's keygen, as a user would make it."""
    path = tmp_path_factory.mktemp("rsa") / "opend_key.pem"
    done = subprocess.run(
        [sys.executable, "-m", "mock_opend", "keygen", "-o", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert path.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    return path


def rows(out: dict) -> list:
    return [r for p in out["results"][0]["pages"] for r in p["rows"]]


def journal(server) -> list[dict]:
    server.stop()
    return [json.loads(line) for line in server.stderr_text().splitlines()]


@pytest.mark.parametrize("aes_mode", ["request", "ftaes_ecb"])
def test_encrypted_sdk_gets_the_same_rows(server_process, key_pem: Path, aes_mode: str) -> None:
    server = server_process(
        "--rsa-key", str(key_pem), "--aes-mode", aes_mode, "--now", "2026-06-15", "--keep-alive-interval", "1"
    )
    enc = run_sdk_query(sys.executable, server.port, Q, extra=("--rsa-key", str(key_pem), "--encrypt", "--hold", "2.5"))
    plain_server = server_process("--now", "2026-06-15")
    plain = run_sdk_query(sys.executable, plain_server.port, Q)
    assert rows(enc) == rows(plain) and len(rows(enc)) > 240
    assert len(enc["results"][0]["pages"]) == 3  # page keys survive encryption
    log = journal(server)
    requests = [r for r in log if r.get("event") == "request"]
    assert {r["proto"] for r in requests} >= {1001, 1004, 3301}  # KeepAlive under AES too
    assert all(r["outcome"] == "ok" for r in requests)


def test_rsa_file_without_encryption_gets_a_plain_session(server_process, key_pem: Path) -> None:
    """The SDK RSA-encrypts InitConnect whenever it has a key file, but with
    encryption off it asks for none (packetEncAlgo -1) and expects clear text."""
    server = server_process("--rsa-key", str(key_pem), "--now", "2026-06-15")
    out = run_sdk_query(sys.executable, server.port, Q, extra=("--rsa-key", str(key_pem)))
    assert len(rows(out)) > 240


def test_the_wrong_key_is_refused_without_a_hang(server_process, key_pem: Path) -> None:
    import futu

    sdk_key = Path(futu.__file__).parent / "common" / "conn_key.txt"  # the SDK's bundled key, not ours
    server = server_process("--rsa-key", str(key_pem), "--lang", "en")
    out = run_sdk_query(
        sys.executable,
        server.port,
        Q,
        extra=("--rsa-key", str(sdk_key), "--encrypt", "--connect-timeout", "4"),
        check=False,
    )
    assert out["rc"] == 3 and "not READY" in out["error"]
    refused = [r for r in journal(server) if r.get("proto") == 1001]
    assert refused and all(r["outcome"] == "DECRYPT_FAILED" for r in refused)
    assert "init connect fail" in out["stdout"]  # what the SDK's user sees


def test_clear_text_client_to_an_encrypted_server(server_process, key_pem: Path) -> None:
    server = server_process("--rsa-key", str(key_pem), "--lang", "en")
    out = run_sdk_query(sys.executable, server.port, Q, extra=("--connect-timeout", "4"), check=False)
    assert out["rc"] == 3
    assert "must be RSA-encrypted" in out["stdout"]  # the SDK logs the retMsg of its failed InitConnect
    c = RawClient(server.host, server.port)
    try:
        req = InitConnectRequest()
        req.c2s.clientVer, req.c2s.clientID, req.c2s.packetEncAlgo = 300, "raw", -1
        c.send(1001, req.SerializeToString())
        rsp = InitConnectResponse.FromString(c.recv_frame()[1])
    finally:
        c.close()
    assert rsp.retType == -1 and "must be RSA-encrypted" in rsp.retMsg
    assert any(r.get("outcome") == "ENCRYPTION_REQUIRED" for r in journal(server))


def test_aes_round_trips_and_sizes() -> None:
    cbc = AesSession(b"0123456789abcdef", b"fedcba9876543210")
    ecb = AesSession(b"0123456789abcdef", None)
    for n, cbc_len, ecb_len in [(6, 16, 32), (48, 64, 64), (56, 64, 80), (0, 16, 16)]:
        data = bytes(range(n))
        assert len(cbc.encrypt(data)) == cbc_len and cbc.decrypt(cbc.encrypt(data)) == data
        assert len(ecb.encrypt(data)) == ecb_len and ecb.decrypt(ecb.encrypt(data)) == data
    with pytest.raises(CryptoError):
        cbc.decrypt(b"not sixteen")


def test_rsa_key_checks(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    big = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "big.pem"
    path.write_bytes(
        big.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with pytest.raises(CryptoError, match="1024-bit"):
        RsaKey.load(path)
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(CryptoError, match="not a PEM"):
        RsaKey.load(tmp_path / "junk.pem")
    done = subprocess.run(
        [sys.executable, "-m", "mock_opend", "serve", "--port", "0", "--ws-port", "off", "--rsa-key", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert done.returncode == 2 and "1024-bit" in done.stderr
