"""Priority lanes: a bulk job beside a web app's single sends, on one workspace's budget.

The scenario of issue 25, scaled down: the simulator (another process) enforces ``limit`` per
``period`` s (sliding); one client runs ``send_bulk`` at a high concurrency, another client of
the same workspace (so the same limiter) sends one recipient every ``every`` seconds. Run
twice, side by side: today's behaviour (``reserve=0``, the bulk job in the interactive lane:
one FIFO line) and the new default (lanes, ``reserve=0.1``). Measured: the single sends'
added wait in the limiter, the bulk job's use of its share, and the 429s.

Then the same across a fleet: the bulk job in one process and the single sends in two others
(each sending every ``2 * every`` s: the same pace in all), sharing the budget through a
redis-server (``RateLimits(redis_url=..., workspace=...)``), against one simulator; today's
behaviour there is every process in one lane with ``reserve=0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import secrets
import statistics
import subprocess
import time
from collections.abc import Iterator

import attrs

from braze_async import BrazeClient, Campaign, Rate, RateLimits, Recipient
from braze_async._limits import Bucket, Priority
from braze_async.events import AttemptStarted, BrazeEvent

from ._common import (
    Row,
    Simulator,
    line_plot,
    plot_dir,
    process,
    python_module,
    redis_server,
    standalone,
)

SECTION = "Priority lanes: a bulk job beside a web app's single sends"
HOW_TO_READ = (
    "one budget, a bulk job at high concurrency and single sends every few ms; today's "
    "behaviour (one line, no reserve) against lanes with the default reserve: the single "
    "sends' wait for the limiter should stay under 50 ms (p99) while the bulk job still "
    "uses >= 97% of its share, and no 429."
)
PLOTS = ("lanes.png", "lanes-redis.png")
#: The web app's processes in the fleet run (with the bulk job's: three).
WEB_PROCESSES = 2


@attrs.define
class Outcome:
    """One run: the single sends' limiter waits (s, by when they left) and the bulk job's
    request start times, and the simulator's 429 count."""

    waits: list[tuple[float, float]]
    bulk: list[float]
    throttled: int


def recipients() -> Iterator[Recipient]:
    """As many recipients as the job has time for (read lazily)."""
    for i in itertools.count():
        yield Recipient(external_user_id=f"b{i}")


async def scenario(
    url: str, limits: RateLimits, bulk_lane: Priority, *, seconds: float, every: float
) -> Outcome:
    """The bulk job and the single sends together for *seconds*."""
    t0 = time.monotonic()
    waits: list[tuple[float, float]] = []
    bulk: list[float] = []

    def web_event(event: BrazeEvent) -> None:
        if isinstance(event, AttemptStarted) and event.waited is not None:
            waits.append((time.monotonic() - t0, event.waited))

    def bulk_event(event: BrazeEvent) -> None:
        if isinstance(event, AttemptStarted):
            bulk.append(time.monotonic() - t0)

    stop = asyncio.Event()
    async with (
        BrazeClient(
            api_key="sim-key", base_url=url, rate_limits=limits, on_event=bulk_event
        ) as job,
        BrazeClient(api_key="sim-key", base_url=url, rate_limits=limits, on_event=web_event) as web,
    ):
        assert job._limiter is not None and web._limiter is not None
        assert job._limiter.limiter is web._limiter.limiter  # one workspace, one budget
        bulk_job = asyncio.ensure_future(
            job.send_bulk(
                Campaign("weekly"), recipients(), concurrency=64, stop=stop, priority=bulk_lane
            )
        )
        sends = []
        for i in range(int(seconds / every)):
            one = [Recipient(external_user_id=f"w{i}")]
            sends.append(asyncio.ensure_future(web.send(Campaign("reset"), recipients=one)))
            await asyncio.sleep(every)
        stop.set()
        await asyncio.gather(bulk_job, *sends)
    return Outcome(waits, bulk, 0)


def share_used(starts: list[float], share: int, period: float) -> float:
    """The bulk job's use of its share: its requests per window over the share.

    The sliding log admits a window's worth as the last one's slots expire, so the job's
    requests come in bursts about one period apart. Windows are cut from the first request
    on: each one ``period`` long from the first request after the previous one. Every window
    but the last (cut by the stop) counts; for a smooth stream it is the plain rate.
    """
    ordered = sorted(starts)
    windows: list[int] = []
    end = -math.inf
    for t in ordered:
        if t >= end:
            windows.append(0)
            end = t + period
        windows[-1] += 1
    whole = windows[:-1]
    return sum(whole) / (share * len(whole)) if whole else 0.0


def one_run(
    limit: int, period: float, reserve: float, bulk_lane: Priority, seconds: float, every: float
) -> Outcome:
    limits = RateLimits(external_id=Rate(limit, period), reserve=reserve)
    sim = Simulator(external_id_rate=f"{limit}/{period}", window="sliding", latency_ms=5)
    try:
        outcome = asyncio.run(scenario(sim.url, limits, bulk_lane, seconds=seconds, every=every))
    finally:
        stats = sim.stop()
    outcome.throttled = stats.get("rate_limited", -1)
    return outcome


