"""Shared helpers: real SDK contexts with a watchdog, a subprocess server,
a raw protocol client and the protobuf-6 environment for the SDK's JSON mode."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import futu
import moomoo
import pytest

# `import futu` replaces SIGINT with os._exit (PROTOCOL.md trap 14); give
# Ctrl-C back to pytest, and keep unclosed SDK threads from blocking exit.
signal.signal(signal.SIGINT, signal.default_int_handler)
futu.SysConfig.set_all_thread_daemon(True)
moomoo.SysConfig.set_all_thread_daemon(True)

from mock_opend.frame import HEADER_LEN, FrameHeader, encode_frame  # noqa: E402
from mock_opend.messages import InitConnectRequest, InitConnectResponse  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SDK_QUERY = ROOT / "tests" / "clients" / "sdk_query.py"
SDK_MODULES = {"futu": futu, "moomoo": moomoo}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@contextlib.contextmanager
def sdk_context(sdk: str, host: str, port: int, timeout: float = 15.0) -> Iterator[Any]:
    """An OpenQuoteContext that is READY, or a test failure — never a hang."""
    mod = SDK_MODULES[sdk]
    ctx = mod.OpenQuoteContext(host=host, port=port, is_async_connect=True)
    try:
        deadline = time.monotonic() + timeout
        while ctx.status != "READY":
            if time.monotonic() > deadline:
                pytest.fail(f"{sdk} SDK not READY after {timeout}s (status {ctx.status})")
            time.sleep(0.01)
        yield ctx
    finally:
        ctx.close()


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    ready: dict[str, Any]

    @property
    def host(self) -> str:
        return self.ready["host"]

    @property
    def port(self) -> int:
        return self.ready["port"]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> float:
        """Signal the server; return how long it took to exit."""
        if self.proc.poll() is not None:
            return 0.0
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - t0

    def wait_for_stderr(self, needle: str, timeout: float = 15.0) -> str:
        """The first stderr line containing ``needle``, waiting for it (polled, with a
        deadline) at most ``timeout`` seconds."""
        stream = self.proc.stderr
        assert stream is not None
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        os.set_blocking(stream.fileno(), False)
        try:
            while time.monotonic() < deadline:
                line = stream.readline()
                if line and needle in line:
                    return line
                if line:
                    seen.append(line)
                elif self.proc.poll() is not None:
                    break
                else:
                    time.sleep(0.01)
        finally:
            os.set_blocking(stream.fileno(), True)
        raise AssertionError(f"no stderr line with {needle!r} within {timeout} s; saw: {''.join(seen)[-2000:]}")

    def stderr_text(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


def start_server_process(*args: str, timeout: float = 15.0, script: Path | None = None) -> ServerProcess:
    """``python -m mock_opend serve ARGS`` (or ``python SCRIPT ARGS``) on an
    ephemeral port, after its ready line."""
    head = [str(script)] if script is not None else ["-m", "mock_opend", "serve"]
    cmd = [sys.executable, *head, "--port", "0", *args]
    if "--ws-port" not in args:
        cmd += ["--ws-port", "off"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = ""
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        chunk = proc.stdout.readline()
        if chunk:
            line = chunk
            break
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.01)
    os.set_blocking(proc.stdout.fileno(), True)
    if not line:
        proc.kill()
        raise AssertionError("no ready line from the server")
    return ServerProcess(proc, json.loads(line))


@pytest.fixture
def server_process() -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(*args: str, script: Path | None = None) -> ServerProcess:
        sp = start_server_process(*args, script=script)
        started.append(sp)
        return sp

    yield start
    stop_all(started)


def stop_all(started: list[ServerProcess]) -> None:
    """Stop every server a test started, and close its pipes."""
    for sp in started:
        sp.stop()
        for stream in (sp.proc.stdout, sp.proc.stderr):
            if stream is not None:
                stream.close()


class RawClient:
    """A minimal TCP client that speaks the frame protocol, for tests that need
    to send what no SDK would."""

    def __init__(self, host: str, port: int, timeout: float = 5.0, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connecting, so the window stays small
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""
        self.serial = 0

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, proto_id: int, body: bytes, *, fmt: int = 0, serial: int | None = None) -> int:
        if serial is None:
            self.serial += 1
            serial = self.serial
        self.sock.sendall(encode_frame(proto_id, serial, body, fmt=fmt))
        return serial

    def recv_frame(self) -> tuple[FrameHeader, bytes]:
        while len(self.buf) < HEADER_LEN:
            self._fill()
        header = FrameHeader.unpack(self.buf[:HEADER_LEN])
        while len(self.buf) < HEADER_LEN + header.body_len:
            self._fill()
        body = self.buf[HEADER_LEN : HEADER_LEN + header.body_len]
        self.buf = self.buf[HEADER_LEN + header.body_len :]
        return header, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def at_eof(self, timeout: float = 2.0) -> bool:
        """True when the server has closed the connection (after any pending data)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def init_connect(self, fmt: int = 0) -> Any:
        req = InitConnectRequest()
        req.c2s.clientVer = 300
        req.c2s.clientID = "raw-test"
        req.c2s.recvNotify = True
        req.c2s.packetEncAlgo = -1
        req.c2s.programmingLanguage = "Python"
        self.send(1001, req.SerializeToString())
        _, body = self.recv_frame()
        rsp = InitConnectResponse.FromString(body)
        assert rsp.retType == 0, rsp.retMsg
        return rsp


