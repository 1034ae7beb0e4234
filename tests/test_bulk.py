"""Bulk sends and their journal: streaming, exact accounting, resume after a crash, clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import attrs
import orjson
import pytest
from _senders import CampaignSender
from hypothesis import given, settings
from hypothesis import strategies as st

from braze_async import (
    BrazeAPIError,
    BrazeAuthenticationError,
    BrazeClient,
    BrazeConnectionError,
    BrazeServerError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    Campaign,
    ErrorDetail,
    Rate,
    RateLimits,
    Recipient,
    RetryPolicy,
    Schedule,
    SendResponse,
    _bulk,
)
from braze_async._bulk import (
    STOP_AFTER_NEVER_SENT,
    BulkProgress,
    BulkReport,
    RecipientOutcome,
    bulk_send,
    job_header,
)
from braze_async._journal import Journal, JournalError, expand, ranges
from braze_async._models import CampaignTriggerRequest
from braze_async._readers import InputRow
from braze_async._stop import Stopped, until
from braze_async._targets import Target
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio

KEY = "sk-bulk-SECRET-0123456789"
WEEKLY = Campaign("weekly")
Admitted = Callable[[], object]


def users(n: int, start: int = 0) -> Iterator[Recipient]:
    for i in range(start, start + n):
        yield Recipient(external_user_id=f"u{i}")


def read(path: str | Path) -> str:
    return Path(path).read_text()


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


class ScriptedSender(CampaignSender):
    """Answers each request by the first recipient's id: fail, unknown, hang (in flight),
    queue (never admitted by the rate limiter), not admitted (the limiter's store is down),
    unreachable, unauthorized, a notice (Braze will send nothing), a bug (not a BrazeError),
    or success."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.fail: set[str] = set()
        self.unknown: set[str] = set()
        self.hang: set[str] = set()
        self.hanging = asyncio.Event()
        self.hung = 0
        self.queue: set[str] = set()
        self.queued = asyncio.Event()
        self.waiting = 0
        self.not_admitted: set[str] = set()
        self.unreachable: set[str] = set()
        self.unauthorized: set[str] = set()
        self.notice: set[str] = set()
        self.bug: set[str] = set()

    async def send_campaign_request(
        self,
        request: CampaignTriggerRequest,
        *,
        on_admitted: Admitted | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        ids = [r.external_user_id or "" for r in request.recipients or ()]
        if ids[0] in self.queue:  # waits behind an exhausted rate budget: never admitted
            self.waiting += 1
            self.queued.set()
            try:
                await until(stop, asyncio.Event().wait())
            except Stopped as exc:  # as a client's limiter wait: the stop ends it, unsent
                raise BrazeConnectionError(str(exc), attempts=0) from exc
        if ids[0] in self.not_admitted:  # e.g. Redis unreachable: nothing was sent
            raise BrazeConnectionError("could not reach Braze: rate limiter down", attempts=1)
        if on_admitted is not None:
            on_admitted()
        self.sent.append(ids)
        if ids[0] in self.hang:
            self.hung += 1
            self.hanging.set()
            await asyncio.Event().wait()
        if ids[0] in self.fail:
            raise BrazeServerError("Braze is down", status_code=503)
        if ids[0] in self.unknown:
            raise BrazeUnknownOutcomeError("no answer")
        if ids[0] in self.unreachable:
            raise BrazeConnectionError("could not reach Braze: connection refused", attempts=4)
        if ids[0] in self.unauthorized:
            raise BrazeAuthenticationError("Unauthorized", status_code=401)
        if ids[0] in self.bug:
            raise RuntimeError("a bug in the sender")
        if ids[0] in self.notice:
            return SendResponse(
                dispatch_id=f"d-{ids[0]}", message="success", notice=f"paused ({ids[0]})"
            )
        return SendResponse(dispatch_id=f"d-{ids[0]}", message="success")

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
        report = await braze.send_bulk(
            Campaign("weekly"), users(10_050), concurrency=4, on_progress=seen.append
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
        report = await b.send_bulk(Campaign("weekly"), users(2_000), on_outcome=outcomes.append)
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
        report = await braze.send_bulk(Campaign("weekly"), users(5_000), concurrency=2)
    assert report.interrupted and "401" in (report.stop_reason or "")
    assert report.failed <= 3 * 50
    assert report.sent == 0 and not sim.delivered()


async def test_an_error_that_is_not_brazes_leaves_its_batch_unknown(tmp_path: Path) -> None:
    """A sender failing with anything but a BrazeError (a bug below us): whether its request
    left, nobody knows, so its recipients are unknown, journaled so, and not resent."""
    journal = tmp_path / "job.journal"
    sender = ScriptedSender()
    sender.bug = {"u50"}
    outcomes: list[RecipientOutcome] = []
    report = await bulk_send(
        sender, users(150), WEEKLY, journal=journal, on_outcome=outcomes.append
    )
    assert (report.sent, report.unknown, report.failed) == (100, 50, 0)
    assert {o.reason for o in outcomes} == {"unexpected RuntimeError: a bug in the sender"}
    again = ScriptedSender()
    resumed = await bulk_send(again, users(150), WEEKLY, journal=journal)
    assert again.sent == [] and (resumed.already_sent, resumed.unknown) == (100, 50)


async def test_a_batch_the_limiter_never_admitted_is_not_journaled_and_is_sent_on_resume(
    tmp_path: Path,
) -> None:
    """Failed before admission (the limiter's store down): no record at all, so the resumed
    job sends it, where a begun batch would be unknown."""
    journal = tmp_path / "job.journal"
    down = ScriptedSender()
    down.not_admitted = {"u50"}
    report = await bulk_send(down, users(150), WEEKLY, journal=journal)
    assert (report.sent, report.failed, report.unknown) == (100, 50, 0)
    assert read(journal).count('"begin"') == 2
    back = ScriptedSender()
    resumed = await bulk_send(back, users(150), WEEKLY, journal=journal)
    assert back.ids() == [f"u{i}" for i in range(50, 100)]
    assert (resumed.sent, resumed.already_sent) == (50, 100)


async def test_the_first_notice_is_the_stop_reason_when_several_come_back() -> None:
    """Three batches in flight, each answered with a notice: all failed, one stop reason, the
    first's."""
    sender = ScriptedSender()
    sender.notice = {f"u{i}" for i in range(0, 1_000, 50)}
    report = await bulk_send(sender, users(1_000), WEEKLY, concurrency=3)
    assert report.interrupted and report.sent == 0
    assert report.failed == 50 * report.requests and report.requests >= 3
    assert report.stop_reason == "Braze will not send: paused (u0)"


async def test_a_callback_failing_while_the_job_is_cancelled_does_not_hide_the_cancel() -> None:
    """on_outcome raising for each batch abandoned by a cancel (two in flight): the job still
    ends cancelled."""
    sender = ScriptedSender()
    sender.hang = {"u50", "u100"}
    told: list[str] = []

    def fragile(outcome: RecipientOutcome) -> None:
        told.append(outcome.outcome)
        raise OSError("the failures file is gone")

    job = asyncio.ensure_future(bulk_send(sender, users(1_000), WEEKLY, on_outcome=fragile))
    while sender.hung < 2:
        sender.hanging.clear()
        await sender.hanging.wait()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert told == ["unknown", "unknown"]  # one call per batch: each raised, the first ends it


async def test_of_two_callbacks_failing_the_job_raises_the_first() -> None:
    """on_outcome failing for two batches in a row: the job stops with the first error, the
    second does not replace it."""
    sender = ScriptedSender()
    sender.fail = {"u0", "u50"}
    errors = iter([OSError("first"), OSError("second")])

    def fragile(outcome: RecipientOutcome) -> None:
        raise next(errors)

    with pytest.raises(OSError, match="first"):
        await bulk_send(sender, users(1_000), WEEKLY, concurrency=2, on_outcome=fragile)
    assert next(errors, None) is None  # both were raised


async def test_a_long_async_input_lets_the_event_loop_run_while_it_is_read() -> None:
    """An async iterable whose items are all ready at once, none of them sendable (so no
    request ever waits): the job still gives the event loop a turn every 512 items."""

    async def source() -> AsyncIterator[InputRow]:
        for i in range(3_000):
            yield InputRow(line=i + 1, reason="email: must be an email address")

    turns = 0

    async def other() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    ticker = asyncio.ensure_future(other())
    try:
        report = await bulk_send(ScriptedSender(), source(), WEEKLY)
    finally:
        ticker.cancel()
    assert (report.rejected, report.requests) == (3_000, 0)
    assert turns >= 3_000 // 512


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        pytest.param({"concurrency": 0}, ValueError, "concurrency: must be", id="concurrency-0"),
        pytest.param({"concurrency": True}, ValueError, "concurrency: must be", id="bool"),
        pytest.param({"recipients": "u1,u2"}, BrazeValidationError, "iterable of Recipient",
                     id="a-str"),
        pytest.param({"recipients": Recipient(external_user_id="u1")}, BrazeValidationError,
                     "iterable of Recipient", id="one-recipient"),
        pytest.param({"recipients": 3}, BrazeValidationError, "recipients: must be an iterable",
                     id="a-number"),
    ],
)  # fmt: skip
async def test_arguments_are_checked_before_anything_is_read(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    """A bad concurrency or a lone recipient (or a string) for the input: refused at once."""
    arguments: dict[str, object] = {"recipients": users(10), **kwargs}
    sender = ScriptedSender()
    with pytest.raises(error, match=message):
        await bulk_send(sender, target=WEEKLY, **arguments)  # type: ignore[arg-type]
    assert sender.sent == []


def rows_with_a_bad_one(n: int, bad: int) -> Iterator[InputRow]:
    """*n* rows from line 2 on, row *bad* rejected (so ``on_outcome`` is called there)."""
    for i in range(n):
        if i == bad:
            yield InputRow(line=i + 2, reason="email: must be an email address")
        else:
            yield InputRow(line=i + 2, recipient=Recipient(external_user_id=f"u{i}"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("on_outcome", "failures.jsonl", id="on_outcome-a-path"),
        pytest.param("on_progress", 3, id="on_progress-a-number"),
        pytest.param("max_details", "1000", id="max_details-a-str"),
        pytest.param("max_details", -1, id="max_details-negative"),
        pytest.param("concurrency", "8", id="concurrency-a-str"),
        pytest.param("total", "x", id="total-a-str"),
        pytest.param("total", True, id="total-a-bool"),
        pytest.param("stop", True, id="stop-a-bool"),
        pytest.param("journal_fsync", ["begin"], id="journal_fsync-a-list"),
        pytest.param("journal_fsync", "sometimes", id="journal_fsync-unknown"),
        pytest.param("input_fingerprint", 1, id="input_fingerprint-a-number"),
        pytest.param("journal", 7, id="journal-a-number"),
    ],
)
async def test_every_argument_is_checked_before_the_first_request(
    tmp_path: Path, sim: BrazeSimulator, name: str, value: object
) -> None:
    """A wrong argument is a BrazeValidationError naming it, before anything is sent (not a
    TypeError 600 recipients in, with the report of who was sent lost)."""
    arguments: dict[str, object] = {name: value}
    if name.startswith("journal_") or name == "input_fingerprint":
        arguments["journal"] = tmp_path / "job.journal"
    async with BrazeClient(api_key=KEY, base_url=sim.base_url) as braze:
        with pytest.raises(BrazeValidationError) as caught:
            await braze.send_bulk(
                Campaign("weekly"),
                rows_with_a_bad_one(700, bad=600),
                **arguments,  # type: ignore[arg-type]
            )
    assert caught.value.field == name
    assert sim.delivered_counts() == {}
    assert not (tmp_path / "job.journal").exists()


def test_the_eta_needs_a_total_and_a_rate() -> None:
    """No total, or nothing decided yet (rate 0): no ETA; else what is left at that rate."""
    progress = BulkProgress(
        sent=100, already_sent=0, rejected=0, failed=0, unknown=0, requests=2, processed=150,
        in_progress=50, total=1_000, elapsed=2.0, rate=50.0,
    )  # fmt: skip
    assert progress.eta == (1_000 - 150 + 50) / 50.0
    assert attrs.evolve(progress, total=None).eta is None
    assert attrs.evolve(progress, rate=0.0).eta is None


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
        pytest.param({"target": Campaign("monthly")}, "campaign or Canvas", id="id"),
        pytest.param(
            {"target": Campaign("weekly", trigger_properties={"a": 1})},
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


async def test_a_journal_names_the_endpoint_however_it_was_spelt(tmp_path: Path) -> None:
    """A job journaled by ``instance="iad-01"`` resumes with the same endpoint written
    ``https://REST.iad-01.braze.com:443/``: one destination (before, the resume was refused
    as "another job": Braze endpoint)."""
    sim = BrazeSimulator(api_key=KEY)
    journal = str(tmp_path / "job.journal")
    async with BrazeClient(api_key=KEY, instance="iad-01", transport=sim.transport()) as braze:
        first = await braze.send_bulk(WEEKLY, users(10), journal=journal)
    spelt = "https://REST.iad-01.braze.com:443/"
    async with BrazeClient(api_key=KEY, base_url=spelt, transport=sim.transport()) as braze:
        again = await braze.send_bulk(WEEKLY, users(10), journal=journal)
    assert (first.sent, again.sent, again.already_sent, again.requests) == (10, 0, 10, 0)


async def test_a_changed_input_stops_the_resume(tmp_path: Path) -> None:
    """Another recipient where the journal says one was sent, or now a row that cannot be
    sent there: stop, rather than skip them."""
    journal = str(tmp_path / "job.journal")
    await bulk_send(ScriptedSender(), users(100), WEEKLY, journal=journal)
    changed = [*users(10), Recipient(external_user_id="intruder"), *users(89, start=11)]
    with pytest.raises(JournalError, match="input position 10 is not the recipient"):
        await bulk_send(ScriptedSender(), changed, WEEKLY, journal=journal)
    broken: list[Recipient | InputRow] = [
        *users(10),
        InputRow(line=12, reason="bad"),
        *users(89, start=11),
    ]
    with pytest.raises(JournalError, match="line 12 is not the recipient"):
        await bulk_send(ScriptedSender(), broken, WEEKLY, journal=journal)


class RefusesOne:
    """Braze refusing a whole request for one bad recipient (400 ``invalid_recipients``), as
    it does; every other request goes through ``client`` (to the simulator)."""

    def __init__(self, client: BrazeClient, bad: str) -> None:
        self.client = client
        self.bad = bad

    async def _send_batch(
        self,
        target: Target,
        recipients: Sequence[Recipient],
        *,
        riders: Callable[[], Sequence[Recipient]] | None = None,
        on_admitted: Admitted | None = None,
        stop: asyncio.Event | None = None,
        schedule: Schedule | None = None,
    ) -> SendResponse:
        if any(r.key == self.bad for r in recipients):
            if on_admitted is not None:
                on_admitted()
            raise BrazeAPIError(
                "HTTP 400: invalid recipient",
                status_code=400,
                errors=[ErrorDetail("invalid_recipients", "recipients[10] is invalid")],
            )
        response = await self.client._send_batch(
            target, recipients, on_admitted=on_admitted, stop=stop, schedule=schedule
        )
        assert isinstance(response, SendResponse)
        return response


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_resume_after_deleting_a_refused_row_refuses_before_sending_anyone(
    tmp_path: Path, concurrency: int
) -> None:
    """Braze refuses the batch of one bad row; the row is deleted and the job resumed with
    the same journal: the rows after it moved up one place, the first of the next (sent)
    batch into the refused batch's last place. The resume must refuse before any request,
    with advice that sends nobody twice; nobody is messaged twice across both runs."""
    journal = str(tmp_path / "job.journal")
    people = list(users(150))
    async with BrazeSimulator(KEY) as sim:
        async with BrazeClient(api_key=KEY, base_url=sim.base_url) as braze:
            sender = RefusesOne(braze, "external_user_id:u60")
            report = await bulk_send(
                sender, people, WEEKLY, journal=journal, concurrency=concurrency
            )
            assert (report.sent, report.failed) == (100, 50)
            first = Counter(sim.delivered_counts())
            del people[60]  # "delete the bad row and resume"
            with pytest.raises(JournalError) as caught:
                await bulk_send(sender, people, WEEKLY, journal=journal, concurrency=concurrency)
        assert sim.delivered_counts() == first  # nothing was sent by the resume
        assert max(sim.delivered_counts().values()) == 1
        message = str(caught.value)
        assert "input position 60 is not the recipient" in message
        assert "fix" in message and "new journal" in message
        assert "start over" not in message and "delete" not in message


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
        await braze.send_bulk(Campaign("weekly"), users(120), journal=journal)
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
        first = await braze.send_bulk(
            Campaign("weekly"),
            users(5_000),
            journal=journal,
            stop=stop,
            on_progress=halt_after_three,
            concurrency=2,
        )
        assert first.interrupted and first.stop_reason == "stopped"
        assert 150 <= first.sent < 5_000
        assert first.total == first.sent + first.not_attempted
        second = await braze.send_bulk(Campaign("weekly"), users(5_000), journal=journal)
    assert second.ok and second.already_sent == first.sent
    assert second.sent + second.already_sent == 5_000
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(5_000)}


# -- hard stops while batches wait for the rate limiter -----------------------------------------

ONE_AN_HOUR = RateLimits(external_id=Rate(1, 3600.0))


async def behind_a_spent_budget(
    braze: BrazeClient,
    n: int,
    journal: Path,
    outcomes: list[RecipientOutcome],
    *,
    stop: asyncio.Event | None = None,
) -> asyncio.Future[BulkReport]:
    """A bulk job of *n* users, four requests at a time, through *braze* (on ONE_AN_HOUR),
    once its first request was answered and four batches (one per slot) wait for the
    limiter."""
    answered = asyncio.Event()

    def on_progress(progress: BulkProgress) -> None:
        if progress.requests:
            answered.set()

    job = asyncio.ensure_future(
        braze.send_bulk(
            Campaign("weekly"),
            users(n),
            journal=journal,
            concurrency=4,
            stop=stop,
            on_progress=on_progress,
            on_outcome=outcomes.append,
        )
    )
    await asyncio.wait_for(answered.wait(), timeout=10)
    while braze.rate_limit_status()["external_id"].waiting < 4:
        assert not job.done(), job
        await asyncio.sleep(0.005)
    return job


async def test_a_stop_does_not_wait_for_the_rate_limiter_and_the_resumed_job_sends_the_rest(
    tmp_path: Path, sim: BrazeSimulator
) -> None:
    """The stop event with four batches waiting behind a budget spent for an hour: the job
    returns at once (it waits for requests in flight, not for the budget); the waiting
    batches are failed (never sent, no begin record), the next one was not attempted, and
    the resumed job sends every other recipient once."""
    journal = tmp_path / "job.journal"
    outcomes: list[RecipientOutcome] = []
    stop = asyncio.Event()
    async with BrazeClient(api_key=KEY, base_url=sim.base_url, rate_limits=ONE_AN_HOUR) as braze:
        job = await behind_a_spent_budget(braze, 1_000, journal, outcomes, stop=stop)
        stop.set()
        # Bounded only so that a regression fails instead of hanging for the hour.
        report = await asyncio.wait_for(job, timeout=30)
        assert braze.rate_limit_status()["external_id"].waiting == 0
    assert (report.sent, report.failed, report.unknown) == (50, 200, 0)
    assert report.interrupted and report.stop_reason == "stopped"
    assert report.not_attempted == 50 and report.stopped_at == 250
    assert len(outcomes) == 200 and {o.outcome for o in outcomes} == {"failed"}
    assert "not sent: the job was stopped before the rate limiter" in outcomes[0].reason
    assert read(journal).count('"begin"') == 1
    async with BrazeClient(api_key=KEY, base_url=sim.base_url, rate_limits=None) as braze:
        second = await braze.send_bulk(Campaign("weekly"), users(1_000), journal=journal)
    assert second.ok and (second.already_sent, second.sent) == (50, 950)
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(1_000)}


async def test_a_stop_ends_the_retries_waiting_out_a_429_and_reports_them_failed(
    tmp_path: Path,
) -> None:
    """Braze (the simulator) allows one request an hour, the client thinks it may send more:
    the next batches are each admitted once, answered 429, and wait for the Reset to retry.
    The stop ends those waits at once: a 429 is a refusal, so the batches are failed (never
    sent; journaled so), not unknown, and a resumed job would send them."""
    journal = tmp_path / "job.journal"
    outcomes: list[RecipientOutcome] = []
    stop = asyncio.Event()
    async with BrazeSimulator(KEY, external_id_rate="1/3600", window="sliding") as sim:
        async with BrazeClient(api_key=KEY, base_url=sim.base_url) as braze:
            job = asyncio.ensure_future(
                braze.send_bulk(
                    Campaign("weekly"),
                    users(400),
                    journal=journal,
                    concurrency=4,
                    stop=stop,
                    on_outcome=outcomes.append,
                )
            )
            # Wait until every slot's batch waits, none in flight: those sent were refused
            # (three or four: the fifth batch may leave before the first 429 comes back).
            status = braze.rate_limit_status
            while (status()["external_id"].waiting, status()["external_id"].in_flight) != (4, 0):
                assert not job.done(), job
                await asyncio.sleep(0.005)
            stop.set()
            # Bounded only so that a regression fails instead of waiting out the hour.
            report = await asyncio.wait_for(job, timeout=30)
        refused = sim.stats.rate_limited
        assert refused in (3, 4)
        assert (report.sent, report.failed, report.unknown) == (50, 200, 0)
        assert report.stop_reason == "stopped"
        assert {o.outcome for o in outcomes} == {"failed"}
        gave_up = [o for o in outcomes if "stopped waiting" in o.reason]
        assert len(gave_up) == 50 * refused and "nothing was sent" in gave_up[0].reason
        ends = [orjson.loads(line) for line in read(journal).splitlines()[1:]]
        assert [e.get("outcome") for e in ends if "end" in e].count("failed") == refused
        assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(50)}
        # The journal says so: a resumed job skips the 50 sent and sends the rest.
        header = job_header(WEEKLY, destination=sim.base_url)
        with contextlib.closing(Journal.open(journal, header, fsync="never")) as resumed:
            assert (resumed.loaded_sent, resumed.loaded_unknown) == (50, 0)


