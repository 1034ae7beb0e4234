"""The typed ``/messages/send`` channels beside the common ones (objects_filters/messaging/):
Content Cards, Kindle/FireOS push, web push and WhatsApp (its six message types, flows
included)::

    from braze_async import Messages
    from braze_async.channels import WebPush, WhatsApp, WhatsAppText

    Messages(
        web_push=WebPush(alert="Sale today", title="Shop"),
        whats_app=WhatsApp(app_id="a", subscription_group_id="g", message=WhatsAppText(body="Hi")),
    )

Each checks its page's rules on creation; a plain mapping given for the channel meets the
same rules (:func:`check_channel`, which also holds the rules of ``email``, ``sms`` and
``webhook``, the typed ``EmailMessage``, ``SmsMessage`` and ``WebhookMessage`` of
:mod:`braze_async`).
"""

from __future__ import annotations

from ._channels import (
    ContentCard,
    KindlePush,
    WebPush,
    WebPushButton,
    WhatsApp,
    WhatsAppButton,
    WhatsAppFlow,
    WhatsAppFlowButton,
    WhatsAppImage,
    WhatsAppList,
    WhatsAppListRow,
    WhatsAppListSection,
    WhatsAppQuickReply,
    WhatsAppTemplate,
    WhatsAppText,
    check_channel,
)

__all__ = [
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
    "WhatsAppQuickReply",
    "WhatsAppTemplate",
    "WhatsAppText",
    "check_channel",
]
