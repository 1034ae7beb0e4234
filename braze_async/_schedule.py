"""Scheduled sends: Braze's schedule object as a value, what a schedule is once made, and the
request bodies of the schedule endpoints.

The pages (paths under ``_docs/_api/`` of the public repository ``braze-inc/braze-docs``):
objects_filters/schedule_object.md (the ``schedule`` object) and, under
endpoints/messaging/schedule_messages/, the create, update and delete pages of campaigns
(post_schedule_triggered_campaigns.md, post_update_scheduled_triggered_campaigns.md,
post_delete_scheduled_triggered_messages.md), Canvases (post_schedule_triggered_canvases.md,
post_update_scheduled_triggered_canvases.md, post_delete_scheduled_triggered_canvases.md) and
``/messages/schedule/*`` (post_schedule_messages.md, post_update_scheduled_messages.md,
post_delete_scheduled_messages.md), and get_messages_scheduled.md (the upcoming broadcasts).

A create body is the target's send body plus ``schedule`` ("the parameters for the campaign
and Canvas schedule creation endpoints mirror those of the sending endpoint and add the
schedule parameter", schedule_object.md): each target builds its send request as for
``send`` (same recipient and targeting rules), and :class:`ScheduleCreateRequest` adds the
schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from ._errors import BrazeMalformedResponseError, BrazeValidationError
from ._messages import Messages, MessagesSendRequest
from ._models import CampaignTriggerRequest, CanvasTriggerRequest
from ._request import Reader
from ._targets import Campaign, Canvas, Target, check_target
from ._validate import check_str, first_instant, iso_time, last_instant
from ._wire import converter

__all__ = [
    "Schedule",
    "ScheduleCreateRequest",
    "ScheduleDeleteRequest",
    "ScheduleUpdateRequest",
    "Scheduled",
    "ScheduledBroadcast",
    "read_broadcasts",
    "read_created",
    "read_done",
]


def _check_at(instance: object, attribute: attrs.Attribute[dt.datetime], value: object) -> None:
    if not isinstance(value, dt.datetime):
        raise BrazeValidationError("schedule.at", f"must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise BrazeValidationError(
            "schedule.at",
            "must be timezone-aware (e.g. tzinfo=ZoneInfo('Europe/Paris'))",
        )


def _check_flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if type(value) is not bool:
        raise BrazeValidationError(f"schedule.{attribute.name}", "must be a boolean")


@attrs.frozen(slots=True)
class Schedule:
    """When a scheduled send leaves: Braze's schedule object (objects_filters/schedule_object.md)::

        Schedule(at=datetime(2026, 12, 24, 9, tzinfo=ZoneInfo("Europe/Paris")))
        Schedule(at=datetime(2026, 12, 24, 9, tzinfo=UTC), in_local_time=True)

    ``at`` is a timezone-aware datetime. Without ``in_local_time`` every recipient gets the
    message at that instant (sent as UTC). With ``in_local_time``, its wall-clock time (here
    9:00 on 24 December; the zone is not sent) is the time each user gets in their own time
    zone, so the send spans a day: the last messages leave about 26 hours after the first.
    With ``at_optimal_time``, Braze picks each user's best time on that date.

    A time in the past is refused when the schedule is sent (with the client's clock): for a
    local-time schedule, once it has passed in every time zone, as Braze refuses it.
    """

    #: The time to send (timezone-aware).
    at: dt.datetime = attrs.field(validator=_check_at)
    #: Send at ``at``'s wall-clock time in each user's time zone.
    in_local_time: bool = attrs.field(default=False, kw_only=True, validator=_check_flag)
    #: Send on ``at``'s date at each user's optimal time.
    at_optimal_time: bool = attrs.field(default=False, kw_only=True, validator=_check_flag)

    def __attrs_post_init__(self) -> None:
        if self.in_local_time and self.at_optimal_time:
            # One delivery time per user: its local time, or its optimal time (the create
            # pages list the two as separate options; the dashboard offers one or the other).
            raise BrazeValidationError(
                "schedule.at_optimal_time", "cannot be combined with in_local_time: choose one"
            )

    @property
    def local(self) -> bool:
        """Whether the time is a wall-clock time read in each user's zone."""
        return self.in_local_time or self.at_optimal_time

    @property
    def time(self) -> str:
        """The ``time`` Braze receives: ISO 8601, in UTC (``...Z``); for local or optimal
        time the wall-clock time without a zone designator, as schedule_object.md asks
        ("use 2015-02-20T13:14:47 instead of 2015-02-20T13:14:47-05:00")."""
        if self.local:
            return self.at.replace(tzinfo=None).isoformat()
        utc = self.at.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return utc.isoformat() + "Z"

    def last_moment(self) -> dt.datetime:
        """The instant after which the schedule has passed everywhere: ``at`` itself, or for
        a wall-clock time, that time in the latest zone (UTC-12:00)."""
        if not self.local:
            return self.at
        return last_instant(self.at)

    def first_moment(self) -> dt.datetime:
        """The earliest instant the send can leave: ``at`` itself, or for a wall-clock time,
        that time in the earliest zone (UTC+14:00)."""
        if not self.local:
            return self.at
        return first_instant(self.at)

    def check_future(self, now: float) -> None:
        """Refuse a time in the past at *now* (UTC epoch seconds, the client's clock).

        schedule_object.md: with ``in_local_time``, "you get an error response if the time
        parameter has passed in all time zones"; a UTC time in the past would send nothing
        at that time either.
        """
        if self.last_moment().timestamp() <= now:
            when = "in every time zone" if self.local else ""
            raise BrazeValidationError(
                "schedule.at", f"{self.at.isoformat()} has passed {when}".rstrip()
            )


def _unstructure_schedule(schedule: Schedule) -> dict[str, Any]:
    body: dict[str, Any] = {"time": schedule.time}
    if schedule.in_local_time:
        body["in_local_time"] = True
    if schedule.at_optimal_time:
        body["at_optimal_time"] = True
    return body


converter.register_unstructure_hook(Schedule, _unstructure_schedule)


def _check_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_str(value, attribute.name)


def _check_scheduled_target(
    instance: object, attribute: attrs.Attribute[Target], value: object
) -> None:
    check_target(value)


@attrs.frozen(slots=True)
class Scheduled:
    """A schedule Braze holds: its target, its ``schedule_id`` and the ``dispatch_id`` Braze
    gave (schedule_object.md, "Schedule ID response"). Keep the id: a schedule outlives the
    process that made it, and one rebuilt from stored ids updates and cancels it::

        scheduled = Scheduled(Campaign("weekly"), schedule_id=stored_id)
        await braze.delete_schedule(scheduled)
    """

    #: What is scheduled (a :class:`Campaign`, :class:`Canvas` or :class:`Messages`).
    target: Target = attrs.field(validator=_check_scheduled_target)
    #: Braze's identifier of the schedule.
    schedule_id: str = attrs.field(kw_only=True, validator=_check_id)
    #: The dispatch the schedule sends under, where Braze gave one.
    dispatch_id: str | None = attrs.field(default=None, kw_only=True)


#: Where each kind of target's schedules live: ``{prefix}/create``, ``/update``, ``/delete``.
_PREFIX = {
    "campaign": "/campaigns/trigger/schedule",
    "canvas": "/canvas/trigger/schedule",
    "messages": "/messages/schedule",
}


def _kind(send: CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest) -> str:
    if isinstance(send, CampaignTriggerRequest):
        return "campaign"
    return "canvas" if isinstance(send, CanvasTriggerRequest) else "messages"


@attrs.frozen(kw_only=True)
class ScheduleCreateRequest:
    """The body of a schedule create: the target's send body plus ``schedule``.

    For ``/messages/schedule/create`` (post_schedule_messages.md) the frequency-capping
    switch is named ``override_messaging_limits``, and ``message_variation_id`` is not
    documented (refused).
    """

    send: CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest
    schedule: Schedule

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.schedule, Schedule):
            raise BrazeValidationError("schedule", "must be a Schedule")
        send = self.send
        if isinstance(send, CampaignTriggerRequest) and send.attachments is not None:
            # post_schedule_triggered_campaigns.md lists no attachments.
            raise BrazeValidationError("attachments", "cannot be scheduled (only sent at once)")
        if isinstance(send, MessagesSendRequest) and send.message_variation_id is not None:
            # post_schedule_messages.md lists no request-level message_variation_id, while
            # errors.md refuses a campaign ID without a variation ("Message Variant
            # Unspecified"): a scheduled campaign_id takes its variation in each message (each
            # messaging object's page has the field), which is what both pages allow.
            raise BrazeValidationError(
                "message_variation_id",
                "is not a field of /messages/schedule/create (post_schedule_messages.md): "
                "give each message its message_variation_id",
            )
        if isinstance(send, MessagesSendRequest):
            send.messages.check_expiry(self.schedule.first_moment().timestamp())

    @property
    def path(self) -> str:
        """The endpoint: ``/campaigns/trigger/schedule/create`` and the like."""
        return f"{_PREFIX[_kind(self.send)]}/create"

    @property
    def targets_audience(self) -> bool:
        """The budget it spends (api_limits.md): campaign and Canvas creates share the
        trigger sends' (the broadcast one without recipients); ``/messages/schedule/create``
        is on the list of "requests with shared rate limits" whatever it targets."""
        if isinstance(self.send, MessagesSendRequest):
            return False
        return self.send.targets_audience

    @property
    def audience_key(self) -> str | None:
        """The unique audience of a campaign or Canvas broadcast create (api_limits.md lists
        both creates; the key is the send's: it names no endpoint), else None."""
        return self.send.audience_key if self.targets_audience else None