async def test_batches_waiting_for_the_rate_limiter_at_a_hard_stop_are_sent_on_resume(
    tmp_path: Path, sim: BrazeSimulator
) -> None:
    """A batch is journaled as begun only once the limiter admitted it: the job cancelled while
    four batches wait behind an exhausted budget reports them failed (never sent), and the
    resumed job sends them, instead of leaving them 'unknown' for ever."""
    journal = tmp_path / "job.journal"
    outcomes: list[RecipientOutcome] = []
    async with BrazeClient(api_key=KEY, base_url=sim.base_url, rate_limits=ONE_AN_HOUR) as braze:
        job = await behind_a_spent_budget(braze, 400, journal, outcomes)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    assert read(journal).count('"begin"') == 1
    assert len(outcomes) == 200 and {o.outcome for o in outcomes} == {"failed"}
    assert "not sent" in outcomes[0].reason and "rate limiter" in outcomes[0].reason

    async with BrazeClient(api_key=KEY, base_url=sim.base_url, rate_limits=None) as braze:
        report = await braze.send_bulk(Campaign("weekly"), users(400), journal=journal)
    assert (report.already_sent, report.sent, report.unknown) == (50, 350, 0)
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(400)}


async def test_a_cancelled_job_reports_every_recipient_in_flight() -> None:
    """Cancelled with one batch in flight and one waiting for the limiter: on_outcome hears of
    both (unknown, and failed: never sent), so a failures file holds everyone not sent."""
    sender = ScriptedSender()
    sender.hang, sender.queue = {"u50"}, {"u100"}
    outcomes: list[RecipientOutcome] = []
    job = asyncio.ensure_future(
        bulk_send(sender, users(1_000), WEEKLY, concurrency=3, on_outcome=outcomes.append)
    )
    await sender.hanging.wait()
    await sender.queued.wait()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    by_outcome: dict[str, set[str]] = {}
    for o in outcomes:
        assert o.recipient is not None
        by_outcome.setdefault(o.outcome, set()).add(o.recipient.external_user_id or "")
    assert by_outcome == {
        "unknown": {f"u{i}" for i in range(50, 100)},
        "failed": {f"u{i}" for i in range(100, 150)},
    }


