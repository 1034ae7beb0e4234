"""The ``/messages/send`` channels (objects_filters/messaging/): a module per page, each with its
rules and typed objects: ``_apple.py``, ``_android.py``, ``_kindle.py``, ``_web_push.py``,
``_cards.py``, ``_whats_app.py``, and ``_email.py`` (email, SMS, webhook, whose classes are in
``_messages.py``); the engine that checks them in ``_shape.py``.

Each page's rules (required fields, enumerations, sizes, formats) are written once, as a
:class:`._shape._Shape` of the object's JSON, and :func:`check_channel` applies them to the body a
channel sends. A typed class checks its own body on creation; a plain mapping given for the
channel is checked by the same function (fields the shape does not know pass as they are)::

    Messages(web_push=WebPush(alert="Sale", title="Shop", buttons=[WebPushButton(text="Open")]))
    Messages(web_push={"alert": "Sale", "title": "Shop"})  # the same rules
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._android import (
    ANDROID_PUSH,
    AndroidConversation,
    AndroidConversationMessage,
    AndroidConversationPerson,
    AndroidPush,
    AndroidPushButton,
)
from ._apple import APPLE_PUSH, AppleAlert, ApplePush, ApplePushButton
from ._cards import CONTENT_CARD, ContentCard, check_card_expiry
from ._email import EMAIL, SMS, WEBHOOK
from ._kindle import KINDLE_PUSH, KindlePush
from ._shape import _body, _Shape, check_shape
from ._web_push import WEB_PUSH, WebPush, WebPushButton
from ._whats_app import (
    WHATS_APP,
    WhatsApp,
    WhatsAppButton,
    WhatsAppFlow,
    WhatsAppFlowButton,
    WhatsAppImage,
    WhatsAppList,
    WhatsAppListRow,
    WhatsAppListSection,
    WhatsAppMessage,
    WhatsAppQuickReply,
    WhatsAppTemplate,
    WhatsAppText,
)

__all__ = [
    "SHAPES",
    "AndroidConversation",
    "AndroidConversationMessage",
    "AndroidConversationPerson",
    "AndroidPush",
    "AndroidPushButton",
    "AppleAlert",
    "ApplePush",
    "ApplePushButton",
    "ContentCard",
    "KindlePush",
    "WebPush",
    "WebPushButton",
    "WhatsApp",
    "WhatsAppButton",
    "WhatsAppFlow",
    "WhatsAppFlowButton",
    "WhatsAppImage",
    "WhatsAppList",
    "WhatsAppListRow",
    "WhatsAppListSection",
    "WhatsAppMessage",
    "WhatsAppQuickReply",
    "WhatsAppTemplate",
    "WhatsAppText",
    "_body",
    "channel_mapping",
    "check_card_expiry",
    "check_channel",
]

SHAPES: Mapping[str, _Shape] = {
    "android_push": ANDROID_PUSH,
    "apple_push": APPLE_PUSH,
    "content_card": CONTENT_CARD,
    "email": EMAIL,
    "sms": SMS,
    "webhook": WEBHOOK,
    "kindle_push": KINDLE_PUSH,
    "web_push": WEB_PUSH,
    "whats_app": WHATS_APP,
}


def check_channel(name: str, body: object) -> Mapping[str, Any]:
    """Raise :class:`~braze_async.BrazeValidationError` unless *body* is a ``messages.<name>``
    object its page allows (``name`` one of :data:`SHAPES`)."""
    return check_shape(SHAPES[name], body, f"messages.{name}")


def channel_mapping(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator of a ``Messages`` channel field: a mapping meets its page's rules (a
    typed object has met them on creation)."""
    if isinstance(value, Mapping) and attribute.name in SHAPES:
        check_channel(attribute.name, value)
