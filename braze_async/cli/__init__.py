"""The ``braze-async`` command line (also ``python -m braze_async``).

Each subcommand keeps its logic in its own modules; this file only builds the parser and
dispatches. Errors in flags print one line and exit with status 2.

``braze-async send``, module by module (each one uses only those below it)::

    _runner      the job: plan, input, client, send_bulk, summary, exit status
    _dry_run     --dry-run: read and check everything, send nothing, tell what a send would do
    _estimate    how long N requests take at least under a rate budget
    _input       the recipients file: opened, counted, checked for suspicious shapes
    _plan        flags + environment -> a checked Plan (what goes where), or a UsageError
    _send_args   the flags themselves (argparse)
    _progress    progress on stderr: rich's live display on a terminal, plain lines otherwise
    _failures    the file of recipients not sent, put in place whole once the job ends
    _signals     Ctrl-C / SIGTERM: stop cleanly, then abandon
    _in_flight   the requests in flight, as the tasks the job started: what a second signal ends
    _simulator   the local simulator that stands in with --simulate

``braze-async simulate`` lives with the simulator, in :mod:`braze_async.simulator._cli`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

try:  # the live progress display: `pip install 'braze-async[cli]'`
    import rich
except ImportError:  # the library alone was installed
    rich = None  # type: ignore[assignment]

__all__ = ["main"]

#: What the command line says, in one line, when its extra is not installed.
MISSING_EXTRA = "braze-async: the command line needs its extra: pip install 'braze-async[cli]'"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage dump).

    Subcommand parsers are of the same class (``add_subparsers`` makes them so), so their
    errors are one line too.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    from .._version import __version__
    from ..simulator._cli import configure_parser as configure_simulate
    from ..simulator._cli import run as run_simulate
    from ._runner import run_send
    from ._send_args import add_send_parser

    parser = _Parser(prog="braze-async", description="Tools for Braze's messaging REST API.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    simulate = commands.add_parser(
        "simulate",
        help="serve a local Braze simulator",
        description="Serve a local Braze simulator on loopback until interrupted.",
    )
    configure_simulate(simulate)
    simulate.set_defaults(handler=run_simulate)
    add_send_parser(commands).set_defaults(handler=run_send)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line (``argv``, default ``sys.argv[1:]``); return the exit status.

    ``main(["send", "--campaign-id", "weekly", "--recipients", "users.csv"])`` is
    ``braze-async send --campaign-id weekly --recipients users.csv``.
    """
    if rich is None:
        print(MISSING_EXTRA, file=sys.stderr)
        return 2
    parser = _parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