def _unstructure_create(request: ScheduleCreateRequest) -> dict[str, Any]:
    body: dict[str, Any] = converter.unstructure(request.send)
    if isinstance(request.send, MessagesSendRequest):
        body = dict(body)
        capping = body.pop("override_frequency_capping", None)
        if capping is not None:
            body["override_messaging_limits"] = capping
    body["schedule"] = _unstructure_schedule(request.schedule)
    return body


converter.register_unstructure_hook(ScheduleCreateRequest, _unstructure_create)


@attrs.frozen(kw_only=True)
class ScheduleUpdateRequest:
    """The body of a schedule update. A campaign's or Canvas's takes a new ``schedule``
    only (post_update_scheduled_triggered_campaigns.md, ..._canvases.md: ``schedule``
    required, it "will completely overwrite" the one before); ``/messages/schedule/update``
    takes ``schedule``, ``messages`` or both, "at least one of those two keys"
    (post_update_scheduled_messages.md)."""

    scheduled: Scheduled
    schedule: Schedule | None = None
    messages: Messages | None = None

    def __attrs_post_init__(self) -> None:
        if self.schedule is not None and not isinstance(self.schedule, Schedule):
            raise BrazeValidationError("schedule", "must be a Schedule")
        if isinstance(self.scheduled.target, Messages):
            if self.schedule is None and self.messages is None:
                raise BrazeValidationError(
                    "schedule", "or messages is required: an update changes at least one"
                )
            if self.messages is not None and not isinstance(self.messages, Messages):
                raise BrazeValidationError("messages", "must be a Messages")
            if self.schedule is not None:  # new messages, or the scheduled ones, leave then
                messages = self.messages or self.scheduled.target
                messages.check_expiry(self.schedule.first_moment().timestamp())
            return
        kind = self.scheduled.target.describe().split()[0]
        if self.messages is not None:
            raise BrazeValidationError(
                "messages", f"cannot be updated on a scheduled {kind}: only its schedule can"
            )
        if self.schedule is None:
            raise BrazeValidationError("schedule", f"is required to update a scheduled {kind}")

    @property
    def path(self) -> str:
        return f"{_PREFIX[self.scheduled.target.kind]}/update"


