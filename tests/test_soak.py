"""Fault soak: a bulk job through 429s, 5xx, latency and dropped connections loses nobody.

A bulk job of 20,000 recipients (``BRAZE_SOAK=1``: 200,000, or ``BRAZE_SOAK_RECIPIENTS``)
runs over real loopback sockets against a seeded simulator injecting every fault it knows.
The simulator's record is the judge: everyone is delivered exactly once or reported failed /
unknown with a reason, nobody reported sent is missing from the record, and nobody is
recorded twice unless the policy allowed retrying an ambiguous failure (then only as many
times as such retries happened). ``pytest -s tests/test_soak.py`` prints the figures;
``nox -s soak`` runs the long variant.
"""

from __future__ import annotations

import collections
import io
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

from braze_async import BrazeClient, Campaign, InputRow, Recipient, RecipientOutcome, RetryPolicy
from braze_async._readers import read_jsonl
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

SOAK = os.environ.get("BRAZE_SOAK") == "1"
RECIPIENTS = int(os.environ.get("BRAZE_SOAK_RECIPIENTS", 200_000 if SOAK else 20_000))
KEY = "sk-soak-0123456789"
#: Every fault the simulator injects, often enough to matter in 400 requests.
FAULTS: dict[str, Any] = {
    "fault_5xx": 0.15,
    "fault_429": 0.02,
    "drop_before": 0.02,
    "drop_after": 0.02,
    "latency": 0.002,
    "latency_jitter": 0.008,
}
#: Fast backoff: the soak is about outcomes, not waiting.
FAST: dict[str, Any] = {"backoff_initial": 0.01, "backoff_max": 0.05}
BAD_EVERY = 997  # one row in 997 is broken input


def jsonl_input(n: int) -> tuple[bytes, int]:
    """``n`` JSONL rows of every identifier kind, some of them broken; (data, broken rows)."""
    lines = []
    bad = 0
    for i in range(n):
        if i % BAD_EVERY == BAD_EVERY - 1:
            bad += 1
            lines.append(b'{"external_user_id": ' + str(i).encode() + b"}")  # not a string
        elif i % 3 == 0:
            lines.append(
                orjson.dumps({"external_user_id": f"u{i}", "trigger_properties": {"i": i}})
            )
        elif i % 3 == 1:
            lines.append(
                orjson.dumps({"user_alias": {"alias_name": f"a{i}", "alias_label": "crm"}})
            )
        else:
            lines.append(
                orjson.dumps({"email": f"p{i}@example.com", "prioritization": ["identified"]})
            )
    return b"\r\n".join(lines) + b"\r\n", bad


class AmbiguousRetries(logging.Handler):
    """Counts the client's "outcome unknown, retrying" log records."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "outcome unknown" in record.getMessage():
            self.count += 1


class Run:
    """One bulk job against a faulty simulator, and everything needed to judge it."""

    def __init__(self, sim: BrazeSimulator, rows: list[InputRow]) -> None:
        self.sim = sim
        self.rows = rows
        self.outcomes: dict[int, RecipientOutcome] = {}
        self.ambiguous = AmbiguousRetries()

    async def go(self, policy: RetryPolicy) -> Any:
        logger = logging.getLogger("braze_async")
        logger.addHandler(self.ambiguous)
        level = logger.level
        logger.setLevel(logging.INFO)
        started = time.monotonic()
        try:
            async with BrazeClient(api_key=KEY, base_url=self.sim.base_url, retry=policy) as braze:
                report = await braze.send_bulk(
                    Campaign("soak"),
                    self.rows,
                    concurrency=8,
                    on_outcome=lambda o: self.outcomes.__setitem__(o.position, o),
                    max_details=0,
                )
        finally:
            logger.removeHandler(self.ambiguous)
            logger.setLevel(level)
        self.elapsed = time.monotonic() - started
        return report

    def batches(self) -> Iterator[list[tuple[int, Recipient]]]:
        """The job's requests: consecutive runs of 50 valid rows (rejected rows are skipped)."""
        batch: list[tuple[int, Recipient]] = []
        for position, row in enumerate(self.rows):
            if row.recipient is None:
                continue
            batch.append((position, row.recipient))
            if len(batch) == 50:
                yield batch
                batch = []
        if batch:
            yield batch

    def figures(self, report: Any, title: str, record: Callable[[str, object], None]) -> str:
        stats = self.sim.stats
        delivered = self.sim.delivered_counts()
        figures = {
            "recipients": len(self.rows),
            "requests_sent_by_job": report.requests,
            "http_requests_seen_by_simulator": stats.requests,
            "retries": stats.requests - report.requests,
            "ambiguous_retries": self.ambiguous.count,
            "injected_5xx": stats.faults_5xx,
            "injected_429": stats.injected_429,
            "window_429": stats.rate_limited,
            "drops_before": stats.drops_before,
            "drops_after": stats.drops_after,
            "sent": report.sent,
            "rejected": report.rejected,
            "failed": report.failed,
            "unknown": report.unknown,
            "delivered_distinct": len(delivered),
            "duplicates": sum(c - 1 for c in delivered.values()),
            "seconds": round(self.elapsed, 1),
        }
        for name, value in figures.items():
            record(f"{title}.{name}", value)
        return f"{title}: " + " ".join(f"{k}={v}" for k, v in figures.items())


@pytest.fixture(scope="module")
def rows() -> tuple[list[InputRow], int]:
    data, bad = jsonl_input(RECIPIENTS)
    return list(read_jsonl(io.BytesIO(data))), bad


