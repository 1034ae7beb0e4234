"""A Content Card's ``expire_at`` at most 30 days after the send (content_cards_object.md:
"a maximum expiration time exists of 30 days"), checked by the client's clock before any
request: for an immediate send at the moment it is built, for a scheduled one against the
schedule's time; a time without an offset read strictly, in every zone (UTC+14 to UTC-12).
Against the simulator on the same fake clock (sim_on_clock)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from braze_async import (
    BrazeClient,
    BrazeValidationError,
    BulkProgress,
    Messages,
    Recipient,
    Schedule,
)
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio

#: The clock, sim and braze fixtures: a simulator and a client on one fake clock.
pytest_plugins = ["sim_on_clock"]

UTC = dt.timezone.utc
#: sim_on_clock's start: 2023-11-14 00:00 UTC.
NOW = dt.datetime(2023, 11, 14, tzinfo=UTC)
U1 = [Recipient(external_user_id="u1")]
FIELD = "messages.content_card.expire_at"


def days(n: float) -> str:
    """NOW + *n* days, as an ISO 8601 UTC time."""
    return (NOW + dt.timedelta(days=n)).isoformat()


def card(expire_at: str, **extra: Any) -> Messages:
    return Messages(
        content_card={
            "type": "CLASSIC",
            "title": "t",
            "description": "d",
            "expire_at": expire_at,
            **extra,
        }
    )


async def refused(braze: BrazeClient, sim: BrazeSimulator, target: Messages) -> str:
    """The refusal of *target*'s send, made before any request."""
    with pytest.raises(BrazeValidationError) as info:
        await braze.send(target, recipients=U1)
    assert info.value.field == FIELD
    assert "30 days" in str(info.value) and "content_cards_object.md" in str(info.value)
    assert sim.stats.requests == 0
    return str(info.value)


async def test_a_card_expiring_in_29_days_is_sent(braze: BrazeClient, sim: BrazeSimulator) -> None:
    """Within the 30 days: sent, and the simulator takes it."""
    response = await braze.send(card(days(29)), recipients=U1)
    assert response.dispatch_id
    assert sim.stats.accepted == 1


async def test_a_card_expiring_in_31_days_is_refused_before_any_request(
    braze: BrazeClient, sim: BrazeSimulator
) -> None:
    """Past the 30 days by the client's clock: a BrazeValidationError naming the field."""
    await refused(braze, sim, card(days(31)))


@pytest.mark.parametrize(
    ("expire_at", "extra", "ok"),
    [
        pytest.param("2023-12-14T00:00:00Z", {}, True, id="utc-30-days"),
        pytest.param("2023-12-14T00:00:01Z", {}, False, id="utc-30-days-and-a-second"),
        # Without an offset the wall-clock time is read in every zone: at UTC-12 it comes
        # 12 hours after UTC.
        pytest.param("2023-12-13T12:00:00", {}, True, id="no-offset-read-at-utc-12"),
        pytest.param("2023-12-13T12:00:01", {}, False, id="no-offset-a-second-late"),
        pytest.param("2023-12-13", {}, True, id="a-date"),
        pytest.param("2023-12-14", {}, False, id="a-date-read-at-utc-12"),
        # In users' local time the offset written does not fix the instant either.
        pytest.param("2023-12-13T12:00:00Z", {"expire_in_local_time": True}, True, id="local"),
        pytest.param(
            "2023-12-13T12:00:01Z", {"expire_in_local_time": True}, False, id="local-a-second-late"
        ),
        pytest.param("2023-12-14T09:00:00+09:00", {}, True, id="an-offset-is-an-instant"),
    ],
)
async def test_a_time_is_read_strictly_at_the_edges(
    braze: BrazeClient, sim: BrazeSimulator, expire_at: str, extra: dict[str, Any], ok: bool
) -> None:
    """The latest instant the time can name is within 30 days of the send, or refused."""
    target = card(expire_at, **extra)
    if ok:
        await braze.send(target, recipients=U1)
        assert sim.stats.accepted == 1
    else:
        await refused(braze, sim, target)


async def test_send_one_is_refused_too(braze: BrazeClient, sim: BrazeSimulator) -> None:
    """A batched send checks the card as its request is built."""
    with pytest.raises(BrazeValidationError) as info:
        await braze.send_one(card(days(31)), U1[0])
    assert info.value.field == FIELD
    assert sim.stats.requests == 0