def _target_ids(target: Target) -> dict[str, Any]:
    if isinstance(target, Campaign):
        return {"campaign_id": target.campaign_id}
    if isinstance(target, Canvas):
        return {"canvas_id": target.canvas_id}
    return {}


def _unstructure_update(request: ScheduleUpdateRequest) -> dict[str, Any]:
    body = _target_ids(request.scheduled.target)
    body["schedule_id"] = request.scheduled.schedule_id
    if request.schedule is not None:
        body["schedule"] = _unstructure_schedule(request.schedule)
    if request.messages is not None:
        body["messages"] = converter.unstructure(request.messages)
    return body


converter.register_unstructure_hook(ScheduleUpdateRequest, _unstructure_update)


@attrs.frozen(kw_only=True)
class ScheduleDeleteRequest:
    """The body of a schedule delete: the campaign or Canvas id (where the page asks it) and
    the ``schedule_id`` (post_delete_scheduled_*.md)."""

    scheduled: Scheduled

    @property
    def path(self) -> str:
        return f"{_PREFIX[self.scheduled.target.kind]}/delete"


def _unstructure_delete(request: ScheduleDeleteRequest) -> dict[str, Any]:
    return {**_target_ids(request.scheduled.target), "schedule_id": request.scheduled.schedule_id}


