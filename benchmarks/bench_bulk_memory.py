"""Peak memory of a bulk job: does it stay flat from 100,000 to 1,000,000 recipients?

Each size runs in a fresh subprocess (``python -m benchmarks.bench_bulk_memory --child N``),
because peak RSS only ever grows: a JSONL file of N recipients (with personalization) is
written first, then ``BrazeClient.send_bulk`` streams it through the file reader, with a
journal, into the simulator's in-process transport (no sockets; ``record=False``, so the
simulator keeps no per-recipient state). The child reports its peak RSS (``VmHWM``) after
the imports, after the job, and after a second run that resumes the same journal (all
skipped: the journal's position bitmap is what is measured there). The smallest size is the
baseline: peak RSS at the largest over peak RSS at the smallest should stay near 1.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import orjson

from braze_async import Campaign

from ._common import Row, line_plot, plot_dir, python_module, run_json, standalone

SECTION = "Bulk job memory (peak RSS of a fresh process)"
HOW_TO_READ = (
    "peak RSS of a whole send_bulk, each size in a fresh process; flat is the goal, so the "
    "ratio largest / smallest should stay near 1 (the plot: level lines)."
)
PLOTS = ("memory.png",)
#: Peak RSS at the largest size over the smallest, and at most this many MB at a million.
FLATNESS = 1.5
CEILING_MB = 150


def peak_mb() -> float:
    """Peak RSS of this process so far, in MB.

    Linux's ``VmHWM`` first: ``ru_maxrss`` survives ``exec``, so in a child of a big process
    (the runner, with matplotlib loaded) it reports the parent's size, not the child's.
    """
    status = Path("/proc/self/status")
    if status.exists():
        match = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.MULTILINE)
        if match:
            return int(match.group(1)) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def write_input(path: Path, n: int) -> None:
    """A JSONL file of ``n`` recipients with trigger properties, written as a stream."""
    with open(path, "wb") as fh:
        for i in range(n):
            fh.write(
                orjson.dumps(
                    {
                        "external_user_id": f"user-{i:08d}",
                        "trigger_properties": {"first_name": f"Name{i}", "points": i % 5000},
                    }
                )
                + b"\n"
            )


async def job(fh: IO[bytes], journal: Path) -> tuple[float, int, int]:
    """One ``send_bulk`` of the file; seconds, recipients sent or skipped, requests."""
    from braze_async import BrazeClient
    from braze_async._readers import read_jsonl
    from braze_async.simulator import BrazeSimulator

    sim = BrazeSimulator(record=False, external_id_rate=(10**9, 3600))
    async with BrazeClient(
        api_key=sim.api_key, base_url="http://127.0.0.1:1", transport=sim.transport()
    ) as braze:
        started = time.perf_counter()
        report = await braze.send_bulk(
            Campaign("bench"), read_jsonl(fh), journal=journal, concurrency=8
        )
        elapsed = time.perf_counter() - started
    return elapsed, report.sent + report.already_sent, report.requests


def child(n: int) -> dict[str, float]:
    """Measure one size in this (fresh) process."""
    with tempfile.TemporaryDirectory() as tmp:
        path, journal = Path(tmp) / "users.jsonl", Path(tmp) / "users.journal"
        write_input(path, n)
        import braze_async.simulator  # noqa: F401 - count the imports in the baseline

        imports = peak_mb()
        with open(path, "rb") as fh:
            seconds, sent, requests = asyncio.run(job(fh, journal))
        peak = peak_mb()
        with open(path, "rb") as fh:
            _, skipped, _ = asyncio.run(job(fh, journal))
        resumed = peak_mb()
    if sent != n or skipped != n:
        raise RuntimeError(f"{n} recipients: {sent} sent, {skipped} skipped on resume")
    return {
        "imports": imports,
        "peak": peak,
        "resumed": resumed,
        "rate": sent / seconds,
        "requests": requests,
    }


def run(quick: bool) -> list[Row]:
    sizes = [20_000, 60_000, 200_000] if quick else [100_000, 300_000, 1_000_000]
    measured = {
        n: run_json(python_module("benchmarks.bench_bulk_memory", "--child", str(n))) for n in sizes
    }
    small, big = sizes[0], sizes[-1]
    # The absolute ceiling is set for a million; a quick run checks it at its largest size.
    ceiling = f"< {CEILING_MB} MB" + ("" if big >= 1_000_000 else " (set for 1,000,000)")
    rows = [
        Row(
            SECTION,
            f"peak RSS at {n:,} recipients",
            m["peak"],
            "MB",
            target=ceiling if n == big else "",
            met=m["peak"] < CEILING_MB if n == big else None,
            note=f"{m['imports']:.0f} MB after imports, {m['resumed']:.0f} MB after resuming "
            f"over the full journal, {m['rate']:,.0f} recipients/s",
        )
        for n, m in measured.items()
    ]
    flat = measured[big]["peak"] / measured[small]["peak"]
    rows.append(
        Row(
            SECTION,
            f"peak RSS, {big:,} / {small:,} recipients",
            flat,
            "x",
            f"peak at {small:,}",
            flat,
            f"<= {FLATNESS}x",
            flat <= FLATNESS,
        )
    )
    thousands = [n / 1000 for n in sizes]
    lines = {
        "send_bulk (peak)": "peak",
        "resume over the full journal (peak)": "resumed",
        "after imports, before the job": "imports",
    }
    line_plot(
        plot_dir(quick) / "memory.png",
        {label: (thousands, [measured[n][key] for n in sizes]) for label, key in lines.items()},
        title="Peak RSS of a bulk job vs recipients (flat is the goal)",
        xlabel="recipients in the input file (thousands)",
        ylabel="MB",
        hline=(CEILING_MB, f"ceiling at 1,000,000: {CEILING_MB} MB"),
    )
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(int(sys.argv[2]))))
    else:
        standalone(run)