def admin_call(port: int, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
    """(status, JSON) of an admin API call to 127.0.0.1:port/__admin<path>."""
    import urllib.error
    import urllib.request

    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{port}/__admin{path}", data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as rsp:
            return rsp.status, json.loads(rsp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@contextlib.contextmanager
def serial_peer(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A peer on an ephemeral port that takes connections one at a time and runs
    ``handle`` on each (then closes it); yields its port, closed on exit."""
    import threading

    lst = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = lst.accept()
            except OSError:  # closed
                return
            with conn:
                handle(conn)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield lst.getsockname()[1]
    finally:
        lst.close()


@pytest.fixture
def raw_client() -> Iterator[Callable[[str, int], RawClient]]:
    clients: list[RawClient] = []

    def make(host: str, port: int) -> RawClient:
        c = RawClient(host, port)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


# --- the SDK's JSON mode needs protobuf < 7: a second environment ------------
PB6_SPECS = ["futu-api==10.11.7108", "moomoo-api==10.11.7108", "protobuf==6.33.6"]


@pytest.fixture(scope="session")
def pb6_python() -> str:
    """A Python with futu-api and protobuf 6.33.6, built once and cached.

    ``MOCK_OPEND_PB6_PYTHON`` names one to use instead.  Outside CI a failed
    build skips the JSON-mode tests with the reason; in CI it fails them.
    """
    given = os.environ.get("MOCK_OPEND_PB6_PYTHON")
    if given:
        return given
    venv = ROOT / ".cache" / "pb6-venv"
    python = venv / "bin" / "python"
    marker = venv / ".complete"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "pb6-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            try:
                subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
                subprocess.run(
                    [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PB6_SPECS],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                detail = getattr(exc, "stderr", "") or str(exc)
                msg = f"cannot build the protobuf-6 SDK environment: {detail[-2000:]}"
                if IN_CI:
                    pytest.fail(msg)
                pytest.skip(msg)
            marker.write_text(" ".join(PB6_SPECS))
    return str(python)


def run_sdk_query(
    python: str,
    port: int,
    queries: list[dict[str, Any]],
    *,
    sdk: str = "futu",
    fmt: str = "protobuf",
    extra: tuple[str, ...] = (),
    check: bool = True,
) -> dict[str, Any]:
    """Run tests/clients/sdk_query.py; its JSON result, plus "rc"."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        cmd = [python, str(SDK_QUERY), "--sdk", sdk, "--port", str(port), "--fmt", fmt, "--out", str(result)]
        done = subprocess.run(
            [*cmd, "--queries", json.dumps(queries), *extra], capture_output=True, text=True, timeout=120
        )
        text = result.read_text() if result.exists() else ""
    if check:
        assert done.returncode == 0 and text, (
            f"sdk_query failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}"
        )
    out = json.loads(text) if text else {}
    out["rc"] = done.returncode
    out["stdout"] = done.stdout  # the SDK's own log lines: what a user sees on failures
    return out


# --- the JavaScript SDKs (npm), for the WebSocket endpoint ---------------------
JS_HARNESS = ROOT / "tests" / "clients" / "js"
JS_RUNTIME = ROOT / "conformance" / "drivers" / "js"  # harness.mjs, resolve-hook.mjs


@pytest.fixture(scope="session")
def js_env() -> Path:
    """A folder with the npm SDKs installed and the Node harness beside them.

    Skips (with the reason) when Node or npm is absent, except in CI, where it
    fails: CI installs Node so these tests run there.
    """
    from conformance.drivers import DriverUnavailable, install_npm_project

    files = [*JS_RUNTIME.glob("*.mjs"), *JS_HARNESS.iterdir()]
    try:
        return install_npm_project(ROOT / ".cache" / "js-harness", files)
    except DriverUnavailable as exc:
        if IN_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def run_node(js_env: Path, script: str, *args: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "--import", "./harness.mjs", script, *args],
        cwd=js_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def node_raw_client(js_env: Path) -> Path:
    """examples/node-raw-client with its npm dependency installed (in .cache)."""
    from conformance.drivers import install_npm_project

    src = ROOT / "examples" / "node-raw-client"
    target = install_npm_project(ROOT / ".cache" / "node-raw-client", list(src.iterdir()))
    return target / "client.mjs"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The mutation table of tests/test_kit_zoo.py: each broken driver, its kind,
    the case that must fail it and the verdict it got (xdist carries the rows)."""
    rows = []
    for reports in terminalreporter.stats.values():
        for rep in reports:
            for name, value in getattr(rep, "user_properties", []) or []:
                if name == "zoo" and getattr(rep, "when", "") == "call":
                    rows.append(json.loads(value))
    if not rows:
        return
    terminalreporter.section("what the conformance kit catches (tests/test_kit_zoo.py)")
    for driver, kind, case, verdict, message in sorted(rows, key=lambda r: (r[1], r[0])):
        terminalreporter.write_line(f"{driver:<40} {kind:<18} {case:>4}  {verdict:<10} {message[:90]}")