async def test_soak_at_most_once_every_recipient_accounted_for(
    rows: tuple[list[InputRow], int], record_property: Callable[[str, object], None]
) -> None:
    """Default policy under every fault: delivered once, or failed/unknown with a reason; no dup."""
    items, bad = rows
    async with BrazeSimulator(KEY, seed=20240601, **FAULTS) as sim:
        run = Run(sim, items)
        report = await run.go(RetryPolicy(attempts=2, **FAST))
    print("\n" + run.figures(report, "at-most-once", record_property))
    stats, delivered = sim.stats, sim.delivered_counts()

    # Every input row is in exactly one bucket, and the report says so.
    assert report.total == len(items) and report.rejected == bad
    assert (report.rejected, report.failed, report.unknown) == tuple(
        sum(o.outcome == kind for o in run.outcomes.values())
        for kind in ("rejected", "failed", "unknown")
    )
    assert all(o.reason for o in run.outcomes.values())
    # Nobody was messaged twice.
    assert max(delivered.values()) == 1
    # Every fault happened, and the job went on through all of them.
    assert min(stats.faults_5xx, stats.injected_429, stats.drops_before, stats.drops_after) > 0

    kinds: collections.Counter[str] = collections.Counter()
    maybe_delivered = 0
    for batch in run.batches():
        outcomes = {run.outcomes[p].outcome if p in run.outcomes else "sent" for p, _ in batch}
        assert len(outcomes) == 1, "a request's recipients share its outcome"
        (outcome,) = outcomes
        counts = {delivered[r.key] for _, r in batch}
        if outcome == "sent":  # reported sent: the simulator recorded each once
            assert counts == {1}
        elif outcome == "failed":  # Braze refused it: nothing was delivered
            assert counts == {0}
            assert run.outcomes[batch[0][0]].status_code in (500, 503)
            kind = "failed"
        else:  # no answer: delivered (drop after) or not (drop before), never resent
            assert outcome == "unknown" and len(counts) == 1
            reason = run.outcomes[batch[0][0]].reason
            assert "no answer came back" in reason
            kind = "unknown-delivered" if counts == {1} else "unknown-not-delivered"
            maybe_delivered += len(batch) if counts == {1} else 0
        kinds[outcome if outcome == "sent" else kind] += 1
    # The simulator's own counters explain every batch that was not sent.
    assert kinds["unknown-delivered"] == stats.drops_after
    assert kinds["unknown-not-delivered"] == stats.drops_before
    final_5xx = kinds["failed"]
    assert stats.requests - report.requests == (
        stats.faults_5xx - final_5xx + stats.injected_429 + stats.rate_limited
    )
    assert run.ambiguous.count == 0
    # The record holds exactly the sent ones and those whose answer was lost after delivery.
    assert len(delivered) == report.sent + maybe_delivered


async def test_soak_retrying_ambiguous_failures_duplicates_only_what_was_retried(
    rows: tuple[list[InputRow], int], record_property: Callable[[str, object], None]
) -> None:
    """retry_ambiguous=True: duplicates only from retried drops-after; nobody sent is missing."""
    items, bad = rows
    async with BrazeSimulator(KEY, seed=20240602, **FAULTS) as sim:
        run = Run(sim, items)
        report = await run.go(RetryPolicy(attempts=2, retry_ambiguous=True, **FAST))
    print("\n" + run.figures(report, "retry-ambiguous", record_property))
    stats, delivered = sim.stats, sim.delivered_counts()

    assert report.total == len(items) and report.rejected == bad
    # The report has no counter of ambiguous retries; the client's log lines count them.
    assert run.ambiguous.count >= stats.drops_before + stats.drops_after - report.unknown // 50
    duplicates = sum(c - 1 for c in delivered.values())
    assert duplicates <= 50 * min(run.ambiguous.count, stats.drops_after)
    failed_but_delivered = 0
    for batch in run.batches():
        first = batch[0][0]
        outcome = run.outcomes[first].outcome if first in run.outcomes else "sent"
        counts = {delivered[r.key] for _, r in batch}
        assert len(counts) == 1, "a request is delivered whole or not at all"
        (count,) = counts
        if outcome == "sent":
            assert count >= 1
        elif outcome == "failed" and count:
            failed_but_delivered += len(batch)
        assert count <= 1 + stats.drops_after
    assert len(delivered) >= report.sent
    # A request dropped after delivery and then answered 5xx on its retry is "unknown",
    # never "failed": nobody reported failed was delivered.
    print(f"retry-ambiguous: failed but delivered: {failed_but_delivered} recipients")
    record_property("retry-ambiguous.failed_but_delivered", failed_but_delivered)
    assert failed_but_delivered == 0


async def test_an_ambiguous_attempt_then_a_5xx_is_not_reported_as_failed() -> None:
    """retry_ambiguous: dropped after processing, then a 5xx: unknown (maybe sent), not failed."""
    answers: Iterator[Exception | httpx.Response] = iter(
        [
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            httpx.Response(503, json={"message": "Service unavailable"}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with BrazeClient(
        api_key=KEY,
        base_url="https://braze.invalid",
        transport=httpx.MockTransport(handler),
        rate_limits=None,
        retry=RetryPolicy(retry_ambiguous=True, attempts=2, **FAST),
    ) as braze:
        report = await braze.send_bulk(Campaign("soak"), [Recipient(external_user_id="u1")])
    assert (report.failed, report.unknown) == (0, 1)