def fleet_run(
    limit: int, period: float, reserve: float, bulk_lane: Priority, seconds: float, every: float
) -> Outcome:
    """The bulk job and the single sends in three processes, one budget in Redis."""
    sim = Simulator(external_id_rate=f"{limit}/{period}", window="sliding", latency_ms=5)
    try:
        with redis_server() as redis_url, contextlib.ExitStack() as stack:
            shared = [sim.url, redis_url, f"lanes-{secrets.token_hex(4)}", str(limit)]
            shared += [f"{period:g}", f"{reserve:g}", bulk_lane, f"{seconds:g}"]
            roles = ["bulk", *(f"web{i}" for i in range(WEB_PROCESSES))]
            procs = []
            for role in roles:
                cmd = python_module("benchmarks._lanes_worker", role, *shared)
                proc, ready = stack.enter_context(
                    process([*cmd, f"{every * WEB_PROCESSES:g}"], stdin=subprocess.PIPE)
                )
                if ready != "ready":
                    raise RuntimeError(f"lanes worker {role} printed {ready!r}")
                procs.append(proc)
            start = f"{time.monotonic()!r}\n"  # every process starts on this mark
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(start)
                proc.stdin.flush()
            results = []
            for role, proc in zip(roles, procs, strict=True):
                out, _ = proc.communicate(timeout=seconds + 60)
                if proc.returncode != 0 or not out.strip():
                    raise RuntimeError(f"lanes worker {role} failed: exit code {proc.returncode}")
                results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        stats = sim.stop()
    waits = [(t, w) for result in results[1:] for t, w in result["waits"]]
    return Outcome(waits, results[0]["times"], stats.get("rate_limited", -1))


def rows_of(label: str, outcome: Outcome, share: int, period: float, new: bool) -> list[Row]:
    waits = sorted(w * 1000 for _, w in outcome.waits)
    p50 = statistics.median(waits)
    p99 = waits[min(len(waits) - 1, int(0.99 * len(waits)))]
    used = share_used(outcome.bulk, share, period)
    sends = f"{len(waits)} single sends"
    return [
        Row(SECTION, f"{label}: single sends' added wait p50", p50, "ms", sends),
        Row(SECTION, f"{label}: added wait p99", p99, "ms", sends, None, "< 50 ms" if new else ""),
        Row(
            SECTION,
            f"{label}: added wait max",
            waits[-1],
            "ms",
            sends,
            None,
            "< 250 ms" if new else "",
        ),
        Row(
            SECTION,
            f"{label}: bulk job's share used",
            used * 100,
            "%",
            f"share {share} per {period:g} s",
            used,
            ">= 97%" if new else "",
            note=f"{len(outcome.bulk)} bulk requests; requests per window over the share",
        ),
        Row(SECTION, f"{label}: 429s received", outcome.throttled, "", "", None, "0"),
    ]


def run(quick: bool) -> list[Row]:
    limit, period, every = 600, 2.0, 0.05
    seconds = 4.0 if quick else 10.0
    today = one_run(limit, period, 0.0, "interactive", seconds, every)
    lanes = one_run(limit, period, RateLimits().reserve, "bulk", seconds, every)
    share = limit - RateLimits(external_id=Rate(limit, period)).reserved(Bucket.EXTERNAL_ID)
    fleet_today = fleet_run(limit, period, 0.0, "interactive", seconds, every)
    fleet_lanes = fleet_run(limit, period, RateLimits().reserve, "bulk", seconds, every)
    rows = rows_of("today (one line, reserve=0)", today, limit, period, new=False)
    rows += rows_of("lanes, reserve=0.1 (default)", lanes, share, period, new=True)
    fleet = "3 processes on Redis"
    rows += rows_of(f"{fleet}, today", fleet_today, limit, period, new=False)
    rows += rows_of(f"{fleet}, lanes (default)", fleet_lanes, share, period, new=True)
    for row in rows:
        if row.target:
            row.met = _met(row)
    line_plot(
        plot_dir(quick) / "lanes.png",
        {
            "today: one line, no reserve": _curve(today),
            "lanes + reserve 0.1 (default)": _curve(lanes),
        },
        title=f"Single sends' wait for the limiter beside a bulk job ({limit} per {period:g} s)",
        xlabel="seconds since the bulk job started",
        ylabel="wait (ms)",
        hline=(50, "p99 target"),
    )
    line_plot(
        plot_dir(quick) / "lanes-redis.png",
        {
            "today: one line, no reserve": _curve(fleet_today),
            "lanes + reserve 0.1 (default)": _curve(fleet_lanes),
        },
        title=f"The same in three processes sharing the budget through Redis ({limit} per "
        f"{period:g} s)",
        xlabel="seconds since the bulk job started",
        ylabel="wait (ms)",
        hline=(50, "p99 target"),
    )
    return rows


def _curve(outcome: Outcome) -> tuple[list[float], list[float]]:
    ordered = sorted(outcome.waits)
    return [t for t, _ in ordered], [w * 1000 for _, w in ordered]


def _met(row: Row) -> bool:
    """Whether *row* meets its target."""
    if row.target == "0":
        return row.value == 0
    bound = float(row.target.split()[1].rstrip("%"))
    return row.value < bound if row.target.startswith("<") else row.value >= bound


if __name__ == "__main__":
    standalone(run)