class Cursor:
    """An async input that is not a generator, like a database cursor: it hands out what it
    holds, then waits for rows that never come."""

    def __init__(self, rows: list[Recipient]) -> None:
        self.rows = rows

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> Recipient:
        if not self.rows:
            await asyncio.Event().wait()  # the database has nothing more yet
        return self.rows.pop(0)


def from_a_queue(rows: list[Recipient]) -> AsyncIterator[Recipient]:
    queue: asyncio.Queue[Recipient] = asyncio.Queue()
    for row in rows:
        queue.put_nowait(row)

    async def source() -> AsyncIterator[Recipient]:
        while True:
            yield await queue.get()

    return source()


@pytest.mark.parametrize("idle", [from_a_queue, Cursor], ids=["queue", "cursor"])
async def test_a_stop_ends_a_job_whose_input_is_idle(
    idle: Callable[[list[Recipient]], AsyncIterator[Recipient]],
) -> None:
    """70 recipients, then the input waits for more: once the first batch is answered, the
    stop ends the job, the 20 of the half-filled batch not attempted (never sent), the report
    stopped there."""
    sender = ScriptedSender()
    stop = asyncio.Event()
    answered = asyncio.Event()

    def on_progress(progress: BulkProgress) -> None:
        if progress.requests:
            answered.set()

    job = asyncio.ensure_future(
        bulk_send(sender, idle(list(users(70))), WEEKLY, stop=stop, on_progress=on_progress)
    )
    await asyncio.wait_for(answered.wait(), timeout=10)
    for _ in range(5):  # the input is read to its end: the job waits on it
        await asyncio.sleep(0)
    stop.set()
    report = await asyncio.wait_for(job, timeout=5)
    assert report.interrupted and report.stop_reason == "stopped"
    assert (report.sent, report.not_attempted, report.total) == (50, 20, 70)
    assert (report.stopped_at, report.stopped_at_line) == (50, None)
    assert sender.ids() == [f"u{i}" for i in range(50)]


