"""Shared pieces of the benchmarks: result rows, helper processes, the report, the plots.

A benchmark module exposes ``run(quick: bool) -> list[Row]`` and three constants the runner
reads: ``SECTION`` (the heading of its table), ``HOW_TO_READ`` (one line under it) and
``PLOTS`` (the PNG files it writes into :func:`plot_dir`). ``standalone(run)`` gives it a
``__main__`` that prints its rows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

HERE = Path(__file__).parent
ROOT = HERE.parent
#: Plots of the full run, linked from results.md (committed).
RESULTS = HERE / "results"
#: Plots of ``--quick`` runs, linked from results-quick.md (git-ignored scratch).
QUICK_RESULTS = HERE / ".out"
#: A recipient-send budget no benchmark can exhaust: it measures serving, not Braze's limit.
UNLIMITED = "1000000000/3600"


def plot_dir(quick: bool) -> Path:
    """Where a run writes its PNGs: quick runs never overwrite the full run's plots."""
    return QUICK_RESULTS if quick else RESULTS


@attrs.define
class Row:
    """One line of the results table."""

    section: str
    name: str
    value: float
    unit: str
    #: What the value is compared with, and the ratio value / baseline (or a share, a count).
    baseline: str = ""
    ratio: float | None = None
    #: The goal, e.g. "<= 1.2x", and whether this run met it.
    target: str = ""
    met: bool | None = None
    note: str = ""


@attrs.define
class Section:
    """One benchmark's part of the report: its table, how to read it, its plots."""

    title: str
    rows: list[Row]
    how_to_read: str = ""
    plots: Sequence[str] = ()
    #: Set when the benchmark raised: the report says so instead of leaving a silent gap.
    error: str = ""


