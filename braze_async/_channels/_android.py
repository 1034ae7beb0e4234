"""The Android push object (android_object.md), its action buttons and conversation object."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import attrs

from .._errors import BrazeValidationError
from ._apple import PUSH_ACTIONS, PushAction
from ._shape import (
    _BOOL,
    _INT,
    _OBJ,
    _REQUIRED_STR,
    _STR,
    REQ,
    Properties,
    _Checked,
    _f,
    _json_size,
    _Part,
    _Shape,
)

# -- android_object.md -------------------------------------------------------------------

_ANDROID_PAGE = "android_object.md"
#: "The total number of bytes in your alert string and extra object should not exceed 4,000"
#: (android_object.md; errors.md: "Android Push Length Exceeded"): the alert's UTF-8 bytes
#: and the extra object's JSON.
MAX_ANDROID_PUSH_BYTES = 4000
#: ``time_to_live``: "integer (maximum of 2,419,200 seconds)" (android_object.md).
MAX_ANDROID_TIME_TO_LIVE = 2_419_200

ANDROID_PUSH_BUTTON = _Shape(
    _ANDROID_PAGE,
    {
        "text": _REQUIRED_STR,
        "action": _f("choice", *PUSH_ACTIONS),
        "uri": _STR,
        "use_webview": _BOOL,
    },
)
ANDROID_CONVERSATION_MESSAGE = _Shape(
    _ANDROID_PAGE,
    {"text": _REQUIRED_STR, "timestamp": _f("int", required=REQ), "person_id": _REQUIRED_STR},
)
ANDROID_CONVERSATION_PERSON = _Shape(_ANDROID_PAGE, {"id": _REQUIRED_STR, "name": _REQUIRED_STR})
ANDROID_CONVERSATION = _Shape(
    _ANDROID_PAGE,
    {
        "shortcut_id": _REQUIRED_STR,
        "reply_person_id": _REQUIRED_STR,
        "messages": _f("list", required=REQ, shape=ANDROID_CONVERSATION_MESSAGE),
        "persons": _f("list", required=REQ, shape=ANDROID_CONVERSATION_PERSON),
    },
)


def _android_rules(body: Mapping[str, Any], where: str) -> None:
    for name in ("alert", "title"):
        if body.get("send_to_sync") is True:
            # "send_to_sync: if set to true we throw an error if alert or title is set".
            if body.get(name) is not None:
                raise BrazeValidationError(
                    f"{where}.{name}",
                    f"must not be set when send_to_sync is true ({_ANDROID_PAGE})",
                )
        elif body.get(name) is None:
            raise BrazeValidationError(
                f"{where}.{name}", f"is required unless send_to_sync is true ({_ANDROID_PAGE})"
            )
    alert, extra = body.get("alert") or "", body.get("extra")
    size = len(alert.encode()) + (_json_size(extra) if extra is not None else 0)
    if size > MAX_ANDROID_PUSH_BYTES:
        raise BrazeValidationError(
            where,
            f"alert and extra are {size:,} bytes; Braze allows {MAX_ANDROID_PUSH_BYTES:,} "
            f"({_ANDROID_PAGE})",
        )


ANDROID_PUSH = _Shape(
    _ANDROID_PAGE,
    {
        "alert": _STR,
        "title": _STR,
        "extra": _OBJ,
        "message_variation_id": _STR,
        "notification_channel_id": _STR,
        # "accepts values from -2 to 2 ... Any values sent outside of that range default to 0":
        # Braze takes them and ignores them; the client refuses them (the simulator takes them).
        "priority": _f("int", bounds=(-2, 2)),
        "android_priority": _f("choice", "normal", "high"),
        # The page gives no type ("if set to true we throw an error..."): a boolean.
        "send_to_sync": _BOOL,
        "collapse_key": _STR,
        "sound": _STR,
        "custom_uri": _STR,
        "use_webview": _BOOL,
        "summary_text": _STR,
        # Seconds: not negative, at most 2,419,200.
        "time_to_live": _f("int", bounds=(0, MAX_ANDROID_TIME_TO_LIVE)),
        "notification_id": _INT,
        "push_icon_image_url": _STR,
        "accent_color": _INT,
        "send_to_most_recent_device_only": _BOOL,
        "buttons": _f("list", shape=ANDROID_PUSH_BUTTON),
        "conversation_data": _f("shape", shape=ANDROID_CONVERSATION),
    },
    (_android_rules,),
)


@attrs.frozen(slots=True, kw_only=True)
class AndroidPushButton(_Part):
    """An Android push action button object (android_object.md)."""

    _shape: ClassVar[_Shape] = ANDROID_PUSH_BUTTON
    _where: ClassVar[str] = "messages.android_push.buttons[]"

    text: str
    #: ``"OPEN_APP"`` (Braze's default), ``"URI"``, ``"DEEP_LINK"`` or ``"CLOSE"``.
    action: PushAction | None = None
    uri: str | None = None
    use_webview: bool | None = None


@attrs.frozen(slots=True, kw_only=True)
class AndroidConversationMessage(_Part):
    """An Android conversation push message object (android_object.md)."""

    _shape: ClassVar[_Shape] = ANDROID_CONVERSATION_MESSAGE
    _where: ClassVar[str] = "messages.android_push.conversation_data.messages[]"

    text: str
    #: A Unix timestamp (seconds).
    timestamp: int
    person_id: str


@attrs.frozen(slots=True, kw_only=True)
class AndroidConversationPerson(_Part):
    """An Android conversation push person object (android_object.md)."""

    _shape: ClassVar[_Shape] = ANDROID_CONVERSATION_PERSON
    _where: ClassVar[str] = "messages.android_push.conversation_data.persons[]"

    id: str
    name: str


@attrs.frozen(slots=True, kw_only=True)
class AndroidConversation(_Part):
    """An Android conversation push object (android_object.md)."""

    _shape: ClassVar[_Shape] = ANDROID_CONVERSATION
    _where: ClassVar[str] = "messages.android_push.conversation_data"

    shortcut_id: str
    reply_person_id: str
    messages: Sequence[AndroidConversationMessage | Properties]
    persons: Sequence[AndroidConversationPerson | Properties]


@attrs.frozen(slots=True, kw_only=True)
class AndroidPush(_Checked):
    """The ``android_push`` object (objects_filters/messaging/android_object.md): ``alert``
    and ``extra`` at most 4,000 bytes together."""

    _channel: ClassVar[str] = "android_push"
    _shape: ClassVar[_Shape] = ANDROID_PUSH

    #: The notification message; required unless ``send_to_sync`` is true.
    alert: str | None = None
    #: The title in the notification drawer; required unless ``send_to_sync`` is true.
    title: str | None = None
    extra: Properties | None = None
    message_variation_id: str | None = None
    notification_channel_id: str | None = None
    #: From -2 (MIN) to 2 (MAX).
    priority: int | None = None
    #: The FCM sender priority.
    android_priority: Literal["normal", "high"] | None = None
    #: A silent push: ``alert`` and ``title`` must then be absent.
    send_to_sync: bool | None = None
    collapse_key: str | None = None
    sound: str | None = None
    custom_uri: str | None = None
    use_webview: bool | None = None
    summary_text: str | None = None
    #: Seconds, at most 2,419,200.
    time_to_live: int | None = None
    notification_id: int | None = None
    push_icon_image_url: str | None = None
    #: An RGB integer.
    accent_color: int | None = None
    send_to_most_recent_device_only: bool | None = None
    buttons: Sequence[AndroidPushButton | Properties] | None = None
    conversation_data: AndroidConversation | Properties | None = None
