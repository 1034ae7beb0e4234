"""Rate-limit fidelity: a scaled-down Braze hour, unbounded concurrency, 429s counted.

braze_async (its own limiter) against the loop a user would write by hand: httpx with
``aiolimiter.AsyncLimiter(limit, period)``. Both send the same requests, all at once, to the
simulator in another process enforcing ``limit`` per ``period`` (sliding or fixed windows).

The contended rows add another consumer of the same workspace that spends a quarter of the
budget at the start of every fixed window: what the limiter must learn from Braze's headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Sequence
from typing import TypeVar

import httpx

from braze_async import BrazeClient, Campaign, Rate, RateLimits, Recipient, RetryPolicy

from ._common import Row, Simulator, line_plot, plot_dir, standalone

SECTION = "Rate-limit fidelity (scaled-down window, unbounded concurrency)"
HOW_TO_READ = (
    "the same burst through braze_async and through httpx + aiolimiter against the simulator; "
    "ours should get zero 429s while using >= 95% of the budget (the plot hugs the red line)."
)
PLOTS = ("ratelimit.png",)

T = TypeVar("T")


def utilisation(starts: Sequence[float], limit: int, period: float) -> float:
    """Share of the budget used: the ideal time to admit these requests over the time taken.

    The first ``limit`` may go at once; each further ``limit`` needs one more period.
    """
    ordered = sorted(starts)
    if len(ordered) <= limit:
        return 1.0
    ideal = (len(ordered) - limit) / limit * period
    taken = ordered[-1] - ordered[0]
    return min(ideal / taken, 1.0) if taken > 0 else 1.0


def max_in_window(times: Sequence[float], period: float) -> int:
    """Most events inside any window of length ``period``."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= period:
            start += 1
        best = max(best, end - start + 1)
    return best


async def ours(url: str, limit: int, period: float, requests: int) -> list[float]:
    """All requests at once through braze_async; returns the completion times of successes."""
    done: list[float] = []
    limits = RateLimits(external_id=Rate(limit, period))
    async with BrazeClient(
        api_key="sim-key",
        base_url=url,
        rate_limits=limits,
        retry=RetryPolicy(rate_limited_attempts=1000),
    ) as braze:

        async def one(i: int) -> None:
            await braze.send(Campaign("bench"), recipients=[Recipient(external_user_id=f"u{i}")])
            done.append(time.monotonic())

        await asyncio.gather(*(one(i) for i in range(requests)))
    return done


