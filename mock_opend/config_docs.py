"""The configuration reference, generated from the code as the error catalogue is.

Each setting's name and default come from ``Config``, its flag from the
``serve`` command's parser, and its meaning from ``MEANINGS`` below (a test
fails when a setting has none).  ``mock-opend config --markdown`` prints the
table that docs/configuration.md holds between its markers.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Final

from .config import Config

# How a default reads when its value alone would mislead.
DEFAULT_TEXT: Final[dict[str, str]] = {
    "now": "system clock",
    "page_size": "`100` (`1` with the edge profile)",
    "admin_port": "off",
    "page_key_secret": "random",
}

MEANINGS: Final[dict[str, str]] = {
    "host": "listen address; anything but loopback logs a warning",
    "port": "TCP API port; `0` = ephemeral (see the ready line)",
    "seed": "seed of the synthetic data",
    "now": "freeze the clock: `YYYY-MM-DD` (00:00 UTC) or an ISO datetime (naive = UTC)",
    "clock_tick": "with `now`, let the clock run from that instant",
    "fixtures": "CSV/JSON rows that override synthetic values; TOML paths are relative to the TOML file",
    "lang": "language of `retMsg` (`zh`, `en`), like OpenD's default",
    "log_level": "`info` logs one line per request",
    "page_size": "rows per 3301 page, 1..1000",
    "data_profile": "`realistic` market-like values, or `edge`: the values that break clients (data-model.md)",
    "span_policy": "a range over one year: `reject` it or `paginate` it",
    "history_start": "the oldest trading day served (≥ 2014-01-01)",
    "keep_alive_interval": "seconds advertised in InitConnect, 1..40 (the SDK pings every 0.8×; it drops a link silent for 33 s)",
    "login_user_id": "`loginUserID` in InitConnect",
    "server_ver": "versions reported by 1001/1002",
    "server_build_no": "versions reported by 1001/1002",
    "user_attribution": "InitConnect `userAttribution` (1 = Futu NN, 2 = moomoo)",
    "ws_port": "WebSocket port for the JavaScript SDK (`0` = ephemeral, reported as `ws_port`; `off`)",
    "ws_key": "when set, the JS SDK's `start(ip, port, ssl, key)` must pass this key (its MD5 is compared, as OpenD does)",
    "rsa_key": "a 1024-bit RSA private key (PEM): enables encrypted mode (`mock-opend keygen -o key.pem` makes one)",
    "aes_mode": "AES after an encrypted InitConnect: `request` (AES-CBC when the client asks for 2, else FTAES_ECB), `cbc`, `ftaes_ecb`",
    "rate_limit": "3301 first pages allowed per rolling window (`N/Ws`), or `off`",
    "rate_limit_scope": "`server` (one OpenD = one account) or `per-connection`",
    "admin_port": "open the admin HTTP API (`0` = ephemeral, reported as `admin_port` in the ready line)",
    "admin_host": "admin API address; a non-loopback one requires `admin_token`",
    "admin_token": "require `Authorization: Bearer TOKEN` (or `X-Admin-Token`) on every admin request",
    "max_body_len": "a frame announcing a longer body is refused and its connection closed",
    "max_connections": "connections to the TCP and WebSocket ports together; the next one gets `TOO_MANY_CONNECTIONS` in reply to its first request, then is closed; 64 more are aborted without a word. Lowered at start to fit the process's fd limit (after raising the soft limit to the hard one), keeping 576 descriptors for files and accept bursts and room for the admin port: with a limit of 1024, 352",
    "admin_max_connections": "connections the admin port holds; more are aborted",
    "init_timeout": "seconds from connect to a successful InitConnect (TCP) or Init (WebSocket), else the connection is aborted (0 = off)",
    "idle_timeout": "seconds a TCP client may stay silent (no KeepAlive, nothing) before it is aborted; must exceed `keep_alive_interval` (0 = off; WebSocket clients are checked by `ws_heartbeat`)",
    "frame_timeout": "seconds for one started frame (header and body) to arrive in full — a client trickling bytes is cut off, one streaming whole frames never is (0 = off)",
    "send_timeout": "seconds a client may leave its replies unread (writes stalled at `write_buffer_limit`) before it is aborted; also bounds each WebSocket send (0 = off)",
    "http_timeout": "seconds for an HTTP request — the admin API's, or the WebSocket upgrade — to arrive whole, from connect or from the previous reply; else the connection is aborted",
    "ws_heartbeat": "seconds between WebSocket pings; a client that does not answer is closed (0 = off)",
    "write_buffer_limit": "bytes queued for a client, delayed replies (latency faults) included; above it the server stops reading that client until it catches up",
    "event_loop": "or `uvloop` (extra `fast`)",
    "journal_size": "requests kept in the in-memory journal (0 = off)",
    "journal_max_bytes": "an estimate of the bytes the journal holds; past it the oldest entries go. Request fields over 256 characters are kept cut (the entry says `truncated`)",
    "page_key_secret": "the secret page keys are signed with; set it (8+ characters) for keys that survive a restart",
    "upstream": "`HOST:PORT` of a real OpenD: every protocol mock-opend does not answer itself (and no stub matches) is relayed there — see [Record once, test offline](record-replay.md)",
    "upstream_3301": "relay 3301 too, instead of serving it from the data model",
    "upstream_rsa_key": "the upstream's RSA key (PEM), when it runs encrypted; the link then uses RSA for InitConnect and AES after it",
    "upstream_timeout": "seconds to open the upstream link (connect + InitConnect), then for each relayed reply from when its request is sent; past it the client gets `UPSTREAM_UNREACHABLE` / `UPSTREAM_TIMEOUT`",
    "upstream_max_inflight": "relayed requests of one connection awaiting the upstream; past it the server stops reading that client until replies come back",
    "record": "a directory: successful relayed replies become stub files (`stubs/`), 3301 pages become `fixtures/option_market_statistic.csv`; needs `upstream`",
    "record_redact": "more fields never written to a stub file, on top of the built-in list (names match at any depth; `c2s.x.y` paths from the top)",
    "stubs": "directories of stub files (`DIR/stubs/*.json` or `DIR/*.json`) to answer from, for any protocol id; a recording's 3301 rows beside them (`DIR/fixtures/option_market_statistic.csv`) are loaded as fixtures",
    "stub_ignore": "fields left out of matching for every stub (e.g. `header`, `time`)",
}


def _flags() -> dict[str, tuple[str, bool]]:
    """Setting name → (its flag, whether it repeats) for every flag of ``serve``."""
    from .cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = {}
    for action in sub.choices["serve"]._actions:
        if action.option_strings and action.dest not in ("help", "config"):
            out[action.dest] = (action.option_strings[0], isinstance(action, argparse._AppendAction))
    return out


def _default(name: str, value: Any) -> str:
    if name in DEFAULT_TEXT:
        return DEFAULT_TEXT[name]
    if value is None or value == []:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def rows() -> list[dict[str, str]]:
    """One row per setting: name, flag, default, meaning."""
    flags = _flags()
    defaults = Config()
    out = []
    for f in dataclasses.fields(Config):
        flag, repeats = flags.get(f.name, ("", False))
        out.append(
            {
                "name": f.name,
                "flag": (f"`{flag}`" + (" (repeatable)" if repeats else "")) if flag else "—",
                "default": _default(f.name, getattr(defaults, f.name)),
                "meaning": MEANINGS[f.name],
            }
        )
    return out


def markdown() -> str:
    lines = ["| setting | flag | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{r['name']}` | {r['flag']} | {r['default']} | {r['meaning']} |" for r in rows()]
    return "\n".join(lines)
