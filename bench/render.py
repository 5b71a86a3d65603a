"""The benchmark's numbers as the Markdown that README.md and docs/performance.md
show between ``<!-- bench:begin -->`` and ``<!-- bench:end -->``.

    python -m bench --write-docs        # measure, then rewrite both blocks and docs/bench.json
    python -m bench.render              # rewrite both blocks from docs/bench.json

A test holds the committed blocks equal to what this renders from the committed
JSON, so the figures in the docs are always those of one real run.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
JSON_FILE = ROOT / "docs" / "bench.json"
PAGES = (ROOT / "README.md", ROOT / "docs" / "performance.md")
BLOCK = re.compile(r"(<!-- bench:begin -->\n).*?(<!-- bench:end -->)", re.S)


def render(out: dict[str, Any]) -> str:
    lines = [
        f"Measured by `python -m bench` on {out['cpus']} cores, Python {out['python']}, "
        f"event loop {out['event_loop']}, server at its default settings (info logging to a file) "
        "except `--rate-limit off --page-size 1000 --now 2026-06-15 --ws-port off`; server and echo "
        "measured in alternating slices; modules byte-compiled, as `pip install` leaves them. "
        f"{out['request_log_lines']:,} request log lines were written.",
        "",
        "| target | measured | echo floor | met |",
        "|---|---|---|---|",
    ]
    for t in out["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {t['echo']} | {'yes' if t['met'] else '**no**'} |")
    lines += [
        "",
        "| 3301 reply | clients | mock-opend req/s | p50 | p99 | echo req/s | server/echo |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in out["throughput"]:
        s, e = t["server"], t["echo"]
        lines.append(
            f"| {t['rows']} rows | {t['clients']} | {s['req_s']:,.0f} | {s['p50_ms']} ms | {s['p99_ms']} ms "
            f"| {e['req_s']:,.0f} | {t['ratio']} |"
        )
    first = out["first_request"]
    idle = out["idle_1000"]
    lines += [
        "",
        "| other measure | value |",
        "|---|---|",
        f"| process start → ready line, WebSocket port on (full defaults) | {out['ready_line_ws_s']} s |",
        f"| first 3301 request once the warm-up is done | {first['warm_3301_ms']} ms |",
        f"| in-process fixture start (`MockOpenD(port=0).start_background()`) | {out['fixture_start_ms']} ms |",
        f"| server RSS, 1,000 idle InitConnect'ed connections | {idle['rss_mb']} MB "
        f"({idle['rss_before_mb']} MB before) |",
    ]
    return "\n".join(lines) + "\n"


def write(out: dict[str, Any]) -> None:
    block = render(out)
    for page in PAGES:
        text = page.read_text()
        new, n = BLOCK.subn(lambda m: m.group(1) + block + m.group(2), text)
        if n != 1:
            raise SystemExit(f"{page}: needs one <!-- bench:begin --> ... <!-- bench:end --> block")
        page.write_text(new)


def main() -> int:
    write(json.loads(JSON_FILE.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
