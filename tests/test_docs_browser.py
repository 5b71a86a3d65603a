"""The documentation as a reader's browser draws it: Chinese error texts in a font
that has their glyphs (not boxes) on a system without CJK fonts, and the
conformance report screenshots showing what the kit prints today."""

from __future__ import annotations

import asyncio
import functools
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import browser
import cjk_font
import pytest
import screenshots
from conftest import IN_CI, ROOT

pytestmark = pytest.mark.slow


def _need_chromium() -> None:
    if browser.chromium() is None:
        why = "needs chromium (apt-get install chromium; .ci/run installs it)"
        if IN_CI:
            pytest.fail(why, pytrace=False)
        pytest.skip(why)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_the_cjk_subset_draws_every_chinese_character_the_site_shows() -> None:
    missing = cjk_font.characters() - cjk_font.covered()
    assert not missing, f"the site's CJK font lacks {''.join(sorted(missing))}: run python -m tests.cjk_font"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site, built strict, served over HTTP on loopback (web fonts need a real origin)."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


PROBE = """(() => {
    const cell = [...document.querySelectorAll('td')].find(td => /[\\u4e00-\\u9fff]/.test(td.textContent));
    cell.id = 'cjk-probe';
    return [cell.textContent, getComputedStyle(cell).fontFamily];
})()"""


def test_chinese_error_texts_are_drawn_with_cjk_glyphs(site: str, tmp_path: Path) -> None:
    """The error catalogue in headless Chromium: every Chinese character of a cell
    is drawn by the site's own CJK font.  With that font blocked, the same check
    fails (the characters then fall to whatever the system has: boxes, here)."""
    _need_chromium()

    async def look(block: bool, shot: Path) -> tuple[str, str, list[dict[str, object]]]:
        async with browser.browser_page() as page:
            if block:
                await page.send("Network.enable")
                await page.send("Network.setBlockedURLs", urls=["*cjk-subset.woff*"])
            await page.open(f"{site}/errors.html")
            text, family = await page.evaluate(PROBE)
            fonts = await page.fonts_drawing("#cjk-probe")
            await page.evaluate("document.getElementById('cjk-probe').scrollIntoView()")
            await page.screenshot(shot)
            return text, family, fonts

    text, family, fonts = asyncio.run(look(False, tmp_path / "errors.png"))
    cjk = len(cjk_font.CJK.findall(text))
    assert cjk > 0 and cjk_font.FAMILY in family, family
    drawn_by_site_font = sum(int(f["glyphCount"]) for f in fonts if f["isCustomFont"])  # type: ignore[call-overload]
    assert drawn_by_site_font >= cjk, (text, fonts, f"screenshot: {tmp_path / 'errors.png'}")

    _, _, blocked = asyncio.run(look(True, tmp_path / "errors-blocked.png"))
    assert not any(f["isCustomFont"] for f in blocked), blocked  # the check can fail
    assert (tmp_path / "errors.png").read_bytes() != (tmp_path / "errors-blocked.png").read_bytes()


@pytest.mark.parametrize("shot", screenshots.SHOTS, ids=lambda s: s.name)
def test_the_report_screenshots_show_what_the_kit_prints_now(shot: screenshots.Shot, tmp_path: Path) -> None:
    """Made again from a real run; the words in them must be the committed ones."""
    _need_chromium()
    png, words = screenshots.render(shot, tmp_path)
    assert _png_size(png) == (1200, shot.height)
    committed = (ROOT / "docs" / f"{shot.name}.txt").read_text(encoding="utf-8")
    assert words == committed, f"docs/{shot.name}.png shows old wording: run python -m tests.screenshots"
    assert _png_size(ROOT / "docs" / f"{shot.name}.png") == (1200, shot.height)
