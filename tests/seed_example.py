"""The example output of the API page (../shared/seed), as data for the tests.

Parsed from the page's own text so that the tests compare against the seed,
not against numbers copied into the code that serves them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

SEED_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "seed"


def seed_page() -> str:
    """The seed page's text.  Without ../shared beside the checkout, one line:
    the test is skipped on a developer's machine and fails in CI (CI=true)."""
    files = sorted(SEED_DIR.glob("*.txt"))
    if not files:
        why = f"needs ../shared (the API page this mock implements) beside the checkout: no seed page in {SEED_DIR}"
        if os.environ.get("CI"):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    return files[0].read_text(encoding="utf-8")


_ROW = re.compile(r"^\d+\s+(\d{4}-\d{2}-\d{2})\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s*$")


def seed_rows() -> list[dict[str, object]]:
    """The Python example's output table (the first one on the page)."""
    text = seed_page()
    start = text.index("time timestamp call_value put_value total_value ratio")
    rows: list[dict[str, object]] = []
    for line in text[start:].splitlines()[1:]:
        m = _ROW.match(line.strip())
        if not m:
            break
        rows.append(
            {
                "time": m.group(1),
                "timestamp_printed": m.group(2),
                "call_value": int(m.group(3)),
                "put_value": int(m.group(4)),
                "total_value": int(m.group(5)),
                "ratio_printed": m.group(6),
            }
        )
    return rows
