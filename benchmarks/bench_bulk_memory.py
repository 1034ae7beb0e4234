"""Peak memory of a bulk job: does it stay flat from 100,000 to 1,000,000 recipients?

Each measurement runs in a fresh subprocess: a JSONL file of N recipients (with
personalization) is written first, then ``BrazeClient.bulk_send`` streams it through the
file reader, with a journal, into the simulator's in-process transport (no sockets;
``record=False``, so the simulator keeps no per-recipient state). The child reports its
peak RSS (``ru_maxrss``) after the job and after a second run that resumes the same journal
(all skipped: the journal's position bitmap is what is measured there)::

    python benchmarks/bench_bulk_memory.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import orjson

REPO = Path(__file__).resolve().parent.parent


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _write_input(path: Path, n: int) -> None:
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


async def _job(fh: IO[bytes], journal: Path) -> tuple[float, int, int]:
    from braze_async import BrazeClient
    from braze_async._readers import read_jsonl
    from braze_async.simulator import BrazeSimulator

    sim = BrazeSimulator(record=False, external_id_rate=(10**9, 3600))
    async with BrazeClient(
        api_key=sim.api_key, base_url="http://127.0.0.1:1", transport=sim.transport()
    ) as braze:
        started = time.perf_counter()
        report = await braze.bulk_send(
            read_jsonl(fh), campaign_id="bench", journal=journal, concurrency=8
        )
        elapsed = time.perf_counter() - started
    return elapsed, report.sent + report.already_sent, report.requests


def child(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, journal = Path(tmp) / "users.jsonl", Path(tmp) / "users.journal"
        _write_input(path, n)
        import braze_async.simulator  # noqa: F401 - count the imports in the baseline

        baseline = _peak_mb()
        with open(path, "rb") as fh:
            elapsed, sent, requests = asyncio.run(_job(fh, journal))
        peak = _peak_mb()
        with open(path, "rb") as fh:
            elapsed2, skipped, _ = asyncio.run(_job(fh, journal))
        peak2 = _peak_mb()
        journal_mb = journal.stat().st_size / 2**20
    print(
        f"{n:>9,} recipients: peak RSS {peak:6.1f} MB (baseline after imports "
        f"{baseline:.1f} MB), {requests:,} requests in {elapsed:.1f} s "
        f"({sent / elapsed:,.0f} recipients/s); resume over the full journal "
        f"({journal_mb:.1f} MB, {skipped:,} skipped in {elapsed2:.1f} s): peak {peak2:.1f} MB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    for n in args.sizes:
        subprocess.run([sys.executable, __file__, "--child", str(n)], env=env, check=True)
    print("target: peak RSS < 150 MB at 1,000,000 recipients")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
