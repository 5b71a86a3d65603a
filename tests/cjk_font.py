"""The documentation site's CJK web font: the Chinese characters its pages use,
cut out of Droid Sans Fallback (Apache-2.0, Debian's fonts-droid-fallback).

The gateway's error texts are Chinese by default, and the site shows them (the
error catalogue, record-replay's near-miss message).  A reader whose system has
no CJK font would see boxes: the site names the usual system CJK fonts first
and this subset last (docs/stylesheets/cjk.css), so it is only downloaded where
nothing else can draw the characters.  The subset holds exactly the characters
the pages use (a few hundred; about 100 KB as WOFF), so it is regenerated when
a page gains a new one — tests/test_docs_browser.py says so:

    python -m tests.cjk_font          # needs fonts-droid-fallback (apt)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
FONT = ROOT / "docs" / "assets" / "fonts" / "cjk-subset.woff"
FAMILY = "mock-opend CJK"
# CJK ideographs, punctuation and full-width forms: what the bundled font is for
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def characters() -> set[str]:
    """Every CJK character the site shows: its pages, and the error catalogue as generated."""
    from mock_opend.errors import catalogue_markdown

    text = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
    text += (ROOT / "conformance" / "DRIVER.md").read_text(encoding="utf-8") + catalogue_markdown()
    return set(CJK.findall(text))


def covered() -> set[str]:
    """The characters the committed subset can draw."""
    from fontTools.ttLib import TTFont

    with TTFont(FONT) as font:
        return {chr(c) for c in font.getBestCmap()}


def write() -> int:
    from fontTools import subset

    if not SOURCE.exists():
        print(f"{SOURCE} is missing: apt-get install fonts-droid-fallback", file=sys.stderr)
        return 2
    chars = sorted(characters())
    options = subset.Options()
    options.flavor = "woff"  # zlib: no brotli needed to write or read it
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep the copyright and licence records
    options.layout_features = ["*"]
    font = subset.load_font(str(SOURCE), options)
    sub = subset.Subsetter(options)
    sub.populate(text="".join(chars))
    sub.subset(font)
    FONT.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(FONT), options)
    print(f"wrote {FONT.relative_to(ROOT)}: {len(chars)} characters, {FONT.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(write())
