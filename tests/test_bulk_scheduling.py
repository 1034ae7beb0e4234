"""Bulk scheduling: ``send_bulk(target, rows, schedule=Schedule(...))`` schedules any number
of recipients, 50 a request, with the journal, resume and report of an immediate bulk job,
against the simulator on one fake clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from braze_async import (
    BrazeClient,
    BrazeValidationError,
    Campaign,
    JournalError,
    Recipient,
    Schedule,
    SendResponse,
)
from braze_async._bulk import bulk_send
from braze_async._schedule import Scheduled
from braze_async._targets import Target
from braze_async.cli import main
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio

#: The clock, sim and braze fixtures: a simulator and a client on one fake clock.
pytest_plugins = ["sim_on_clock"]

UTC = dt.timezone.utc
#: The fake clock's start (as sim_on_clock's): 2023-11-14 00:00 UTC.
START = 1_699_920_000.0
NOW = dt.datetime.fromtimestamp(START, UTC)
TOMORROW_9 = dt.datetime(2023, 11, 15, 9, tzinfo=UTC)
WEEKLY = Campaign("weekly")


def users(n: int) -> list[Recipient]:
    return [Recipient(external_user_id=f"u{i}") for i in range(n)]


def records(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def delivered_count(sim: BrazeSimulator) -> Counter[str]:
    return Counter(d.recipient for d in sim.delivered())


async def test_a_bulk_scheduled_send_is_delivered_at_its_time_each_recipient_once(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    """120 recipients: 3 creates, nothing delivered before the time, each once at it; each
    batch's schedule_id in the report and in its end record."""
    journal = tmp_path / "job.journal"
    report = await braze.send_bulk(
        WEEKLY, users(120), schedule=Schedule(TOMORROW_9), journal=journal
    )
    assert (report.sent, report.requests, report.ok) == (120, 3, True)
    assert len(set(report.schedule_ids)) == 3
    ends = [r for r in records(journal) if "end" in r]
    assert [r["schedule_id"] for r in ends] == report.schedule_ids
    assert records(journal)[0]["schedule"] == '{"time":"2023-11-15T09:00:00Z"}'
    clock.advance((TOMORROW_9 - NOW).total_seconds() - 1)
    assert sim.delivered() == []
    clock.advance(1)
    delivered = sim.delivered()
    assert delivered_count(sim) == Counter(f"external_user_id:u{i}" for i in range(120))
    assert {d.schedule_id for d in delivered} == set(report.schedule_ids)
    assert {d.sent_at for d in delivered} == {TOMORROW_9}
    clock.advance(86400)
    assert len(sim.delivered()) == 120  # once each


class AfterCreates:
    """A client that calls ``then(n)`` once its n-th create reached Braze, before the job
    hears of it (and so before its end record)."""

    def __init__(self, client: BrazeClient, then: Callable[[int], Awaitable[None]]) -> None:
        self.client = client
        self.then = then
        self.answers = 0

    async def _send_batch(
        self,
        target: Target,
        recipients: Sequence[Recipient],
        *,
        riders: Callable[[], Sequence[Recipient]] | None = None,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
        schedule: Schedule | None = None,
    ) -> SendResponse | Scheduled:
        answer = await self.client._send_batch(
            target, recipients, on_admitted=on_admitted, stop=stop, schedule=schedule
        )
        self.answers += 1
        await self.then(self.answers)
        return answer


