"""The Apple push object (apple_object.md), its alert object and action buttons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeAlias

import attrs

from .._errors import BrazeValidationError
from .._models import WIRE_KEY
from ._shape import (
    _BOOL,
    _INT,
    _OBJ,
    _REQUIRED_STR,
    _STR,
    _TIME,
    Properties,
    _Checked,
    _f,
    _json_size,
    _Part,
    _Shape,
)

# -- apple_object.md ---------------------------------------------------------------------

_APPLE_PAGE = "apple_object.md"
#: "The total number of bytes in your alert string, extra object and other optional
#: parameters should not exceed 1912" (apple_object.md). The client counts the whole object
#: as it is sent (keys included), the strict reading; the simulator takes the values alone.
MAX_APPLE_PUSH_BYTES = 1912
#: apple_object.md, the Apple push action button object for Braze default buttons: each
#: category's buttons, and the actions each allows.
APPLE_DEFAULT_BUTTONS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    category: {
        f"ab_pb_{yes}": ("OPEN_APP", "URI", "DEEP_LINK"),
        **({f"ab_pb_{no}": ("CLOSE",)} if no else {}),
    }
    for category, yes, no in (
        ("ab_cat_accept_decline", "accept", "decline"),
        ("ab_cat_yes_no", "yes", "no"),
        ("ab_cat_confirm_cancel", "confirm", "cancel"),
        ("ab_cat_more", "more", ""),
    )
}
InterruptionLevel: TypeAlias = Literal["passive", "active", "time-sensitive", "critical"]
AssetFileType: TypeAlias = Literal["aif", "gif", "jpg", "m4a", "mp3", "mp4", "png", "wav"]
PushAction: TypeAlias = Literal["OPEN_APP", "URI", "DEEP_LINK", "CLOSE"]
PUSH_ACTIONS = ("OPEN_APP", "URI", "DEEP_LINK", "CLOSE")

APPLE_ALERT = _Shape(
    _APPLE_PAGE,
    {
        # body: "required unless content-available is true in the Apple Push Object", a rule
        # of the push object (_apple_rules).
        "body": _STR,
        "title": _STR,
        "title_loc_key": _STR,
        "title_loc_args": _f("strings"),
        "action_loc_key": _STR,
        "loc_key": _STR,
        "loc_args": _f("strings"),
        "sound": _STR,
    },
)
APPLE_PUSH_BUTTON = _Shape(
    _APPLE_PAGE,
    {
        "action_id": _REQUIRED_STR,
        "action": _f("choice", *PUSH_ACTIONS),
        "uri": _STR,
        "use_webview": _BOOL,
    },
)


def _apple_rules(body: Mapping[str, Any], where: str) -> None:
    silent = body.get("content-available") is True
    alert = body.get("alert")
    # "alert": "required unless content-available is true"; the alert object's "body" too.
    if alert is None and not silent:
        raise BrazeValidationError(
            f"{where}.alert", f"is required unless content-available is true ({_APPLE_PAGE})"
        )
    if isinstance(alert, Mapping) and alert.get("body") is None and not silent:
        raise BrazeValidationError(
            f"{where}.alert.body",
            f"is required unless content-available is true ({_APPLE_PAGE})",
        )
    # "Messages that include the keys ab or aps in the extra object will be rejected."
    for key in ("ab", "aps"):
        if key in (body.get("extra") or {}):
            raise BrazeValidationError(
                f"{where}.extra", f"must not hold the key {key!r} ({_APPLE_PAGE})"
            )
    # asset_file_type: "required if asset_url is present".
    if body.get("asset_url") is not None and body.get("asset_file_type") is None:
        raise BrazeValidationError(
            f"{where}.asset_file_type", f"is required when asset_url is given ({_APPLE_PAGE})"
        )
    _apple_buttons(body, where)
    size = _json_size(body)
    if size > MAX_APPLE_PUSH_BYTES:
        raise BrazeValidationError(
            where,
            f"is {size:,} bytes of JSON; Braze allows {MAX_APPLE_PUSH_BYTES:,} ({_APPLE_PAGE})",
        )


def _apple_buttons(body: Mapping[str, Any], where: str) -> None:
    """The Apple push action button objects against their category (apple_object.md)."""
    buttons = body.get("buttons")
    if not buttons:
        return
    category = body.get("category")
    # "You must include the category field in the Apple push object to use iOS push action
    # buttons."
    if category is None:
        raise BrazeValidationError(f"{where}.category", f"is required with buttons ({_APPLE_PAGE})")
    defaults = APPLE_DEFAULT_BUTTONS.get(category)
    for index, button in enumerate(buttons):
        at, action = f"{where}.buttons[{index}]", button.get("action")
        if defaults is not None:
            # Braze default buttons: the table's action identifiers and "Allowed Actions".
            allowed = defaults.get(button["action_id"])
            if allowed is None:
                raise BrazeValidationError(
                    f"{at}.action_id",
                    f"must be one of {', '.join(defaults)} in {category} ({_APPLE_PAGE})",
                )
            if action is not None and action not in allowed:
                raise BrazeValidationError(
                    f"{at}.action",
                    f"must be one of {', '.join(allowed)} for this button ({_APPLE_PAGE})",
                )
        else:
            # "for categories defined by your app": action "one of URI or DEEP_LINK" and uri,
            # both required.
            if action not in ("URI", "DEEP_LINK"):
                raise BrazeValidationError(
                    f"{at}.action",
                    f"must be URI or DEEP_LINK in a category of your app ({_APPLE_PAGE})",
                )
            if button.get("uri") is None:
                raise BrazeValidationError(
                    f"{at}.uri", f"is required in a category of your app ({_APPLE_PAGE})"
                )


APPLE_PUSH = _Shape(
    _APPLE_PAGE,
    {
        "badge": _INT,
        "alert": _f("str|shape", shape=APPLE_ALERT),
        "sound": _STR,
        "extra": _OBJ,
        "content-available": _BOOL,
        "interruption_level": _f("choice", "passive", "active", "time-sensitive", "critical"),
        # "(optional, float) ... between 0.0 and 1.0": a whole 0 or 1 is the same number.
        "relevance_score": _f("number", bounds=(0.0, 1.0)),
        "expiry": _TIME,
        "custom_uri": _STR,
        "use_webview": _BOOL,
        "message_variation_id": _STR,
        "notification_group_thread_id": _STR,
        "asset_url": _STR,
        "asset_file_type": _f("choice", "aif", "gif", "jpg", "m4a", "mp3", "mp4", "png", "wav"),
        "collapse_id": _STR,
        "mutable_content": _BOOL,
        "send_to_most_recent_device_only": _BOOL,
        "category": _STR,
        "buttons": _f("list", shape=APPLE_PUSH_BUTTON),
        # "an integer between 1 and 10".
        "apns_priority": _f("int", bounds=(1, 10)),
    },
    (_apple_rules,),
)


@attrs.frozen(slots=True, kw_only=True)
class AppleAlert(_Part):
    """An Apple push alert object (apple_object.md): ``body`` is required unless the push
    object's ``content_available`` is true."""

    _shape: ClassVar[_Shape] = APPLE_ALERT
    _where: ClassVar[str] = "messages.apple_push.alert"

    body: str | None = None
    title: str | None = None
    title_loc_key: str | None = None
    title_loc_args: Sequence[str] | None = None
    action_loc_key: str | None = None
    loc_key: str | None = None
    loc_args: Sequence[str] | None = None
    #: Live Activities only.
    sound: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class ApplePushButton(_Part):
    """An Apple push action button object (apple_object.md). With a Braze default category
    (``ab_cat_yes_no``...) ``action_id`` is one of its buttons (``ab_pb_yes``...) and
    ``action`` one its table allows; with a category of your app, ``action`` is ``"URI"`` or
    ``"DEEP_LINK"`` and ``uri`` is required."""

    _shape: ClassVar[_Shape] = APPLE_PUSH_BUTTON
    _where: ClassVar[str] = "messages.apple_push.buttons[]"

    action_id: str
    action: PushAction | None = None
    uri: str | None = None
    use_webview: bool | None = None


