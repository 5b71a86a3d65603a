"""Server settings: defaults, a TOML file, then command-line flags on top.

Every setting has one name, used the same way in TOML (``page_size = 50``),
on the command line (``--page-size 50``) and in the pytest fixture
(``opend_server_factory(page_size=50)``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .clock import parse_instant
from .markets import HK_CALENDAR_START
from .rate_limit import SCOPES, parse_rate
from .user_files import read_text

MAX_CONFIG_FILE = 1 << 20  # bytes of a TOML config file

LANGS = ("zh", "en")
PROFILES = ("realistic", "edge")  # data profiles (model.py)
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
SPAN_POLICIES = ("reject", "paginate")
AES_MODES = ("request", "cbc", "ftaes_ecb")
EVENT_LOOPS = ("asyncio", "uvloop")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (IPv4 127/8, IPv6 ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it."""


@dataclass(slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 11111
    seed: int = 1
    now: str | None = None
    clock_tick: bool = False
    fixtures: list[str] = field(default_factory=list)
    lang: str = "zh"
    log_level: str = "info"
    page_size: int | None = None  # None: 100, or 1 under the edge data profile
    data_profile: str = "realistic"
    span_policy: str = "reject"
    history_start: str = "2016-01-01"
    login_user_id: int = 100000001
    keep_alive_interval: int = 10
    server_ver: int = 1011
    server_build_no: int = 7108
    user_attribution: int = 1
    ws_port: int | str | None = 11112  # "off" or None: no WebSocket endpoint
    ws_key: str | None = None
    rsa_key: str | None = None
    aes_mode: str = "request"
    rate_limit: str = "60/30s"
    rate_limit_scope: str = "server"
    admin_port: int | None = None
    admin_host: str = "127.0.0.1"
    admin_token: str | None = None
    max_body_len: int = 1 << 20
    max_connections: int = 4096  # TCP + WebSocket-port connections; lowered to fit the fd limit
    admin_max_connections: int = 32
    init_timeout: float = 15.0  # seconds from connect to a successful InitConnect (0 = off)
    idle_timeout: float = 120.0  # seconds without any byte from a TCP client (0 = off)
    frame_timeout: float = 10.0  # seconds for a started frame to complete (0 = off)
    send_timeout: float = 30.0  # seconds a client may leave replies unread (writes stalled) (0 = off)
    http_timeout: float = 10.0  # seconds for an HTTP request (or upgrade) to arrive whole, on both HTTP ports
    ws_heartbeat: float = 30.0  # seconds between WebSocket pings; no pong within as long closes (0 = off)
    write_buffer_limit: int = 1 << 20  # bytes queued for a client that does not read (a 1000-row page is 45 KB)
    journal_size: int = 10000
    journal_max_bytes: int = 64 << 20  # an estimate of what the journal holds; the oldest entries go first
    page_key_secret: str | None = None  # None: random per process; set it for keys that survive a restart
    event_loop: str = "asyncio"  # or "uvloop" (the `fast` extra)
    # record and replay (docs/record-replay.md)
    upstream: str | None = None  # HOST:PORT of a real OpenD: relay what mock-opend does not answer itself
    upstream_3301: bool = False  # relay 3301 too instead of serving it
    upstream_rsa_key: str | None = None  # the upstream's RSA key, when it runs encrypted
    upstream_timeout: float = 10.0  # seconds to open the link (connect + InitConnect), then for each reply
    upstream_max_inflight: int = 64  # relayed requests of one connection awaiting replies; more wait unread
    record: str | None = None  # directory: relayed replies become stubs and 3301 fixtures
    record_redact: list[str] = field(default_factory=list)  # more fields never written (names or dotted paths)
    stubs: list[str] = field(default_factory=list)  # directories of stub files to answer from
    stub_ignore: list[str] = field(default_factory=list)  # fields left out of matching, for every stub

    def validate(self) -> Config:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ConfigError(msg)

        need(isinstance(self.host, str) and bool(self.host), "host must be a non-empty string")
        need(_is_int(self.port) and 0 <= self.port <= 65535, f"port must be 0..65535, got {self.port!r}")
        need(_is_int(self.seed), f"seed must be an integer, got {self.seed!r}")
        if self.now is not None:
            try:
                parse_instant(str(self.now))
            except ValueError as exc:
                raise ConfigError(f"now: {exc}") from None
        need(self.lang in LANGS, f"lang must be one of {', '.join(LANGS)}, got {self.lang!r}")
        need(self.log_level in LOG_LEVELS, f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        need(
            self.page_size is None or (_is_int(self.page_size) and 1 <= self.page_size <= 1000),
            f"page_size must be 1..1000, got {self.page_size!r}",
        )
        need(
            self.data_profile in PROFILES,
            f"data_profile must be one of {', '.join(PROFILES)}, got {self.data_profile!r}",
        )
        need(
            self.span_policy in SPAN_POLICIES,
            f"span_policy must be one of {', '.join(SPAN_POLICIES)}, got {self.span_policy!r}",
        )
        try:
            start = date.fromisoformat(str(self.history_start))
        except ValueError:
            raise ConfigError(f"history_start must be YYYY-MM-DD, got {self.history_start!r}") from None
        need(
            start >= HK_CALENDAR_START,
            f"history_start must be {HK_CALENDAR_START} or later (HKEX calendar data starts there)",
        )
        need(_is_int(self.login_user_id) and 0 <= self.login_user_id < 1 << 64, "login_user_id must be a uint64")
        need(
            _is_int(self.keep_alive_interval) and 1 <= self.keep_alive_interval <= 40,
            "keep_alive_interval must be 1..40 seconds (the SDK drops a link silent for 33 s), "
            f"got {self.keep_alive_interval!r}",
        )
        for name in ("server_ver", "server_build_no", "user_attribution"):
            need(_is_int(getattr(self, name)), f"{name} must be an integer")
        need(
            self.ws_port in (None, "off") or (_is_int(self.ws_port) and 0 <= self.ws_port <= 65535),
            f"ws_port must be 0..65535 or off, got {self.ws_port!r}",
        )
        need(self.ws_key is None or isinstance(self.ws_key, str), "ws_key must be a string")
        need(self.rsa_key is None or isinstance(self.rsa_key, str), "rsa_key must be a path")
        need(self.aes_mode in AES_MODES, f"aes_mode must be one of {', '.join(AES_MODES)}, got {self.aes_mode!r}")
        try:
            parse_rate(self.rate_limit)
        except (ValueError, AttributeError):
            raise ConfigError(f"rate_limit must look like '60/30s' or be 'off', got {self.rate_limit!r}") from None
        need(self.rate_limit_scope in SCOPES, f"rate_limit_scope must be one of {', '.join(SCOPES)}")
        need(
            self.admin_port is None or (_is_int(self.admin_port) and 0 <= self.admin_port <= 65535),
            f"admin_port must be 0..65535, got {self.admin_port!r}",
        )
        need(
            self.admin_token is None or (isinstance(self.admin_token, str) and len(self.admin_token) >= 8),
            "admin_token must be a string of at least 8 characters",
        )
        need(
            is_loopback(self.admin_host) or self.admin_token is not None,
            f"admin_host {self.admin_host!r} is not loopback: an admin_token is required to expose the admin API",
        )
        need(_is_int(self.max_body_len) and 64 <= self.max_body_len <= 1 << 30, "max_body_len must be 64..2^30")
        need(_is_int(self.journal_size) and self.journal_size >= 0, "journal_size must be >= 0")
        need(_is_int(self.max_connections) and self.max_connections >= 1, "max_connections must be >= 1")
        need(
            _is_int(self.admin_max_connections) and self.admin_max_connections >= 1,
            "admin_max_connections must be >= 1",
        )
        need(
            _is_int(self.journal_max_bytes) and self.journal_max_bytes >= 1 << 16,
            "journal_max_bytes must be >= 65536",
        )
        need(
            self.page_key_secret is None or (isinstance(self.page_key_secret, str) and len(self.page_key_secret) >= 8),
            "page_key_secret must be a string of at least 8 characters",
        )
        need(self.event_loop in EVENT_LOOPS, f"event_loop must be one of {', '.join(EVENT_LOOPS)}")
        self._validate_record_replay(need)
        for name in ("init_timeout", "idle_timeout", "frame_timeout", "send_timeout", "ws_heartbeat"):
            value = getattr(self, name)
            need(
                isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 86400,
                f"{name} must be a number of seconds, 0..86400 (0 = off), got {value!r}",
            )
        need(
            isinstance(self.http_timeout, int | float)
            and not isinstance(self.http_timeout, bool)
            and 0 < self.http_timeout <= 3600,
            f"http_timeout must be a number of seconds, 0 < s <= 3600, got {self.http_timeout!r}",
        )
        need(
            not self.idle_timeout or self.idle_timeout > self.keep_alive_interval,
            f"idle_timeout ({self.idle_timeout}) must exceed keep_alive_interval ({self.keep_alive_interval})",
        )
        need(
            _is_int(self.write_buffer_limit) and self.write_buffer_limit >= 65536, "write_buffer_limit must be >= 65536"
        )
        need(
            isinstance(self.fixtures, list) and all(isinstance(f, str) for f in self.fixtures),
            "fixtures must be a list of paths",
        )
        return self

    def _validate_record_replay(self, need: Any) -> None:
        from .stubs import check_rule

        if self.upstream is not None:
            need(
                isinstance(self.upstream, str) and parse_address(self.upstream) is not None,
                f"upstream must be HOST:PORT (port 1..65535), got {self.upstream!r}",
            )
        need(isinstance(self.upstream_3301, bool), "upstream_3301 must be true or false")
        need(self.upstream_rsa_key is None or isinstance(self.upstream_rsa_key, str), "upstream_rsa_key must be a path")
        need(
            isinstance(self.upstream_timeout, int | float)
            and not isinstance(self.upstream_timeout, bool)
            and 0 < self.upstream_timeout <= 3600,
            f"upstream_timeout must be a number of seconds, 0 < s <= 3600, got {self.upstream_timeout!r}",
        )
        need(
            _is_int(self.upstream_max_inflight) and 1 <= self.upstream_max_inflight <= 10000,
            "upstream_max_inflight must be 1..10000",
        )
        need(self.record is None or (isinstance(self.record, str) and bool(self.record)), "record must be a directory")
        need(self.record is None or self.upstream is not None, "record needs upstream: it writes what the proxy relays")
        need(self.upstream_3301 is False or self.upstream is not None, "upstream_3301 needs upstream")
        for name in ("record_redact", "stubs", "stub_ignore"):
            value = getattr(self, name)
            need(
                isinstance(value, list) and all(isinstance(v, str) for v in value), f"{name} must be a list of strings"
            )
        need(
            "*" not in self.record_redact,
            "record_redact: '*' alone would name every field; give a field name or a dotted path",
        )
        for name in ("record_redact", "stub_ignore"):
            for rule in getattr(self, name):
                try:
                    check_rule(rule)
                except ValueError as exc:
                    raise ConfigError(f"{name}: {exc}") from None

    @property
    def ws_enabled(self) -> bool:
        return self.ws_port not in (None, "off")

    @property
    def effective_page_size(self) -> int:
        if self.page_size is not None:
            return self.page_size
        return 1 if self.data_profile == "edge" else 100

    @property
    def history_start_date(self) -> date:
        return date.fromisoformat(self.history_start)

    def replace(self, **changes: Any) -> Config:
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)


def parse_address(text: str) -> tuple[str, int] | None:
    """('host', port) from 'HOST:PORT' (IPv6 as '[::1]:PORT'), or None."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return host, int(port)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Settings from a TOML file; relative fixture paths resolve against it."""
    p = Path(path)
    try:
        data = tomllib.loads(read_text(p, MAX_CONFIG_FILE))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    known = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{p}: unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    if "fixtures" in data:
        fx = data["fixtures"]
        fx = [fx] if isinstance(fx, str) else fx
        if not isinstance(fx, list):
            raise ConfigError(f"{p}: fixtures must be a path or a list of paths")
        data["fixtures"] = [str((p.parent / f) if not Path(f).is_absolute() else Path(f)) for f in fx]
    for key in ("rsa_key", "upstream_rsa_key", "record"):
        if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
            data[key] = str(p.parent / data[key])
    if isinstance(data.get("stubs"), str):
        data["stubs"] = [data["stubs"]]
    if isinstance(data.get("stubs"), list):
        data["stubs"] = [
            str(p.parent / d) if isinstance(d, str) and not Path(d).is_absolute() else d for d in data["stubs"]
        ]
    if "now" in data and not isinstance(data["now"], str):
        data["now"] = data["now"].isoformat()  # TOML dates and datetimes
    if "history_start" in data and isinstance(data["history_start"], date):
        data["history_start"] = data["history_start"].isoformat()
    return data


def build_config(file: str | Path | None = None, **overrides: Any) -> Config:
    """Defaults, then ``file``, then ``overrides`` (None values are ignored)."""
    cfg = Config()
    if file is not None:
        try:
            cfg = cfg.replace(**load_toml(file)).validate()
        except ConfigError as exc:
            text = str(exc)
            raise ConfigError(text if text.startswith(f"{file}:") else f"{file}: {text}") from None
    cfg = cfg.replace(**{k: v for k, v in overrides.items() if v is not None})
    return cfg.validate()
