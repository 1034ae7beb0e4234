"""The ``braze-async`` command line (also ``python -m braze_async``).

Each subcommand keeps its logic in its own module; this file only builds the parser and
dispatches. Errors in flags print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    from braze_async.simulator._cli import configure_parser, run

    parser = _Parser(prog="braze-async", description="Tools for Braze's messaging REST API.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    simulate = commands.add_parser(
        "simulate",
        help="serve a local Braze simulator",
        description="Serve a local Braze simulator on loopback until interrupted.",
    )
    configure_parser(simulate)
    simulate.set_defaults(handler=run)
    from braze_async._send_cli import add_send_parser

    add_send_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
