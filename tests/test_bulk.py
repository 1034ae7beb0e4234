"""Bulk sends and their journal: streaming, exact accounting, resume after a crash, clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from braze_async import (
    BrazeClient,
    BrazeServerError,
    BrazeUnknownOutcomeError,
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    Recipient,
    RetryPolicy,
    SendResponse,
)
from braze_async._batching import SendTarget
from braze_async._bulk import BulkProgress, RecipientOutcome, bulk_send
from braze_async._journal import Journal, JournalError, expand, ranges
from braze_async._readers import InputRow
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

KEY = "sk-bulk-SECRET-0123456789"
WEEKLY = SendTarget.campaign("weekly")


def users(n: int, start: int = 0) -> Iterator[Recipient]:
    for i in range(start, start + n):
        yield Recipient(external_user_id=f"u{i}")


def read(path: str | Path) -> str:
    return Path(path).read_text()


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


class ScriptedSender:
    """Answers each request by the first recipient's id: fail, unknown, hang, or success."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.fail: set[str] = set()
        self.unknown: set[str] = set()
        self.hang: set[str] = set()
        self.hanging = asyncio.Event()

    async def send_campaign_request(self, request: CampaignTriggerRequest) -> SendResponse:
        ids = [r.external_user_id or "" for r in request.recipients or ()]
        self.sent.append(ids)
        if ids[0] in self.hang:
            self.hanging.set()
            await asyncio.Event().wait()
        if ids[0] in self.fail:
            raise BrazeServerError("Braze is down", status_code=503)
        if ids[0] in self.unknown:
            raise BrazeUnknownOutcomeError("no answer")
        return SendResponse(dispatch_id=f"d-{ids[0]}", message="success")

    async def send_canvas_request(self, request: CanvasTriggerRequest) -> SendResponse:
        raise AssertionError("campaigns only")

    def ids(self) -> list[str]:
        return [i for batch in self.sent for i in batch]


@pytest.fixture
async def sim() -> AsyncIterator[BrazeSimulator]:
    async with BrazeSimulator(KEY) as s:
        yield s


# -- streaming and accounting ----------------------------------------------------------------


async def test_streams_its_input_in_full_batches_within_the_concurrency(
    sim: BrazeSimulator,
) -> None:
    """10,050 recipients from a generator: 201 requests, each user once, little read ahead."""
    seen: list[BulkProgress] = []
    async with BrazeClient(api_key=KEY, base_url=sim.base_url) as braze:
        report = await braze.bulk_send(
            users(10_050), campaign_id="weekly", concurrency=4, on_progress=seen.append
        )
    assert (report.sent, report.requests, report.total) == (10_050, 201, 10_050)
    assert report.ok and not report.details
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(10_050)}
    assert sorted(sim.stats.recipients_per_request.items()) == [(50, 201)]
    # Never more than the batches in flight plus the one being filled were read ahead.
    assert max(p.in_progress for p in seen) <= 5 * 50
    assert seen[-1].sent == 10_050


async def test_every_item_ends_in_exactly_one_bucket(sim: BrazeSimulator) -> None:
    """Sent, rejected, failed (503) and unknown (no answer) partition the input."""
    sender = ScriptedSender()
    sender.fail, sender.unknown = {"u50"}, {"u100"}
    rows: list[Recipient | InputRow] = list(users(200))
    rows.insert(7, InputRow(line=8, reason="email: must be an email address", data={"email": "x"}))
    outcomes: list[RecipientOutcome] = []
    report = await bulk_send(sender, rows, WEEKLY, on_outcome=outcomes.append)
    assert (report.sent, report.rejected, report.failed, report.unknown) == (100, 1, 50, 50)
    assert report.total == len(rows) and not report.ok
    rejected = [o for o in outcomes if o.outcome == "rejected"]
    assert [(o.position, o.line) for o in rejected] == [(7, 8)]
    failed = [o for o in outcomes if o.outcome == "failed"]
    assert {o.status_code for o in failed} == {503}
    assert {o.recipient.external_user_id for o in failed if o.recipient} == {
        f"u{i}" for i in range(50, 100)
    }
    assert len(report.details) == 101