async def test_a_stop_takes_back_what_any_sender_has_not_admitted() -> None:
    """A sender of the caller's (not a BrazeClient) with three batches waiting for its rate
    limiter: the stop returns at once, those batches failed (never sent), the next one not
    attempted, and what was sent before reported sent."""
    sender = ScriptedSender()
    sender.queue = {"u100", "u150", "u200"}
    outcomes: list[RecipientOutcome] = []
    stop = asyncio.Event()
    job = asyncio.ensure_future(
        bulk_send(
            sender, users(1_000), WEEKLY, concurrency=3, stop=stop, on_outcome=outcomes.append
        )
    )
    while sender.waiting < 3:  # then the producer waits for a slot, holding u250's batch
        sender.queued.clear()
        await sender.queued.wait()
    stop.set()
    report = await asyncio.wait_for(job, timeout=10)  # bounded: a regression hangs
    assert (report.sent, report.failed, report.not_attempted) == (100, 150, 50)
    assert report.stopped_at == 250 and report.stop_reason == "stopped"
    assert {o.recipient.external_user_id for o in outcomes if o.recipient} == {
        f"u{i}" for i in range(100, 250)
    }
    assert "not sent: the job was stopped before the rate limiter" in outcomes[0].reason


class DeafSender(CampaignSender):
    """A sender of the caller's that accepts ``on_admitted`` and never calls it."""

    async def send_campaign_request(
        self,
        request: CampaignTriggerRequest,
        *,
        on_admitted: Admitted | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        return SendResponse(dispatch_id="d", message="success")


async def test_a_sender_that_never_calls_the_hook_still_has_its_sends_journaled(
    tmp_path: Path,
) -> None:
    """What was sent is journaled even when the sender skipped ``on_admitted``: a resumed job
    does not send it again."""
    journal = tmp_path / "job.journal"
    first = await bulk_send(DeafSender(), users(120), WEEKLY, journal=journal)
    assert first.sent == 120
    again = ScriptedSender()
    report = await bulk_send(again, users(120), WEEKLY, journal=journal)
    assert report.already_sent == 120 and again.sent == []


# -- a job whose every request fails the same way stops -----------------------------------------


async def test_a_job_stops_when_braze_is_unreachable_request_after_request(
    tmp_path: Path,
) -> None:
    """Every request never sent, retries spent: after a few in a row the job halts, instead of
    failing every row of the input; the rest is resendable."""
    n = 20_000
    journal = tmp_path / "job.journal"
    down = ScriptedSender()
    down.unreachable = {f"u{i}" for i in range(0, n, 50)}
    report = await bulk_send(down, users(n), WEEKLY, journal=journal, concurrency=4)
    assert report.interrupted
    assert f"{STOP_AFTER_NEVER_SENT} requests in a row" in (report.stop_reason or "")
    assert "could not reach Braze" in (report.stop_reason or "")
    assert report.sent == 0 and report.unknown == 0
    assert STOP_AFTER_NEVER_SENT <= report.requests <= STOP_AFTER_NEVER_SENT + 4
    assert report.failed == 50 * report.requests
    assert report.total == report.failed + report.not_attempted < n

    back = ScriptedSender()
    again = await bulk_send(back, users(n), WEEKLY, journal=journal)
    assert again.ok and again.sent == n
    assert sorted(back.ids()) == sorted(f"u{i}" for i in range(n))


async def test_a_job_against_a_closed_port_stops_quickly() -> None:
    """The real client, connection refused on every attempt: the job stops on its own."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nobody listens there

    policy = RetryPolicy(attempts=2)
    async with BrazeClient(
        api_key=KEY, base_url=f"http://127.0.0.1:{port}", retry=policy, clock=FakeClock()
    ) as b:
        report = await asyncio.wait_for(
            b.send_bulk(Campaign("weekly"), users(100_000), concurrency=2), timeout=30
        )
    assert report.interrupted and "could not reach Braze" in (report.stop_reason or "")
    assert report.requests <= STOP_AFTER_NEVER_SENT + 2 and report.sent == 0


async def test_a_request_that_gets_through_resets_the_count() -> None:
    """Never-sent failures mixed with successes are transient: the job goes on to the end."""
    sender = ScriptedSender()
    sender.unreachable = {f"u{i}" for i in range(0, 5_000, 100)}  # every other batch
    report = await bulk_send(sender, users(5_000), WEEKLY, concurrency=1)
    assert not report.interrupted and report.stop_reason is None
    assert (report.sent, report.failed) == (2_500, 2_500)


# -- after a stop: what was read, and from where nothing was attempted --------------------------


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_after_a_stop_the_report_says_from_where_nothing_was_attempted(
    tmp_path: Path, concurrency: int
) -> None:
    """Every item before ``stopped_at`` was sent or has an outcome; none at or after it was
    sent. So a job without a journal can be finished from ``stopped_at_line`` on; a journal
    notes the same in its last record."""
    rows: list[Recipient | InputRow] = [
        InputRow(line=i + 2, recipient=Recipient(external_user_id=f"u{i}")) for i in range(2_000)
    ]
    rows[260] = InputRow(line=262, reason="email: must be an email address")
    sender = ScriptedSender()
    sender.unauthorized = {"u200"}
    outcomes: list[RecipientOutcome] = []
    journal = tmp_path / "job.journal"
    report = await bulk_send(
        sender, rows, WEEKLY, concurrency=concurrency, on_outcome=outcomes.append, journal=journal
    )
    assert report.interrupted and "401" in (report.stop_reason or "")
    last = orjson.loads(read(journal).splitlines()[-1])
    assert last["stopped"] == report.stop_reason and last["read"] == report.total
    assert (last["first_not_attempted"], last["line"]) == (
        report.stopped_at,
        report.stopped_at_line,
    )
    at = report.stopped_at
    assert at is not None and report.stopped_at_line == at + 2
    delivered = {int(i[1:]) for batch in sender.sent if batch[0] != "u200" for i in batch}
    told = {o.position for o in outcomes}
    assert delivered.isdisjoint(told)
    assert set(range(at)) <= delivered | told
    assert all(p < at for p in delivered)
    # Past the stopping point, items read are not attempted, or rejected (a rejected row
    # needs no request): every item read is in exactly one count.
    assert {o.outcome for o in outcomes if o.position >= at} <= {"rejected"}
    assert report.total == at + report.not_attempted + len([p for p in told if p >= at])
    assert report.sent + report.rejected + report.failed == len(delivered) + len(told)


async def test_a_job_that_read_everything_names_no_stopping_point() -> None:
    """A job that attempted every item has no ``stopped_at``."""
    report = await bulk_send(ScriptedSender(), users(120), WEEKLY)
    assert report.ok and report.stopped_at is None and report.stopped_at_line is None


# -- property: across any sequence of outcomes and crashes, nobody is messaged twice ----------


class RandomSender(CampaignSender):
    """Answers each request with the next outcome of a script; "crash" hangs forever once
    admitted (in flight at the kill), "queued" before admission (waiting for the limiter)."""

    def __init__(self, script: list[str], log: dict[str, list[str]]) -> None:
        self.script = iter(script)
        self.log = log
        self.crashed = asyncio.Event()

    async def send_campaign_request(
        self,
        request: CampaignTriggerRequest,
        *,
        on_admitted: Admitted | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        outcome = next(self.script, "sent")
        for r in request.recipients or ():
            self.log.setdefault(r.external_user_id or "", []).append(outcome)
        if outcome == "queued":  # killed while waiting for the rate limiter: never sent
            self.crashed.set()
            await asyncio.Event().wait()
        if on_admitted is not None:
            on_admitted()
        if outcome == "crash":
            self.crashed.set()
            await asyncio.Event().wait()
        if outcome == "failed":
            raise BrazeServerError("down", status_code=500)
        if outcome == "unknown":
            raise BrazeUnknownOutcomeError("no answer")
        return SendResponse(dispatch_id="d", message="success")


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
        st.lists(st.sampled_from(["sent", "failed", "unknown", "crash", "queued"]), max_size=8),
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
            # Someone reaches Braze again only after Braze refused them or a kill came while
            # they waited for the rate limiter (nothing was sent either way).
            assert all(o in ("failed", "queued") for o in outcomes[:-1]), (uid, outcomes)
            assert outcomes[-1] != "queued", (uid, outcomes)
            if outcomes[-1] == "sent":
                assert uid not in unknown
            elif outcomes[-1] in ("unknown", "crash"):
                assert uid in unknown
        confirmed = {u for u, o in log.items() if o[-1] == "sent"}
        assert final.sent + final.already_sent == len(confirmed)
        # The only people never sent are those whose batch was in flight when a kill came.
        assert len(confirmed) + len(unknown) == n

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(os.path.join(tmp, "job.journal")))


class Stalled(CampaignSender):
    """A sender whose requests are admitted and then wait until the test lets them answer."""

    def __init__(self, expected: int) -> None:
        self.answer = asyncio.Event()
        self.in_flight = 0
        self.expected = expected
        self.all_in_flight = asyncio.Event()

    async def send_campaign_request(
        self,
        request: CampaignTriggerRequest,
        *,
        on_admitted: Admitted | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        if on_admitted is not None:
            on_admitted()
        self.in_flight += 1
        if self.in_flight == self.expected:
            self.all_in_flight.set()
        await self.answer.wait()
        return SendResponse(dispatch_id="d", message="success")


async def test_a_job_cancelled_while_its_last_answers_are_awaited_leaves_nothing_running() -> None:
    """Cancelled after the input is read, while requests are in flight: those requests are
    abandoned and reported unknown, and no task of the job outlives it."""
    sender = Stalled(expected=3)  # 50 + 50 + 20
    outcomes: list[RecipientOutcome] = []
    before = asyncio.all_tasks()
    job = asyncio.ensure_future(
        bulk_send(
            sender,
            users(120),
            WEEKLY,
            concurrency=4,
            on_outcome=outcomes.append,
        )
    )
    await sender.all_in_flight.wait()
    for _ in range(5):
        await asyncio.sleep(0)  # the input is exhausted: the job awaits its last answers
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert asyncio.all_tasks() - before == set()  # no request task of the job runs on
    assert len(outcomes) == 120
    assert {o.outcome for o in outcomes} == {"unknown"}


def test_the_table_of_a_batchs_life_names_every_state_in_order() -> None:
    """The module docstring's table is the code's: one row per state of ``_State``, in the
    order a batch goes through them, and each move goes forward."""
    doc = _bulk.__doc__ or ""
    table = doc[doc.index("state      the journal holds") :]
    rows = [line.split()[0] for line in table.splitlines()[2:] if line[:1].isalpha()]
    states = list(_bulk._State)
    assert rows[: len(states)] == [s.value for s in states]
    for state, moves in _bulk._MOVES.items():
        assert all(states.index(to) > states.index(state) for to in moves)
