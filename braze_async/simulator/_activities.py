"""The simulator's send IDs and Live Activities: the rules of their pages, and their answers.

Pages (under ``_docs/_api/`` of ``braze-inc/braze-docs``, the newest versions):
endpoints/messaging/send_messages/post_create_send_ids.md (``/sends/id/create``, 100 a day
per workspace: its own window, ``send_ids``, on the simulator's clock) and
endpoints/messaging/live_activity/start.md and update.md (the default, shared budget). Each
answer is the page's example: ``{"message": "success", "send_id": ...}`` for a send ID (one
made here when the request gives none), ``201 {"message": "success"}`` for a Live Activity;
a broken rule is a 400 naming the field. A started or updated activity is recorded as a
:class:`Delivery` per target (a named user, the segment or the audience; an update: the
activity, ``live_activity:<activity_id>``).
"""

from __future__ import annotations

import uuid
from typing import Any

from ._rules import (
    MAX_RECIPIENTS,
    JSONObject,
    Recipient,
    RuleError,
    _alias_key,
    _check_keys,
    _external_id_key,
    _non_empty_string,
    check_send_id,
    iso_time,
)

__all__ = [
    "LIVE_ACTIVITY_START",
    "LIVE_ACTIVITY_UPDATE",
    "SEND_ID_CREATE",
    "check_live_activity_start",
    "check_live_activity_update",
    "check_send_id_create",
]

SEND_ID_CREATE = "/sends/id/create"
LIVE_ACTIVITY_START = "/messages/live_activity/start"
LIVE_ACTIVITY_UPDATE = "/messages/live_activity/update"

_SEND_ID_KEYS = frozenset({"campaign_id", "send_id"})
_COMMON = frozenset({"app_id", "activity_id", "content_state", "stale_date", "notification"})
_START_KEYS = _COMMON | {
    "activity_attributes_type",
    "activity_attributes",
    "external_user_ids",
    "user_aliases",
    "custom_audience",
    "segment_id",
}
_UPDATE_KEYS = _COMMON | {"end_activity", "dismissal_date"}


def check_send_id_create(body: JSONObject) -> tuple[str, str]:
    """``(campaign_id, send_id)`` of a valid request (post_create_send_ids.md: campaign_id
    required, send_id optional, both strings; the send_id as identifier_types.md says); a
    send ID is made when none is given."""
    _check_keys(body, _SEND_ID_KEYS, "")
    campaign_id = _non_empty_string(body.get("campaign_id"), "invalid_campaign_id", "campaign_id")
    send_id = check_send_id(body)
    return campaign_id, uuid.uuid4().hex if send_id is None else send_id


def _object(body: JSONObject, key: str, *, required: bool = True) -> None:
    if key not in body and not required:
        return
    if type(body.get(key)) is not dict:
        raise RuleError(f"invalid_{key}", f"{key} must be an object")


def _date(body: JSONObject, key: str) -> None:
    """An ISO 8601 datetime string (the pages' "datetime in ISO-8601 format")."""
    if key not in body:
        return
    value = body[key]
    try:
        if type(value) is not str:
            raise ValueError
        parsed = iso_time(value)
    except ValueError:
        raise RuleError(f"invalid_{key}", f"{key} must be an ISO 8601 datetime") from None
    if parsed.tzinfo is None:
        raise RuleError(f"invalid_{key}", f"{key} must carry its offset from UTC")


def _common(body: JSONObject, allowed: frozenset[str]) -> dict[str, Any]:
    _check_keys(body, allowed, "")
    for key in ("app_id", "activity_id"):
        _non_empty_string(body.get(key), f"invalid_{key}", key)
    _object(body, "content_state")
    _date(body, "stale_date")
    return {key: body[key] for key in ("app_id", "activity_id", "content_state")}


def check_live_activity_start(body: JSONObject) -> list[Recipient]:
    """start.md: the required fields, a notification with ``alert.title`` and
    ``alert.body``, and one targeting method (named users, at most 50; a Connected Audience;
    a segment). Returns what is recorded: one entry per target."""
    data = _common(body, _START_KEYS)
    _non_empty_string(
        body.get("activity_attributes_type"),
        "invalid_activity_attributes_type",
        "activity_attributes_type",
    )
    _object(body, "activity_attributes")
    _object(body, "notification")
    alert = body["notification"].get("alert")
    if type(alert) is not dict:
        raise RuleError("invalid_notification", "notification.alert must be an object")
    for key in ("title", "body"):
        _non_empty_string(alert.get(key), "invalid_notification", f"notification.alert.{key}")
    named: list[str] = []
    for key, read in (("external_user_ids", _external_id_key), ("user_aliases", _alias_key)):
        if key in body:
            values = body[key]
            if type(values) is not list or not values:
                raise RuleError(f"invalid_{key}", f"{key} must be a non-empty array")
            named += [read(value, f"{key}[{i}]") for i, value in enumerate(values)]
    if len(named) > MAX_RECIPIENTS:
        raise RuleError(
            "too_many_recipients",
            f"external_user_ids and user_aliases name {len(named)} users; at most 50",
        )
    methods = [bool(named), "custom_audience" in body, "segment_id" in body]
    if sum(methods) != 1:
        raise RuleError(
            "invalid_targeting",
            "give one targeting method: external_user_ids and/or user_aliases, "
            "custom_audience or segment_id",
        )
    data["activity_attributes_type"] = body["activity_attributes_type"]
    data["activity_attributes"] = body["activity_attributes"]
    data["notification"] = body["notification"]
    if "custom_audience" in body:
        _object(body, "custom_audience")
        return [("audience", {**data, "custom_audience": body["custom_audience"]})]
    if "segment_id" in body:
        segment = _non_empty_string(body["segment_id"], "invalid_segment_id", "segment_id")
        return [(f"segment:{segment}", data)]
    return [(key, data) for key in dict.fromkeys(named)]  # one each, as Braze sends


def check_live_activity_update(body: JSONObject) -> list[Recipient]:
    """update.md: the required fields, ``end_activity`` a boolean, the dates ISO 8601, the
    notification an object. Recorded once, as ``live_activity:<activity_id>``."""
    data = _common(body, _UPDATE_KEYS)
    if "end_activity" in body and type(body["end_activity"]) is not bool:
        raise RuleError("invalid_end_activity", "end_activity must be a boolean")
    _date(body, "dismissal_date")
    _object(body, "notification", required=False)
    data.update({k: body[k] for k in ("end_activity", "notification") if k in body})
    return [(f"live_activity:{body['activity_id']}", data)]