async def test_against_the_simulator_failed_were_never_delivered(sim: BrazeSimulator) -> None:
    """With injected 5xx and dropped answers: failed never delivered, sent delivered once."""
    async with (
        BrazeSimulator(KEY, fault_5xx=0.2, drop_after=0.2, seed=7) as faulty,
        BrazeClient(api_key=KEY, base_url=faulty.base_url, retry=RetryPolicy(attempts=1)) as b,
    ):
        outcomes: list[RecipientOutcome] = []
        report = await b.bulk_send(users(2_000), campaign_id="weekly", on_outcome=outcomes.append)
    assert report.failed and report.unknown and report.sent
    assert report.total == 2_000
    delivered = faulty.delivered_counts()
    assert max(delivered.values()) == 1
    failed = {o.recipient.key for o in outcomes if o.outcome == "failed" and o.recipient}
    unknown = {o.recipient.key for o in outcomes if o.outcome == "unknown" and o.recipient}
    assert not failed & delivered.keys()
    assert unknown <= delivered.keys()  # drop_after: processed, answer lost
    assert len(delivered) == report.sent + len(unknown)


async def test_async_iterables_and_non_recipients() -> None:
    """An async generator is read like any iterable; a stray object is rejected, not fatal."""

    async def source() -> AsyncIterator[object]:
        for i in range(60):
            yield Recipient(external_user_id=f"u{i}")
        yield "not a recipient"

    sender = ScriptedSender()
    report = await bulk_send(sender, source(), WEEKLY)  # type: ignore[arg-type]
    assert (report.sent, report.rejected, report.requests) == (60, 1, 2)
    assert "not a Recipient: str" in report.details[0].reason


async def test_details_are_bounded() -> None:
    """report.details keeps max_details outcomes and counts the rest."""
    rows = [InputRow(line=i, reason="bad") for i in range(10)]
    report = await bulk_send(ScriptedSender(), rows, WEEKLY, max_details=3)
    assert (report.rejected, len(report.details), report.details_dropped) == (10, 3, 7)


async def test_the_repr_stays_short_however_many_details() -> None:
    """repr(report) shows the counts and how many details it keeps, not the details."""
    rows = [InputRow(line=i, reason="bad row " * 20) for i in range(1_000)]
    report = await bulk_send(ScriptedSender(), rows, WEEKLY)
    assert len(report.details) == 1_000
    text = repr(report)
    assert len(text) < 300, text
    assert text.startswith("BulkReport(sent=0, already_sent=0, rejected=1000, ")
    assert "details=<1000 outcomes>" in text


async def test_a_401_stops_the_job() -> None:
    """A wrong key fails every request alike: the job stops instead of failing the whole file."""
    async with (
        BrazeSimulator(KEY) as sim,
        BrazeClient(api_key="sk-wrong-key", base_url=sim.base_url) as braze,
    ):
        report = await braze.bulk_send(users(5_000), campaign_id="weekly", concurrency=2)
    assert report.interrupted and "401" in (report.stop_reason or "")
    assert report.failed <= 3 * 50
    assert report.sent == 0 and not sim.deliveries


# -- the journal ------------------------------------------------------------------------------


def test_ranges_are_compact() -> None:
    """Positions are journaled as half-open ranges."""
    assert ranges([0, 1, 2, 5, 6, 9]) == [0, 3, 5, 7, 9, 10]
    assert list(expand([0, 3, 5, 7, 9, 10])) == [0, 1, 2, 5, 6, 9]


async def test_resume_skips_sent_resends_failed_and_reports_unknown(tmp_path: Path) -> None:
    """Run 2 sends only what Braze refused in run 1; 'unknown' ones are not resent."""
    journal = str(tmp_path / "job.journal")
    first = ScriptedSender()
    first.fail, first.unknown = {"u50"}, {"u100"}
    report = await bulk_send(first, users(200), WEEKLY, journal=journal)
    assert (report.sent, report.failed, report.unknown) == (100, 50, 50)

    second = ScriptedSender()
    outcomes: list[RecipientOutcome] = []
    report = await bulk_send(
        second, users(200), WEEKLY, journal=journal, on_outcome=outcomes.append
    )
    assert second.ids() == [f"u{i}" for i in range(50, 100)]
    assert (report.sent, report.already_sent, report.unknown, report.failed) == (50, 100, 50, 0)
    assert {o.outcome for o in outcomes} == {"unknown"}
    assert "not resent" in outcomes[0].reason

    third = ScriptedSender()
    report = await bulk_send(third, users(200), WEEKLY, journal=journal)
    assert third.sent == [] and (report.already_sent, report.unknown) == (150, 50)


