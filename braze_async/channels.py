"""The typed ``/messages/send`` channels beside email, SMS and webhooks
(objects_filters/messaging/): Apple, Android, Kindle/FireOS and web push with their buttons,
alert and conversation objects, Content Cards and WhatsApp (its six message types, flows
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
    AndroidConversation,
    AndroidConversationMessage,
    AndroidConversationPerson,
    AndroidPush,
    AndroidPushButton,
    AppleAlert,
    ApplePush,
    ApplePushButton,
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
    "WhatsAppQuickReply",
    "WhatsAppTemplate",
    "WhatsAppText",
    "check_channel",
]
