"""Scheduled sends, a mixin of :class:`~braze_async.BrazeClient`: ``schedule``,
``update_schedule``, ``delete_schedule`` and ``scheduled_broadcasts``.

The values and request bodies are in :mod:`braze_async._schedule`, each rule naming its page;
this module only checks the time against the client's clock and picks, for each endpoint,
its rate-limit budget and whether an unknown outcome may be retried (api_limits.md):

===================================  ===========================  =========================
endpoint                             budget                       unknown outcome
===================================  ===========================  =========================
``/campaigns/trigger/schedule/create``  the trigger sends' (broadcast  not retried: a repeat
``/canvas/trigger/schedule/create``     one without recipients)      schedules it twice
``/messages/schedule/create``        the shared 250,000 an hour   not retried
``.../update``, ``.../delete``       the shared 250,000 an hour   retried: a repeat sets
                                                                  the same state
``GET /messages/scheduled_broadcasts``  the shared 250,000 an hour  retried: a read
===================================  ===========================  =========================
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from ._errors import BrazeValidationError
from ._limits import Priority
from ._messages import Messages, MessagesSendRequest
from ._models import CampaignTriggerRequest, CanvasTriggerRequest, Properties, Recipient
from ._request import Reader
from ._schedule import (
    Schedule,
    ScheduleCreateRequest,
    Scheduled,
    ScheduledBroadcast,
    ScheduleDeleteRequest,
    ScheduleUpdateRequest,
    read_broadcasts,
    read_created,
    read_done,
)
from ._targets import Target, check_target, named
from ._wire import dumps

__all__ = ["Scheduling", "checked_schedule"]

T = TypeVar("T")


class _Client(Protocol):
    """What the scheduling methods use of the client they are mixed into (not imported: the
    client imports this module)."""

    #: The request path; its ``clock`` is the client's.
    _path: Any
    #: The rate limiter's lane of this client's (or view's) batches.
    _lane: Priority

    async def _call(
        self,
        path: str,
        body: bytes | None,
        read: Reader[T],
        *,
        audience: bool | None,
        retry_ambiguous: bool,
        on_admitted: Callable[[], object] | None = None,
        recipients: int = 0,
        stop: asyncio.Event | None = None,
        priority: Priority = "interactive",
        audience_key: str | None = None,
    ) -> T: ...


def _checked(schedule: object, client: _Client) -> Schedule:
    if not isinstance(schedule, Schedule):
        raise BrazeValidationError("schedule", f"must be a Schedule, not {type(schedule).__name__}")
    schedule.check_future(client._path.clock.time())
    return schedule


def checked_schedule(schedule: object, client: Any) -> Schedule | None:
    """A bulk job's ``schedule`` (None: an immediate send), refused before the job starts
    when it is not a :class:`Schedule` or its time has passed by *client*'s clock."""
    return None if schedule is None else _checked(schedule, client)


def _scheduled(value: object) -> Scheduled:
    if not isinstance(value, Scheduled):
        raise BrazeValidationError("scheduled", f"must be a Scheduled, not {type(value).__name__}")
    return value


