"""Every documented rule of the non-push messaging objects, in the client.

Pages: objects_filters/messaging/ email_object.md (and its attachment object, shared with the
top-level ``attachments`` of post_send_triggered_campaigns.md), sms_object.md,
webhook_object.md, content_cards_object.md, whats_app_object.md. Each rule is broken once,
given as the typed class and as a raw mapping: both are refused with a BrazeValidationError
naming the field path, before any network.
"""

from __future__ import annotations

from typing import Any

import attrs
import orjson
import pytest

from braze_async import (
    Attachment,
    BrazeValidationError,
    Campaign,
    EmailMessage,
    Messages,
    Recipient,
    SmsMessage,
    WebhookMessage,
)
from braze_async._models import WIRE_KEY
from braze_async._wire import dumps
from braze_async.channels import (
    ContentCard,
    WhatsApp,
    WhatsAppFlow,
    WhatsAppFlowButton,
    WhatsAppTemplate,
)

EMAIL: dict[str, Any] = {"app_id": "a", "from": "Shop <shop@example.com>", "body": "<p>Hi</p>"}
ATTACHMENT = {"file_name": "receipt", "url": "https://files.example.com/receipt.pdf"}
SMS = {"subscription_group_id": "g", "body": "Hi", "app_id": "a"}
WEBHOOK = {"url": "https://example.com/hook", "request_method": "POST"}
CARD = {"type": "CLASSIC", "title": "t", "description": "d", "time_to_live": 60}
WA = {"app_id": "a", "subscription_group_id": "g"}
TEMPLATE = {"template_name": "t", "template_language_code": "en"}
FLOW = {"body": "b", "flow_button": {"caption": "Start Order", "flow_id": "594425479261596"}}

CLASSES: dict[str, type[Any]] = {
    "email": EmailMessage,
    "sms": SmsMessage,
    "webhook": WebhookMessage,
    "content_card": ContentCard,
    "whats_app": WhatsApp,
}


def typed(channel: str, body: dict[str, Any]) -> Any:
    """The typed object of *body*: its JSON keys as attribute names, attachments as
    :class:`Attachment`, a required field left out given as None."""
    cls = CLASSES[channel]
    names = {a.metadata.get(WIRE_KEY, a.name): a.name for a in attrs.fields(cls)}
    kwargs = {names.get(key, key): value for key, value in body.items()}
    for a in attrs.fields(cls):
        if a.default is attrs.NOTHING and not a.name.startswith("_"):
            kwargs.setdefault(a.name, None)
    if channel == "email" and isinstance(body.get("attachments"), list):
        kwargs["attachments"] = [Attachment(**item) for item in body["attachments"]]
    return cls(**kwargs)


def wa(message_type: str, message: Any) -> dict[str, Any]:
    return {**WA, "message_type": message_type, "message": message}


VALID = [
    pytest.param("email", EMAIL, id="email"),
    pytest.param("email", {"app_id": "a", "from": "<s@x.io>", "email_template_id": "t"},
                 id="email-template-no-display-name"),
    pytest.param("email", {**EMAIL, "reply_to": "NO_REPLY_TO", "bcc": "b@x.io",
                           "extras": {"k": "v"}, "headers": {"X": "y"},
                           "should_inline_css": True,
                           "attachments": [{**ATTACHMENT, "basic_auth_credential": "files"}]},
                 id="email-every-field"),
    pytest.param("email", {**EMAIL, "attachments": [
        {"file_name": "report.v2", "url": "https://x.io/report.v2.xlsx?sig=1"}]},
                 id="email-attachment-dotted-name"),
    pytest.param("sms", SMS, id="sms"),
    pytest.param("sms", {**SMS, "media_items": ["https://x.io/a.png"],
                         "link_shortening_enabled": True, "user_click_tracking_enabled": True},
                 id="sms-every-field"),
    pytest.param("webhook", {**WEBHOOK, "request_headers": {"Content-Type": "text/plain"},
                             "body": ""}, id="webhook"),
    pytest.param("content_card", CARD, id="card"),
    pytest.param("content_card", {"type": "CAPTIONED_IMAGE", "title": "t", "description": "d",
                                  "image_url": "https://x.io/i.png",
                                  "expire_at": "2031-01-01T00:00:00+0000",
                                  "expire_in_local_time": True}, id="card-expire-at"),
    pytest.param("whats_app", wa("template_message",
                                 {**TEMPLATE, "header_media_uri": "https://x.io/h.png"}),
                 id="wa-template-header-media"),
    pytest.param("whats_app", wa("flow_response_message", FLOW), id="wa-flow"),
]  # fmt: skip