async def naive(
    url: str, limit: int, period: float, requests: int
) -> tuple[list[float], list[float], int]:
    """The hand-written loop: httpx + AsyncLimiter(limit, period); 429s counted, not retried.

    Returns the answer times of accepted requests, of every request, and the 429 count.
    """
    from aiolimiter import AsyncLimiter

    limiter = AsyncLimiter(limit, period)
    done: list[float] = []
    answered: list[float] = []
    throttled = 0
    headers = {"Authorization": "Bearer sim-key"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:

        async def one(i: int) -> None:
            nonlocal throttled
            async with limiter:
                body = {"campaign_id": "bench", "recipients": [{"external_user_id": f"u{i}"}]}
                response = await http.post("/campaigns/trigger/send", json=body)
            answered.append(time.monotonic())
            if response.status_code == 429:
                throttled += 1
            else:
                response.raise_for_status()
                done.append(time.monotonic())

        await asyncio.gather(*(one(i) for i in range(requests)))
    return done, answered, throttled


async def other_consumer(url: str, per_window: int, period: float) -> tuple[int, int]:
    """Another consumer of the workspace: *per_window* requests at the start of every fixed
    window (5 ms in), until cancelled. Returns ``(accepted, throttled)`` of its own."""
    accepted = throttled = 0
    headers = {"Authorization": "Bearer sim-key"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:

        async def one(k: int, i: int) -> None:
            nonlocal accepted, throttled
            body = {"campaign_id": "other", "recipients": [{"external_user_id": f"o{k}-{i}"}]}
            status = (await http.post("/campaigns/trigger/send", json=body)).status_code
            accepted += status == 201
            throttled += status == 429

        try:
            while True:
                now = time.time()
                boundary = math.floor(now / period + 1) * period
                await asyncio.sleep(boundary - now + 0.005)
                await asyncio.gather(*(one(int(boundary), i) for i in range(per_window)))
        except asyncio.CancelledError:
            return accepted, throttled


async def beside_other(
    main: Awaitable[T], url: str, per_window: int, period: float
) -> tuple[T, int, int]:
    """Run *main* while :func:`other_consumer` spends at every window start; *main*'s result
    and the other consumer's ``(accepted, throttled)``."""
    other = asyncio.ensure_future(other_consumer(url, per_window, period))
    try:
        result = await main
    finally:
        other.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await other
    accepted, throttled = other.result() if not other.cancelled() else (0, 0)
    return result, accepted, throttled


def contended(limit: int, period: float, requests: int) -> list[Row]:
    """Fixed windows with another consumer spending a quarter of each at its start."""
    per_window = limit // 4
    ours_share = limit - per_window
    label = f"fixed {limit}/{period:g}s + another consumer spending {per_window} per window start"
    sim = Simulator(external_id_rate=f"{limit}/{period}", window="fixed")
    try:
        done, _, other_throttled = asyncio.run(
            beside_other(ours(sim.url, limit, period, requests), sim.url, per_window, period)
        )
    finally:
        stats = sim.stop()
    throttled = stats.get("rate_limited", -1) - other_throttled
    use = utilisation(done, ours_share, period)
    rows = [
        Row(
            SECTION,
            f"braze_async, {label}: 429s received",
            throttled,
            "",
            f"{requests} requests",
            None,
            f"<= {per_window}",
            0 <= throttled <= per_window,
            note="only the first window can surprise us: before any answer, nothing tells",
        ),
        Row(
            SECTION,
            f"braze_async, {label}: budget used",
            use * 100,
            "%",
            f"{ours_share} per window left to us",
            use,
            ">= 90%",
            use >= 0.90,
            note=f"the other consumer met {other_throttled} 429s",
        ),
    ]
    sim = Simulator(external_id_rate=f"{limit}/{period}", window="fixed")
    try:
        (ok, _, _), _, naive_other_throttled = asyncio.run(
            beside_other(naive(sim.url, limit, period, requests), sim.url, per_window, period)
        )
    finally:
        stats = sim.stop()
    naive_throttled = stats.get("rate_limited", -1) - naive_other_throttled
    naive_use = utilisation(ok, ours_share, period)
    rows += [
        Row(
            SECTION,
            f"httpx + AsyncLimiter({limit}, {period:g}), {label}: 429s received",
            naive_throttled,
            "",
            f"{requests} requests",
            None,
            "",
            note="each 429 is a request a naive loop must retry or drop",
        ),
        Row(
            SECTION,
            f"httpx + AsyncLimiter, {label}: budget used (accepted only)",
            naive_use * 100,
            "%",
            f"{len(ok)} of {requests} accepted",
            naive_use,
            note=f"the other consumer met {naive_other_throttled} 429s",
        ),
    ]
    return rows


def run(quick: bool) -> list[Row]:
    limit, period = (20, 2.0) if quick else (50, 4.0)
    requests = limit * (5 if quick else 20)
    windows = ["sliding"] if quick else ["sliding", "fixed"]
    rows: list[Row] = []
    plots: dict[str, tuple[list[float], list[float]]] = {}
    for window in windows:
        sim = Simulator(external_id_rate=f"{limit}/{period}", window=window)
        try:
            done = asyncio.run(ours(sim.url, limit, period, requests))
        finally:
            stats = sim.stop()
        use = utilisation(done, limit, period)
        rows += [
            Row(
                SECTION,
                f"braze_async, {window} {limit}/{period:g}s: 429s received",
                stats.get("rate_limited", -1),
                "",
                f"{requests} requests",
                None,
                "0",
                stats.get("rate_limited", -1) == 0,
            ),
            Row(
                SECTION,
                f"braze_async, {window} {limit}/{period:g}s: budget used",
                use * 100,
                "%",
                "limit x time",
                use,
                ">= 95%",
                use >= 0.95,
            ),
            Row(
                SECTION,
                f"braze_async, {window}: most successes in any {period:g}s window",
                max_in_window(done, period),
                "",
                f"limit {limit}",
            ),
        ]
        if window == "sliding":
            plots["braze_async"] = admissions_curve(done, period)
        sim = Simulator(external_id_rate=f"{limit}/{period}", window=window)
        try:
            ok, answered, throttled = asyncio.run(naive(sim.url, limit, period, requests))
        finally:
            stats = sim.stop()
        rows += [
            Row(
                SECTION,
                f"httpx + AsyncLimiter({limit}, {period:g}), {window}: 429s received",
                stats.get("rate_limited", throttled),
                "",
                f"{requests} requests",
                None,
                "",
                note="each 429 is a request a naive loop must retry or drop",
            ),
            Row(
                SECTION,
                f"httpx + AsyncLimiter, {window}: accepted",
                len(ok),
                "",
                f"{requests} sent",
            ),
        ]
        if window == "sliding":
            plots["httpx + aiolimiter: sent (429s included)"] = admissions_curve(answered, period)
            plots["httpx + aiolimiter: accepted"] = admissions_curve(ok, period)
    rows += contended(limit, period, limit * (4 if quick else 10))
    line_plot(
        plot_dir(quick) / "ratelimit.png",
        plots,
        title=f"Requests in the trailing {period:g} s against the server's limit of {limit}",
        xlabel="seconds since start",
        ylabel=f"requests in the last {period:g} s",
        hline=(limit, "server limit"),
    )
    return rows


def admissions_curve(times: Sequence[float], period: float) -> tuple[list[float], list[float]]:
    """Trailing-window counts of events, sampled every tenth of a period."""
    if not times:
        return [], []
    ordered = sorted(times)
    t0 = ordered[0]
    xs: list[float] = []
    ys: list[float] = []
    step = period / 10
    t = t0
    while t <= ordered[-1] + period:
        xs.append(t - t0)
        ys.append(sum(1 for x in ordered if t - period < x <= t))
        t += step
    return xs, ys


if __name__ == "__main__":
    standalone(run)
