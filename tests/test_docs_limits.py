"""docs/hardening.md states the limits the code enforces: each row of its
table is held against the constant or default it describes (hardening.md once
said 64 MiB for an upstream frame while the code enforced 16 MiB)."""

from __future__ import annotations

from pathlib import Path

from mock_opend import config, connection, crypto, fixtures, push_budget, recorder, redact, relay, stubs, upstream
from mock_opend.config import Config

ROOT = Path(__file__).resolve().parent.parent


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


def _rows() -> dict[str, str]:
    text = (ROOT / "docs" / "hardening.md").read_text()
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] and not cells[0].startswith("---"):
            out[cells[0]] = cells[1]
    return out


def _seconds(v: float) -> str:
    return f"{v:g} s"


def test_every_bound_in_hardening_md_is_the_codes() -> None:
    c = Config()
    rows = _rows()
    expected = {
        "a request body": f"`max_body_len` ({_size(c.max_body_len)})",
        "connections, admin port": f"`admin_max_connections` ({c.admin_max_connections})",
        "time replies may stay unread": f"`send_timeout` ({_seconds(c.send_timeout)})",
        "time to InitConnect / WebSocket Init": f"`init_timeout` ({_seconds(c.init_timeout)})",
        "time for one frame to arrive": f"`frame_timeout` ({_seconds(c.frame_timeout)})",
        "an unanswered WebSocket ping": f"`ws_heartbeat` ({_seconds(c.ws_heartbeat)})",
        "relayed requests of one connection awaiting the upstream": (
            f"`upstream_max_inflight` ({c.upstream_max_inflight})"
        ),
        "an upstream frame": _size(upstream.MAX_UPSTREAM_BODY),
        "exchanges waiting for the recording thread": _size(recorder.QUEUE_BYTES),
        "a stub's pushes waiting for their recorded offset": (
            f"{push_budget.PER_CONNECTION} × `write_buffer_limit` per connection, {push_budget.SERVER_WIDE} × for the "
            "server, and a share of `write_buffer_limit` / 16 each connection keeps whatever the others hold; "
            f"each counts its frame and {_size(push_budget.OVERHEAD)} for its timer"
        ),
        "naming the nearest stub for a request none matches": (
            f"{stubs.NEAR_MISS_BUDGET * 1000:g} ms of work, {stubs.NEAR_MISS_SCAN:,} stubs; "
            "the answer remembered for the same bytes"
        ),
    }
    expected["an upstream's `retMsg` in the journal"] = (
        f"{connection.MAX_JOURNAL_TEXT} characters; the session's ids and keys hidden"
    )
    expected["ids and keys a link remembers over its reconnects"] = (
        f"{relay.MAX_SECRETS}, newest first (the account's loginUserID is in every InitConnect, so never cut off)"
    )
    expected["credentials a recording has seen by name (a `webKey`), looked for by value after"] = (
        f"{recorder.MAX_LEARNED}, newest first; only texts of {redact.LEARN_MIN}–{redact.LEARN_MAX} characters "
        "with letters and digits (or both cases from 16) and no space"
    )
    expected["an upstream's own words in a reason (an InitConnect refusal)"] = (
        f"{relay.MAX_REASON} characters; the link's ids and keys hidden"
    )
    expected["a file named at start (stubs, fixtures, config, RSA key)"] = (
        "a regular file (no FIFO, device or socket, even through a symlink); "
        f"stubs {_size(stubs.MAX_STUB_FILE)}, fixtures {_size(fixtures.MAX_FIXTURE_FILE)}, "
        f"config {_size(config.MAX_CONFIG_FILE)}, key {_size(crypto.MAX_KEY_FILE)}"
    )
    for resource, bound in expected.items():
        assert rows[resource] == bound, (resource, rows[resource], bound)
    starts = {
        "connections, TCP + WebSocket port": f"`max_connections` ({c.max_connections},",
        "bytes queued for a client, delayed replies included": f"`write_buffer_limit` ({_size(c.write_buffer_limit)};",
        "silence on TCP": f"`idle_timeout` ({_seconds(c.idle_timeout)};",
        "the journal": (
            f"`journal_size` ({c.journal_size:,} entries) and `journal_max_bytes` ({_size(c.journal_max_bytes)})"
        ),
        "the wait for the upstream: connect + InitConnect, then each reply": (
            f"`upstream_timeout` ({_seconds(c.upstream_timeout)})"
        ),
        "stubs": (
            f"{stubs.MAX_STUBS:,} per server, {_size(stubs.MAX_STUB_FILE)} per file, "
            f"{stubs.MAX_PUSHES} pushes each (≤ {stubs.MAX_PUSH_DELAY_MS // 1000} s apart)"
        ),
        "one recording (`--record`)": f"{recorder.MAX_FILES:,} stub files, {_size(stubs.MAX_STUB_FILE)} each, "
        f"{_size(recorder.MAX_BYTES)} written in all",
    }
    for resource, head in starts.items():
        assert rows[resource].startswith(head), (resource, rows[resource], head)
