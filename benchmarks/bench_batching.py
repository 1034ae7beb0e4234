"""How well ``send_one`` batches, and what batching costs a lone caller.

Against ``braze-async simulate`` in its own process, over real loopback HTTP:

1. **burst**: 10,000 concurrent ``send_one`` calls; average recipients per request
   (target >= 49, against the 50 a request can hold);
2. **lone latency**: one call at a time, ``send_one`` and a direct ``send`` with one
   recipient, interleaved; p50 / p99 of each and their ratio (what the batching layer
   adds when nothing else is in flight);
3. **trickle**: callers arriving at a steady rate (Poisson, 2,000/s) while the simulator
   answers after 20 ms: the batch size reached with ``linger=0`` and with the 5 ms linger.

Requests are counted from the callers' results (each says how many recipients shared its
request), not from the client's internals.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Sequence

from braze_async import Batching, BrazeClient, Campaign, Recipient, SendResult

from ._common import Row, Simulator, bar_plot, fmt, line_plot, plot_dir, standalone

SECTION = "Batching (send_one)"
HOW_TO_READ = (
    "a burst should fill requests to ~50 recipients; a lone call should cost about what a "
    "direct one-recipient send costs (latency ratio near 1)."
)
PLOTS = ("batching.png", "batch-sizes.png")
KEY = "sim-key"
BURST = 10_000
MAX_RECIPIENTS = 50
TRICKLE_RATE = 2_000.0
SIMULATOR_LATENCY_MS = 20.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 to 1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def recipients_per_request(results: Sequence[SendResult]) -> tuple[float, int]:
    """Average recipients per request, and the number of requests, from the callers' results."""
    requests = sum(count // size for size, count in Counter(r.batch_size for r in results).items())
    return len(results) / requests, requests


async def burst(base_url: str, n: int) -> tuple[list[SendResult], float]:
    """``n`` concurrent calls; their results and the seconds they took."""
    async with BrazeClient(api_key=KEY, base_url=base_url) as braze:
        started = time.perf_counter()
        results = await asyncio.gather(
            *(
                braze.send_one(Campaign("bench"), Recipient(external_user_id=f"burst-{i}"))
                for i in range(n)
            )
        )
        return results, time.perf_counter() - started


async def lone(base_url: str, n: int) -> tuple[list[float], list[float]]:
    """Milliseconds of ``n`` lone ``send_one`` calls and ``n`` direct sends, interleaved."""
    batched: list[float] = []
    direct: list[float] = []
    async with BrazeClient(api_key=KEY, base_url=base_url) as braze:
        for i in range(20):  # warm the connection pool and both code paths
            await braze.send_one(Campaign("b"), Recipient(external_user_id=f"warm-{i}"))
            await braze.send(Campaign("b"), recipients=[Recipient(external_user_id="w")])
        for i in range(n):
            recipient = Recipient(external_user_id=f"lone-{i}")
            t0 = time.perf_counter()
            await braze.send_one(Campaign("bench"), recipient)
            t1 = time.perf_counter()
            await braze.send(Campaign("bench"), recipients=[recipient])
            t2 = time.perf_counter()
            batched.append((t1 - t0) * 1000)
            direct.append((t2 - t1) * 1000)
    return batched, direct


async def trickle(
    base_url: str, seconds: float, linger: float
) -> tuple[list[SendResult], list[float]]:
    """Callers arriving at :data:`TRICKLE_RATE`; their results and latencies in milliseconds."""
    rng = random.Random(1)
    latencies: list[float] = []
    results: list[SendResult] = []

    async def call(i: int) -> None:
        t0 = time.perf_counter()
        results.append(
            await braze.send_one(Campaign("b"), Recipient(external_user_id=f"trickle-{i}"))
        )
        latencies.append((time.perf_counter() - t0) * 1000)

    async with BrazeClient(
        api_key=KEY, base_url=base_url, batching=Batching(linger=linger)
    ) as braze:
        tasks: list[asyncio.Task[None]] = []
        started = time.perf_counter()
        due = started
        while due - started < seconds:
            # Arrivals on an absolute Poisson schedule: a late wake-up launches the backlog.
            while time.perf_counter() >= due and due - started < seconds:
                tasks.append(asyncio.create_task(call(len(tasks))))
                due += rng.expovariate(TRICKLE_RATE)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await asyncio.gather(*tasks)
    return results, latencies


def cdf(values: Sequence[float], upto: float = 0.99) -> tuple[list[float], list[float]]:
    """The sorted values up to the ``upto`` quantile, against their percentile rank."""
    ordered = sorted(values)[: max(1, round(len(values) * upto))]
    return ordered, [100 * (i + 1) / len(values) for i in range(len(ordered))]


def latency_rows(batched: Sequence[float], direct: Sequence[float]) -> list[Row]:
    """p50 and p99 of lone send_one against the direct send, as ratios."""
    rows = []
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        ours, theirs = percentile(batched, q), percentile(direct, q)
        rows.append(
            Row(
                SECTION,
                f"lone send_one, {label} latency",
                ours,
                "ms",
                f"send, 1 recipient: {fmt(theirs)} ms",
                ours / theirs,
                note=f"{ours - theirs:+.3f} ms, {len(batched):,} calls each",
            )
        )
    return rows


def run(quick: bool) -> list[Row]:
    lone_calls, trickle_seconds = (200, 1.0) if quick else (1000, 3.0)
    with Simulator() as sim:
        burst_results, burst_seconds = asyncio.run(burst(sim.url, BURST))
        batched, direct = asyncio.run(lone(sim.url, lone_calls))
    with Simulator(latency_ms=SIMULATOR_LATENCY_MS) as sim:
        trickles = {
            linger: asyncio.run(trickle(sim.url, trickle_seconds, linger))
            for linger in (0.0, 0.005)
        }
    size, requests = recipients_per_request(burst_results)
    rows = [
        Row(
            SECTION,
            f"{BURST:,} concurrent send_one",
            size,
            "recipients/request",
            f"{MAX_RECIPIENTS}, a full request",
            size / MAX_RECIPIENTS,
            ">= 49",
            size >= 49,
            note=f"{requests:,} requests, {BURST / burst_seconds:,.0f} calls/s",
        ),
        *latency_rows(batched, direct),
    ]
    unlingered = recipients_per_request(trickles[0.0][0])[0]
    sizes = {f"burst of {BURST:,}": size}
    for linger, (results, latencies) in trickles.items():
        per_request = recipients_per_request(results)[0]
        name = f"linger {linger * 1000:g} ms"
        sizes[f"{TRICKLE_RATE:,.0f} calls/s,\n{name}"] = per_request
        rows.append(
            Row(
                SECTION,
                f"{TRICKLE_RATE:,.0f} calls/s, answers after {SIMULATOR_LATENCY_MS:g} ms, {name}",
                per_request,
                "recipients/request",
                "linger 0" if linger else "",
                per_request / unlingered if linger else None,
                note=f"latency p50 {percentile(latencies, 0.5):.1f} ms, "
                f"p99 {percentile(latencies, 0.99):.1f} ms",
            )
        )
    line_plot(
        plot_dir(quick) / "batching.png",
        {
            "send_one (batched)": cdf(batched),
            "send, 1 recipient (direct)": cdf(direct),
        },
        title="Latency of a lone call, one at a time (up to p99)",
        xlabel="milliseconds",
        ylabel="% of calls at or below",
    )
    bar_plot(
        plot_dir(quick) / "batch-sizes.png",
        sizes,
        title="Recipients per request made by send_one",
        ylabel="recipients per request",
        hline=(49, "target for the burst: 49"),
    )
    return rows


if __name__ == "__main__":
    standalone(run)
