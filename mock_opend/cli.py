"""``mock-opend`` command line: ``serve`` and ``errors``.

Flags default to None so that a TOML ``--config`` file fills what the command
line leaves out, and the built-in defaults fill the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .arguments import Distinct, Once, OneLineParser, unrecognized
from .config import (
    AES_MODES,
    EVENT_LOOPS,
    LANGS,
    LOG_LEVELS,
    PROFILES,
    SPAN_POLICIES,
    ConfigError,
    build_config,
    is_loopback,
)
from .crypto import CryptoError
from .errors import catalogue_markdown
from .export import FORMATS
from .fixtures import FixtureError
from .markets import DataType, OptionMarket, parse_data_type, parse_market
from .rate_limit import SCOPES
from .stubs import StubError


def _port_or_off(text: str) -> int | str:
    if text.strip().lower() == "off":
        return "off"
    return _int(text)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _pace(text: str) -> str:
    from .rate_limit import parse_rate

    try:
        parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _tcp_port(text: str) -> int:
    port = _int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (1..65535): {text!r}")
    return port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 3600:  # NaN fails too
        raise argparse.ArgumentTypeError(f"not a number of seconds in (0, 3600]: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="mock-opend", description="A local mock of Futu/Moomoo OpenD (proto 3301).")
    parser.add_argument("--version", action="version", version=f"mock-opend {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the mock gateway", description="Run the mock OpenD gateway.")
    serve.add_argument("--config", metavar="FILE", help="TOML file with settings (flags override it)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_int, help="TCP API port (default 11111; 0 = ephemeral)")
    serve.add_argument("--seed", type=_int, help="seed of the synthetic data (default 1)")
    serve.add_argument("--now", help="freeze the mock clock at a date (00:00 UTC) or ISO datetime")
    serve.add_argument(
        "--clock-tick", action="store_true", default=None, help="with --now, let the clock run from that instant"
    )
    serve.add_argument(
        "--fixtures", action="append", metavar="FILE", help="CSV/JSON rows overriding synthetic values (repeatable)"
    )
    serve.add_argument("--lang", choices=LANGS, help="language of error messages (default zh)")
    serve.add_argument("--log-level", choices=LOG_LEVELS, help="default info (one line per request)")
    serve.add_argument(
        "--page-size", type=_int, help="rows per 3301 page, 1..1000 (default 100; 1 with --data-profile edge)"
    )
    serve.add_argument(
        "--data-profile", choices=PROFILES, help="realistic (default) or edge: values that break clients"
    )
    serve.add_argument(
        "--span-policy", choices=SPAN_POLICIES, help="ranges over one year: reject (default) or paginate"
    )
    serve.add_argument("--history-start", help="oldest trading day served, YYYY-MM-DD (default 2016-01-01)")
    serve.add_argument("--keep-alive-interval", type=_int, help="seconds advertised in InitConnect (default 10)")
    serve.add_argument("--login-user-id", type=_int, help="loginUserID returned by InitConnect")
    serve.add_argument("--max-body-len", type=_int, help="largest accepted request body in bytes (default 1 MiB)")
    serve.add_argument("--ws-port", type=_port_or_off, help="WebSocket port for the JS SDK (default 11112; 0, off)")
    serve.add_argument("--ws-key", help="WebSocket key; the JS SDK's start(..., key) must match it")
    serve.add_argument("--rsa-key", metavar="PEM", help="1024-bit RSA private key: enables encrypted mode")
    serve.add_argument("--aes-mode", choices=AES_MODES, help="request (default): CBC when asked; cbc; ftaes_ecb")
    serve.add_argument("--max-connections", type=_int, help="TCP + WebSocket connections served (default 4096)")
    serve.add_argument("--init-timeout", type=float, help="seconds to finish InitConnect after connecting (15; 0 off)")
    serve.add_argument("--idle-timeout", type=float, help="close a TCP client silent this long (120 s; 0 off)")
    serve.add_argument("--frame-timeout", type=float, help="seconds for a started frame to complete (10; 0 off)")
    serve.add_argument("--send-timeout", type=float, help="close a client leaving replies unread this long (30; 0 off)")
    serve.add_argument("--http-timeout", type=float, help="seconds for an HTTP request/upgrade to arrive whole (10)")
    serve.add_argument("--ws-heartbeat", type=float, help="seconds between WebSocket pings (30; 0 off)")
    serve.add_argument("--admin-max-connections", type=_int, help="connections the admin port holds (default 32)")
    serve.add_argument("--journal-size", type=_int, help="requests kept in the journal (default 10000; 0 off)")
    serve.add_argument("--journal-max-bytes", type=_int, help="bytes the journal may hold (default 64 MiB)")
    serve.add_argument("--page-key-secret", help="sign page keys with this secret (default: random per process)")
    serve.add_argument("--event-loop", choices=EVENT_LOOPS, help="asyncio (default) or uvloop (the fast extra)")
    serve.add_argument("--rate-limit", help="3301 first-page limit, e.g. 60/30s (default) or off")
    serve.add_argument("--rate-limit-scope", choices=SCOPES, help="server (default) or per-connection")
    serve.add_argument("--admin-port", type=_int, help="open the admin HTTP API on this port (0 = ephemeral)")
    serve.add_argument("--admin-host", help="admin API address (default 127.0.0.1; elsewhere needs --admin-token)")
    serve.add_argument("--admin-token", help="require 'Authorization: Bearer TOKEN' on the admin API")
    rr = serve.add_argument_group("record and replay (docs/record-replay.md)")
    rr.add_argument("--upstream", metavar="HOST:PORT", help="a real OpenD: relay what mock-opend does not answer")
    rr.add_argument("--upstream-3301", action="store_true", default=None, help="relay 3301 too instead of serving it")
    rr.add_argument("--upstream-rsa-key", metavar="PEM", help="the upstream's RSA key, when it runs encrypted")
    rr.add_argument("--upstream-timeout", type=float, help="seconds to open the link, then for each reply (10)")
    rr.add_argument("--upstream-max-inflight", type=_int, help="relayed requests in flight per connection (64)")
    rr.add_argument("--record", metavar="DIR", help="write relayed replies as stubs and 3301 fixtures into DIR")
    rr.add_argument(
        "--record-redact", action="append", metavar="FIELD", help="another field never written (repeatable)"
    )
    rr.add_argument("--stubs", action="append", metavar="DIR", help="answer from the stub files in DIR (repeatable)")
    rr.add_argument("--stub-ignore", action="append", metavar="FIELD", help="a field left out of matching (repeatable)")

    def data_options(p: argparse.ArgumentParser, *, with_type: bool) -> None:
        p.add_argument("--config", metavar="FILE", help="TOML settings, as for serve")
        markets = "US_SECURITY, US_INDEX, HK_SECURITY, HK_INDEX"
        if with_type:  # data: one market and type
            p.add_argument("--market", required=True, action=Once, type=_market, help=markets)
            p.add_argument("--type", required=True, dest="data_type", type=_dtype, help="VOLUME or OPEN_INTEREST")
        else:  # plot: markets side by side
            p.add_argument(
                "--market", required=True, action=Distinct, type=_market, help=f"{markets} (repeatable: side by side)"
            )
        p.add_argument("--begin", default="", help="YYYY-MM-DD (default: as the server)")
        p.add_argument("--end", default="", help="YYYY-MM-DD (default: as the server)")
        p.add_argument("--seed", type=_int)
        p.add_argument("--now", help="the mock clock, as for serve")
        p.add_argument("--fixtures", action="append", metavar="FILE")
        p.add_argument("--data-profile", choices=PROFILES)
        p.add_argument("--history-start")
        p.add_argument("--span-policy", choices=SPAN_POLICIES)
        p.add_argument("--lang", choices=LANGS)

    data = sub.add_parser(
        "data", help="print what the server would serve", description="Print every row the server would serve."
    )
    data_options(data, with_type=True)
    data.add_argument("--format", choices=FORMATS, default="csv")
    data.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")

    plot = sub.add_parser(
        "plot", help="draw markets' volume and open interest", description="Draw a PNG, one column per --market."
    )
    data_options(plot, with_type=False)
    plot.add_argument("-o", "--output", metavar="FILE", required=True, help="PNG file to write")

    keygen = sub.add_parser(
        "keygen", help="write a 1024-bit RSA key for encrypted mode", description="Write an RSA key (PKCS#1 PEM)."
    )
    keygen.add_argument("-o", "--output", metavar="FILE", required=True)

    rec = sub.add_parser(
        "record",
        help="capture 3301 from a real OpenD into fixture files",
        description="Connect to an OpenD as a client and capture 3301 rows (every market and type unless narrowed) "
        "into DIR/fixtures/option_market_statistic.csv, which `serve --fixtures` loads. Keeps under the "
        "gateway's request limit on its own.",
    )
    rec.add_argument("--opend", metavar="HOST:PORT", required=True, help="the OpenD to capture from")
    rec.add_argument("-o", "--output", metavar="DIR", required=True, help="directory to write (added to if it exists)")
    rec.add_argument("--market", action="append", type=_market, help="a market (repeatable; default all four)")
    rec.add_argument("--type", action="append", dest="data_type", type=_dtype, help="VOLUME or OPEN_INTEREST")
    rec.add_argument("--begin", help="first day, YYYY-MM-DD (default: a year before --end)")
    rec.add_argument("--end", help="last day, YYYY-MM-DD (default: today)")
    rec.add_argument("--rsa-key", metavar="PEM", help="the OpenD's RSA key, when it runs encrypted")
    rec.add_argument("--rate", default="60/30s", help="requests allowed per window, pages included (60/30s)")
    rec.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each reply (15)")
    bar = rec.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None, help="always draw the progress bar")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never draw it")

    conf = sub.add_parser(
        "config", help="print every setting", description="Print every setting: flag, default, meaning."
    )
    conf.add_argument("--markdown", action="store_true", help="as a Markdown table (default JSON)")

    par = sub.add_parser(
        "parity",
        help="measure where the mock and your gateway differ",
        description="Run a fixed script of exchanges against a real OpenD and against a mock started with its"
        " date; write parity.json, parity.md, parity.html and parity.toml (the mock settings that match)."
        " Exit 0 when nothing diverges, 1 otherwise, 2 when the gateway cannot be reached.",
    )
    par.add_argument("--opend", required=True, metavar="HOST:PORT", help="the gateway's TCP API address")
    par.add_argument("--rsa-key", metavar="PEM", help="the gateway's RSA key, when it runs encrypted")
    par.add_argument("--mock-config", metavar="FILE", help="TOML settings for the mock side (default: its defaults)")
    par.add_argument("--out", default="parity", metavar="DIR", help="where the reports go (default ./parity)")
    par.add_argument(
        "--include-rate-limit", action="store_true", help="also measure the rate limit (spends the account's window)"
    )
    par.add_argument("--record", metavar="DIR", help="also save the gateway's exchanges there, redacted as recordings")
    par.add_argument("--timeout", type=_seconds, default=15.0, help="seconds to wait for each reply (15)")
    par.add_argument(
        "--pace",
        type=_pace,
        default="50/30s",
        help="3301 requests sent per window, pages included (50/30s, under the gateway's 60; 'off' for a mock)",
    )

    health = sub.add_parser(
        "health",
        help="check that a gateway answers InitConnect",
        description="Exit 0 when the gateway at HOST:PORT answers InitConnect (even with an error reply), 1 if not."
        " Prints one JSON line. The container image's HEALTHCHECK.",
    )
    health.add_argument("--host", help="address of the gateway (default 127.0.0.1)")
    health.add_argument(
        "--port", type=_tcp_port, help="its TCP API port (default: from $MOCK_OPEND_READY_FILE when set, else 11111)"
    )
    health.add_argument("--timeout", type=_seconds, default=3.0, help="seconds to wait, all told (default 3)")
    health.add_argument("--rsa-key", metavar="PEM", help="the gateway's RSA key, when it runs encrypted")

    errs = sub.add_parser("errors", help="print the error catalogue", description="Print every error reply.")
    errs.add_argument("--markdown", action="store_true", help="as a Markdown table (default JSON)")
    return parser


async def _serve(settings: dict[str, Any], config_file: str | None) -> int:
    from . import logs
    from .server import MockOpenD

    cfg = build_config(config_file, **settings)
    logs.configure(cfg.log_level)
    server = MockOpenD(cfg, http_later=True)
    try:
        await server.start()
    except OSError as exc:  # the message names the port: TCP, WebSocket or admin
        print(f"mock-opend: error: cannot listen on {cfg.host}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if is_loopback(cfg.host) and container_main_process():
        logging.getLogger("mock_opend").warning(
            f"listening on {cfg.host} as a container's main process: a published port (-p) cannot reach it; "
            "use --host 0.0.0.0 (unless the container shares the host's network)",
            extra={"host": cfg.host},
        )
    await serve_until_signalled(server)
    return 0


def container_main_process() -> bool:
    """PID 1 where Docker or podman left their marker file: the server is what a
    container runs, and its ports are reached through published ports."""
    return os.getpid() == 1 and (os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"))


def _warm_up(gateway: Any) -> None:
    try:
        gateway.warm_up()
    except Exception:  # the requests that need the data will build it, or say what is wrong
        logging.getLogger("mock_opend").exception("warm-up failed")


async def serve_until_signalled(server: Any) -> None:
    """Print the ready line of a started server, warm its data up, serve until
    SIGINT/SIGTERM, stop.  The signal handlers are in place before the ready
    line: a supervisor may stop the server the moment it reads it."""
    from .health import ready_file, remove_ready, write_ready

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    info = server.ready_info()
    try:
        write_ready(info)  # first: a health check that sees the ready line finds the file
    except (OSError, ValueError) as exc:  # health checks fall back to 127.0.0.1:11111
        why = getattr(exc, "strerror", None) or exc
        logging.getLogger("mock_opend").warning(f"cannot write the ready file {ready_file()}: {why}")
    print(json.dumps(info), flush=True)
    server.gateway.warm_up_state = "running"  # from now on, so that a health check never sees "not run"
    threading.Thread(target=_warm_up, args=(server.gateway,), name="warm-up", daemon=True).start()
    await stop.wait()
    remove_ready(info)
    await server.stop()


def _market(text: str) -> OptionMarket:
    try:
        return parse_market(text)
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown market {text!r} (US_SECURITY, US_INDEX, HK_SECURITY, HK_INDEX)"
        ) from None


def _dtype(text: str) -> DataType:
    try:
        return parse_data_type(text)
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown data type {text!r} (VOLUME, OPEN_INTEREST)") from None


_DATA_SETTINGS = ("seed", "now", "fixtures", "data_profile", "history_start", "span_policy", "lang")


def _data_command(args: argparse.Namespace) -> int:
    from .errors import ServerError
    from .export import Query, render, served_rows

    settings = {k: getattr(args, k) for k in _DATA_SETTINGS if getattr(args, k) is not None}
    cfg = build_config(args.config, **settings)
    try:
        if args.command == "plot":
            from .plot import plot_markets

            path = plot_markets(cfg, args.market, args.begin, args.end, args.output)
            print(f"wrote {path}", file=sys.stderr)
            return 0
        rows = served_rows(cfg, Query(args.market, args.data_type, args.begin, args.end))
        out = render(rows, args.format)
        if args.output:
            Path(args.output).write_bytes(out)
    except ServerError as exc:
        print(f"mock-opend: error: {exc.message(cfg.lang)}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"mock-opend: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the output file: a missing folder, no permission, a full disk
        print(f"mock-opend: error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if not args.output:
        if args.format == "parquet":
            print("mock-opend: error: parquet is binary; use --output FILE", file=sys.stderr)
            return 2
        sys.stdout.write(out.decode())
        sys.stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # say it under the subcommand, not the top level
        unrecognized(parser, args.command, extra)
    if args.command == "health":
        return _health_command(args)
    if args.command == "parity":
        return _parity_command(args)
    if args.command in ("data", "plot"):
        try:
            return _data_command(args)
        except (ConfigError, FixtureError) as exc:
            print(f"mock-opend: error: {exc}", file=sys.stderr)
            return 2
    if args.command == "record":
        return _record_command(args)
    if args.command == "keygen":
        from .crypto import generate_key_pem

        path = Path(args.output)
        path.write_bytes(generate_key_pem())
        path.chmod(0o600)
        print(f"wrote {path} (give the same file to the SDK: SysConfig.set_init_rsa_file)", file=sys.stderr)
        return 0
    if args.command == "config":
        from .config_docs import markdown, rows

        print(markdown() if args.markdown else json.dumps(rows(), ensure_ascii=False, indent=2))
        return 0
    if args.command == "errors":
        from .errors import CATALOGUE

        if args.markdown:
            print(catalogue_markdown())
        else:
            print(json.dumps([vars_of(s) for s in CATALOGUE.values()], ensure_ascii=False, indent=2))
        return 0
    settings = {k: v for k, v in vars(args).items() if k not in ("command", "config") and v is not None}
    try:
        loop_kind = build_config(args.config, **settings).event_loop
        from .server import new_event_loop

        loop = new_event_loop(loop_kind)
        try:
            return loop.run_until_complete(_serve(settings, args.config))
        finally:
            loop.close()
    except (ConfigError, FixtureError, CryptoError, StubError, RuntimeError) as exc:
        print(f"mock-opend: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _parity_command(args: argparse.Namespace) -> int:
    from .config import parse_address
    from .crypto import RsaKey
    from .parity import ParityError, Session, Sides, exit_code, gateway_today, run
    from .parity_report import tally, write
    from .server import MockOpenD

    out = Path(args.out)
    created = not out.exists()

    def fail(msg: str) -> int:
        print(f"mock-opend parity: error: {msg}", file=sys.stderr)
        if created:  # no report: leave no empty folder behind
            with contextlib.suppress(OSError):
                out.rmdir()
        return 2

    address = parse_address(args.opend)
    if address is None:
        return fail(f"--opend must be HOST:PORT, got {args.opend!r}")
    recorder = None
    try:  # where the results go, checked before the gateway's quota is spent
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
        if args.record:
            from .recorder import Recorder, RecordError

            try:
                recorder = Recorder(args.record)
            except RecordError as exc:
                return fail(str(exc))
    except OSError as exc:
        return fail(f"--out {out}: cannot write there ({exc.strerror or exc})")
    try:
        rsa = RsaKey.load(args.rsa_key) if args.rsa_key else None
        gateway = Session(*address, rsa=rsa, timeout=args.timeout, pace=args.pace)
    except (CryptoError, ParityError) as exc:
        return fail(str(exc))
    try:
        today, instant = gateway_today(gateway)
        # the mock side: the given settings, the gateway's clock and encryption; never a proxy or a recorder
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "ws_port": "off",
            "now": instant.isoformat(),
            "clock_tick": True,
            "log_level": "warning",
        }
        cfg = build_config(args.mock_config, **settings)
        cfg = cfg.replace(upstream=None, record=None, stubs=[], admin_port=None, rsa_key=args.rsa_key).validate()
        with MockOpenD(cfg) as server:
            mock = Session(server.host, server.port, rsa=rsa, timeout=args.timeout, pace="off", label="the mock")

            def progress(what: str) -> None:
                print(f"parity: {what}", file=sys.stderr, flush=True)

            behaviours = run(Sides(gateway, mock, today, args.include_rate_limit, progress))
            mock.close()
    except (ConfigError, FixtureError, ParityError, CryptoError, StubError, RuntimeError) as exc:
        return fail(str(exc))
    except OSError as exc:  # the mock cannot listen
        return fail(f"the mock cannot start: {exc.strerror or exc}")
    finally:
        gateway.close()
    if recorder is not None:  # the gateway's 3301 rows, as a fixture the mock can serve
        for ex in (e for e in gateway.exchanges if e.proto_id == 3301):
            recorder.exchange(
                0, ex.proto_id, 0, ex.raw_request, ex.raw_reply, server_ver=gateway.ready.server_ver,
                secrets=gateway.ready.secrets, now=time.time(),
            )  # fmt: skip
    meta = {
        "gateway": args.opend,
        "when": instant.isoformat(timespec="seconds"),
        "gateway_date": today.isoformat(),
        "mock_config": args.mock_config,
    }
    try:
        write(out, behaviours, meta)
    except OSError as exc:
        return fail(f"--out {out}: cannot write the report ({exc.strerror or exc})")
    print(f"parity: {tally(behaviours)}; the report is {out / 'parity.md'}", flush=True)
    return exit_code(behaviours)


def _health_command(args: argparse.Namespace) -> int:
    from .crypto import RsaKey
    from .health import check, located

    rsa = None
    if args.rsa_key:
        try:
            rsa = RsaKey.load(args.rsa_key)
        except CryptoError as exc:
            print(f"mock-opend health: error: {exc}", file=sys.stderr)
            return 2
    where, note = located(args.host, args.port)
    result = check(*where, timeout=args.timeout, rsa=rsa)
    doc = result.as_json()
    if note:  # checked the default address because the ready file could not say where
        doc["ready_file"] = note
    print(json.dumps(doc, ensure_ascii=False), flush=True)
    return 0 if result.ok else 1


def _record_command(args: argparse.Namespace) -> int:
    from datetime import date, timedelta

    from .capture import Capture, CaptureError
    from .config import parse_address
    from .crypto import RsaKey
    from .rate_limit import parse_rate
    from .statistics import add_years

    def fail(msg: str) -> int:
        print(f"mock-opend record: error: {msg}", file=sys.stderr)
        return 2

    address = parse_address(args.opend)
    if address is None:
        return fail(f"--opend must be HOST:PORT, got {args.opend!r}")
    try:
        end = date.fromisoformat(args.end) if args.end else date.today()
        begin = date.fromisoformat(args.begin) if args.begin else add_years(end, -1) + timedelta(days=1)
    except ValueError as exc:
        return fail(f"--begin/--end: {exc} (YYYY-MM-DD)")
    if begin > end:
        return fail(f"--begin {begin} is after --end {end}")
    try:
        rate = parse_rate(args.rate)
    except ValueError as exc:
        return fail(str(exc))
    if rate is None:
        return fail("--rate cannot be off: the gateway limits 3301")
    if not 0 < args.timeout <= 3600:
        return fail("--timeout must be 0 < s <= 3600")
    try:
        rsa = RsaKey.load(args.rsa_key) if args.rsa_key else None
        capture = Capture(*address, args.output, rsa=rsa, timeout=args.timeout, rate=rate, progress=args.progress)
        markets = args.market or list(OptionMarket)
        types = args.data_type or list(DataType)
        result = capture.run(markets, types, begin, end)
    except (CaptureError, CryptoError, FixtureError, OSError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    summary = {
        "fixtures": str(capture.fixture_path),
        "queries": result.queries,
        "requests": result.requests,
        "rows": result.rows,
        "rows_in_file": capture.recorder.stats.rows,
        "waited_seconds": round(result.waited, 1),
        "failures": result.failures,
        "notes": capture.recorder.stats.skipped[:20],
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 1 if result.failures else 0


def vars_of(spec: Any) -> dict[str, Any]:
    return {k: getattr(spec, k) for k in ("name", "ret_type", "err_code", "zh", "en", "when")}