converter.register_unstructure_hook(ScheduleDeleteRequest, _unstructure_delete)


# -- answers --------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def read_created(target: Target) -> Reader[Scheduled]:
    """The reader of a create's 2xx answer, ``{"dispatch_id", "schedule_id", "message"}``
    (the create pages' "Example success response"): a :class:`Scheduled`. An answer without
    a ``schedule_id`` is unreadable: the schedule may exist, and its outcome is unknown."""

    def read(
        path: str, status: int, data: Mapping[str, Any], headers: Mapping[str, str]
    ) -> Scheduled | BrazeMalformedResponseError:
        schedule_id = _text(data, "schedule_id")
        if schedule_id is None:
            return BrazeMalformedResponseError(
                "Braze answered success without a schedule_id", status_code=status, endpoint=path
            )
        return Scheduled(target, schedule_id=schedule_id, dispatch_id=_text(data, "dispatch_id"))

    return read


def read_done(path: str, status: int, data: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    """An update's or delete's 2xx answer (the pages print none: any JSON object)."""
    return None


@attrs.frozen(slots=True)
class ScheduledBroadcast:
    """One upcoming scheduled campaign or Canvas (get_messages_scheduled.md, "Response")."""

    #: The campaign's or Canvas's name.
    name: str
    #: The campaign or Canvas identifier.
    id: str
    #: ``"Campaign"`` or ``"Canvas"`` (as Braze writes it).
    type: str
    #: Its tags.
    tags: tuple[str, ...]
    #: Its next send: timezone-aware, or naive (a wall-clock time) for local-time and
    #: Intelligent Delivery sends, which carry no zone; None when Braze sent none.
    next_send_time: dt.datetime | None
    #: ``"local_time_zones"``, ``"intelligent_delivery"`` or the company's time zone name.
    schedule_type: str


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return iso_time(value)
    except ValueError:
        return None


def read_broadcasts(
    path: str, status: int, data: Mapping[str, Any], headers: Mapping[str, str]
) -> list[ScheduledBroadcast] | BrazeMalformedResponseError:
    """``{"scheduled_broadcasts": [...]}``, each entry read leniently (a missing field is
    empty); an answer without the list is unreadable."""
    items = data.get("scheduled_broadcasts")
    if not isinstance(items, list):
        return BrazeMalformedResponseError(
            "Braze answered success without scheduled_broadcasts", status_code=status, endpoint=path
        )
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        tags = item.get("tags")
        out.append(
            ScheduledBroadcast(
                name=str(item.get("name") or ""),
                id=str(item.get("id") or ""),
                type=str(item.get("type") or ""),
                tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
                next_send_time=_parse_time(item.get("next_send_time")),
                schedule_type=str(item.get("schedule_type") or ""),
            )
        )
    return out
