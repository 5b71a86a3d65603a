"""An argparse parser that reports a bad command line in one line.

argparse prints a command's whole usage before its error: for ``serve``, 35
lines in which the one that matters is the last.  A user who mistyped a flag
wants that line and where to look next, so both command-line tools
(``mock-opend`` and ``opend-conformance``) use this parser: one line on
stderr, ``PROG: error: WHAT (see PROG --help)``, exit 2.  ``--help`` itself is
unchanged.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """``error`` prints one line with a ``--help`` hint; subcommands inherit it."""

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())  # argparse wraps some messages over lines
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def unrecognized(parser: argparse.ArgumentParser, command: str | None, extra: list[str]) -> NoReturn:
    """Report arguments ``parse_known_args`` left over, under the subcommand they follow."""
    target = parser
    if command is not None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) and command in action.choices:
                target = action.choices[command]
    target.error(f"unrecognized arguments: {' '.join(extra)}")
    sys.exit(2)  # not reached: error exits


class Once(argparse.Action):
    """An option that may be given once: a second value is an error, not silently the winner."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object, option: str | None = None
    ) -> None:
        if getattr(namespace, self.dest, None) is not None:
            first = _shown(getattr(namespace, self.dest))
            parser.error(f"argument {option}: given twice ({first} and {_shown(values)}); this command takes one")
        setattr(namespace, self.dest, values)


class Distinct(argparse.Action):
    """A repeatable option whose values are a list without repeats."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object, option: str | None = None
    ) -> None:
        got = list(getattr(namespace, self.dest, None) or [])
        if values in got:
            parser.error(f"argument {option}: {_shown(values)} given twice")
        setattr(namespace, self.dest, [*got, values])


def _shown(value: object) -> str:
    return str(getattr(value, "name", value))  # an enum by its name
