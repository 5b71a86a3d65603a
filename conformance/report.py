"""Reports: a live terminal view, JUnit XML (for CI), JSON, and a
self-contained HTML page (for people)."""

from __future__ import annotations

import html
import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from .results import Failure, Result
from .verdicts import FAILED, PASSED, REQUIRED, SKIPPED, Verdict

_COLOURS = {
    Verdict.OK: "32",
    Verdict.NON_STRICT: "33",
    Verdict.INFORMATIONAL: "36",
    Verdict.FAILED: "31;1",
    Verdict.UNSUPPORTED: "35",
}


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Terminal:
    """One line per case as it finishes; details for failures; a summary."""

    def __init__(self, total: int, stream: TextIO | None = None, colour: bool | None = None, header: str = "") -> None:
        self.total = total
        self.done = 0
        self.stream = stream or sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.header = header

    def _header(self) -> None:
        if self.header:
            self.stream.write(self.header + "\n")
            self.header = ""

    def _v(self, verdict: Verdict) -> str:
        text = f"{verdict.value:<13}"
        return f"\033[{_COLOURS[verdict]}m{text}\033[0m" if self.colour else text

    def __call__(self, r: Result) -> None:
        self._header()
        self.done += 1
        c = r.case
        level = "" if c.level == REQUIRED else " (optional)"
        self.stream.write(
            f"[{self.done:>2}/{self.total}] {c.id:>4} {c.group:<10} {self._v(r.verdict)} {r.seconds:6.2f}s  "
            f"{c.title}{level}\n"
        )
        if r.verdict in (Verdict.FAILED, Verdict.NON_STRICT, Verdict.INFORMATIONAL, Verdict.UNSUPPORTED):
            self.stream.write(f"          {r.message}\n")
        if r.verdict is Verdict.FAILED:
            many = len(r.failures) > 1
            for i, f in enumerate(r.failures or [None], 1):
                expected, actual, example = (
                    (r.expected, r.actual, r.example)
                    if f is None
                    else (
                        f.expected,
                        f.actual,
                        f.example,
                    )
                )
                if many and f is not None:
                    self.stream.write(f"          failure {i} of {len(r.failures)}: {f.message}\n")
                if expected is not None or actual is not None:
                    self.stream.write(f"          expected: {_short(expected)}\n          actual:   {_short(actual)}\n")
                if example is not None:
                    self.stream.write(f"          minimal example: {_short(example)}\n")
                self.stream.write(f"          replay: {r.replay}\n")
        self.stream.flush()

    def summary(self, results: list[Result], seconds: float) -> None:
        self._header()
        self.stream.write(f"\n{plural(len(results), 'case')} in {seconds:.1f} s: {tally(results)}\n")
        self.stream.write(verdict_line(results) + "\n")
        self.stream.flush()


# an optional case is skipped, not failed: its verdict is told in words that do not say "failed"
_SKIPPED_WORDS = {Verdict.FAILED.value: "not met", Verdict.UNSUPPORTED.value: "unsupported"}


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def tally(results: list[Result]) -> str:
    """'26 passed (24 OK, 2 NON-STRICT), 0 failed, 2 skipped (optional: 1 FAILED, 1 UNSUPPORTED)':
    the outcomes, each followed by the verdicts it is made of, so no word contradicts another."""
    parts = []
    for outcome in (PASSED, FAILED, SKIPPED):
        mine = Counter(r.verdict.value for r in results if r.outcome == outcome)
        words = _SKIPPED_WORDS if outcome == SKIPPED else {}
        detail = ", ".join(f"{n} {words.get(v, v)}" for v, n in sorted(mine.items()))
        if outcome == SKIPPED and detail:
            detail = f"optional: {detail}"
        parts.append(f"{sum(mine.values())} {outcome}" + (f" ({detail})" if detail else ""))
    return ", ".join(parts)


def verdict_line(results: list[Result]) -> str:
    failed = [r.case.id for r in results if r.outcome == FAILED]
    skipped = [f"{r.case.id} {_SKIPPED_WORDS.get(r.verdict.value)}" for r in results if r.outcome == SKIPPED]
    line = f"required cases not passed: {', '.join(failed)}" if failed else "every required case passed"
    if skipped:
        line += f" (optional, skipped: {', '.join(skipped)})"
    return line


