"""The conformance report screenshots in docs/conformance.md, made from a real run.

Two runs of the kit, each with ``--html``: the futu-api SDK (ci profile, seed
5) and a broken driver (tests/drivers/wrong_ratio_rounding.py, cases 3.1 and
4.2, seed 77).  Headless Chromium (tests/browser.py) draws each report; the
PNG goes to docs/, and beside it the report's words as the reader sees them
(times and dates masked), which tests/test_docs_browser.py compares with a new
run: when the kit's wording changes, the screenshots must be made again.

    python -m tests.screenshots            # writes docs/conformance_*.png and .txt
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class Shot:
    name: str  # conformance_report → docs/conformance_report.png and .txt
    args: tuple[str, ...]  # opend-conformance run ARGS
    height: int  # pixels of the page kept


BROKEN = "python tests/drivers/wrong_ratio_rounding.py"
SHOTS = (
    Shot("conformance_report", ("--client", "futu-api", "--profile", "ci", "--seed", "5"), 1500),
    Shot("conformance_failure", ("--client-cmd", BROKEN, "--cases", "3.1,4.2", "--profile", "ci", "--seed", "77"), 900),
)

_MASKS = (
    (re.compile(r"\d+\.\d+ ?s\b"), "#s"),  # durations
    (re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+[+-]\d{2}:\d{2}"), "#time"),  # when it ran
    (re.compile(r"(actual|got|sent) [^\n]*"), r"\1 #"),
    (re.compile(r"(?<![\d.])\d+(?![\d.])"), "#"),  # counts and ids (case numbers such as 3.1 stay)
)


def words(text: str) -> str:
    """The report's visible text with what varies between runs masked."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    out = "\n".join(lines)
    for pattern, repl in _MASKS:
        out = pattern.sub(repl, out)
    return out + "\n"


def render(shot: Shot, out: Path) -> tuple[Path, str]:
    """Run the kit, draw its report: (the PNG, the words the reader sees above the fold)."""
    from browser import browser_page

    html = out / f"{shot.name}.html"
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", *shot.args, "--html", str(html)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if not html.exists():
        raise RuntimeError(f"the kit wrote no report (exit {done.returncode}): {done.stderr[-2000:]}")
    png = out / f"{shot.name}.png"

    async def draw() -> str:
        async with browser_page() as page:
            await page.open(html.as_uri(), height=shot.height)
            await page.screenshot(png)
            # the words inside the screenshot: elements whose top is above its bottom edge
            return await page.evaluate(
                f"""(() => {{
                    const seen = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
                    for (let node = walker.nextNode(); node; node = walker.nextNode()) {{
                        const range = document.createRange();
                        range.selectNodeContents(node);
                        const r = range.getBoundingClientRect();
                        const text = node.textContent.trim();
                        if (r.height > 0 && r.top < {shot.height} && text) seen.push(text);
                    }}
                    return seen.join('\\n');
                }})()"""
            )

    return png, words(asyncio.run(draw()))


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    out = DOCS
    for shot in SHOTS:
        png, text = render(shot, out)
        (out / f"{shot.name}.txt").write_text(text, encoding="utf-8")
        (out / f"{shot.name}.html").unlink()
        print(f"wrote {png.relative_to(ROOT)} and {shot.name}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