@attrs.frozen(slots=True, kw_only=True)
class ApplePush(_Checked):
    """The ``apple_push`` object (objects_filters/messaging/apple_object.md); at most 1,912
    bytes of JSON."""

    _channel: ClassVar[str] = "apple_push"
    _shape: ClassVar[_Shape] = APPLE_PUSH

    #: The notification: a string, or an Apple push alert object; required unless
    #: ``content_available`` is true.
    alert: str | AppleAlert | Properties | None = None
    badge: int | None = None
    #: ``"default"`` plays the standard sound.
    sound: str | None = None
    #: Additional keys and values; ``ab`` and ``aps`` are refused by Braze.
    extra: Properties | None = None
    #: JSON key ``content-available``.
    content_available: bool | None = attrs.field(
        default=None, metadata={WIRE_KEY: "content-available"}
    )
    interruption_level: InterruptionLevel | None = None
    #: Between 0.0 and 1.0.
    relevance_score: float | None = None
    #: An ISO 8601 date string.
    expiry: str | None = None
    custom_uri: str | None = None
    use_webview: bool | None = None
    message_variation_id: str | None = None
    notification_group_thread_id: str | None = None
    asset_url: str | None = None
    #: Required with ``asset_url``.
    asset_file_type: AssetFileType | None = None
    collapse_id: str | None = None
    mutable_content: bool | None = None
    send_to_most_recent_device_only: bool | None = None
    #: The iOS notification category; required with ``buttons``.
    category: str | None = None
    buttons: Sequence[ApplePushButton | Properties] | None = None
    #: Between 1 and 10.
    apns_priority: int | None = None
