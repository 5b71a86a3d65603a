"""The container image, built from the Dockerfile and run the way a client author
in another language runs it: one `run` line, the SDK on the host, health, stop.

Public container registries are not reachable here, so the base image is built
from Debian's packages (mmdebstrap: python3, python3-venv, ca-certificates) and
imported into podman, and the packages go into the image as wheels made on the
host (`--build-context wheels=DIR`), the Dockerfile's offline path.  Podman runs
with runc and `default_ulimits = []` (crun and the default RLIMIT_NOFILE fail
on this VM).  The base image is kept under one tag between runs (a cache);
the image built from the checkout gets a tag of its own and is removed.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import IN_CI, ROOT, sdk_context
from seed_example import seed_rows

BASE_TAG = "localhost/mock-opend-test-base:bookworm"
TOOLS = ("podman", "runc", "mmdebstrap")

pytestmark = [pytest.mark.slow, pytest.mark.sdk, pytest.mark.timeout(900)]


def _need_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        why = f"needs {', '.join(missing)} (apt-get install podman runc mmdebstrap; .ci/run installs them)"
        if IN_CI:
            pytest.fail(why, pytrace=False)
        pytest.skip(why)


@dataclass
class Podman:
    env: dict[str, str]

    def __call__(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["podman", "--runtime", "runc", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode != 0:
            pytest.fail(f"podman {' '.join(args[:3])}… exited {done.returncode}: {done.stderr[-2000:]}", pytrace=False)
        return done

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["podman", "--runtime", "runc", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def _base_image(podman: Podman, work: Path) -> str:
    if podman("image", "exists", BASE_TAG, check=False).returncode == 0:
        return BASE_TAG
    tar = work / "base.tar"
    subprocess.run(
        ["mmdebstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates", "bookworm", str(tar)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    podman("import", str(tar), BASE_TAG)
    tar.unlink()
    return BASE_TAG


def _wheels(podman: Podman, base: str, out: Path) -> Path:
    """The project's wheel and its dependencies' wheels for the base image's Python
    and C library (which need not be the host's)."""
    probe = "import platform, sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}', platform.libc_ver()[1])"
    version, glibc = podman("run", "--rm", "--network", "none", base, "python3", "-c", probe).stdout.split()
    machine = platform.machine()
    major, minor = (int(x) for x in glibc.split(".")[:2])
    tags = [f"manylinux_{major}_{m}_{machine}" for m in range(17, minor + 1)] + [f"manylinux2014_{machine}"]
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", str(ROOT), "-w", str(out)], check=True, timeout=300)
    (wheel,) = out.glob("mock_opend-*.whl")
    platforms = [arg for tag in tags for arg in ("--platform", tag)]
    subprocess.run(
        [
            *pip,
            "download",
            "-q",
            "--only-binary=:all:",
            "--python-version",
            version,
            *platforms,
            "-d",
            str(out),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


@pytest.fixture
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Podman, str]]:
    _need_tools()
    work = tmp_path_factory.mktemp("container")
    conf = work / "containers.conf"
    conf.write_text('[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n')
    podman = Podman({**os.environ, "CONTAINERS_CONF": str(conf)})
    base = _base_image(podman, work)
    wheels = _wheels(podman, base, work / "wheels")
    tag = f"localhost/mock-opend-test:{uuid.uuid4().hex[:12]}"
    # --format docker keeps HEALTHCHECK (OCI images have no field for it); --no-cache: the
    # build cache does not look at what is in the wheels context
    podman(
        "build", "--no-cache", "--format", "docker", "--build-arg", f"BASE={base}",
        "--build-context", f"wheels={wheels}", "-t", tag, str(ROOT), timeout=600,
    )  # fmt: skip
    try:
        yield podman, tag
    finally:
        podman("rmi", "--force", tag, check=False)


def _ready(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, object]:
    """The ready line of `serve` in a container started with Popen."""
    assert proc.stdout is not None
    line = ""
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline and proc.poll() is None:
        chunk = proc.stdout.readline()
        if chunk:
            line += chunk
            if line.endswith("\n"):
                return json.loads(line)
        else:
            time.sleep(0.02)
    err = proc.stderr.read() if proc.stderr is not None and proc.poll() is not None else ""
    pytest.fail(f"no ready line from the container within {timeout} s (exit {proc.poll()}): {err[-2000:]}")


def test_the_image_as_a_client_author_runs_it(image: tuple[Podman, str]) -> None:
    """One test, so that parallel workers build the image once."""
    podman, tag = image
    _serves_the_api_pages_table_and_stops_on_sigterm(podman, tag)
    _defaults_help_and_healthcheck(podman, tag)
    _size_is_the_documented_one(podman, tag)


def _serves_the_api_pages_table_and_stops_on_sigterm(podman: Podman, tag: str) -> None:
    name = f"mock-opend-test-{uuid.uuid4().hex[:8]}"
    # the host network, an ephemeral port, the shipped fixture mounted as a user mounts theirs
    proc = podman.popen(
        "run", "--rm", "--name", name, "--network", "host", "-v", f"{ROOT / 'fixtures'}:/fixtures:ro",
        tag, "serve", "--host", "127.0.0.1", "--port", "0", "--ws-port", "0", "--config", "/fixtures/doc_example.toml",
    )  # fmt: skip
    try:
        ready = _ready(proc)
        port = int(ready["port"])  # type: ignore[call-overload]

        # the futu SDK on the host gets the API page's example table
        from futu import RET_OK, OptionMarket, OptionStatisticDataType

        with sdk_context("futu", "127.0.0.1", port) as ctx:
            ret, data, key = ctx.get_option_market_statistic(
                OptionMarket.US_SECURITY, OptionStatisticDataType.VOLUME, begin_time="2026-06-01", end_time="2026-06-15"
            )
        assert ret == RET_OK, data
        assert key is None
        got = [(r["time"], r["call_value"], r["put_value"], r["total_value"]) for r in data.to_dict("records")]
        want = [(r["time"], r["call_value"], r["put_value"], r["total_value"]) for r in seed_rows()]
        assert got == want

        # health answers, on the port serve took (the ready file), as the HEALTHCHECK asks it
        health = podman("exec", name, "mock-opend", "health")
        assert json.loads(health.stdout)["status"] == "ok", health.stdout
        assert podman("healthcheck", "run", name, check=False).returncode == 0

        # nobody inside is root
        assert podman("exec", name, "id", "-u").stdout.strip() == "10001"
        status = podman("exec", name, "cat", "/proc/1/status").stdout
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        assert set(uids) == {"10001"}, status

        # SIGTERM to PID 1 ends the container within 2 s, with exit 0
        t0 = time.monotonic()
        podman("kill", "--signal", "TERM", name)
        code = proc.wait(timeout=30)
        took = time.monotonic() - t0
        err = proc.stderr.read() if proc.stderr else ""
        assert code == 0, err[-2000:]
        assert took < 2.0, f"the container took {took:.2f} s to stop after SIGTERM"
        # a loopback bind inside a container is said to be unreachable through -p
        assert "listening on 127.0.0.1 as a container's main process" in err, err[-2000:]
    finally:
        if proc.poll() is None:
            podman("kill", name, check=False)
            proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _size_is_the_documented_one(podman: Podman, tag: str) -> None:
    """docs/container.md states the size of the mock-opend layer: within 25 %."""
    text = (ROOT / "docs" / "container.md").read_text(encoding="utf-8")
    documented = int(re.search(r"the mock-opend layer: (\d+) MB", text).group(1))  # type: ignore[union-attr]
    history = json.loads(podman("history", "--format", "json", tag).stdout)
    (layer,) = [h["size"] for h in history if "python3 -m venv /opt/mock-opend" in h["CreatedBy"]]
    measured = layer / 1e6
    assert abs(measured - documented) <= 0.25 * documented, f"the layer is {measured:.0f} MB, the docs say {documented}"


def _defaults_help_and_healthcheck(podman: Podman, tag: str) -> None:
    helped = podman("run", "--rm", "--network", "none", tag, "--help")
    assert helped.stdout.startswith("usage: mock-opend"), helped.stdout

    inspected = json.loads(podman("image", "inspect", tag).stdout)[0]
    config = inspected["Config"]
    assert config["Entrypoint"] == ["mock-opend"]
    assert config["Cmd"] == ["serve", "--host", "0.0.0.0"]
    assert {"11111/tcp", "11112/tcp", "11113/tcp"} <= set(config["ExposedPorts"])
    assert config["User"] == "10001:10001"
    assert inspected["Healthcheck"]["Test"] == ["CMD", "mock-opend", "health"]  # podman keeps it beside Config
    assert config["StopSignal"] == "SIGTERM"

    # the default command, in a network of its own: serves on all interfaces, the
    # image's own HEALTHCHECK passes
    name = f"mock-opend-test-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--rm", "--name", name, "--network", "none", tag)
    try:
        deadline = time.monotonic() + 60
        while podman("healthcheck", "run", name, check=False).returncode != 0:
            assert time.monotonic() < deadline, podman("logs", name, check=False).stderr[-2000:]
            time.sleep(0.2)
        logs = podman("logs", name)
        ready = json.loads(logs.stdout.splitlines()[0])
        assert (ready["host"], ready["port"], ready["ws_port"]) == ("0.0.0.0", 11111, 11112)
        assert "non-loopback" in logs.stderr and "main process" not in logs.stderr, logs.stderr[-2000:]
    finally:
        podman("stop", "--time", "5", name, check=False)
