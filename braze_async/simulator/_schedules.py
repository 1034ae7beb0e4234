"""The simulator's scheduled sends: kept, updated, deleted, listed, and delivered at their time.

A schedule is delivered to the record when the simulator's wall clock reaches its time (read
when the record is read): at the instant for a UTC schedule, at the wall-clock time in each
recipient's zone for a local-time one (:meth:`Schedules.set_time_zone`; a recipient without a
zone, and a broadcast, get the company's zone, UTC here). An optimal-time schedule is
delivered as a local-time one (the simulator has no engagement data to pick a better time).

What the pages say of late changes (post_update_scheduled_triggered_campaigns.md,
post_delete_scheduled_*.md): updates and deletes close to the time are applied "with best
efforts" (here: to the recipients not delivered yet), and "updates aren't applied if the
original schedule used local time and the original time has already passed in any time
zone". An update or delete of a deleted or delivered schedule answers success and changes
nothing (no page documents an error for it); a ``schedule_id`` never created, or of another
campaign or Canvas, is refused (400 ``invalid_schedule_id``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from ._models import Delivery
from ._rules import (
    SCHEDULE_CAMPAIGNS,
    SCHEDULE_CANVAS,
    Accepted,
    RuleError,
    ScheduleSpec,
    check_card_expiry,
)

__all__ = ["Schedules"]

_UTC = dt.timezone.utc
_ZONE_KINDS = {SCHEDULE_CAMPAIGNS: "Campaign", SCHEDULE_CANVAS: "Canvas"}


@attrs.define
class _Entry:
    """One schedule and how far it has gone."""

    kind: str  # SCHEDULE_CAMPAIGNS, SCHEDULE_CANVAS or SCHEDULE_MESSAGES
    accepted: Accepted
    spec: ScheduleSpec
    schedule_id: str
    dispatch_id: str
    messages: Any = None
    deleted: bool = False
    #: The recipient keys delivered so far.
    delivered: set[str] = attrs.field(factory=set)

    @property
    def target_id(self) -> str | None:
        return (
            self.accepted.canvas_id if self.kind == SCHEDULE_CANVAS else self.accepted.campaign_id
        )

    @property
    def done(self) -> bool:
        return self.deleted or len(self.delivered) == len(self.accepted.recipients)


class Schedules:
    """Every schedule the simulator was given (callers hold the core's lock)."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        #: Recipient key -> its time zone.
        self._zones: dict[str, ZoneInfo] = {}

    def clear(self) -> None:
        self._entries.clear()
        self._zones.clear()

    def set_time_zone(self, recipient: str, zone: str) -> None:
        """Give *recipient* (a record key, ``external_user_id:u1``) an IANA time zone."""
        self._zones[recipient] = ZoneInfo(zone)

    def create(
        self, kind: str, accepted: Accepted, spec: ScheduleSpec, messages: Any = None
    ) -> tuple[str, str]:
        """Keep a new schedule (and a ``/messages/schedule`` one's ``messages``); its
        ``(schedule_id, dispatch_id)``."""
        entry = _Entry(kind, accepted, spec, uuid.uuid4().hex, uuid.uuid4().hex, messages)
        self._entries[entry.schedule_id] = entry
        return entry.schedule_id, entry.dispatch_id

    def _find(self, kind: str, target_id: str | None, schedule_id: str) -> _Entry:
        entry = self._entries.get(schedule_id)
        if (
            entry is None
            or entry.kind != kind
            or (target_id is not None and entry.target_id != target_id)
        ):
            raise RuleError(
                "invalid_schedule_id",
                f"schedule_id {schedule_id} is not a schedule of this {kind.split('/')[1]}",
            )
        return entry

    def update(
        self,
        kind: str,
        target_id: str | None,
        schedule_id: str,
        spec: ScheduleSpec | None,
        messages: Any,
        now: dt.datetime,
    ) -> None:
        entry = self._find(kind, target_id, schedule_id)
        if spec is not None or messages is not None:
            # The card that will leave, at the schedule it will leave with (either may be
            # the one kept): at most 30 days apart (content_cards_object.md).
            check_card_expiry(
                entry.messages if messages is None else messages,
                (entry.spec if spec is None else spec).last_moment(),
            )
        if entry.done or (entry.spec.local and entry.spec.passed_somewhere(now)):
            return  # not applied
        if spec is not None:
            entry.spec = spec  # "any schedule will completely overwrite" the one before
        if messages is not None:
            entry.messages = messages

    def delete(self, kind: str, target_id: str | None, schedule_id: str) -> None:
        self._find(kind, target_id, schedule_id).deleted = True

    def _due(self, entry: _Entry, key: str) -> dt.datetime:
        spec = entry.spec
        if not spec.local:
            return spec.time
        return spec.time.replace(tzinfo=self._zones.get(key, _UTC)).astimezone(_UTC)

    def deliver(self, now: dt.datetime) -> list[Delivery]:
        """The deliveries due by *now* not made yet, in order of their time."""
        due: list[tuple[dt.datetime, Delivery]] = []
        for entry in self._entries.values():
            if entry.done:
                continue
            accepted = entry.accepted
            for key, data in accepted.recipients:
                if key in entry.delivered:
                    continue
                when = self._due(entry, key)
                if when > now:
                    continue
                entry.delivered.add(key)
                delivery = Delivery(
                    accepted.endpoint,
                    accepted.campaign_id,
                    accepted.canvas_id,
                    entry.dispatch_id,
                    key,
                    data,
                    schedule_id=entry.schedule_id,
                    sent_at=when,
                )
                due.append((when, delivery))
        due.sort(key=lambda pair: pair[0])
        return [delivery for _, delivery in due]

    def broadcasts(self, now: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """The upcoming campaign and Canvas broadcasts before *end*, as
        get_messages_scheduled.md's "Response" lists them (the simulator has no dashboard
        names or tags: the name is the id, the tags empty; the company's zone is UTC)."""
        out: list[dict[str, Any]] = []
        for entry in self._entries.values():
            kind = _ZONE_KINDS.get(entry.kind)
            if kind is None or entry.done or entry.accepted.explicit:
                continue
            when = min(self._due(entry, key) for key, _ in entry.accepted.recipients)
            if not now < when < end:
                continue
            spec = entry.spec
            if spec.at_optimal_time:
                schedule_type, shown = "intelligent_delivery", spec.time.isoformat()
            elif spec.in_local_time:
                schedule_type, shown = "local_time_zones", spec.time.isoformat()
            else:
                schedule_type, shown = "UTC", spec.time.isoformat()
            out.append(
                {
                    "name": entry.target_id,
                    "id": entry.target_id,
                    "type": kind,
                    "tags": [],
                    "next_send_time": shown,
                    "schedule_type": schedule_type,
                }
            )
        return out