@pytest.mark.parametrize(("channel", "body"), VALID)
def test_a_message_within_its_page_is_sent_as_it_is(channel: str, body: dict[str, Any]) -> None:
    """The class and the mapping are accepted, and both go on the wire as the page's JSON."""
    for message in (typed(channel, body), body):
        request = Messages.of({channel: message}).request(segment_id="s")
        assert orjson.loads(dumps(request))["messages"][channel] == body


def bad_list(rows: int) -> dict[str, Any]:
    section = {"section_title": "s", "list_rows": [{"row_title": "r"}] * rows}
    return {"body": "b", "list": {"list_button_text": "c", "list_sections": [section]}}


INVALID = [
    # -- email_object.md
    pytest.param("email", {**EMAIL, "app_id": None}, "email.app_id", "required", id="email-app"),
    pytest.param("email", {"app_id": "a", "body": "b"}, "email.from", "required",
                 id="email-from-required"),
    pytest.param("email", {**EMAIL, "from": "shop@example.com"}, "email.from", "Display Name",
                 id="email-from-format"),
    pytest.param("email", {**EMAIL, "from": "Shop <shop@example>"}, "email.from",
                 "Display Name", id="email-from-domain"),
    pytest.param("email", {**EMAIL, "reply_to": "nobody"}, "email.reply_to", "NO_REPLY_TO",
                 id="email-reply-to"),
    pytest.param("email", {**EMAIL, "bcc": "b c@x.io"}, "email.bcc", "email address",
                 id="email-bcc"),
    pytest.param("email", {"app_id": "a", "from": "S <s@x.io>"}, "email.body",
                 "unless email_template_id", id="email-body-or-template"),
    pytest.param("email", {**EMAIL, "subject": 1}, "email.subject", "string", id="email-subject"),
    pytest.param("email", {**EMAIL, "preheader": ""}, "email.preheader", "empty",
                 id="email-preheader"),
    pytest.param("email", {**EMAIL, "extras": ["k"]}, "email.extras", "object",
                 id="email-extras"),
    pytest.param("email", {**EMAIL, "headers": "X: y"}, "email.headers", "object",
                 id="email-headers"),
    pytest.param("email", {**EMAIL, "should_inline_css": "yes"}, "email.should_inline_css",
                 "boolean", id="email-inline-css"),
    pytest.param("email", {**EMAIL, "attachments": ATTACHMENT}, "email.attachments", "list",
                 id="email-attachments-list"),
    pytest.param("email", {**EMAIL, "attachments": [ATTACHMENT, {**ATTACHMENT, "url": None}]},
                 "email.attachments[1].url", "string", id="attachment-url-required"),
    pytest.param("email", {**EMAIL, "attachments": [{**ATTACHMENT, "file_name": ""}]},
                 "email.attachments[0].file_name", "empty", id="attachment-name-empty"),
    pytest.param("email", {**EMAIL, "attachments": [{**ATTACHMENT, "file_name": "r.PDF"}]},
                 "email.attachments[0].file_name", "extension", id="attachment-name-extension"),
    pytest.param("email", {**EMAIL, "attachments": [{**ATTACHMENT, "url": "ftp://x.io/r.pdf"}]},
                 "email.attachments[0].url", "http(s)", id="attachment-url-scheme"),
    pytest.param("email", {**EMAIL, "attachments": [{**ATTACHMENT, "url": "https:///r.pdf"}]},
                 "email.attachments[0].url", "http(s)", id="attachment-url-host"),
    pytest.param("email", {**EMAIL, "attachments": [{**ATTACHMENT, "url": "https://x.io/r.exe"}]},
                 "email.attachments[0].url", "attachment type", id="attachment-url-type"),
    pytest.param("email", {**EMAIL, "attachments": [{**ATTACHMENT, "url": "https://x.io/get"}]},
                 "email.attachments[0].url", "attachment type", id="attachment-url-no-type"),
    pytest.param("email",
                 {**EMAIL, "attachments": [{**ATTACHMENT, "basic_auth_credential": ""}]},
                 "email.attachments[0].basic_auth_credential", "empty",
                 id="attachment-credential"),
    # -- sms_object.md
    pytest.param("sms", {**SMS, "subscription_group_id": None}, "sms.subscription_group_id",
                 "required", id="sms-group"),
    pytest.param("sms", {**SMS, "body": None}, "sms.body", "required", id="sms-body"),
    pytest.param("sms", {**SMS, "app_id": ""}, "sms.app_id", "empty", id="sms-app"),
    pytest.param("sms", {**SMS, "media_items": "https://x.io/a.png"}, "sms.media_items", "array",
                 id="sms-media-array"),
    pytest.param("sms", {**SMS, "media_items": [{"url": "https://x.io/a.png"}]},
                 "sms.media_items[0]", "URL", id="sms-media-url"),
    pytest.param("sms", {**SMS, "link_shortening_enabled": "true"}, "sms.link_shortening_enabled",
                 "boolean", id="sms-links"),
    pytest.param("sms", {**SMS, "user_click_tracking_enabled": True},
                 "sms.user_click_tracking_enabled", "link_shortening_enabled",
                 id="sms-click-tracking-alone"),
    # -- webhook_object.md
    pytest.param("webhook", {**WEBHOOK, "url": None}, "webhook.url", "required", id="hook-url"),
    pytest.param("webhook", {**WEBHOOK, "request_method": "PATCH"}, "webhook.request_method",
                 "one of", id="hook-method"),
    pytest.param("webhook", {**WEBHOOK, "request_headers": {"A": 1}},
                 "webhook.request_headers.A", "string", id="hook-header"),
    pytest.param("webhook", {**WEBHOOK, "body": {"a": 1}}, "webhook.body", "string",
                 id="hook-body"),
    # -- content_cards_object.md
    pytest.param("content_card", {**CARD, "type": "HERO"}, "content_card.type", "one of",
                 id="card-type"),
    pytest.param("content_card", {**CARD, "type": "BANNER"}, "content_card.image_url",
                 "required", id="card-image"),
    pytest.param("content_card", {**CARD, "time_to_live": None}, "content_card.time_to_live",
                 "expire_at", id="card-expiry"),
    pytest.param("content_card", {**CARD, "time_to_live": 30 * 86400 + 1},
                 "content_card.time_to_live", "30 days", id="card-ttl"),
    pytest.param("content_card", {**CARD, "expire_at": "2031-02-30"}, "content_card.expire_at",
                 "ISO 8601", id="card-expire-at"),
    pytest.param("content_card", {**CARD, "expire_in_local_time": True},
                 "content_card.expire_in_local_time", "expire_at", id="card-local-time"),
    # -- whats_app_object.md
    pytest.param("whats_app", wa("video_message", {}), "whats_app.message_type", "one of",
                 id="wa-type"),
    pytest.param("whats_app", wa("template_message", {**TEMPLATE, "header_image_uri": "u"}),
                 "whats_app.message.header_image_uri", "header_media_uri",
                 id="wa-template-header-image"),
    pytest.param("whats_app", wa("template_message", {**TEMPLATE, "header_variables": {"0": "a"},
                                                      "header_media_uri": "u"}),
                 "whats_app.message.header_media_uri", "header_variables",
                 id="wa-template-two-headers"),
    pytest.param("whats_app", wa("template_message", {**TEMPLATE, "body_variables": {"٣": "a"}}),
                 "whats_app.message.body_variables", "index", id="wa-variable-index-ascii"),
    pytest.param("whats_app", wa("list_response_message", bad_list(11)),
                 "whats_app.message.list.list_sections", "10", id="wa-rows"),
    pytest.param("whats_app", wa("flow_response_message", {"body": "b"}),
                 "whats_app.message.flow_button", "required", id="wa-flow-button"),
    pytest.param("whats_app", wa("flow_response_message",
                                 {**FLOW, "flow_button": {"caption": "c"}}),
                 "whats_app.message.flow_button.flow_id", "required", id="wa-flow-id"),
    pytest.param("whats_app", wa("flow_response_message",
                                 {**FLOW, "flow_button": {"caption": "x" * 21, "flow_id": "1"}}),
                 "whats_app.message.flow_button.caption", "20 characters",
                 id="wa-flow-caption"),
    pytest.param("whats_app", wa("flow_response_message",
                                 {**FLOW, "generate_custom_attribute": "true"}),
                 "whats_app.message.generate_custom_attribute", "boolean", id="wa-flow-attr"),
]  # fmt: skip


