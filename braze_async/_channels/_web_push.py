"""The web push object (web_objects.md) and its action buttons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import attrs

from ._shape import (
    _BOOL,
    _OBJ,
    _REQUIRED_STR,
    _STR,
    Properties,
    _Checked,
    _f,
    _Part,
    _Shape,
)

# -- web_objects.md ---------------------------------------------------------------------

_WEB_PAGE = "web_objects.md"
WEB_PUSH_BUTTON = _Shape(
    _WEB_PAGE,
    {"text": _REQUIRED_STR, "action": _f("choice", "OPEN_APP", "URI", "CLOSE"), "uri": _STR},
)
WEB_PUSH = _Shape(
    _WEB_PAGE,
    {
        "alert": _REQUIRED_STR,
        "title": _REQUIRED_STR,
        "extra": _OBJ,
        "message_variation_id": _STR,
        "custom_uri": _STR,
        "image_url": _STR,
        "large_image_url": _STR,
        "require_interaction": _BOOL,
        # "integer (seconds)": not negative.
        "time_to_live": _f("int", bounds=(0, None)),
        "send_to_most_recent_device_only": _BOOL,
        "buttons": _f("list", shape=WEB_PUSH_BUTTON),
    },
)


@attrs.frozen(slots=True, kw_only=True)
class WebPushButton(_Part):
    """A web push action button object (web_objects.md)."""

    _shape: ClassVar[_Shape] = WEB_PUSH_BUTTON
    _where: ClassVar[str] = "messages.web_push.buttons[]"

    text: str
    #: ``"OPEN_APP"`` (Braze's default), ``"URI"`` or ``"CLOSE"``.
    action: Literal["OPEN_APP", "URI", "CLOSE"] | None = None
    uri: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class WebPush(_Checked):
    """The ``web_push`` object (objects_filters/messaging/web_objects.md)."""

    _channel: ClassVar[str] = "web_push"
    _shape: ClassVar[_Shape] = WEB_PUSH

    alert: str
    title: str
    extra: Properties | None = None
    message_variation_id: str | None = None
    custom_uri: str | None = None
    #: Cropped to a 1:1 aspect ratio.
    image_url: str | None = None
    large_image_url: str | None = None
    require_interaction: bool | None = None
    #: Seconds.
    time_to_live: int | None = None
    send_to_most_recent_device_only: bool | None = None
    buttons: Sequence[WebPushButton | Properties] | None = None
