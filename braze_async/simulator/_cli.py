"""``braze-async simulate``: serve the simulator on loopback until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import math
import signal
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from . import _settings
from ._models import SimulatorRate
from ._simulator import BrazeSimulator

__all__ = ["configure_parser", "run"]

T = TypeVar("T")


def _flag(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse ``type`` from a parser raising ValueError (argparse reports it in one line)."""

    def parse_flag(text: str) -> T:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse_flag


_rate = _flag(SimulatorRate.parse)
_probability = _flag(lambda text: _settings.probability("value", float(text)))


def _seconds_from_ms(text: str) -> float:
    value = float(text)
    if not 0 <= value < math.inf:
        raise ValueError(f"expected a number of milliseconds >= 0, got {text!r}")
    return value / 1000


_milliseconds = _flag(_seconds_from_ms)
_port = _flag(lambda text: _settings.port(int(text)))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``simulate`` flags to ``parser``."""
    add = parser.add_argument
    add("--port", type=_port, default=8080, help="TCP port, 0 for a free one (default 8080)")
    add("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    add("--allow-remote", action="store_true", help="allow a --host that is not loopback")
    add("--api-key", default="sim-key", help="the REST API key to accept (default sim-key)")
    for flag, default, what in (
        ("--external-id-rate", SimulatorRate(250_000, 3600), "recipient-send budget"),
        ("--audience-rate", SimulatorRate(250, 60), "segment / audience / broadcast budget"),
        (
            "--per-audience-rate",
            SimulatorRate(10, 60),
            "broadcasts to one unique audience, on top of --audience-rate",
        ),
    ):
        add(
            flag,
            type=_rate,
            default=default,
            metavar="N/SECONDS",
            help=f"{what} (default {default})",
        )
    add(
        "--window",
        choices=("fixed", "sliding"),
        default="fixed",
        help="rate-limit window kind (default fixed: budgets reset on the clock's minute/hour)",
    )
    add(
        "--latency-ms",
        type=_milliseconds,
        default=0.0,
        metavar="N",
        help="delay before every answer, milliseconds",
    )
    add(
        "--latency-jitter-ms",
        type=_milliseconds,
        default=0.0,
        metavar="N",
        help="up to this much more delay, drawn uniformly per request, milliseconds",
    )
    for flag, what in (
        ("--fault-5xx", "answer 500/503"),
        ("--fault-429", "answer an injected 429"),
        ("--drop-before", "close the connection before processing"),
        ("--drop-after", "process, then close the connection without answering"),
    ):
        add(flag, type=_probability, default=0.0, metavar="P", help=f"probability to {what}")
    add("--seed", type=int, default=None, help="seed of the fault draws")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "external_id_rate": args.external_id_rate,
        "audience_rate": args.audience_rate,
        "per_audience_rate": args.per_audience_rate,
        "window": args.window,
        "latency": args.latency_ms,
        "latency_jitter": args.latency_jitter_ms,
        "fault_5xx": args.fault_5xx,
        "fault_429": args.fault_429,
        "drop_before": args.drop_before,
        "drop_after": args.drop_after,
        "seed": args.seed,
        "host": args.host,
        "port": args.port,
    }


async def _serve(simulator: BrazeSimulator) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with simulator:
            print(f"Braze simulator listening on {simulator.base_url}", flush=True)
            print(f"API key: {simulator.api_key}", flush=True)
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _in_use(error: OSError) -> bool:
    return error.errno == errno.EADDRINUSE


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; print a one-line summary; return the exit status.

    Exit status: 0 after a signal, 2 for a bad flag or an address it cannot listen on.
    """
    prog = "braze-async simulate"
    if not args.allow_remote and not _is_loopback(args.host):
        print(
            f"{prog}: error: --host {args.host} is not loopback; add --allow-remote",
            file=sys.stderr,
        )
        return 2
    try:
        simulator = BrazeSimulator(args.api_key, **_options(args))
    except ValueError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(simulator))
    except OSError as error:
        # A busy port is a bad argument like any other: one line, exit 2.
        hint = " (in use: choose another --port, or 0 for a free one)" if _in_use(error) else ""
        print(
            f"{prog}: error: cannot listen on {args.host}:{args.port}: "
            f"{error.strerror or error}{hint}",
            file=sys.stderr,
        )
        return 2
    print(f"Braze simulator stopped: {simulator.stats.summary()}", flush=True)
    return 0
