"""How well ``send_to_user`` batches, and what batching costs a lone caller.

Starts ``braze-async simulate`` in a subprocess (so the simulator does not share this
process's GIL or event loop), then measures, over real loopback HTTP:

1. **burst**: 10,000 concurrent ``send_to_user`` calls; average recipients per request
   (target >= 49) and wall time;
2. **trickle**: callers arriving at a steady rate (default 2,000/s, Poisson) with the
   simulator answering after ``--latency`` seconds: the batch size reached on its own
   (``linger=0``) and with a 5 ms linger;
3. **lone latency**: one call at a time, ``send_to_user`` vs a direct ``trigger_campaign``
   with one recipient, interleaved; p50 / p99 of each and the difference (what the batching
   layer adds when nothing is in flight).

::

    python benchmarks/bench_batching.py [--burst 10000] [--lone 500] [--rate 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from braze_async import BrazeClient, Recipient

REPO = Path(__file__).resolve().parent.parent
KEY = "sim-key"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _stats(braze: BrazeClient) -> tuple[int, int]:
    batcher = braze._batcher
    return (batcher.requests, batcher.recipients) if batcher is not None else (0, 0)


async def burst(base_url: str, n: int) -> None:
    async with BrazeClient(api_key=KEY, base_url=base_url) as braze:
        started = time.perf_counter()
        results = await asyncio.gather(
            *(
                braze.send_to_user(Recipient(external_user_id=f"burst-{i}"), campaign_id="bench")
                for i in range(n)
            )
        )
        elapsed = time.perf_counter() - started
        requests, recipients = await _stats(braze)
    dispatches = len({r.dispatch_id for r in results})
    print(
        f"burst: {n:,} concurrent send_to_user -> {requests:,} requests, "
        f"{recipients / requests:.2f} recipients/request (target >= 49), "
        f"{dispatches:,} dispatch ids, {elapsed:.2f} s ({n / elapsed:,.0f} sends/s)"
    )


async def trickle(base_url: str, rate: float, seconds: float, linger: float) -> None:
    rng = random.Random(1)
    latencies: list[float] = []

    async def call(i: int) -> None:
        t0 = time.perf_counter()
        await braze.send_to_user(Recipient(external_user_id=f"trickle-{i}"), campaign_id="b")
        latencies.append((time.perf_counter() - t0) * 1000)

    async with BrazeClient(api_key=KEY, base_url=base_url) as braze:
        braze.configure_batching(linger=linger)
        tasks: list[asyncio.Future[None]] = []
        started = time.perf_counter()
        due = started
        while due - started < seconds:
            # Arrivals on an absolute Poisson schedule: a late wake-up launches the backlog.
            while time.perf_counter() >= due and due - started < seconds:
                tasks.append(asyncio.ensure_future(call(len(tasks))))
                due += rng.expovariate(rate)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await asyncio.gather(*tasks)
        requests, recipients = await _stats(braze)
    print(
        f"trickle (linger {linger * 1000:g} ms): {len(tasks):,} calls at {rate:,.0f}/s for "
        f"{seconds:g} s -> {requests:,} requests, {recipients / requests:.2f} recipients/request"
        f", latency p50 {_percentile(latencies, 0.5):.1f} ms p99 "
        f"{_percentile(latencies, 0.99):.1f} ms"
    )


async def lone(base_url: str, n: int) -> None:
    batched: list[float] = []
    direct: list[float] = []
    async with BrazeClient(api_key=KEY, base_url=base_url) as braze:
        for i in range(20):  # warm the connection pool and both code paths
            await braze.send_to_user(Recipient(external_user_id=f"warm-{i}"), campaign_id="b")
            await braze.trigger_campaign("b", recipients=[Recipient(external_user_id="w")])
        for i in range(n):
            recipient = Recipient(external_user_id=f"lone-{i}")
            t0 = time.perf_counter()
            await braze.send_to_user(recipient, campaign_id="bench")
            t1 = time.perf_counter()
            await braze.trigger_campaign("bench", recipients=[recipient])
            t2 = time.perf_counter()
            batched.append((t1 - t0) * 1000)
            direct.append((t2 - t1) * 1000)
    for name, values in (("send_to_user", batched), ("trigger_campaign", direct)):
        print(
            f"lone {name:>16}: p50 {_percentile(values, 0.5):.3f} ms, "
            f"p99 {_percentile(values, 0.99):.3f} ms, mean {statistics.fmean(values):.3f} ms"
        )
    added50 = _percentile(batched, 0.5) - _percentile(direct, 0.5)
    added99 = _percentile(batched, 0.99) - _percentile(direct, 0.99)
    print(f"lone added latency of batching: p50 {added50:+.3f} ms, p99 {added99:+.3f} ms")


def _simulator(latency: float) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable, "-m", "braze_async", "simulate", "--port", "0",
        "--external-id-rate", "1000000000/3600", "--latency-ms", str(latency * 1000),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)


def _run(latency: float, job: object) -> None:
    with _simulator(latency) as server:
        assert server.stdout is not None
        base_url = server.stdout.readline().rsplit(" ", 1)[-1].strip()
        try:
            asyncio.run(job(base_url))  # type: ignore[operator]
        finally:
            server.terminate()
            server.communicate(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--lone", type=int, default=500)
    parser.add_argument("--rate", type=float, default=2_000.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--latency", type=float, default=0.02, help="simulator latency (trickle)")
    args = parser.parse_args()
    _run(0.0, lambda url: burst(url, args.burst))
    for linger in (0.0, 0.005):
        _run(args.latency, lambda url, w=linger: trickle(url, args.rate, args.seconds, w))
    _run(0.0, lambda url: lone(url, args.lone))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