@pytest.mark.parametrize(("channel", "body", "field", "rule"), INVALID)
def test_a_broken_rule_is_refused_as_a_mapping(
    channel: str, body: dict[str, Any], field: str, rule: str
) -> None:
    """The raw mapping given for the channel: refused, naming the field path and the rule."""
    with pytest.raises(BrazeValidationError) as info:
        Messages.of({channel: body})
    assert info.value.field == f"messages.{field}"
    assert rule in str(info.value)


@pytest.mark.parametrize(("channel", "body", "field", "rule"), INVALID)
def test_a_broken_rule_is_refused_by_the_class(
    channel: str, body: dict[str, Any], field: str, rule: str
) -> None:
    """The typed class: the same refusal on creation (an :class:`Attachment` checks itself
    when made, before it has a place in a list: ``attachments.url``)."""
    with pytest.raises(BrazeValidationError) as info:
        typed(channel, body)
    if "attachments[" in field:
        field = "attachments." + field.rsplit(".", 1)[1]
        assert info.value.field == field
    else:
        assert info.value.field == f"messages.{field}"
    assert rule in str(info.value)


def test_an_attachment_mapping_takes_only_the_pages_fields() -> None:
    """email_object.md defines ``file_name``, ``url`` and ``basic_auth_credential``."""
    with pytest.raises(BrazeValidationError) as info:
        Messages(email={**EMAIL, "attachments": [{**ATTACHMENT, "size": 1}]})
    assert info.value.field == "messages.email.attachments[0].size"


