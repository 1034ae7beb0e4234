"""The Kindle and FireOS push object (kindle_and_fireos_object.md)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._shape import (
    _OBJ,
    _REQUIRED_STR,
    _STR,
    Properties,
    _Checked,
    _f,
    _Shape,
)

# -- kindle_and_fireos_object.md --------------------------------------------------------

_KINDLE_PAGE = "kindle_and_fireos_object.md"
KINDLE_PUSH = _Shape(
    _KINDLE_PAGE,
    {
        "alert": _REQUIRED_STR,
        "title": _REQUIRED_STR,
        "extra": _OBJ,
        "message_variation_id": _STR,
        # "Any values sent that outside of that integer range will default to 0": Braze takes
        # them and ignores them; the client refuses them (the simulator takes them).
        "priority": _f("int", bounds=(-2, 2)),
        "collapse_key": _STR,
        "sound": _STR,
        "custom_uri": _STR,
    },
)


@attrs.frozen(slots=True, kw_only=True)
class KindlePush(_Checked):
    """The ``kindle_push`` object (objects_filters/messaging/kindle_and_fireos_object.md)."""

    _channel: ClassVar[str] = "kindle_push"
    _shape: ClassVar[_Shape] = KINDLE_PUSH

    alert: str
    title: str
    extra: Properties | None = None
    message_variation_id: str | None = None
    #: -2 (lowest) to 2 (highest).
    priority: int | None = None
    collapse_key: str | None = None
    #: ``"default"`` plays the standard sound.
    sound: str | None = None
    custom_uri: str | None = None