async def test_a_crash_mid_flight_leaves_those_recipients_unknown(tmp_path: Path) -> None:
    """A batch begun but never ended (the process died) is reported unknown, never resent."""
    journal = str(tmp_path / "job.journal")
    sender = ScriptedSender()
    sender.hang = {"u100"}
    job = asyncio.ensure_future(bulk_send(sender, users(300), WEEKLY, journal=journal))
    await sender.hanging.wait()
    for _ in range(20):  # let the other batches answer
        await asyncio.sleep(0)
    job.cancel()  # as good as a kill for the hanging batch: no end record
    with pytest.raises(asyncio.CancelledError):
        await job
    text = read(journal)
    assert '"begin":2' in text and '"end":2' not in text

    again = ScriptedSender()
    report = await bulk_send(again, users(300), WEEKLY, journal=journal)
    assert not {f"u{i}" for i in range(100, 150)} & set(again.ids())
    assert report.unknown == 50
    assert report.total == 300
    everyone = set(again.ids()) | {i for b in sender.sent for i in b}
    assert everyone == {f"u{i}" for i in range(300)}


async def test_a_torn_last_record_is_dropped(tmp_path: Path) -> None:
    """A begin record cut short by a kill was never followed by a send: it is discarded."""
    path = tmp_path / "job.journal"
    await bulk_send(ScriptedSender(), users(50), WEEKLY, journal=str(path))
    append(path, b'{"begin": 1, "pos": [50, 1')
    again = ScriptedSender()
    report = await bulk_send(again, users(100), WEEKLY, journal=str(path))
    assert (report.already_sent, report.sent) == (50, 50)
    assert all(orjson.loads(line) for line in read(path).splitlines())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"target": SendTarget.campaign("monthly")}, "campaign or Canvas", id="id"),
        pytest.param(
            {"target": SendTarget.campaign("weekly", trigger_properties={"a": 1})},
            "request-level",
            id="properties",
        ),
        pytest.param({"input_fingerprint": "sha256:other"}, "input file", id="input"),
        pytest.param({"destination": "https://rest.fra-01.braze.eu"}, "Braze endpoint", id="dest"),
    ],
)
async def test_a_journal_of_another_job_is_refused(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    """A journal names its job; any other job is refused with a clear error."""
    journal = str(tmp_path / "job.journal")
    base: dict[str, object] = {
        "target": WEEKLY,
        "input_fingerprint": "sha256:x",
        "destination": "https://rest.iad-01.braze.com",
    }
    sender = ScriptedSender()
    await bulk_send(sender, users(10), journal=journal, **base)  # type: ignore[arg-type]
    with pytest.raises(JournalError, match=f"belongs to another job.*{message}"):
        await bulk_send(sender, users(10), journal=journal, **{**base, **change})  # type: ignore[arg-type]


async def test_a_changed_input_stops_the_resume(tmp_path: Path) -> None:
    """Another recipient where the journal says one was sent: stop, rather than skip them."""
    journal = str(tmp_path / "job.journal")
    await bulk_send(ScriptedSender(), users(100), WEEKLY, journal=journal)
    changed = [*users(10), Recipient(external_user_id="intruder"), *users(89, start=11)]
    with pytest.raises(JournalError, match="input position 10 is not the recipient"):
        await bulk_send(ScriptedSender(), changed, WEEKLY, journal=journal)


async def test_an_input_error_lets_the_requests_in_flight_finish(tmp_path: Path) -> None:
    """When the input fails mid-job, batches already sent are answered and journaled."""
    journal = tmp_path / "job.journal"
    sender = ScriptedSender()

    def source() -> Iterator[Recipient]:
        yield from users(100)
        raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        await bulk_send(sender, source(), WEEKLY, journal=str(journal))
    assert len(sender.sent) == 2
    report = await bulk_send(ScriptedSender(), users(100), WEEKLY, journal=str(journal))
    assert (report.already_sent, report.unknown, report.sent) == (100, 0, 0)


async def test_a_journal_in_use_is_refused(tmp_path: Path) -> None:
    """Two jobs on one journal at once would double-send: the second is refused."""
    path = tmp_path / "job.journal"
    from braze_async._bulk import job_header

    with (
        Journal.open(path, job_header(WEEKLY)),
        pytest.raises(JournalError, match="in use"),
    ):
        await bulk_send(ScriptedSender(), users(1), WEEKLY, journal=str(path))


async def test_the_journal_holds_no_api_key(tmp_path: Path, sim: BrazeSimulator) -> None:
    """Ids, positions, hashes and outcomes only: never the key."""
    journal = tmp_path / "job.journal"
    async with BrazeClient(api_key=KEY, base_url=sim.base_url) as braze:
        await braze.bulk_send(users(120), campaign_id="weekly", journal=journal)
    text = read(journal)
    assert KEY not in text and "SECRET" not in text
    assert sim.base_url in text


# -- stopping ---------------------------------------------------------------------------------


async def test_stop_finishes_in_flight_and_resume_sends_the_rest(
    tmp_path: Path, sim: BrazeSimulator
) -> None:
    """A set stop event: no new batches, in-flight ones journaled; run 2 completes the job."""
    journal = tmp_path / "job.journal"
    stop = asyncio.Event()

    def halt_after_three(progress: BulkProgress) -> None:
        if progress.requests >= 3:
            stop.set()

    async with BrazeClient(api_key=KEY, base_url=sim.base_url) as braze:
        first = await braze.bulk_send(
            users(5_000),
            campaign_id="weekly",
            journal=journal,
            stop=stop,
            on_progress=halt_after_three,
            concurrency=2,
        )
        assert first.interrupted and first.stop_reason == "stopped"
        assert 150 <= first.sent < 5_000
        assert first.total == first.sent + first.not_attempted
        second = await braze.bulk_send(users(5_000), campaign_id="weekly", journal=journal)
    assert second.ok and second.already_sent == first.sent
    assert second.sent + second.already_sent == 5_000
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(5_000)}


