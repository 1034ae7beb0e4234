"""The non-push messaging objects' rules in the simulator, over a real socket: every documented
rule of email_object.md, sms_object.md, webhook_object.md, content_cards_object.md and
whats_app_object.md refused with a 400 ``invalid_<channel>`` naming the field, the attachment
object of both send endpoints, and the pages' own examples accepted."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from simulator_support import AUTH, CAMPAIGNS, KEY, MESSAGES, campaign

from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking HTTP to a simulator serving on a loopback port."""
    async with (
        BrazeSimulator(KEY, external_id_rate="100000/60") as sim,
        httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as http,
    ):
        yield http


EMAIL: dict[str, Any] = {
    "app_id": "a",
    "from": "Shop <shop@example.com>",
    "body": "<p>Hi</p>",
}
ATTACHMENT = {"file_name": "receipt", "url": "https://files.example.com/receipt.pdf"}
SMS = {"subscription_group_id": "g", "body": "Hi", "app_id": "a"}
WEBHOOK = {"url": "https://example.com/hook", "request_method": "POST"}
#: 20 days from now (the simulator's clock): within a card's 30 days (content_cards_object.md).
SOON = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%S+0000")
CARD = {"type": "CLASSIC", "title": "t", "description": "d", "time_to_live": 60}
WA = {"app_id": "a", "subscription_group_id": "g"}
TEMPLATE = {"template_name": "t", "template_language_code": "en"}
FLOW = {"body": "b", "flow_button": {"caption": "Start Order", "flow_id": "594425479261596"}}
LIST = {
    "body": "b",
    "list": {
        "list_button_text": "c",
        "list_sections": [{"section_title": "s", "list_rows": [{"row_title": "r"}]}],
    },
}


def wa(message_type: str, message: Any) -> dict[str, Any]:
    return {**WA, "message_type": message_type, "message": message}


def send(channel: str, message: Any, **extra: Any) -> dict[str, Any]:
    return {"external_user_ids": ["u"], "messages": {channel: message}, **extra}


VALID = [
    pytest.param("email", EMAIL, id="email"),
    pytest.param("email", {"app_id": "a", "email_template_id": "tpl"}, id="email-template"),
    pytest.param(
        "email",
        {
            **EMAIL,
            "reply_to": "NO_REPLY_TO",
            "bcc": "bcc@example.com",
            "extras": {"k": "v"},
            "headers": {"X-Tag": "t"},
            "should_inline_css": False,
            "attachments": [{**ATTACHMENT, "basic_auth_credential": "files"}],
        },
        id="email-every-field",
    ),
    # "Example email object with attachment" (no from, no body) and the basic-auth example
    # (a file_name with its extension): each page example passes as printed.
    pytest.param(
        "email",
        {
            "app_id": "YOUR_APP_ID",
            "attachments": [
                {"file_name": "YourFileName", "url": "https://exampleurl.com/YourFileName.pdf"}
            ],
        },
        id="email-page-example",
    ),
    pytest.param(
        "email",
        {
            **EMAIL,
            "attachments": [
                {
                    "file_name": "checkout_receipt.pdf",
                    "url": "https://fileserver.company.com/user123-checkout_receipt.pdf",
                    "basic_auth_credential": "company_basic_auth_credential_name",
                }
            ],
        },
        id="email-basic-auth-example",
    ),
    pytest.param(
        "email",
        {**EMAIL, "attachments": [{"file_name": "f", "url": "https://x.io/download?id=7"}]},
        id="attachment-url-without-extension",
    ),
    pytest.param("sms", SMS, id="sms"),
    pytest.param(
        "sms",
        {
            **SMS,
            "media_items": ["https://x.io/a.png"],
            "link_shortening_enabled": True,
            "user_click_tracking_enabled": True,
        },
        id="sms-every-field",
    ),
    pytest.param("webhook", WEBHOOK, id="webhook"),
    pytest.param(
        "webhook",
        {**WEBHOOK, "request_headers": {"Content-Type": "text/plain", "X": ""}, "body": ""},
        id="webhook-empty-body",
    ),
    pytest.param("content_card", CARD, id="card"),
    pytest.param(
        "content_card",
        {
            "type": "BANNER",
            "title": "t",
            "description": "d",
            "image_url": "https://x.io/i.png",
            "expire_at": SOON,
            "expire_in_local_time": True,
        },
        id="card-banner-expire-at",
    ),
    pytest.param("whats_app", wa("template_message", TEMPLATE), id="wa-template"),
    pytest.param(
        "whats_app",
        wa("template_message", {**TEMPLATE, "header_media_uri": "https://x.io/h.png"}),
        id="wa-template-header-media",
    ),
    pytest.param(
        "whats_app",
        wa("template_message", {**TEMPLATE, "header_image_uri": "https://x.io/h.png"}),
        id="wa-template-header-image-older-page",
    ),
    pytest.param("whats_app", wa("text_response_message", {"body": "b"}), id="wa-text"),
    pytest.param("whats_app", wa("list_response_message", LIST), id="wa-list"),
    pytest.param("whats_app", wa("flow_response_message", FLOW), id="wa-flow"),
]


