"""Headless Chromium for the tests, driven over the DevTools protocol (CDP).

The tests that look at a page (the documentation site's fonts, the conformance
report's screenshots) need a real browser: what matters is what it draws.
Debian's chromium is started headless on a throw-away profile, in a process
group of its own, seeing only the DejaVu fonts (so that a machine's own CJK
fonts change nothing), with a DevTools port of its own (``--remote-debugging-port=0``; the port is read from
the profile's DevToolsActivePort file), and spoken to with aiohttp's WebSocket
client, which the project has already: no Playwright, no driver binary.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's network is closed: no calls home
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--font-render-hinting=none",
)


FONT_DIR = "/usr/share/fonts/truetype/dejavu"  # Debian's fonts-dejavu-core, which chromium brings


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One tab, attached with a CDP session."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: str) -> None:
        self.ws, self.session = ws, session
        self._ids = itertools.count(1000)
        self.events: list[dict[str, Any]] = []

    async def send(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        mid = next(self._ids)
        await self.ws.send_str(json.dumps({"id": mid, "method": method, "params": params, "sessionId": self.session}))
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:  # events may keep coming: the deadline is for the answer
                raise TimeoutError(f"{method}: no answer within {timeout:g} s")
            msg = await self.ws.receive(timeout=max(0.1, deadline - time.monotonic()))
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"the browser closed its DevTools connection during {method}")
            doc = json.loads(msg.data)
            if doc.get("id") == mid:
                if "error" in doc:
                    raise RuntimeError(f"{method}: {doc['error']}")
                return doc.get("result", {})
            if "method" in doc:
                self.events.append(doc)

    async def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout:g} s")
            for i, event in enumerate(self.events):
                if event["method"] == method:
                    return self.events.pop(i)
            msg = await self.ws.receive(timeout=max(0.1, deadline - time.monotonic()))
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"the browser closed its DevTools connection waiting for {method}")
            doc = json.loads(msg.data)
            if "method" in doc:
                self.events.append(doc)

    async def open(self, url: str, width: int = 1200, height: int = 900) -> None:
        """Load ``url`` and wait until its load event and its fonts are done."""
        await self.send("Page.enable")
        await self.send(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
        )
        await self.send("Page.navigate", url=url)
        await self.wait_event("Page.loadEventFired")
        await self.evaluate("document.fonts.ready.then(() => true)")

    async def evaluate(self, expression: str) -> Any:
        got = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in got:
            raise RuntimeError(f"{expression}: {got['exceptionDetails']}")
        return got["result"].get("value")

    async def screenshot(self, path: Path, full_height: int | None = None) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_height is not None:
            params["clip"] = {"x": 0, "y": 0, "width": 1200, "height": full_height, "scale": 1}
            params["captureBeyondViewport"] = True
        shot = await self.send("Page.captureScreenshot", **params)
        path.write_bytes(base64.b64decode(shot["data"]))

    async def fonts_drawing(self, selector: str) -> list[dict[str, Any]]:
        """The platform fonts that draw the text of the first element ``selector``
        matches: family, whether it is a web font, how many glyphs it drew."""
        await self.send("DOM.enable")
        await self.send("CSS.enable")
        root = await self.send("DOM.getDocument", depth=-1)
        found = await self.send("DOM.querySelector", nodeId=root["root"]["nodeId"], selector=selector)
        if not found.get("nodeId"):
            raise RuntimeError(f"no element {selector!r}")
        fonts = await self.send("CSS.getPlatformFontsForNode", nodeId=found["nodeId"])
        return fonts["fonts"]


@asynccontextmanager
async def browser_page(timeout: float = 30) -> AsyncIterator[Page]:
    """A fresh headless Chromium and one tab in it; both gone afterwards."""
    exe = chromium()
    if exe is None:
        raise RuntimeError("no chromium on PATH (apt-get install chromium)")
    profile = Path(tempfile.mkdtemp(prefix="mock-opend-chromium-"))
    env = dict(os.environ)
    if Path(FONT_DIR).is_dir():  # the same fonts on every machine: DejaVu only, no system CJK font
        conf = profile / "fonts.conf"
        conf.write_text(
            '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
            f"<dir>{FONT_DIR}</dir><cachedir>{profile / 'fc-cache'}</cachedir></fontconfig>"
        )
        env["FONTCONFIG_FILE"] = str(conf)
    proc = subprocess.Popen(
        [exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its renderers and zygote share the group: all of them are stopped
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if proc.poll() is not None:
                raise RuntimeError(f"chromium exited with code {proc.returncode} before opening its DevTools port")
            if time.monotonic() > deadline:
                raise RuntimeError(f"chromium opened no DevTools port within {timeout} s")
            await asyncio.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0) as ws,
        ):
            ids = itertools.count(1)

            async def call(method: str, **params: Any) -> dict[str, Any]:
                mid = next(ids)
                await ws.send_str(json.dumps({"id": mid, "method": method, "params": params}))
                while True:
                    doc = json.loads((await ws.receive(timeout=timeout)).data)
                    if doc.get("id") == mid:
                        return doc["result"]

            target = await call("Target.createTarget", url="about:blank")
            attached = await call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
            yield Page(ws, attached["sessionId"])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        shutil.rmtree(profile, ignore_errors=True)
