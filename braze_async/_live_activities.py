"""iOS Live Activities, a mixin of :class:`~braze_async.BrazeClient`: ``start_live_activity``
and ``update_live_activity``, with their request values :class:`LiveActivityStart` and
:class:`LiveActivityUpdate`.

The pages (under ``_docs/_api/endpoints/messaging/live_activity/`` of ``braze-inc/braze-docs``,
their newest versions): start.md (``POST /messages/live_activity/start``) and update.md
(``POST /messages/live_activity/update``; it also ends an activity). Both are on the
default budget, the shared 250,000 requests an hour (``rate_limits.md`` endpoint
"default", api_limits.md). Both answer ``201 {"message": "success"}``, read as a
:class:`~braze_async.SendResponse`. Neither is deduplicated by Braze, so an unknown outcome
of a start is not retried (a repeat could start the activity twice); an update sets the same
state again, so it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ._answers import read_send
from ._errors import BrazeValidationError
from ._messages import _check_external_user_ids, _check_user_aliases
from ._models import MAX_RECIPIENTS, SendResponse, UserAlias
from ._scheduling import _Client  # what a mixin uses of the client: _call
from ._validate import check_properties, check_str
from ._wire import converter, dumps

__all__ = ["LiveActivities", "LiveActivityStart", "LiveActivityUpdate"]

START = "/messages/live_activity/start"
UPDATE = "/messages/live_activity/update"


def _string(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_str(value, attribute.name)


def _object(instance: object, attribute: attrs.Attribute[Mapping[str, Any]], value: object) -> None:
    check_properties(value, attribute.name)


def _date(instance: object, attribute: attrs.Attribute[dt.datetime | None], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, dt.datetime):
        raise BrazeValidationError(
            attribute.name, f"must be a datetime, not {type(value).__name__}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise BrazeValidationError(
            attribute.name, "must be timezone-aware (e.g. tzinfo=datetime.timezone.utc)"
        )


def _optional_object(
    instance: object, attribute: attrs.Attribute[Mapping[str, Any] | None], value: object
) -> None:
    if value is not None:
        check_properties(value, attribute.name)


def _check_alert(notification: Mapping[str, Any]) -> None:
    """start.md: the notification must "include ``notification.alert.title`` and
    ``notification.alert.body``"."""
    alert = notification.get("alert")
    if not isinstance(alert, Mapping):
        raise BrazeValidationError(
            "notification.alert", "is required: an object with a title and a body (start.md)"
        )
    for key in ("title", "body"):
        check_str(alert.get(key), f"notification.alert.{key}")