@pytest.mark.parametrize(("channel", "message"), VALID)
async def test_valid_message_is_accepted(
    client: httpx.AsyncClient, channel: str, message: Any
) -> None:
    """A message within its page's rules is a 201."""
    response = await client.post(MESSAGES, json=send(channel, message))
    assert response.status_code == 201, response.text


def bad_list(rows: int) -> dict[str, Any]:
    section = {"section_title": "s", "list_rows": [{"row_title": "r"}] * rows}
    return {"body": "b", "list": {"list_button_text": "c", "list_sections": [section]}}


INVALID = [
    # -- email_object.md
    pytest.param("email", {"from": "S <s@x.io>", "body": "b"}, "email.app_id", id="email-no-app"),
    pytest.param("email", {**EMAIL, "from": "shop@example.com"}, "email.from", id="email-from"),
    pytest.param("email", {**EMAIL, "from": "S <shop>"}, "email.from", id="email-from-address"),
    pytest.param("email", {**EMAIL, "reply_to": "no"}, "email.reply_to", id="email-reply-to"),
    pytest.param("email", {**EMAIL, "bcc": "b c@x.io"}, "email.bcc", id="email-bcc"),
    pytest.param("email", {**EMAIL, "subject": 7}, "email.subject", id="email-subject"),
    pytest.param("email", {**EMAIL, "body": ""}, "email.body", id="email-empty-body"),
    pytest.param("email", {**EMAIL, "extras": []}, "email.extras", id="email-extras"),
    pytest.param("email", {**EMAIL, "headers": "h"}, "email.headers", id="email-headers"),
    pytest.param(
        "email", {**EMAIL, "should_inline_css": "true"}, "email.should_inline_css", id="email-css"
    ),
    pytest.param("email", {**EMAIL, "attachments": {}}, "email.attachments", id="email-att-obj"),
    pytest.param(
        "email",
        {**EMAIL, "attachments": [ATTACHMENT, {"file_name": "f"}]},
        "email.attachments[1].url",
        id="email-att-no-url",
    ),
    pytest.param(
        "email",
        {**EMAIL, "attachments": [{**ATTACHMENT, "url": "ftp://x.io/f.pdf"}]},
        "email.attachments[0].url",
        id="email-att-ftp",
    ),
    pytest.param(
        "email",
        {**EMAIL, "attachments": [{**ATTACHMENT, "url": "https://x.io/setup.exe"}]},
        "email.attachments[0].url",
        id="email-att-type",
    ),
    pytest.param(
        "email",
        {**EMAIL, "attachments": [{**ATTACHMENT, "basic_auth_credential": ""}]},
        "email.attachments[0].basic_auth_credential",
        id="email-att-credential",
    ),
    pytest.param(
        "email",
        {**EMAIL, "attachments": [{**ATTACHMENT, "size": 1}]},
        "email.attachments[0].size",
        id="email-att-unknown",
    ),
    # -- sms_object.md
    pytest.param("sms", {"body": "b", "app_id": "a"}, "sms.subscription_group_id", id="sms-group"),
    pytest.param("sms", {**SMS, "body": 3}, "sms.body", id="sms-body"),
    pytest.param("sms", {**SMS, "media_items": "u"}, "sms.media_items", id="sms-media-list"),
    pytest.param("sms", {**SMS, "media_items": ["x"]}, "sms.media_items[0]", id="sms-media-url"),
    pytest.param(
        "sms", {**SMS, "link_shortening_enabled": 1}, "sms.link_shortening_enabled", id="sms-link"
    ),
    pytest.param(
        "sms",
        {**SMS, "user_click_tracking_enabled": True},
        "sms.user_click_tracking_enabled",
        id="sms-click-without-links",
    ),
    # -- webhook_object.md
    pytest.param("webhook", {"request_method": "POST"}, "webhook.url", id="webhook-url"),
    pytest.param("webhook", {**WEBHOOK, "request_method": "PATCH"}, "webhook.request_method",
                 id="webhook-method"),
    pytest.param("webhook", {"url": "https://x"}, "webhook.request_method", id="webhook-no-method"),
    pytest.param("webhook", {**WEBHOOK, "request_headers": {"A": 1}}, "webhook.request_headers.A",
                 id="webhook-header"),
    pytest.param("webhook", {**WEBHOOK, "body": {"a": 1}}, "webhook.body", id="webhook-body"),
    # -- content_cards_object.md
    pytest.param("content_card", {**CARD, "type": "HERO"}, "content_card.type", id="card-type"),
    pytest.param("content_card", {**CARD, "title": None}, "content_card.title", id="card-title"),
    pytest.param("content_card", {**CARD, "type": "BANNER"}, "content_card.image_url",
                 id="card-image"),
    pytest.param("content_card", {"type": "CLASSIC", "title": "t", "description": "d"},
                 "content_card.time_to_live", id="card-no-expiry"),
    pytest.param("content_card", {**CARD, "time_to_live": 30 * 86400 + 1},
                 "content_card.time_to_live", id="card-ttl-30-days"),
    pytest.param("content_card", {**CARD, "time_to_live": 0}, "content_card.time_to_live",
                 id="card-ttl-zero"),
    pytest.param("content_card", {**CARD, "expire_at": "soon"}, "content_card.expire_at",
                 id="card-expire-at"),
    pytest.param("content_card", {**CARD, "expire_in_local_time": True},
                 "content_card.expire_in_local_time", id="card-local-time-alone"),
    pytest.param("content_card", {**CARD, "pinned": "yes"}, "content_card.pinned",
                 id="card-pinned"),
    pytest.param("content_card", {**CARD, "extra": [1]}, "content_card.extra", id="card-extra"),
    # -- whats_app_object.md
    pytest.param("whats_app", {**wa("text_response_message", {"body": "b"}), "app_id": ""},
                 "whats_app.app_id", id="wa-app"),
    pytest.param("whats_app", wa("video_message", {}), "whats_app.message_type", id="wa-type"),
    pytest.param("whats_app", {**WA, "message_type": "text_response_message"},
                 "whats_app.message", id="wa-no-message"),
    pytest.param("whats_app", wa("template_message", {"template_name": "t"}),
                 "whats_app.message.template_language_code", id="wa-template-language"),
    pytest.param("whats_app",
                 wa("template_message", {**TEMPLATE, "header_variables": {"0": "a", "1": "b"}}),
                 "whats_app.message.header_variables", id="wa-two-header-variables"),
    pytest.param("whats_app",
                 wa("template_message", {**TEMPLATE, "body_variables": {"first": "a"}}),
                 "whats_app.message.body_variables.first", id="wa-variable-index"),
    pytest.param("whats_app",
                 wa("template_message", {**TEMPLATE, "button_variables": {"0": "a", "1": "b"}}),
                 "whats_app.message.button_variables", id="wa-two-button-variables"),
    pytest.param("whats_app",
                 wa("template_message", {**TEMPLATE, "header_variables": {"0": "a"},
                                         "header_media_uri": "https://x.io/h.png"}),
                 "whats_app.message.header_media_uri", id="wa-text-and-image-header"),
    pytest.param("whats_app", wa("text_response_message", {"body": "b", "preview_url": "y"}),
                 "whats_app.message.preview_url", id="wa-preview"),
    pytest.param("whats_app", wa("text_image_response_message", {"caption": "c"}),
                 "whats_app.message.image_uri", id="wa-image"),
    pytest.param("whats_app", wa("quick_reply_response_message", {"body": "b", "buttons": []}),
                 "whats_app.message.buttons", id="wa-no-buttons"),
    pytest.param("whats_app",
                 wa("quick_reply_response_message",
                    {"body": "b", "buttons": [{"text": "y"}], "header_text": "h",
                     "header_image_uri": "https://x.io/h.png"}),
                 "whats_app.message.header_text", id="wa-two-headers"),
    pytest.param("whats_app", wa("list_response_message", {**LIST, "list": {
        "list_button_text": "c", "list_sections": []}}),
                 "whats_app.message.list.list_sections", id="wa-no-section"),
    pytest.param("whats_app", wa("list_response_message", bad_list(11)),
                 "whats_app.message.list.list_sections", id="wa-11-rows"),
    pytest.param("whats_app", wa("flow_response_message", {"body": "b"}),
                 "whats_app.message.flow_button", id="wa-flow-button"),
    pytest.param("whats_app",
                 wa("flow_response_message", {**FLOW, "flow_button": {"caption": "c"}}),
                 "whats_app.message.flow_button.flow_id", id="wa-flow-id"),
    pytest.param("whats_app",
                 wa("flow_response_message",
                    {**FLOW, "flow_button": {"caption": "x" * 21, "flow_id": "1"}}),
                 "whats_app.message.flow_button.caption", id="wa-flow-caption-20"),
]  # fmt: skip