class Scheduling:
    """The schedule endpoints (see the module docstring for budgets and retries)."""

    async def schedule(
        self: _Client,
        target: Target,
        schedule: Schedule,
        *,
        recipients: Sequence[Recipient] | None = None,
        audience: Properties | None = None,
        broadcast: bool | None = None,
        segment_id: str | None = None,
    ) -> Scheduled:
        """Schedule *target* for later, to the same recipients, audience or segment a
        ``send`` takes (same rules), and return the :class:`Scheduled` (keep its
        ``schedule_id`` to update or cancel it)::

            at = datetime(2026, 12, 24, 9, tzinfo=ZoneInfo("Europe/Paris"))
            scheduled = await braze.schedule(
                Campaign("xmas"), Schedule(at=at, in_local_time=True), broadcast=True
            )

        Invalid input (a time in the past by the client's clock, a target field the page does
        not take) raises :class:`BrazeValidationError` before any network call. An unknown
        outcome is not retried: Braze does not deduplicate creates.
        """
        request = ScheduleCreateRequest(
            send=check_target(target).request(
                recipients, audience=audience, broadcast=broadcast, segment_id=segment_id
            ),
            schedule=_checked(schedule, self),
        )
        return await self._call(
            request.path,
            dumps(request),
            read_created(target),
            audience=request.targets_audience,
            audience_key=request.audience_key,
            retry_ambiguous=False,
            recipients=named(request.send),
        )

    async def _schedule_batch(
        self: _Client,
        send: CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest,
        target: Target,
        schedule: Schedule,
        on_admitted: Callable[[], object] | None,
        stop: asyncio.Event | None,
    ) -> Scheduled:
        """One batch of a scheduled bulk job (``_send_batch`` with a ``schedule``): the time
        checked again by the clock (a long job can outlive it: a batch whose time has passed
        leaves nothing and raises, field ``schedule.at``), then created like :meth:`schedule`,
        journaled by *on_admitted* before it leaves, in the batch's lane."""
        request = ScheduleCreateRequest(send=send, schedule=_checked(schedule, self))
        return await self._call(
            request.path,
            dumps(request),
            read_created(target),
            audience=request.targets_audience,
            audience_key=request.audience_key,
            retry_ambiguous=False,
            on_admitted=on_admitted,
            recipients=named(send),
            stop=stop,
            priority=self._lane,
        )

    async def update_schedule(
        self: _Client,
        scheduled: Scheduled,
        schedule: Schedule | None = None,
        *,
        messages: Messages | None = None,
    ) -> Scheduled:
        """Replace the schedule of *scheduled* (the whole schedule object: a time without
        ``in_local_time`` is UTC again), and for :class:`Messages` its ``messages``
        (post_update_scheduled_messages.md); a campaign's or Canvas's update takes the
        schedule only. Returns the :class:`Scheduled` with its new target.

        Braze applies an update close to the send time "with best efforts", and not at all
        once a local-time schedule's original time has passed in any time zone.
        """
        request = ScheduleUpdateRequest(
            scheduled=_scheduled(scheduled),
            schedule=None if schedule is None else _checked(schedule, self),
            messages=messages,
        )
        await self._call(
            request.path, dumps(request), read_done, audience=False, retry_ambiguous=True
        )
        if messages is None:
            return scheduled
        return Scheduled(
            messages, schedule_id=scheduled.schedule_id, dispatch_id=scheduled.dispatch_id
        )

    async def delete_schedule(self: _Client, scheduled: Scheduled) -> None:
        """Cancel *scheduled* before it is sent (post_delete_scheduled_*.md); close to its
        time, Braze cancels "with best efforts" (for all, some or none of its users)."""
        request = ScheduleDeleteRequest(scheduled=_scheduled(scheduled))
        await self._call(
            request.path, dumps(request), read_done, audience=False, retry_ambiguous=True
        )

    async def scheduled_broadcasts(
        self: _Client, *, until: dt.datetime | dt.date
    ) -> list[ScheduledBroadcast]:
        """The campaigns and Canvases scheduled from now until *until*
        (``GET /messages/scheduled_broadcasts``, get_messages_scheduled.md): Braze reads the
        end as midnight UTC of its date. A daily recurring message appears once."""
        if isinstance(until, dt.datetime):
            if until.tzinfo is None or until.utcoffset() is None:
                raise BrazeValidationError("until", "must be timezone-aware (or a date)")
            end_time = until.isoformat()
        elif isinstance(until, dt.date):
            end_time = until.isoformat()
        else:
            raise BrazeValidationError(
                "until", f"must be a datetime or a date, not {type(until).__name__}"
            )
        path = "/messages/scheduled_broadcasts?" + urlencode({"end_time": end_time})
        return await self._call(path, None, read_broadcasts, audience=False, retry_ambiguous=True)