def _iso(value: dt.datetime) -> str:
    """ISO 8601 in UTC as the pages' examples write it: ``2024-01-22T16:55:49+0000``."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


@attrs.frozen(kw_only=True)
class LiveActivityStart:
    """What starts a Live Activity (``POST /messages/live_activity/start``, start.md)::

        LiveActivityStart(
            app_id=APP_ID,
            activity_id="football-chiefs-bills-2024-01-21",
            activity_attributes_type="FootballActivity",
            activity_attributes={"team1Name": "Chiefs", "team2Name": "Bills"},
            content_state={"teamOneScore": 0, "teamTwoScore": 0},
            notification={"alert": {"title": "Chiefs v. Bills", "body": "Starting!"}},
            external_user_ids=["user-id1", "user-id2"],
        )

    One targeting method: ``external_user_ids`` and/or ``user_aliases`` (at most 50
    together), or a ``custom_audience`` (a Connected Audience object), or a ``segment_id``;
    Braze starts it only for named users that exist. Every rule is checked when it is built
    (:class:`BrazeValidationError` naming the field).
    """

    #: The app's API identifier.
    app_id: str = attrs.field(validator=_string)
    #: Your name for the activity; updates and the end name it again.
    activity_id: str = attrs.field(validator=_string)
    #: The attributes type registered with ``liveActivities.registerPushToStart`` in the app.
    activity_attributes_type: str = attrs.field(validator=_string)
    #: The static attribute values (e.g. the team names).
    activity_attributes: Mapping[str, Any] = attrs.field(validator=_object)
    #: The ``ContentState`` values, in the shape the app defined.
    content_state: Mapping[str, Any] = attrs.field(validator=_object)
    #: An ``apple_push`` object with ``alert.title`` and ``alert.body`` (required).
    notification: Mapping[str, Any] = attrs.field(validator=_object)
    #: When the content is marked as outdated (timezone-aware).
    stale_date: dt.datetime | None = attrs.field(default=None, validator=_date)
    #: Users by external ID.
    external_user_ids: Sequence[str] | None = None
    #: Users by alias.
    user_aliases: Sequence[UserAlias] | None = None
    #: A segment's identifier.
    segment_id: str | None = None
    #: A Connected Audience object.
    custom_audience: Mapping[str, Any] | None = attrs.field(
        default=None, validator=_optional_object
    )

    def __attrs_post_init__(self) -> None:
        _check_alert(self.notification)
        named = _check_external_user_ids(self.external_user_ids)
        named += _check_user_aliases(self.user_aliases)
        if named > MAX_RECIPIENTS:
            raise BrazeValidationError(
                "external_user_ids",
                f"and user_aliases name {named} users; at most {MAX_RECIPIENTS} together",
            )
        if self.segment_id is not None:
            check_str(self.segment_id, "segment_id")
        if self.custom_audience is not None and not self.custom_audience:
            raise BrazeValidationError("custom_audience", "must not be empty")
        # "Include one targeting method"; "do not combine external_user_ids or user_aliases
        # with segment_id or custom_audience" (start.md).
        methods = [
            name
            for name, given in (
                ("external_user_ids or user_aliases", named > 0),
                ("custom_audience", self.custom_audience is not None),
                ("segment_id", self.segment_id is not None),
            )
            if given
        ]
        if not methods:
            raise BrazeValidationError(
                "external_user_ids", "or user_aliases, custom_audience or segment_id is required"
            )
        if len(methods) > 1:
            field = "segment_id" if self.segment_id is not None else "custom_audience"
            raise BrazeValidationError(
                field, f"cannot be combined with {methods[0]}: give one targeting method"
            )


@attrs.frozen(kw_only=True)
class LiveActivityUpdate:
    """What updates, or ends, a Live Activity (``POST /messages/live_activity/update``,
    update.md)::

        LiveActivityUpdate(
            app_id=APP_ID,
            activity_id="football-chiefs-bills-2024-01-21",
            content_state={"teamOneScore": 2, "teamTwoScore": 4},
            end_activity=True,
            dismissal_date=datetime(2024, 1, 22, tzinfo=UTC),
        )

    ``dismissal_date`` may be in the past: the activity is then removed at once (update.md).
    """

    #: The app's API identifier.
    app_id: str = attrs.field(validator=_string)
    #: The activity to update (the ``activity_id`` it was started or registered with).
    activity_id: str = attrs.field(validator=_string)
    #: The new ``ContentState`` values, in the shape the app defined.
    content_state: Mapping[str, Any] = attrs.field(validator=_object)
    #: True: this update ends the activity.
    end_activity: bool | None = None
    #: When to remove the activity from the user's UI (timezone-aware).
    dismissal_date: dt.datetime | None = attrs.field(default=None, validator=_date)
    #: When the content is marked as outdated (timezone-aware).
    stale_date: dt.datetime | None = attrs.field(default=None, validator=_date)
    #: An ``apple_push`` object, for an alert with the update.
    notification: Mapping[str, Any] | None = attrs.field(default=None, validator=_optional_object)

    def __attrs_post_init__(self) -> None:
        if self.end_activity is not None and type(self.end_activity) is not bool:
            raise BrazeValidationError("end_activity", "must be a boolean")


def _unstructure(value: LiveActivityStart | LiveActivityUpdate) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for field in attrs.fields(type(value)):
        item = getattr(value, field.name)
        if item is None:
            continue
        if isinstance(item, dt.datetime):
            item = _iso(item)
        elif field.name == "user_aliases":
            item = [converter.unstructure(alias) for alias in item]
        elif field.name == "external_user_ids":
            item = list(item)
        body[field.name] = item
    return body


converter.register_unstructure_hook(LiveActivityStart, _unstructure)
converter.register_unstructure_hook(LiveActivityUpdate, _unstructure)


class LiveActivities:
    """The Live Activity endpoints (see the module docstring for budgets and retries)."""

    async def start_live_activity(self: _Client, activity: LiveActivityStart) -> SendResponse:
        """Start a Live Activity on your users' iPhones (start.md)::

            await braze.start_live_activity(LiveActivityStart(app_id=..., ...))

        Returns Braze's answer (``{"message": "success"}``). Spends the shared hourly budget;
        an unknown outcome is not retried (Braze does not deduplicate starts).
        """
        if not isinstance(activity, LiveActivityStart):
            raise BrazeValidationError(
                "activity", f"must be a LiveActivityStart, not {type(activity).__name__}"
            )
        named = len(activity.external_user_ids or ()) + len(activity.user_aliases or ())
        return await self._call(
            START,
            dumps(activity),
            read_send,
            audience=False,
            retry_ambiguous=False,
            recipients=named,
        )

    async def update_live_activity(self: _Client, update: LiveActivityUpdate) -> SendResponse:
        """Update a Live Activity, or end it with ``end_activity=True`` (update.md)::

            await braze.update_live_activity(
                LiveActivityUpdate(app_id=..., activity_id="game-1", content_state={...})
            )

        Spends the shared hourly budget; an unknown outcome is retried (the same state
        again).
        """
        if not isinstance(update, LiveActivityUpdate):
            raise BrazeValidationError(
                "update", f"must be a LiveActivityUpdate, not {type(update).__name__}"
            )
        return await self._call(
            UPDATE, dumps(update), read_send, audience=False, retry_ambiguous=True
        )
