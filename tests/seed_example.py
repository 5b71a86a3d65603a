"""The example output of the API page (../shared/seed), as data for the tests.

Parsed from the page's own text so that the tests compare against the seed,
not against numbers copied into the code that serves them.
"""

from __future__ import annotations

import re
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "seed"

_ROW = re.compile(r"^\d+\s+(\d{4}-\d{2}-\d{2})\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s*$")


def seed_rows() -> list[dict[str, object]]:
    """The Python example's output table (the first one on the page)."""
    files = sorted(SEED_DIR.glob("*.txt"))
    assert files, f"no seed page in {SEED_DIR}"
    text = files[0].read_text(encoding="utf-8")
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