def to_json(meta: dict[str, Any], results: list[Result]) -> dict[str, Any]:
    counts = Counter(r.verdict.value for r in results)
    outcomes = Counter(r.outcome for r in results)
    return {
        **meta,
        "summary": dict(counts),
        "outcomes": {k: outcomes[k] for k in (PASSED, FAILED, SKIPPED)},
        "passed": not outcomes[FAILED],
        "cases": [r.to_dict() for r in results],
    }


def write_json(path: str | Path, meta: dict[str, Any], results: list[Result]) -> None:
    Path(path).write_text(json.dumps(to_json(meta, results), indent=1, ensure_ascii=False, default=str))


def write_junit(path: str | Path, meta: dict[str, Any], results: list[Result]) -> None:
    """JUnit XML: a required case that failed is a <failure>; an optional case
    that failed, and any unsupported optional case, is <skipped> with its
    verdict in the message; the root's counts are counts of those elements."""
    out = Counter(r.outcome for r in results)
    suite = ET.Element(
        "testsuite",
        name=f"opend-conformance: {meta.get('client', '')}",
        tests=str(len(results)),
        failures=str(out[FAILED]),
        errors="0",
        skipped=str(out[SKIPPED]),
        time=f"{float(meta.get('seconds', sum(r.seconds for r in results))):.3f}",  # wall time: cases overlap
    )
    props = ET.SubElement(suite, "properties")
    for k in ("client", "profile", "seed", "server_version"):
        ET.SubElement(props, "property", name=k, value=str(meta.get(k, "")))
    for r in results:
        tc = ET.SubElement(
            suite,
            "testcase",
            classname=f"opend.{r.case.group.replace(' ', '_')}",
            name=f"{r.case.id} {r.case.title}",
            time=f"{r.seconds:.3f}",
        )
        detail = (
            f"{r.message}\nexpected: {_short(r.expected, 2000)}\nactual: {_short(r.actual, 2000)}\n"
            f"example: {_short(r.example, 2000)}\nreplay: {r.replay}"
        )
        if r.outcome != PASSED:
            tag = "failure" if r.outcome == FAILED else "skipped"
            el = ET.SubElement(tc, tag, message=f"{r.case.level} case {r.verdict.value}: {r.message}")
            el.text = detail
        ET.SubElement(tc, "system-out").text = f"verdict: {r.verdict.value} ({r.case.level})\n{r.message}"
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


_CSS = " ".join(
    [
        "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;",
        "color:#1d2327;padding:0 1em}h1{font-size:1.5em;margin-bottom:.2em}.meta{color:#555;margin-bottom:1.5em}",
        "table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}",
        "th,td{border-bottom:1px solid #e3e3e3;padding:.3em .5em;text-align:left;vertical-align:top}",
        "th{background:#f6f7f7}.v{font-weight:600;border-radius:3px;padding:.05em .45em;white-space:nowrap}",
        ".OK{background:#d1f0d9;color:#10592a}.NON-STRICT{background:#fff0c2;color:#6b5200}",
        ".INFORMATIONAL{background:#d7eef7;color:#0b4f6c}.FAILED{background:#fbd5d5;color:#8a1111}",
        ".UNSUPPORTED{background:#eadcf5;color:#4b2170}",
        "section{border:1px solid #e3e3e3;border-radius:6px;padding:.6em 1em;margin:1em 0}",
        "section h3{margin:.2em 0 .4em;font-size:1.05em}",
        "pre{background:#f6f7f7;padding:.6em;overflow-x:auto;font-size:12px;border-radius:4px}",
        ".lvl{font-size:12px;border:1px solid #999;border-radius:3px;padding:0 .35em;color:#444}",
        ".lvl.required{border-color:#8a1111;color:#8a1111}",
        ".req{color:#444}.small{font-size:12px;color:#666}details{margin:.4em 0}",
    ]
)


