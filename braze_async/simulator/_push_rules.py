"""The push objects of ``messages`` as Braze's pages define them, read again for the simulator.

Pages (``_docs/_api/objects_filters/messaging/`` of braze-inc/braze-docs): ``apple_object.md``,
``android_object.md``, ``kindle_and_fireos_object.md`` and ``web_objects.md``. The Windows
objects (``windows_objects.md``) are hidden pages now and ``post_send_messages.md`` no longer
lists ``windows_phone8_push`` or ``windows_universal_push`` among the keys of ``messages``: the
simulator refuses them as unknown channels.

Like ``_audience_rules.py``, this module must not import the client. Each check raises
``ValueError`` naming the field and the rule. Fields a page does not list pass as they are.

How the pages are read here:

* "(required, string)" and "(optional, string)": a non-empty string (an empty identifier, URL
  or text is no value); "integer" a JSON integer, "boolean" ``true``/``false``, "object" a
  JSON object, "array of ..." a JSON array of them.
* Where a page says values outside a range "default to 0" (``priority`` of Android and
  Kindle), Braze takes them: the simulator takes any integer (the client refuses them).
* apple_object.md counts "the total number of bytes in your alert string, extra object and
  other optional parameters" against 1912: the values' JSON, keys left out, is the reading
  taken here (the client counts the whole object, keys included, the stricter one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ._iso import is_iso_time

__all__ = ["check_android_push", "check_apple_push", "check_kindle_push", "check_web_push"]

Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return type(value) is str and value != ""


def _flag(value: Any) -> bool:
    return type(value) is bool


def _whole(value: Any) -> bool:
    return type(value) is int


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _dict(value: Any) -> bool:
    return type(value) is dict


def _texts(value: Any) -> bool:
    return type(value) is list and all(_text(item) for item in value)


def _one_of(*allowed: str) -> Check:
    return lambda value: type(value) is str and value in allowed


def _iso(value: Any) -> bool:
    # "ISO 8601 date string": read as connected_audience.md's times are, in the extended form
    # the pages write (``2019-07-22T13:17:55+0000``), not every form ``fromisoformat`` takes.
    return is_iso_time(value)


_WORDS: dict[Check, str] = {
    _text: "a non-empty string",
    _flag: "a boolean",
    _whole: "an integer",
    _number: "a number",
    _dict: "an object",
    _texts: "an array of non-empty strings",
    _iso: "an ISO 8601 date string",
}


def _fields(obj: Any, where: str, spec: Mapping[str, Check], required: tuple[str, ...]) -> None:
    """*obj* is an object; each field of *spec* it holds (``null`` counts as absent) passes
    its check; each of *required* is there."""
    if type(obj) is not dict:
        raise ValueError(f"{where} must be an object")
    for name in required:
        if obj.get(name) is None:
            raise ValueError(f"{where}.{name} is required")
    for name, check in spec.items():
        value = obj.get(name)
        if value is not None and not check(value):
            raise ValueError(f"{where}.{name} must be {_WORDS.get(check, 'an allowed value')}")


def _array(obj: dict[str, Any], name: str, where: str) -> list[Any]:
    items = obj.get(name)
    if items is None:
        return []
    if type(items) is not list:
        raise ValueError(f"{where}.{name} must be an array")
    return items


def _in_range(obj: dict[str, Any], name: str, where: str, low: float, high: float) -> None:
    value = obj.get(name)
    if value is not None and not low <= value <= high:
        raise ValueError(f"{where}.{name} must be between {low} and {high}")


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


# -- apple_object.md ------------------------------------------------------------------------

_ACTIONS = ("OPEN_APP", "URI", "DEEP_LINK", "CLOSE")
_APPLE = {
    "badge": _whole,
    "sound": _text,
    "extra": _dict,
    "content-available": _flag,
    "interruption_level": _one_of("passive", "active", "time-sensitive", "critical"),
    "relevance_score": _number,
    "expiry": _iso,
    "custom_uri": _text,
    "use_webview": _flag,
    "message_variation_id": _text,
    "notification_group_thread_id": _text,
    "asset_url": _text,
    "asset_file_type": _one_of("aif", "gif", "jpg", "m4a", "mp3", "mp4", "png", "wav"),
    "collapse_id": _text,
    "mutable_content": _flag,
    "send_to_most_recent_device_only": _flag,
    "category": _text,
    "apns_priority": _whole,
}
_APPLE_ALERT = {
    "body": _text,
    "title": _text,
    "title_loc_key": _text,
    "title_loc_args": _texts,
    "action_loc_key": _text,
    "loc_key": _text,
    "loc_args": _texts,
    "sound": _text,
}
_APPLE_BUTTON = {
    "action_id": _text,
    "action": _one_of(*_ACTIONS),
    "uri": _text,
    "use_webview": _flag,
}
#: "Apple push action button object for Braze default buttons": category, its buttons' action
#: identifiers, and the "Allowed Actions" of each.
_OPEN = ("OPEN_APP", "URI", "DEEP_LINK")
_DEFAULT_CATEGORIES: dict[str, dict[str, tuple[str, ...]]] = {
    "ab_cat_accept_decline": {"ab_pb_accept": _OPEN, "ab_pb_decline": ("CLOSE",)},
    "ab_cat_yes_no": {"ab_pb_yes": _OPEN, "ab_pb_no": ("CLOSE",)},
    "ab_cat_confirm_cancel": {"ab_pb_confirm": _OPEN, "ab_pb_cancel": ("CLOSE",)},
    "ab_cat_more": {"ab_pb_more": _OPEN},
}
APPLE_MAX_BYTES = 1912


def check_apple_push(obj: dict[str, Any], where: str) -> None:
    """The Apple push object, its alert object and its action buttons (apple_object.md)."""
    _fields(obj, where, _APPLE, ())
    silent = obj.get("content-available") is True
    alert = obj.get("alert")
    # "alert": "(required unless content-available is true, string or Apple Push Alert Object)"
    if alert is None:
        if not silent:
            raise ValueError(f"{where}.alert is required unless content-available is true")
    elif type(alert) is dict:
        _fields(alert, f"{where}.alert", _APPLE_ALERT, () if silent else ("body",))
    elif not _text(alert):
        raise ValueError(f"{where}.alert must be a string or an Apple push alert object")
    _in_range(obj, "relevance_score", where, 0.0, 1.0)  # "between 0.0 and 1.0"
    _in_range(obj, "apns_priority", where, 1, 10)  # "an integer between 1 and 10"
    # "Messages that include the keys ab or aps in the extra object will be rejected."
    if {"ab", "aps"} & set(obj.get("extra") or {}):
        raise ValueError(f"{where}.extra must not hold the keys ab or aps")
    if obj.get("asset_url") is not None and obj.get("asset_file_type") is None:
        raise ValueError(f"{where}.asset_file_type is required if asset_url is present")
    _apple_buttons(obj, where)
    parts = sum(_json_bytes(value) for key, value in obj.items() if value is not None)
    if type(alert) is str:
        parts -= _json_bytes(alert) - len(alert.encode())  # the alert string: its own bytes
    if parts > APPLE_MAX_BYTES:
        raise ValueError(f"{where} is {parts} bytes; Apple allows {APPLE_MAX_BYTES}")


def _apple_buttons(obj: dict[str, Any], where: str) -> None:
    buttons = _array(obj, "buttons", where)
    if not buttons:
        return
    # "You must include the category field in the Apple push object to use iOS push action
    # buttons."
    category = obj.get("category")
    if category is None:
        raise ValueError(f"{where}.category is required to use buttons")
    defaults: dict[str, tuple[str, ...]] | None = _DEFAULT_CATEGORIES.get(category)
    for index, button in enumerate(buttons):
        at = f"{where}.buttons[{index}]"
        _fields(button, at, _APPLE_BUTTON, ("action_id",))
        action = button.get("action")
        if defaults is None:
            # "for categories defined by your app": action "(required) one of URI or
            # DEEP_LINK", uri "(required)".
            if action not in ("URI", "DEEP_LINK"):
                raise ValueError(f"{at}.action must be URI or DEEP_LINK for an app's category")
            if button.get("uri") is None:
                raise ValueError(f"{at}.uri is required for an app's category")
            continue
        allowed = defaults.get(button["action_id"])
        if allowed is None:
            raise ValueError(f"{at}.action_id is not a button of {category}")
        if action is not None and action not in allowed:
            raise ValueError(f"{at}.action is not allowed for {button['action_id']}")


# -- android_object.md ----------------------------------------------------------------------

_ANDROID = {
    "alert": _text,
    "title": _text,
    "extra": _dict,
    "message_variation_id": _text,
    "notification_channel_id": _text,
    "priority": _whole,
    "android_priority": _one_of("normal", "high"),
    "send_to_sync": _flag,
    "collapse_key": _text,
    "sound": _text,
    "custom_uri": _text,
    "use_webview": _flag,
    "summary_text": _text,
    "time_to_live": _whole,
    "notification_id": _whole,
    "push_icon_image_url": _text,
    "accent_color": _whole,
    "send_to_most_recent_device_only": _flag,
}
_ANDROID_BUTTON = {"text": _text, "action": _one_of(*_ACTIONS), "uri": _text, "use_webview": _flag}
ANDROID_MAX_BYTES = 4000
ANDROID_MAX_TIME_TO_LIVE = 2_419_200


def check_android_push(obj: dict[str, Any], where: str) -> None:
    """The Android push object, its action buttons and conversation object
    (android_object.md)."""
    _fields(obj, where, _ANDROID, ())
    # "send_to_sync: if set to true we throw an error if alert or title is set"; otherwise
    # both are "(required, string)".
    sync = obj.get("send_to_sync") is True
    for name in ("alert", "title"):
        if sync and obj.get(name) is not None:
            raise ValueError(f"{where}.{name} must not be set when send_to_sync is true")
        if not sync and obj.get(name) is None:
            raise ValueError(f"{where}.{name} is required")
    # "integer (maximum of 2,419,200 seconds)".
    _in_range(obj, "time_to_live", where, 0, ANDROID_MAX_TIME_TO_LIVE)
    for index, button in enumerate(_array(obj, "buttons", where)):
        _fields(button, f"{where}.buttons[{index}]", _ANDROID_BUTTON, ("text",))
    if obj.get("conversation_data") is not None:
        _conversation(obj["conversation_data"], f"{where}.conversation_data")
    # "The total number of bytes in your alert string and extra object should not exceed
    # 4,000": the alert's own bytes and the extra object's JSON.
    size = len((obj.get("alert") or "").encode())
    if obj.get("extra") is not None:
        size += _json_bytes(obj["extra"])
    if size > ANDROID_MAX_BYTES:
        raise ValueError(f"{where}: alert and extra are {size} bytes; Google allows 4000")


def _conversation(data: Any, where: str) -> None:
    """The Android conversation push object and its message and person objects."""
    names = ("shortcut_id", "reply_person_id", "messages", "persons")
    ids: dict[str, Check] = {"shortcut_id": _text, "reply_person_id": _text}
    _fields(data, where, ids, names)
    for index, message in enumerate(_array(data, "messages", where)):
        spec: dict[str, Check] = {"text": _text, "timestamp": _whole, "person_id": _text}
        _fields(message, f"{where}.messages[{index}]", spec, tuple(spec))
    for index, person in enumerate(_array(data, "persons", where)):
        person_spec: dict[str, Check] = {"id": _text, "name": _text}
        _fields(person, f"{where}.persons[{index}]", person_spec, ("id", "name"))


# -- kindle_and_fireos_object.md and web_objects.md -----------------------------------------


def check_kindle_push(obj: dict[str, Any], where: str) -> None:
    """The Kindle and FireOS push object (kindle_and_fireos_object.md); any integer priority
    ("values sent outside of that integer range will default to 0")."""
    spec: dict[str, Check] = {
        "alert": _text,
        "title": _text,
        "extra": _dict,
        "message_variation_id": _text,
        "priority": _whole,
        "collapse_key": _text,
        "sound": _text,
        "custom_uri": _text,
    }
    _fields(obj, where, spec, ("alert", "title"))


def check_web_push(obj: dict[str, Any], where: str) -> None:
    """The web push object and its action buttons (web_objects.md)."""
    spec: dict[str, Check] = {
        "alert": _text,
        "title": _text,
        "extra": _dict,
        "message_variation_id": _text,
        "custom_uri": _text,
        "image_url": _text,
        "large_image_url": _text,
        "require_interaction": _flag,
        "time_to_live": _whole,
        "send_to_most_recent_device_only": _flag,
    }
    _fields(obj, where, spec, ("alert", "title"))
    if (obj.get("time_to_live") or 0) < 0:  # "integer (seconds)"
        raise ValueError(f"{where}.time_to_live must not be negative")
    button_spec: dict[str, Check] = {
        "text": _text,
        "action": _one_of("OPEN_APP", "URI", "CLOSE"),
        "uri": _text,
    }
    for index, button in enumerate(_array(obj, "buttons", where)):
        _fields(button, f"{where}.buttons[{index}]", button_spec, ("text",))
