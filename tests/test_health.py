"""``mock-opend health``: a real InitConnect, with a deadline, to the port serve took."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mock_opend.crypto import generate_key_pem
from mock_opend.health import READY_FILE_ENV, address, check


def health_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "mock_opend", "health", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


def test_a_serving_gateway_is_healthy(opend_server_factory) -> None:
    server = opend_server_factory()
    result = check(server.host, server.port)
    assert result.ok and "InitConnect answered" in result.detail
    done = health_cli("--port", str(server.port))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "ok"


def test_an_encrypted_gateway_asked_in_plain_text_still_answers(opend_server_factory, tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(generate_key_pem())
    server = opend_server_factory(rsa_key=str(key))
    plain = check(server.host, server.port)
    assert plain.ok and "with an error" in plain.detail, plain
    done = health_cli("--port", str(server.port), "--rsa-key", str(key))
    assert done.returncode == 0 and "InitConnect answered (server version" in done.stdout, done.stdout


def test_a_closed_port_is_down_at_once() -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    done = health_cli("--port", str(port))
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["status"] == "down" and "Connection refused" in doc["detail"], doc


def test_a_peer_that_accepts_and_says_nothing_is_down_within_the_timeout() -> None:
    """An open port is not health: the deadline covers the whole check."""
    sock = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(sock.accept()[0]), daemon=True).start()
    try:
        result = check("127.0.0.1", sock.getsockname()[1], timeout=0.5)
        assert not result.ok and "did not answer InitConnect within 0.5 s" in result.detail
        assert result.seconds < 5
    finally:
        sock.close()
        for conn in held:
            conn.close()


def test_something_else_on_the_port_is_down() -> None:
    sock = socket.create_server(("127.0.0.1", 0))

    def http_server() -> None:
        conn, _ = sock.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=http_server, daemon=True).start()
    try:
        result = check("127.0.0.1", sock.getsockname()[1], timeout=5)
        assert not result.ok and "not an OpenD frame" in result.detail, result
    finally:
        sock.close()


def test_the_ready_file_tells_health_the_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ready = tmp_path / "ready.json"
    monkeypatch.setenv(READY_FILE_ENV, str(ready))
    assert address(None, None) == ("127.0.0.1", 11111)  # not written yet
    ready.write_text(json.dumps({"event": "ready", "host": "0.0.0.0", "port": 40001}))
    assert address(None, None) == ("127.0.0.1", 40001)  # a wildcard bind is checked on loopback
    assert address(None, 9) == ("127.0.0.1", 9)  # flags win
    ready.write_text("{half")
    assert address(None, None) == ("127.0.0.1", 11111)


def test_serve_writes_and_removes_the_ready_file(tmp_path: Path) -> None:
    import os
    import signal
    import time

    ready = tmp_path / "ready.json"
    env = {**os.environ, READY_FILE_ENV: str(ready)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_opend", "serve", "--port", "0", "--ws-port", "off"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        deadline = time.monotonic() + 10
        while not ready.exists():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert json.loads(ready.read_text()) == line
        done = health_cli(env={READY_FILE_ENV: str(ready)})  # no --port: the ready file's
        assert done.returncode == 0, done.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert not ready.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_ports_outside_the_tcp_range_are_refused(tmp_path: Path) -> None:
    done = health_cli("--port", "99999")
    assert done.returncode == 2 and done.stderr.startswith("mock-opend health: error: argument --port: not a TCP port")
    ready = tmp_path / "ready.json"
    ready.write_text('{"event": "ready", "host": "127.0.0.1", "port": 1e30}')
    done = health_cli(env={READY_FILE_ENV: str(ready)})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    doc = json.loads(done.stdout)
    assert "cannot be read (no host and TCP port in it" in doc["ready_file"], doc
