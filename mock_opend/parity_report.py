"""What ``mock-opend parity`` writes: parity.json (everything), parity.md (the
table a user pastes into an issue), parity.html (one page to read), and
parity.toml (the mock settings that match the gateway, ready for
``mock-opend serve --config`` and ``opend-conformance run --mock-config``)."""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

from . import __version__
from .parity import DIVERGENT, SKIPPED, VALIDATED, Behaviour, suggested


def _shown(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 300 else text[:300] + "…"


def tally(behaviours: list[Behaviour]) -> str:
    n = Counter(b.status for b in behaviours)
    return f"{n[VALIDATED]} validated, {n[DIVERGENT]} divergent, {n[SKIPPED]} skipped"


def toml_text(settings: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# mock-opend settings measured against a gateway by `mock-opend parity`",
        f"# gateway {meta['gateway']}, {meta['when']}; use: mock-opend serve --config parity.toml",
    ]
    for key, value in sorted(settings.items()):
        lines.append(f"{key} = {json.dumps(value) if isinstance(value, str) else value}")
    return "\n".join(lines) + "\n"


def markdown(behaviours: list[Behaviour], meta: dict[str, Any], settings: dict[str, Any]) -> str:
    out = [
        f"**Parity with {meta['gateway']}** ({meta['when']}, gateway date {meta['gateway_date']}, "
        f"mock-opend {meta['version']}): {tally(behaviours)}.",
        "",
        "| behaviour | result | gateway | mock | note |",
        "|---|---|---|---|---|",
    ]
    for b in behaviours:
        cells = [b.title, f"**{b.status}**" if b.status == DIVERGENT else b.status]
        cells += [_shown(b.gateway), _shown(b.mock), b.reason]
        out.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    if settings:
        out += ["", "Mock settings that match the gateway (`parity.toml`):", "", "```toml"]
        out += [line for line in toml_text(settings, meta).splitlines() if not line.startswith("#")]
        out += ["```"]
    return "\n".join(out) + "\n"


_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}code{font-size:12px;word-break:break-all}.validated{color:#176c2a}
.divergent{color:#a10f0f;font-weight:bold}.skipped{color:#777}"""


def html_page(behaviours: list[Behaviour], meta: dict[str, Any], settings: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(b.title)}<br><small>{e(b.id)}</small></td><td class='{b.status}'>{b.status}</td>"
        f"<td><code>{e(_shown(b.gateway))}</code></td><td><code>{e(_shown(b.mock))}</code></td>"
        f"<td>{e(b.reason)}</td></tr>"
        for b in behaviours
    )
    toml = f"<h2>Mock settings that match</h2><pre>{e(toml_text(settings, meta))}</pre>" if settings else ""
    return (
        f"<!doctype html><html lang='en'><meta charset='utf-8'><title>mock-opend parity</title>"
        f"<style>{_CSS}</style><h1>Parity with {e(meta['gateway'])}</h1>"
        f"<p>{e(meta['when'])} · gateway date {e(meta['gateway_date'])} · mock-opend {e(meta['version'])} · "
        f"<b>{e(tally(behaviours))}</b></p><table><tr><th>behaviour</th><th>result</th><th>gateway</th>"
        f"<th>mock</th><th>note</th></tr>{rows}</table>{toml}</html>\n"
    )


def write(out: Path, behaviours: list[Behaviour], meta: dict[str, Any]) -> dict[str, Any]:
    """Write the four files into ``out``; the suggested settings."""
    out.mkdir(parents=True, exist_ok=True)
    settings = suggested(behaviours)
    meta = {**meta, "version": __version__}
    doc = {**meta, "summary": tally(behaviours), "behaviours": [b.as_json() for b in behaviours], "settings": settings}
    (out / "parity.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "parity.md").write_text(markdown(behaviours, meta, settings), encoding="utf-8")
    (out / "parity.html").write_text(html_page(behaviours, meta, settings), encoding="utf-8")
    (out / "parity.toml").write_text(toml_text(settings, meta), encoding="utf-8")
    return settings
