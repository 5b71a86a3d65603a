"""``opend-conformance``: run the cases against a client, replay one, list them."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mock_opend import __version__ as server_version
from mock_opend.arguments import OneLineParser

from . import report
from .context import PROFILES
from .drivers import BUILTIN, DriverUnavailable, command_for
from .registry import CASES, case_key
from .suite import DriverCannotStart, Suite, exit_code, select

DRIVER_MD = Path(__file__).resolve().parent / "DRIVER.md"  # shipped in the package, also when pip-installed


def _client(args: argparse.Namespace) -> tuple[list[str] | str, str, str]:
    """(argv, label, replay flags) for --client or --client-cmd."""
    if args.client:
        return command_for(args.client), args.client, f"--client {args.client}"
    return args.client_cmd, args.client_cmd, f"--client-cmd {shlex.quote(args.client_cmd)}"


def _add_client(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--client", choices=sorted(BUILTIN), help="a built-in driver")
    g.add_argument("--client-cmd", metavar="CMD", help=f"any driver command (the protocol: {DRIVER_MD})")
    p.add_argument("--profile", choices=sorted(PROFILES), default="ci", help="ci (default, fast), dev, thorough")
    p.add_argument("--seed", type=int, help="reproduce a run (printed at the start)")
    p.add_argument(
        "--mock-config",
        metavar="FILE",
        help="TOML settings for the kit's mock (e.g. parity.toml from mock-opend parity: configured like your gateway)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="opend-conformance", description="Run an OpenD client against mock-opend.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the cases", description="Run the numbered cases against a client.")
    _add_client(run)
    run.add_argument("--cases", help="e.g. 3.1,4 (a case or a whole group); default: all")
    run.add_argument("--junit", metavar="FILE")
    run.add_argument("--json", metavar="FILE")
    run.add_argument("--html", metavar="FILE")
    replay = sub.add_parser("replay", help="re-run one case exactly", description="Re-run one case with a seed.")
    replay.add_argument("case", help="the case id, e.g. 3.1")
    _add_client(replay)
    replay.add_argument("--html", metavar="FILE")
    sub.add_parser("list", help="list the cases")
    return parser


def _meta(label: str, suite: Suite, started: str, seconds: float) -> dict[str, Any]:
    return {
        "client": label,
        "profile": suite.profile.name,
        "seed": suite.seed,
        "started": started,
        "seconds": round(seconds, 2),
        "server_version": server_version,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        for c in sorted(CASES.values(), key=lambda c: case_key(c.id)):
            print(f"{c.id:>4}  {c.group:<10} {c.level:<8}  {c.title}")
        return 0
    try:
        argv_, label, replay_flags = _client(args)
    except DriverUnavailable as exc:
        print(f"opend-conformance: error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "replay":
            cases = select(args.case)
            deps = {"8.7": "8"}  # 8.7 judges the recoveries seen by the other fault cases
            if args.case in deps:
                cases = select(deps[args.case])
        else:
            cases = select(args.cases)
    except KeyError as exc:
        print(f"opend-conformance: error: {exc.args[0]}", file=sys.stderr)
        return 2
    base: dict[str, Any] = {}
    if args.mock_config:
        from mock_opend.config import ConfigError, load_toml

        from .suite import FROM_MOCK_CONFIG, mock_config

        try:
            base, left_out = mock_config(load_toml(args.mock_config))
        except ConfigError as exc:
            said = str(exc) if str(exc).startswith(f"{args.mock_config}:") else f"{args.mock_config}: {exc}"
            print(f"opend-conformance: error: {said}", file=sys.stderr)
            return 2
        if left_out:
            print(
                f"opend-conformance: {args.mock_config}: the kit takes only {', '.join(sorted(FROM_MOCK_CONFIG))};"
                f" left out: {', '.join(left_out)}",
                file=sys.stderr,
            )
        replay_flags += f" --mock-config {shlex.quote(args.mock_config)}"
    suite = Suite(
        argv_, profile=args.profile, seed=args.seed, client_label=label, replay_client=replay_flags, base_settings=base
    )
    started = datetime.now(UTC).isoformat(timespec="seconds")
    header = (
        f"opend-conformance: client {label} · profile {suite.profile.name} · seed {suite.seed} · "
        f"{report.plural(len(cases), 'case')}"
    )
    term = report.Terminal(len(cases), header=header)  # printed with the first result: a driver that
    # cannot start gets one line on stderr and nothing else
    t0 = time.monotonic()
    try:
        results = suite.run(cases, on_result=term)
    except DriverCannotStart as exc:
        print(f"opend-conformance: error: {exc}", file=sys.stderr)
        return 2
    finally:
        suite.close()
    seconds = time.monotonic() - t0
    term.summary(results, seconds)
    meta = _meta(label, suite, started, seconds)
    if getattr(args, "junit", None):
        report.write_junit(args.junit, meta, results)
    if getattr(args, "json", None):
        report.write_json(args.json, meta, results)
    if getattr(args, "html", None):
        report.write_html(args.html, meta, results)
    return exit_code(results)  # run and replay: one rule over every case shown


if __name__ == "__main__":
    sys.exit(main())