async def test_the_clock_moves_the_line(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock
) -> None:
    """The same card, refused today, is sent two days later (its expiry is nearer)."""
    target = card(days(31))
    with pytest.raises(BrazeValidationError, match="30 days"):
        await braze.send(target, recipients=U1)
    clock.advance(2 * 86400)
    await braze.send(target, recipients=U1)
    assert sim.stats.requests == 1


async def test_a_schedule_counts_from_its_time(braze: BrazeClient, sim: BrazeSimulator) -> None:
    """Scheduled 10 days ahead: expiring 35 days ahead is 25 days after the send (OK), 45
    days ahead is 35 days after it (refused before any request)."""
    at = Schedule(NOW + dt.timedelta(days=10))
    scheduled = await braze.schedule(card(days(35)), at, recipients=U1)
    assert scheduled.schedule_id
    with pytest.raises(BrazeValidationError) as info:
        await braze.schedule(card(days(45)), at, recipients=U1)
    assert info.value.field == FIELD
    assert sim.stats.requests == 1


async def test_a_local_time_schedule_may_leave_14_hours_before_its_utc_reading(
    braze: BrazeClient, sim: BrazeSimulator
) -> None:
    """A local-time schedule's wall-clock time comes first at UTC+14: 30 days from there."""
    at = Schedule(NOW + dt.timedelta(days=10), in_local_time=True)  # first at 11-23 10:00Z
    await braze.schedule(card("2023-12-23T10:00:00Z"), at, recipients=U1)
    with pytest.raises(BrazeValidationError) as info:
        await braze.schedule(card("2023-12-23T10:00:01Z"), at, recipients=U1)
    assert info.value.field == FIELD
    assert sim.stats.requests == 1


async def test_an_update_checks_the_card_against_the_new_schedule(
    braze: BrazeClient, sim: BrazeSimulator
) -> None:
    """Moving a scheduled card's send earlier can put its expiry past the 30 days; new
    messages are checked against the new schedule."""
    scheduled = await braze.schedule(
        card(days(35)), Schedule(NOW + dt.timedelta(days=10)), recipients=U1
    )
    with pytest.raises(BrazeValidationError) as info:
        await braze.update_schedule(scheduled, Schedule(NOW + dt.timedelta(days=1)))
    assert info.value.field == FIELD
    with pytest.raises(BrazeValidationError):
        await braze.update_schedule(
            scheduled, Schedule(NOW + dt.timedelta(days=10)), messages=card(days(45))
        )
    assert sim.stats.requests == 1


async def test_each_bulk_batch_is_checked_at_its_own_time(
    braze: BrazeClient, sim: BrazeSimulator, clock: FakeClock
) -> None:
    """The clock passes the line between batches: the first batch, built while the card is
    more than 30 days out, is refused before it leaves (its recipients rejected, with the
    reason), the job goes on, and the later batches, built two hours later, are sent:
    nothing is lost from the report."""
    target = card((NOW + dt.timedelta(days=30, hours=1)).isoformat())

    def two_hours_pass(progress: BulkProgress) -> None:
        if progress.rejected == 50 and clock.time() - NOW.timestamp() < 3600:
            clock.advance(2 * 3600)

    users = [Recipient(external_user_id=f"u{i}") for i in range(150)]
    report = await braze.send_bulk(target, users, concurrency=1, on_progress=two_hours_pass)
    assert (report.sent, report.rejected, report.failed, report.unknown) == (100, 50, 0, 0)
    assert report.ok is False and report.stop_reason is None
    rejected = [d for d in report.details if d.outcome == "rejected"]
    assert [d.recipient for d in rejected] == users[:50]
    assert all(FIELD in d.reason and "30 days" in d.reason for d in rejected)
    assert sim.stats.requests == 2


async def test_a_scheduled_bulk_job_rejects_each_batch_the_schedule_puts_past_the_line(
    braze: BrazeClient, sim: BrazeSimulator
) -> None:
    """Scheduled 10 days ahead, a card expiring 45 days ahead: every batch is rejected with
    the reason, none leaves."""
    users = [Recipient(external_user_id=f"u{i}") for i in range(60)]
    report = await braze.send_bulk(
        card(days(45)), users, schedule=Schedule(NOW + dt.timedelta(days=10))
    )
    assert (report.sent, report.rejected, report.failed) == (0, 60, 0)
    assert all(FIELD in d.reason for d in report.details)
    assert sim.stats.requests == 0