def test_campaign_attachments_follow_the_attachment_object() -> None:
    """The top-level ``attachments`` of /campaigns/trigger/send are the same object
    (email_object.md, "Authentication for email file attachments"), credential included."""
    attachment = Attachment("receipt", "https://x.io/r.pdf", basic_auth_credential="files")
    body = dumps(Campaign("c", attachments=[attachment]).request([Recipient(external_user_id="u")]))
    assert b'"basic_auth_credential":"files"' in body
    with pytest.raises(BrazeValidationError, match="attachments.url"):
        Attachment("receipt", "https://x.io/r.php")


def test_typed_whats_app_messages_of_the_newest_page() -> None:
    """whats_app_object.md: a flow message, and a template's image header as
    ``header_media_uri``."""
    flow = WhatsApp(
        app_id="a",
        subscription_group_id="g",
        message=WhatsAppFlow(
            body="b", flow_button=WhatsAppFlowButton(caption="Start", flow_id="5944")
        ),
    )
    assert flow.message_type == "flow_response_message"
    assert flow.wire()["message"] == {
        "body": "b",
        "flow_button": {"caption": "Start", "flow_id": "5944"},
    }
    with pytest.raises(BrazeValidationError) as info:
        WhatsAppFlowButton(caption="x" * 21, flow_id="1")
    assert info.value.field == "messages.whats_app.message.flow_button.caption"
    with pytest.raises(BrazeValidationError) as info:
        WhatsAppTemplate(
            template_name="t",
            template_language_code="en",
            header_variables={"0": "a"},
            header_media_uri="https://x.io/h.png",
        )
    assert info.value.field == "messages.whats_app.message.header_media_uri"
