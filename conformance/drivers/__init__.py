"""Built-in drivers, runnable by name: ``opend-conformance run --client NAME``."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
JS_DIR = Path(__file__).resolve().parent / "js"
CACHE = Path.home() / ".cache" / "mock-opend"


class DriverUnavailable(RuntimeError):
    """A built-in driver whose runtime is missing here; the message says what to install."""


def _python(module: str, *args: str) -> Callable[[], list[str]]:
    return lambda: [sys.executable, "-m", module, *args]


def install_npm_project(target: Path, files: list[Path]) -> Path:
    """Copy a small npm project's files (package.json among them) to ``target``
    and ``npm install`` it, once per package.json; safe for parallel callers."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise DriverUnavailable("Node.js and npm are needed (e.g. apt-get install nodejs npm)")
    target.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for f in files:
            if f.is_file():
                (target / f.name).write_bytes(f.read_bytes())
        spec = (target / "package.json").read_text()
        marker = target / ".installed"
        if not marker.exists() or marker.read_text() != spec:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=target,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                raise DriverUnavailable(f"npm install failed in {target}: {done.stderr[-1000:]}")
            marker.write_text(spec)
    return target


def _npm_dir(name: str, src: Path) -> Path:
    return install_npm_project(CACHE / name, list(src.iterdir()))


def _js_sdk() -> list[str]:
    target = _npm_dir("js-sdk-driver", JS_DIR)
    return ["node", "--import", str(target / "harness.mjs"), str(target / "futu_sdk_driver.mjs")]


def _node_raw() -> list[str]:
    src = ROOT / "examples" / "node-raw-client"
    if not src.is_dir():
        raise DriverUnavailable("the node-raw driver runs from a checkout of the mock-opend repository (examples/)")
    target = _npm_dir("node-raw-client", src)
    return ["node", str(target / "driver.mjs"), "--proto", str(ROOT / "proto")]


BUILTIN: dict[str, Callable[[], list[str]]] = {
    "futu-api": _python("conformance.drivers.python_sdk", "futu"),
    "moomoo-api": _python("conformance.drivers.python_sdk", "moomoo"),
    "raw-python": _python("conformance.drivers.raw_python"),
    "js-sdk": _js_sdk,
    "node-raw": _node_raw,
}


def command_for(name: str) -> list[str]:
    try:
        return BUILTIN[name]()
    except KeyError:
        raise DriverUnavailable(f"unknown client {name!r}; built-in: {', '.join(BUILTIN)}") from None