def write_html(path: str | Path, meta: dict[str, Any], results: list[Result]) -> None:
    e = html.escape
    rows = "".join(
        f"<tr><td><a href='#c{e(r.case.id)}'>{e(r.case.id)}</a></td><td>{e(r.case.group)}</td>"
        f"<td>{e(r.case.title)}</td><td>{e(r.case.level)}</td>"
        f"<td><span class='v {e(r.verdict.value)}'>{e(r.verdict.value)}</span></td><td>{r.seconds:.2f}s</td></tr>"
        for r in results
    )
    sections = []
    for r in results:
        parts = [
            f"<section id='c{e(r.case.id)}'><h3>{e(r.case.id)} {e(r.case.title)} "
            f"<span class='v {e(r.verdict.value)}'>{e(r.verdict.value)}</span> "
            f"<span class='lvl {e(r.case.level)}'>{e(r.case.level)}</span> "
            f"<span class='small'>outcome: {e(r.outcome)}</span></h3>",
            f"<div class='req'>{e(r.case.requirement)}</div>",
            f"<p>{e(r.message)}</p>",
        ]
        if r.verdict is Verdict.FAILED:
            shown = r.failures or [Failure(r.message, r.expected, r.actual, r.example)]
            for i, f in enumerate(shown, 1):
                if len(shown) > 1:
                    parts.append(f"<h4>Failure {i} of {len(shown)}: {e(f.message)}</h4>")
                parts.append(f"<p><b>Expected</b></p><pre>{e(_short(f.expected, 4000))}</pre>")
                parts.append(f"<p><b>Actual</b></p><pre>{e(_short(f.actual, 4000))}</pre>")
                parts.append(f"<p><b>Minimal failing example</b></p><pre>{e(_short(f.example, 4000))}</pre>")
            parts.append(f"<p><b>Replay</b></p><pre>{e(r.replay)}</pre>")
        elif r.example is not None:
            parts.append(f"<p class='small'>input: {e(_short(r.example, 600))}</p>")
        if r.wire:
            wire_rows = "".join(
                f"<tr><td>{w['seq']}</td><td>{w['conn_id']}</td><td>{e(w['transport'])}</td><td>{w['proto_id']}</td>"
                f"<td>{w['serial']}</td><td>{'yes' if w['sha1_ok'] else 'NO'}</td><td>{w['ret_type']}</td>"
                f"<td>{e(w.get('error') or '')}</td><td>{'' if w['rows'] is None else len(w['rows'])}</td>"
                f"<td>{'yes' if w['next_key'] else ''}</td><td>{e(w.get('fault') or '')}</td>"
                f"<td>{e(_short(w['request'], 160) if w['request'] else '')}</td></tr>"
                for w in r.wire
            )
            parts.append(
                f"<details><summary>wire exchange from the journal ({len(r.wire)} requests)</summary><table>"
                "<tr><th>seq</th><th>conn</th><th>via</th><th>proto</th><th>serial</th><th>SHA-1</th><th>retType</th>"
                f"<th>error</th><th>rows</th><th>key</th><th>fault</th><th>request</th></tr>{wire_rows}</table></details>"
            )
        if r.calls:
            calls = "\n".join(
                f"→ {_short(c['request'], 300)}\n← {_short(c['reply'], 300)}  ({c['seconds']} s)" for c in r.calls[-20:]
            )
            parts.append(
                f"<details><summary>driver exchange ({len(r.calls)} calls)</summary><pre>{e(calls)}</pre></details>"
            )
        parts.append("</section>")
        sections.append("".join(parts))
    summary = e(tally(results))
    verdict = verdict_line(results)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>opend-conformance: {e(str(meta.get("client", "")))}</title><style>{_CSS}</style></head><body>
<h1>opend-conformance report</h1>
<div class="meta">client <b>{e(str(meta.get("client", "")))}</b> · profile {e(str(meta.get("profile", "")))} ·
seed {e(str(meta.get("seed", "")))} · {e(str(meta.get("started", "")))} · {meta.get("seconds", 0):.1f} s ·
mock-opend {e(str(meta.get("server_version", "")))}<br><b>{e(verdict)}</b> — {summary}</div>
<table><tr><th>case</th><th>group</th><th>requirement</th><th>level</th><th>verdict</th><th>time</th></tr>{rows}</table>
<p class="small">A required case that is not passed fails the run; an optional one is reported with its verdict
(in JUnit as &lt;skipped&gt;) and does not.</p>
{"".join(sections)}
</body></html>"""
    Path(path).write_text(page, encoding="utf-8")