# -- property: across any sequence of outcomes and crashes, nobody is messaged twice ----------


class RandomSender:
    """Answers each request with the next outcome of a script; "crash" hangs forever."""

    def __init__(self, script: list[str], log: dict[str, list[str]]) -> None:
        self.script = iter(script)
        self.log = log
        self.crashed = asyncio.Event()

    async def send_campaign_request(self, request: CampaignTriggerRequest) -> SendResponse:
        outcome = next(self.script, "sent")
        for r in request.recipients or ():
            self.log.setdefault(r.external_user_id or "", []).append(outcome)
        if outcome == "crash":
            self.crashed.set()
            await asyncio.Event().wait()
        if outcome == "failed":
            raise BrazeServerError("down", status_code=500)
        if outcome == "unknown":
            raise BrazeUnknownOutcomeError("no answer")
        return SendResponse(dispatch_id="d", message="success")

    async def send_canvas_request(self, request: CanvasTriggerRequest) -> SendResponse:
        raise AssertionError("campaigns only")


async def _run_until_done_or_crash(sender: RandomSender, n: int, journal: str, c: int) -> None:
    job = asyncio.ensure_future(bulk_send(sender, users(n), WEEKLY, journal=journal, concurrency=c))
    crash = asyncio.ensure_future(sender.crashed.wait())
    await asyncio.wait({job, crash}, return_when=asyncio.FIRST_COMPLETED)
    crash.cancel()
    if not job.done():
        job.cancel()  # the kill: every batch in flight loses its end record
    with contextlib.suppress(asyncio.CancelledError):
        await job


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 300),
    scripts=st.lists(
        st.lists(st.sampled_from(["sent", "failed", "unknown", "crash"]), max_size=8),
        max_size=4,
    ),
    concurrency=st.integers(1, 4),
)
def test_resumes_never_message_anyone_twice(
    n: int, scripts: list[list[str]], concurrency: int
) -> None:
    """Any mix of answers, failures, lost answers and kills, then resumes until done."""
    log: dict[str, list[str]] = {}

    async def scenario(journal: str) -> None:
        for script in scripts:
            await _run_until_done_or_crash(RandomSender(script, log), n, journal, concurrency)
        final = await bulk_send(RandomSender([], log), users(n), WEEKLY, journal=journal)
        assert final.failed == 0 and final.total == n
        unknown = {o.recipient.external_user_id for o in final.details if o.recipient}
        assert final.unknown == len(unknown)
        for uid, outcomes in log.items():
            # Someone reaches Braze again only after Braze refused them (nothing was sent).
            assert all(o == "failed" for o in outcomes[:-1]), (uid, outcomes)
            if outcomes[-1] == "sent":
                assert uid not in unknown
            elif outcomes[-1] in ("unknown", "crash"):
                assert uid in unknown
        confirmed = {u for u, o in log.items() if o[-1] == "sent"}
        assert final.sent + final.already_sent == len(confirmed)
        # The only people never sent are those whose batch was begun when a kill came.
        assert len(confirmed) + len(unknown) == n

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(os.path.join(tmp, "job.journal")))
