"""How many requests per second the Braze simulator answers.

Starts ``braze-async simulate`` in a subprocess (so server and client do not share a GIL),
then posts campaign trigger sends of 50 recipients from an aiohttp client at a fixed
concurrency for a few seconds and prints the rate of answered requests::

    python benchmarks/bench_simulator.py [--seconds 5] [--concurrency 32] [--recipients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import orjson

REPO = Path(__file__).resolve().parent.parent


def _body(recipients: int) -> bytes:
    return orjson.dumps(
        {
            "campaign_id": "bench-campaign",
            "trigger_properties": {"campaign": "spring"},
            "recipients": [
                {"external_user_id": f"user-{i}", "trigger_properties": {"first_name": f"N{i}"}}
                for i in range(recipients)
            ],
        }
    )


async def _load(base_url: str, seconds: float, concurrency: int, body: bytes) -> Counter[int]:
    statuses: Counter[int] = Counter()
    headers = {"Authorization": "Bearer sim-key", "Content-Type": "application/json"}
    url = f"{base_url}/campaigns/trigger/send"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


def _cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by process ``pid``, when psutil is installed."""
    try:
        import psutil
    except ImportError:
        return None
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def main() -> int:
    """Run the benchmark and print requests/s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--recipients", type=int, default=50)
    args = parser.parse_args()

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    # A budget the run cannot exhaust: this measures serving, not Braze's 250,000/hour.
    budget = ["--external-id-rate", "1000000000/3600"]
    command = [sys.executable, "-m", "braze_async", "simulate", "--port", "0", *budget]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as server:
        assert server.stdout is not None
        base_url = server.stdout.readline().rsplit(" ", 1)[-1].strip()
        try:
            cpu_before = _cpu_seconds(server.pid)
            started = time.perf_counter()
            statuses = asyncio.run(
                _load(base_url, args.seconds, args.concurrency, _body(args.recipients))
            )
            elapsed = time.perf_counter() - started
            cpu = _cpu_seconds(server.pid)
        finally:
            server.terminate()
            summary = server.communicate(timeout=10)[0].strip().splitlines()
    total = sum(statuses.values())
    print(
        f"{total / elapsed:,.0f} requests/s of {args.recipients} recipients "
        f"({total * args.recipients / elapsed:,.0f} recipients/s), concurrency "
        f"{args.concurrency}, {elapsed:.1f} s, statuses {dict(statuses)}"
    )
    if cpu is not None and cpu_before is not None:
        print(f"simulator process CPU: {(cpu - cpu_before) / elapsed:.0%} of one core")
    print(summary[-1] if summary else "(no summary from the server)")
    return 0 if set(statuses) == {201} else 1


if __name__ == "__main__":
    raise SystemExit(main())
