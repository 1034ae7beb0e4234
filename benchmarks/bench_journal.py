"""What the journal's fsync policy costs: per request, per job, and at Braze's own pace.

Three measures, each policy against ``never`` (records handed to the OS, not forced to the
disk) in the same run, on the disk that holds this repository (a ``/tmp`` on tmpfs would make
every ``fsync`` free and the comparison meaningless):

1. **per batch**: one begin record plus one end record, as a job writes them;
2. **per job**: a whole ``BrazeClient.send_bulk`` into the simulator's in-process transport
   (no sockets, no rate limit), where nothing but the journal limits the pace: the worst case;
3. **at Braze's pace**: the share of the event loop the policy's ``fsync`` calls take when the
   job runs at Braze's default limit for sends by external id (250,000 requests an hour,
   about 69 a second), the fastest a real job goes. ``fsync`` runs in the event loop (a begin
   record must be on the disk before its request leaves), so this is the time other requests
   wait.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator

from braze_async import BrazeClient, Campaign, Recipient
from braze_async._bulk import job_header
from braze_async._journal import FSYNC_POLICIES, FsyncPolicy, Journal
from braze_async._limits import RateLimits

from ._common import HERE, Row, bar_plot, plot_dir, standalone

SECTION = "Journal fsync policy (bulk jobs)"
HOW_TO_READ = (
    "what forcing journal records to the disk costs, against 'never' in the same run; the "
    "row that matters is the share of the event loop at Braze's default pace, which should "
    "stay small for the default policy ('begin')."
)
PLOTS = ("journal-fsync.png",)
#: Requests a second at Braze's default limit for sends by external id.
BRAZE_PACE = RateLimits().external_id.limit / RateLimits().external_id.period
#: The default policy's share of the event loop at that pace should stay under this.
LOOP_SHARE_TARGET = 0.10
WEEKLY = Campaign("bench")


def per_batch(policy: FsyncPolicy, batches: int) -> list[float]:
    """Microseconds for each begin + end record pair, written the way a job writes them."""
    positions = list(range(50))
    keys = [f"user-{i:08d}" for i in positions]
    with tempfile.TemporaryDirectory(dir=HERE) as tmp:
        journal = Journal.open(f"{tmp}/bench.journal", job_header(WEEKLY), fsync=policy)
        times = []
        try:
            for _ in range(batches):
                started = time.perf_counter()
                batch = journal.begin(positions, keys)
                journal.end(batch, "sent", dispatch_id="d")
                times.append((time.perf_counter() - started) * 1e6)
        finally:
            journal.close()
    return times


def users(n: int) -> Iterator[Recipient]:
    for i in range(n):
        yield Recipient(external_user_id=f"user-{i:08d}")


async def job(policy: FsyncPolicy | None, n: int) -> float:
    """Recipients a second of one ``send_bulk`` of ``n`` (``None``: without a journal)."""
    from braze_async.simulator import BrazeSimulator

    sim = BrazeSimulator(record=False, external_id_rate=(10**9, 3600))
    with tempfile.TemporaryDirectory(dir=HERE) as tmp:
        async with BrazeClient(
            api_key=sim.api_key,
            base_url="http://127.0.0.1:1",
            transport=sim.transport(),
            rate_limits=None,
        ) as braze:
            started = time.perf_counter()
            report = await braze.send_bulk(
                Campaign("bench"),
                users(n),
                journal=None if policy is None else f"{tmp}/bench.journal",
                journal_fsync=policy or "never",
                concurrency=8,
            )
            elapsed = time.perf_counter() - started
    if report.sent != n:
        raise RuntimeError(f"{policy}: {report.sent} of {n} sent")
    return n / elapsed


def run(quick: bool) -> list[Row]:
    batches = 200 if quick else 1_000
    n = 10_000 if quick else 50_000
    # Interleaved rounds, the best (or median) of each: the disk and the machine are shared.
    pair: dict[FsyncPolicy, list[float]] = {p: [] for p in FSYNC_POLICIES}
    rate: dict[str, list[float]] = {p: [] for p in ("no journal", *FSYNC_POLICIES)}
    for _ in range(3):
        for policy in FSYNC_POLICIES:
            pair[policy] += per_batch(policy, batches // 3)
            rate[policy].append(asyncio.run(job(policy, n)))
        rate["no journal"].append(asyncio.run(job(None, n)))
    median = {p: statistics.median(times) for p, times in pair.items()}
    p90 = {p: statistics.quantiles(times, n=10)[-1] for p, times in pair.items()}
    best = {name: max(values) for name, values in rate.items()}
    rows: list[Row] = []
    for policy in FSYNC_POLICIES:
        rows.append(
            Row(
                SECTION,
                f"begin + end records, fsync={policy!r} (median)",
                median[policy],
                "us",
                "'never'" if policy != "never" else "",
                median[policy] / median["never"] if policy != "never" else None,
                note=f"p90 {p90[policy]:,.0f} us, {batches:,} batches",
            )
        )
    for name in ("no journal", *FSYNC_POLICIES):
        label = name if name == "no journal" else f"fsync={name!r}"
        rows.append(
            Row(
                SECTION,
                f"send_bulk without a rate limit, {label}",
                best[name],
                "recipients/s",
                "'never'" if name not in ("never", "no journal") else "",
                best[name] / best["never"] if name not in ("never", "no journal") else None,
                note=f"{n:,} recipients, concurrency 8, in-process simulator",
            )
        )
    for policy in ("begin", "always"):
        # The extra time a request costs the loop over "never", at Braze's pace.
        extra = max(0.0, median[policy] - median["never"]) / 1e6
        share = extra * BRAZE_PACE
        rows.append(
            Row(
                SECTION,
                f"event loop in fsync at Braze's pace ({BRAZE_PACE:.0f} requests/s), "
                f"fsync={policy!r}",
                share * 100,
                "%",
                target=f"< {LOOP_SHARE_TARGET:.0%}" if policy == "begin" else "",
                met=share < LOOP_SHARE_TARGET if policy == "begin" else None,
                note=f"p90: {max(0.0, p90[policy] - p90['never']) / 1e4 * BRAZE_PACE:.1f} %",
            )
        )
    bar_plot(
        plot_dir(quick) / "journal-fsync.png",
        {p: median[p] for p in FSYNC_POLICIES},
        title="Journal records per batch (begin + end), by fsync policy",
        ylabel="microseconds (median)",
    )
    return rows


if __name__ == "__main__":
    standalone(run)