def python_module(module: str, *args: str) -> list[str]:
    """The command line running ``python -m module args...`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


@contextlib.contextmanager
def process(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, stdin: int | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start a helper process; yield it and the first line it prints (a port, a URL).

    ``stdin=subprocess.PIPE`` gives it a pipe to read (e.g. a start signal) at ``proc.stdin``.
    """
    proc = subprocess.Popen(
        list(cmd),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line:
            raise RuntimeError(f"{cmd[0]} printed nothing; exit code {proc.poll()}")
        yield proc, line
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def echo_server() -> Iterator[str]:
    """The minimal 201-at-once server in its own process; yields its base URL."""
    with process(python_module("benchmarks._echo_server")) as (_, port):
        yield f"http://127.0.0.1:{int(port)}"


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throw-away ``redis-server`` on a Unix socket (no TCP port to race for, nothing
    saved); yields its ``unix://`` URL. ``.ci/ensure-redis`` installs the server."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (run .ci/ensure-redis)")
    import redis

    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp:
        sock = os.path.join(tmp, "redis.sock")
        options = ["--port", "0", "--unixsocket", sock, "--dir", tmp, "--save", ""]
        server = subprocess.Popen(
            [binary, *options, "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with redis.Redis(unix_socket_path=sock) as client:
                        client.ping()
                    break
                except redis.exceptions.ConnectionError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.02)
            yield f"unix://{sock}"
        finally:
            server.terminate()
            server.wait(timeout=10)


class Simulator:
    """``braze-async simulate`` in its own process (its own GIL and event loop).

    ``stop()`` interrupts it and returns the counts of its exit summary
    (``requests``, ``rate_limited``, ...). Also a context manager that stops it on exit::

        with Simulator(latency_ms=20) as sim:
            asyncio.run(load(sim.url))
    """

    def __init__(
        self, *, external_id_rate: str = UNLIMITED, window: str = "sliding", latency_ms: float = 0
    ) -> None:
        options = ["--external-id-rate", external_id_rate, "--window", window]
        if latency_ms:
            options += ["--latency-ms", f"{latency_ms:g}"]
        self.proc = subprocess.Popen(
            python_module("braze_async", "simulate", "--port", "0", *options),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"http://\S+", line)
        if match is None:
            self.proc.kill()
            raise RuntimeError(f"simulator did not start: {line!r}")
        #: The simulator's base URL.
        self.url = match.group(0)
        #: Its process id (to read its CPU time).
        self.pid = self.proc.pid
        self._stats: dict[str, int] | None = None

    def stop(self) -> dict[str, int]:
        """Interrupt the simulator; the counts of its exit summary."""
        if self._stats is None:
            self.proc.send_signal(signal.SIGINT)
            out, _ = self.proc.communicate(timeout=20)
            self._stats = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out)}
        return self._stats

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_json(cmd: Sequence[str], timeout: float = 600) -> dict[str, float]:
    """Run a measuring process and read the JSON line it prints last."""
    out = subprocess.run(
        list(cmd), capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def fmt(value: float) -> str:
    """A value with as many digits as a reader needs: 12,345 / 12.3 / 1.23 / 0.123 / 20."""
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def describe(row: Row) -> str:
    """One row as a line of console output."""
    ratio = "" if row.ratio is None else f"  ratio {row.ratio:.2f}"
    met = "" if row.met is None else ("  ok" if row.met else "  MISSED")
    target = f"  target {row.target}" if row.target else ""
    return f"{row.name}: {fmt(row.value)} {row.unit}{ratio}{target}{met}"


def print_rows(rows: Sequence[Row]) -> None:
    """Print rows as they arrive, indented under the benchmark's name."""
    for row in rows:
        print(f"   {describe(row)}", flush=True)


def scorecard(rows: Sequence[Row]) -> list[str]:
    """Lines summing up the targets: how many met, and every one missed."""
    checked = [row for row in rows if row.met is not None]
    missed = [row for row in checked if not row.met]
    lines = [f"targets: {len(checked) - len(missed)} met, {len(missed)} missed"]
    lines += [f"  - {row.section}: {describe(row)}" for row in missed]
    return lines


def write_report(sections: Sequence[Section], path: Path, *, header: str, plots: Path) -> None:
    """Write the report as Markdown: the header, then each section's note, table and plots."""
    rows = [row for section in sections for row in section.rows]
    lines = [header, "", "```", *scorecard(rows), "```"]
    for section in sections:
        lines += ["", f"## {section.title}", ""]
        if section.how_to_read:
            lines += [f"*How to read this:* {section.how_to_read}", ""]
        if section.error:
            lines += [f"**This benchmark failed:** `{section.error}`", ""]
        if section.rows:
            lines += ["| measure | value | vs | ratio | target | met |", "|---" * 6 + "|"]
        for row in section.rows:
            ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
            met = "" if row.met is None else ("yes" if row.met else "**no**")
            name = f"{row.name} ({row.note})" if row.note else row.name
            value = f"{fmt(row.value)} {row.unit}".rstrip()
            lines.append(f"| {name} | {value} | {row.baseline} | {ratio} | {row.target} | {met} |")
        for plot in section.plots:
            if (plots / plot).exists():
                link = os.path.relpath(plots / plot, path.parent)
                lines += ["", f"![{section.title}: {plot}]({link})"]
    path.write_text("\n".join(lines) + "\n")


def standalone(run: Callable[[bool], list[Row]]) -> None:
    """The ``__main__`` of a benchmark module: run it alone and print its rows."""
    parser = argparse.ArgumentParser(description="Run one benchmark and print its rows.")
    parser.add_argument("--quick", action="store_true", help="the small run")
    args = parser.parse_args()
    rows = run(args.quick)
    print_rows(rows)
    print("\n".join(scorecard(rows)))


@contextlib.contextmanager
def _figure(path: Path, *, title: str, xlabel: str, ylabel: str) -> Iterator[Any]:
    """A matplotlib axis (no display needed) saved as a PNG at ``path`` on exit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    try:
        yield ax
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)


def _hline(ax: Any, hline: tuple[float, str] | None) -> None:
    if hline is not None:
        ax.axhline(hline[0], color="red", linestyle="--", linewidth=1.2, label=hline[1])


def line_plot(
    path: Path,
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    hline: tuple[float, str] | None = None,
    logx: bool = False,
) -> None:
    """A PNG line plot, one line per series; ``hline`` is a (value, label) reference line."""
    with _figure(path, title=title, xlabel=xlabel, ylabel=ylabel) as ax:
        for label, (xs, ys) in series.items():
            ax.plot(xs, ys, marker="o" if len(xs) < 20 else None, label=label, linewidth=1.6)
        _hline(ax, hline)
        if logx:
            ax.set_xscale("log", base=2)


def bar_plot(
    path: Path,
    bars: Mapping[str, float],
    *,
    title: str,
    ylabel: str,
    hline: tuple[float, str] | None = None,
) -> None:
    """A PNG bar chart, one labelled bar per entry, its value written on top."""
    with _figure(path, title=title, xlabel="", ylabel=ylabel) as ax:
        drawn = ax.bar(list(bars), list(bars.values()), color="tab:blue", width=0.6)
        ax.bar_label(drawn, labels=[fmt(v) for v in bars.values()], padding=2)
        _hline(ax, hline)
        ax.margins(y=0.15)