@pytest.mark.parametrize(("channel", "message", "field"), INVALID)
async def test_broken_message_rule_is_refused(
    client: httpx.AsyncClient, channel: str, message: Any, field: str
) -> None:
    """One broken rule: a 400 ``invalid_<channel>`` whose message names the field."""
    response = await client.post(MESSAGES, json=send(channel, message))
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["code"] == f"invalid_{channel}"
    assert error["message"].startswith(f"messages.{field} "), error


CAMPAIGN_ATTACHMENTS_INVALID = [
    pytest.param([{"file_name": "f", "url": "https://x.io/f.exe"}], "attachments[0].url",
                 id="type"),
    pytest.param([ATTACHMENT, {"url": "https://x.io/f.pdf"}], "attachments[1].file_name",
                 id="no-name"),
    pytest.param([{**ATTACHMENT, "url": "x.io/f.pdf"}], "attachments[0].url", id="not-a-url"),
    pytest.param([{**ATTACHMENT, "basic_auth_credential": 1}],
                 "attachments[0].basic_auth_credential", id="credential"),
    pytest.param("f.pdf", "attachments", id="not-an-array"),
]  # fmt: skip


@pytest.mark.parametrize(("attachments", "field"), CAMPAIGN_ATTACHMENTS_INVALID)
async def test_campaign_attachments_follow_the_attachment_object(
    client: httpx.AsyncClient, attachments: Any, field: str
) -> None:
    """/campaigns/trigger/send's top-level ``attachments`` are the email page's attachment
    objects: the same rules, a 400 ``invalid_attachments`` naming the field."""
    response = await client.post(CAMPAIGNS, json=campaign(attachments=attachments))
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "invalid_attachments"
    assert error["message"].startswith(f"{field} "), error


async def test_campaign_attachment_takes_a_basic_auth_credential(
    client: httpx.AsyncClient,
) -> None:
    """email_object.md: ``basic_auth_credential`` applies to the top-level ``attachments`` of
    /campaigns/trigger/send too."""
    attachments = [{**ATTACHMENT, "basic_auth_credential": "files"}]
    response = await client.post(CAMPAIGNS, json=campaign(attachments=attachments))
    assert response.status_code == 201, response.text