async def test_a_crash_mid_job_then_resume_schedules_nobody_twice(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    """Killed after the 3rd create reached Braze and before its end record: the resumed job
    skips the 2 batches journaled as scheduled, reports the 3rd unknown (it was scheduled: it
    is not scheduled again), and schedules the rest; every recipient is delivered once."""
    journal = tmp_path / "job.journal"
    schedule = Schedule(TOMORROW_9, in_local_time=True)
    job: asyncio.Future[Any] | None = None

    async def killed_after_third(answers: int) -> None:
        if answers == 3:  # the process dies: the job's task ends here, no end record
            assert job is not None
            job.cancel()
            await asyncio.Event().wait()

    job = asyncio.ensure_future(
        bulk_send(
            AfterCreates(braze, killed_after_third),
            users(260),
            WEEKLY,
            concurrency=1,
            journal=journal,
            destination=braze.base_url,
            schedule=schedule,
        )
    )
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(job, timeout=10)
    first_ids = [r["schedule_id"] for r in records(journal) if "end" in r]
    assert len(first_ids) == 2

    report = await asyncio.wait_for(
        braze.send_bulk(WEEKLY, users(260), schedule=schedule, journal=journal, concurrency=1),
        timeout=10,
    )
    assert (report.already_sent, report.unknown, report.sent) == (100, 50, 110)
    assert report.schedule_ids[:2] == first_ids
    assert len(report.schedule_ids) == 2 + 3
    clock.advance(3 * 86400)
    assert delivered_count(sim) == Counter(f"external_user_id:u{i}" for i in range(260))
    assert len({d.schedule_id for d in sim.delivered()}) == 6  # 3 + 3: none made twice


async def test_a_time_that_passes_during_the_job_stops_it_the_late_batch_never_sent(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    """The time passes after the first create: the next batch leaves nothing (no begin
    record), is failed, and the job stops; a resume is refused before anything is sent."""
    journal = tmp_path / "job.journal"
    at = NOW + dt.timedelta(minutes=5)

    async def time_passes(answers: int) -> None:
        clock.advance(600)

    report = await bulk_send(
        AfterCreates(braze, time_passes),
        users(200),
        WEEKLY,
        concurrency=1,
        journal=journal,
        destination=braze.base_url,
        schedule=Schedule(at),
    )
    assert (report.sent, report.failed, report.stopped_at) == (50, 50, 100)
    assert report.stop_reason is not None and "has passed" in report.stop_reason
    assert report.requests == 1
    assert sum("begin" in r for r in records(journal)) == 1
    assert sim.stats.requests == 1
    with pytest.raises(BrazeValidationError, match="has passed") as info:
        await braze.send_bulk(WEEKLY, users(200), schedule=Schedule(at), journal=journal)
    assert info.value.field == "schedule.at"
    assert sim.stats.requests == 1


async def test_a_past_time_is_refused_before_the_journal_is_opened(
    braze: BrazeClient, sim: BrazeSimulator, tmp_path: Path
) -> None:
    """By the client's clock, before any file or request."""
    journal = tmp_path / "job.journal"
    with pytest.raises(BrazeValidationError) as info:
        await braze.send_bulk(
            WEEKLY, users(3), schedule=Schedule(NOW - dt.timedelta(seconds=1)), journal=journal
        )
    assert info.value.field == "schedule.at"
    with pytest.raises(BrazeValidationError, match="must be a Schedule"):
        await braze.send_bulk(WEEKLY, users(3), schedule="tomorrow")  # type: ignore[arg-type]
    assert not journal.exists()
    assert sim.stats.requests == 0


async def test_a_journal_resumes_only_with_the_schedule_it_was_started_with(
    braze: BrazeClient, sim: BrazeSimulator, tmp_path: Path
) -> None:
    """An immediate send's journal is refused by a scheduled job and the other way round, as
    is another time: resuming would mix sends and schedules, or two times."""
    sent = tmp_path / "sent.journal"
    await braze.send_bulk(WEEKLY, users(3), journal=sent)
    assert "schedule" not in records(sent)[0]  # an immediate send's header is as before
    with pytest.raises(JournalError, match="different schedule"):
        await braze.send_bulk(WEEKLY, users(3), journal=sent, schedule=Schedule(TOMORROW_9))
    scheduled = tmp_path / "scheduled.journal"
    await braze.send_bulk(WEEKLY, users(3), journal=scheduled, schedule=Schedule(TOMORROW_9))
    later = Schedule(TOMORROW_9 + dt.timedelta(hours=1))
    with pytest.raises(JournalError, match="scheduled a second time"):
        await braze.send_bulk(WEEKLY, users(3), journal=scheduled, schedule=later)
    with pytest.raises(JournalError, match="different schedule"):
        await braze.send_bulk(WEEKLY, users(3), journal=scheduled)
    assert sim.stats.requests == 2


async def test_an_old_journal_without_schedule_keys_still_resumes(
    braze: BrazeClient, sim: BrazeSimulator, tmp_path: Path
) -> None:
    """A journal written before scheduling existed (no ``schedule`` in its header, no
    ``schedule_id`` in its end records) resumes as it did."""
    journal = tmp_path / "old.journal"
    await braze.send_bulk(WEEKLY, users(50), journal=journal)
    lines = journal.read_bytes().splitlines()
    header = orjson.loads(lines[0])
    assert "schedule" not in header
    end = next(orjson.loads(x) for x in lines if b'"end"' in x)
    assert set(end) == {"end", "outcome", "dispatch_id"}
    report = await braze.send_bulk(WEEKLY, users(80), journal=journal)
    assert (report.already_sent, report.sent, report.schedule_ids) == (50, 30, [])


# -- the command line -----------------------------------------------------------------------


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAZE_API_KEY", raising=False)
    monkeypatch.delenv("BRAZE_REST_URL", raising=False)


def users_file(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "users.jsonl"
    path.write_bytes(b"".join(b'{"external_user_id": "u%d"}\n' % i for i in range(n)))
    return path


def ahead(**delta: float) -> str:
    return (dt.datetime.now(UTC) + dt.timedelta(**delta)).replace(microsecond=0).isoformat()


def send(*args: str | Path) -> int:
    return main(["send", *(str(a) for a in args)])


@pytest.mark.usefixtures("no_credentials")
def test_the_cli_schedules_with_at_on_the_simulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--simulate --at``: 120 recipients in 3 schedule creates, the journal keeping each
    schedule_id and naming the schedule (a resume is tested above, in process: each
    simulator of --simulate is a new endpoint, whose journal another refuses)."""
    path = users_file(tmp_path, 120)
    journal = tmp_path / "job.journal"
    at = ahead(days=1)
    argv = ("--simulate", "--campaign-id", "weekly", "--recipients", path, "--journal", journal)
    assert send(*argv, "--at", at, "--in-local-time") == 0
    err = capsys.readouterr().err
    assert f"scheduling for {at[:19]} in each recipient's time zone" in err
    assert "120 scheduled" in err and "in 3 requests" in err
    assert f"3 schedules for {at[:19]}" in err
    ids = [r["schedule_id"] for r in records(journal) if "end" in r]
    assert len(set(ids)) == 3
    assert orjson.loads(records(journal)[0]["schedule"])["in_local_time"] is True


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param(("--in-local-time",), "--in-local-time needs --at", id="local-without-at"),
        pytest.param(("--at", "2026-12-24T09:00:00"), "UTC offset", id="no-offset"),
        pytest.param(("--at", "tomorrow"), "not an ISO 8601 time", id="not-a-time"),
        pytest.param(("--at", "2001-01-01T09:00:00Z"), "--at: 2001-01-01", id="past"),
    ],
)
def test_bad_at_flags_are_refused_before_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], message: str
) -> None:
    path = users_file(tmp_path, 3)
    assert send("--simulate", "--campaign-id", "w", "--recipients", path, *flags) == 2
    assert message in capsys.readouterr().err


@pytest.mark.usefixtures("no_credentials")
def test_the_dry_run_tells_whether_every_create_can_be_made_before_the_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The requests, how long, and in time or not at the budget (1 request a minute here:
    the 3rd of 3 leaves 2 minutes after the first)."""
    path = users_file(tmp_path, 120)
    base = ("--dry-run", "--simulate", "--campaign-id", "w", "--recipients", path)
    slow = ("--external-id-rate", "1/60")
    assert send(*base, *slow, "--at", ahead(hours=1)) == 0
    out = capsys.readouterr().out
    assert "3 schedule creates for" in out
    assert "in time: the budget lets the last one leave" in out
    assert send(*base, *slow, "--at", ahead(seconds=60)) == 0
    out = capsys.readouterr().out
    assert "NOT in time" in out and "the job stops once the time has passed" in out
    # A local time must reach the earliest zone (UTC+14) after the last create.
    assert send(*base, "--at", ahead(hours=10), "--in-local-time") == 0
    out = capsys.readouterr().out
    assert "NOT in time" in out and "earliest time zone (UTC+14)" in out
