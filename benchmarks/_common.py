"""Shared pieces of the benchmarks: result rows, helper processes, the report, the plots."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import attrs

HERE = Path(__file__).parent
RESULTS = HERE / "results"


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


@contextlib.contextmanager
def process(
    cmd: Sequence[str], *, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start a helper process; yield it and the first line it prints (a port, a URL)."""
    proc = subprocess.Popen(
        list(cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
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
    with process([sys.executable, "-m", "benchmarks._echo_server"]) as (_, port):
        yield f"http://127.0.0.1:{int(port)}"


def run_json(cmd: Sequence[str], timeout: float = 600) -> dict[str, float]:
    """Run a measuring process and read the JSON line it prints last."""
    out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def write_report(rows: Sequence[Row], path: Path, *, header: str) -> None:
    """Write the results table, one section after another, as Markdown."""
    lines = [header, ""]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines += [
                "",
                f"## {section}",
                "",
                "| measure | value | vs | ratio | target | met |",
                "|---|---|---|---|---|---|",
            ]
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        name = f"{row.name} ({row.note})" if row.note else row.name
        value = f"{fmt(row.value)} {row.unit}"
        lines.append(f"| {name} | {value} | {row.baseline} | {ratio} | {row.target} | {met} |")
    path.write_text("\n".join(lines) + "\n")


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
    """A PNG line plot, one line per series (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o" if len(xs) < 20 else None, label=label, linewidth=1.6)
    if hline is not None:
        ax.axhline(hline[0], color="red", linestyle="--", linewidth=1.2, label=hline[1])
    if logx:
        ax.set_xscale("log", base=2)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
