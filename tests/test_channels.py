"""The typed channels of braze_async.channels (objects_filters/messaging/): each writes its
page's example, refuses what its page refuses naming the field, and a mapping given for the
channel meets the same rules."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from braze_async import BrazeClient, BrazeValidationError, Messages, Recipient
from braze_async._wire import dumps
from braze_async.channels import (
    ContentCard,
    KindlePush,
    WebPush,
    WebPushButton,
    WhatsApp,
    WhatsAppButton,
    WhatsAppImage,
    WhatsAppList,
    WhatsAppListRow,
    WhatsAppListSection,
    WhatsAppQuickReply,
    WhatsAppTemplate,
    WhatsAppText,
    check_channel,
)
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

# whats_app_object.md, the list_response_message example.
LIST_EXAMPLE: dict[str, Any] = {
    "body": "Here is a list of options to choose from:",
    "list": {
        "list_button_text": "Choose an option",
        "list_sections": [
            {
                "section_title": "Section 1",
                "list_rows": [
                    {"row_title": "Option 1"},
                    {"row_title": "Option 2", "row_description": "Description for Option 2"},
                ],
            },
            {
                "section_title": "Section 2",
                "list_rows": [
                    {"row_title": "Option 3"},
                    {"row_title": "Option 4"},
                    {"row_title": "Option 5"},
                ],
            },
        ],
    },
}


def channels(messages: Messages) -> Any:
    return orjson.loads(dumps(messages.request(segment_id="s")))["messages"]


def test_typed_channels_write_the_pages_objects() -> None:
    """Each class writes its page's keys, unset fields left out; a WhatsApp message's type
    follows from its class, and a list's sections go inside ``list``."""
    rows = [
        [
            WhatsAppListRow(row_title="Option 1"),
            WhatsAppListRow(row_title="Option 2", row_description="Description for Option 2"),
        ],
        [WhatsAppListRow(row_title=f"Option {n}") for n in (3, 4, 5)],
    ]
    wire = channels(
        Messages(
            content_card=ContentCard(
                type="CAPTIONED_IMAGE",
                title="T",
                description="D",
                image_url="https://i",
                expire_at="2025-01-01T00:00:00Z",
            ),
            kindle_push=KindlePush(alert="A", title="T", priority=-2),
            web_push=WebPush(
                alert="A",
                title="T",
                buttons=[WebPushButton(text="Go", action="URI", uri="https://x")],
            ),
            whats_app=WhatsApp(
                app_id="app",
                subscription_group_id="g",
                message=WhatsAppList(
                    body=LIST_EXAMPLE["body"],
                    list_button_text="Choose an option",
                    list_sections=[
                        WhatsAppListSection(section_title=f"Section {i + 1}", list_rows=r)
                        for i, r in enumerate(rows)
                    ],
                ),
            ),
        )
    )
    assert wire == {
        "content_card": {
            "type": "CAPTIONED_IMAGE",
            "title": "T",
            "description": "D",
            "image_url": "https://i",
            "expire_at": "2025-01-01T00:00:00Z",
        },
        "kindle_push": {"alert": "A", "title": "T", "priority": -2},
        "web_push": {
            "alert": "A",
            "title": "T",
            "buttons": [{"text": "Go", "action": "URI", "uri": "https://x"}],
        },
        "whats_app": {
            "app_id": "app",
            "subscription_group_id": "g",
            "message_type": "list_response_message",
            "message": LIST_EXAMPLE,
        },
    }


@pytest.mark.parametrize(
    ("message", "body"),
    [
        pytest.param(
            WhatsAppText(body="Check out our new deals at https://braze.com", preview_url=True),
            {"body": "Check out our new deals at https://braze.com", "preview_url": True},
            id="text",
        ),
        pytest.param(
            WhatsAppImage(image_uri="https://braze.com/promotion.jpg", caption="c"),
            {"image_uri": "https://braze.com/promotion.jpg", "caption": "c"},
            id="image",
        ),
        pytest.param(
            WhatsAppQuickReply(
                body="Want to keep hearing from us?",
                buttons=[WhatsAppButton("Yes!"), WhatsAppButton("No thanks")],
            ),
            {
                "body": "Want to keep hearing from us?",
                "buttons": [{"text": "Yes!"}, {"text": "No thanks"}],
            },
            id="quick-reply",
        ),
        pytest.param(
            WhatsAppTemplate(
                template_name="t",
                template_language_code="en",
                header_variables={"0": "Check it out!"},
                button_variables={"1": "/marketing/promotion123"},
            ),
            {
                "template_name": "t",
                "template_language_code": "en",
                "header_variables": {"0": "Check it out!"},
                "button_variables": {"1": "/marketing/promotion123"},
            },
            id="template",
        ),
    ],
)
def test_whats_app_messages_write_the_pages_examples(message: Any, body: Any) -> None:
    """Each WhatsApp message type as the page's example writes it."""
    wire = channels(
        Messages(whats_app=WhatsApp(app_id="a", subscription_group_id="g", message=message))
    )
    assert wire["whats_app"]["message"] == body
    assert wire["whats_app"]["message_type"] == message.message_type


CARD = {"type": "CLASSIC", "title": "T", "description": "D", "time_to_live": 60}
KINDLE = {"alert": "A", "title": "T"}
WEB = {"alert": "A", "title": "T"}
TEXT = {
    "app_id": "a",
    "subscription_group_id": "g",
    "message_type": "text_response_message",
    "message": {"body": "Hi"},
}
ROWS = [{"row_title": f"r{i}"} for i in range(6)]
LIST = {
    "body": "b",
    "list": {
        "list_button_text": "c",
        "list_sections": [{"section_title": "s", "list_rows": ROWS}] * 2,
    },
}

RULES = [
    ("content_card", {**CARD, "type": "POSTER"}, "content_card.type", "one of CLASSIC"),
    (
        "content_card",
        {k: v for k, v in CARD.items() if k != "title"},
        "content_card.title",
        "required",
    ),
    ("content_card", {**CARD, "type": "BANNER"}, "content_card.image_url", "required for BANNER"),
    (
        "content_card",
        {k: v for k, v in CARD.items() if k != "time_to_live"},
        "content_card.time_to_live",
        "or expire_at",
    ),
    (
        "content_card",
        {**CARD, "time_to_live": 30 * 86400 + 1},
        "content_card.time_to_live",
        "30 days",
    ),
    ("content_card", {**CARD, "expire_at": "next week"}, "content_card.expire_at", "ISO 8601"),
    ("content_card", {**CARD, "pinned": "yes"}, "content_card.pinned", "a boolean"),
    ("kindle_push", {"alert": "A"}, "kindle_push.title", "required"),
    ("kindle_push", {**KINDLE, "priority": 3}, "kindle_push.priority", "-2 to 2"),
    ("web_push", {**WEB, "time_to_live": "60"}, "web_push.time_to_live", "an integer"),
    (
        "web_push",
        {**WEB, "buttons": [{"text": "x", "action": "OPEN"}]},
        "web_push.buttons[0].action",
        "OPEN_APP, URI, CLOSE",
    ),
    ("web_push", {**WEB, "buttons": [{"action": "CLOSE"}]}, "web_push.buttons[0].text", "required"),
    (
        "whats_app",
        {**TEXT, "message_type": "video"},
        "whats_app.message_type",
        "one of template_message",
    ),
    ("whats_app", {**TEXT, "message": {"preview_url": True}}, "whats_app.message.body", "required"),
    (
        "whats_app",
        {**TEXT, "message_type": "list_response_message", "message": LIST},
        "whats_app.message.list.list_sections",
        "at most 10",
    ),
    (
        "whats_app",
        {
            **TEXT,
            "message_type": "list_response_message",
            "message": {**LIST, "list": {"list_button_text": "c", "list_sections": []}},
        },
        "whats_app.message.list.list_sections",
        "at least one",
    ),
    (
        "whats_app",
        {
            **TEXT,
            "message_type": "quick_reply_response_message",
            "message": {
                "body": "b",
                "buttons": [{"text": "y"}],
                "header_text": "h",
                "header_image_uri": "u",
            },
        },
        "whats_app.message.header_text",
        "header_image_uri",
    ),
    (
        "whats_app",
        {
            **TEXT,
            "message_type": "template_message",
            "message": {
                "template_name": "t",
                "template_language_code": "en",
                "header_variables": {"0": "a", "1": "b"},
            },
        },
        "whats_app.message.header_variables",
        "at most 1",
    ),
]


@pytest.mark.parametrize(
    ("channel", "body", "field", "rule"),
    [pytest.param(*r, id=f"{r[0]}-{i}") for i, r in enumerate(RULES)],
)
def test_a_mapping_meets_its_pages_rules(channel: str, body: Any, field: str, rule: str) -> None:
    """check_channel and Messages refuse each rule broken, naming the field and the page."""
    for check in (lambda: check_channel(channel, body), lambda: Messages(**{channel: body})):
        with pytest.raises(BrazeValidationError) as caught:
            check()
        assert caught.value.field == f"messages.{field}" and rule in caught.value.rule
        assert ".md" in caught.value.rule or caught.value.rule.startswith("must not be empty")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        pytest.param(
            lambda: ContentCard(type="CLASSIC", title="T", description="D"),
            "messages.content_card.time_to_live",
            id="card-no-expiry",
        ),
        pytest.param(
            lambda: KindlePush(alert="A", title=""),
            "messages.kindle_push.title",
            id="kindle-empty-title",
        ),
        pytest.param(
            lambda: WebPushButton(text="x", action="OPEN"),  # type: ignore[arg-type]
            "messages.web_push.buttons[].action",
            id="button-action",
        ),
        pytest.param(
            lambda: WhatsAppQuickReply(body="b", buttons=[]),
            "messages.whats_app.message.buttons",
            id="no-buttons",
        ),
        pytest.param(
            lambda: WhatsApp(
                app_id="a",
                subscription_group_id="g",
                message=WhatsAppText(body="b"),
                message_type="template_message",
            ),
            "messages.whats_app.message_type",
            id="type-mismatch",
        ),
        pytest.param(
            lambda: WhatsApp(app_id="a", subscription_group_id="g", message={"body": "b"}),
            "messages.whats_app.message_type",
            id="mapping-needs-type",
        ),
    ],
)
def test_typed_channels_refuse_on_creation(build: Any, field: str) -> None:
    """The typed classes apply the same rules when built."""
    with pytest.raises(BrazeValidationError) as caught:
        build()
    assert caught.value.field == field


def test_a_valid_mapping_passes_as_it_is() -> None:
    """A mapping the page allows goes on the wire unchanged, fields unknown to us included."""
    card = {**CARD, "future_field": 1}
    assert channels(Messages(content_card=card, whats_app=TEXT))["content_card"] == card


async def test_every_typed_channel_is_sent_through_the_simulator() -> None:
    """A send of the four typed channels is accepted over loopback HTTP."""
    async with BrazeSimulator() as sim:
        async with BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze:
            await braze.send(
                Messages(
                    content_card=ContentCard(
                        type="CLASSIC", title="T", description="D", time_to_live=60
                    ),
                    kindle_push=KindlePush(alert="A", title="T"),
                    web_push=WebPush(alert="A", title="T", buttons=[WebPushButton(text="Go")]),
                    whats_app=WhatsApp(
                        app_id="a", subscription_group_id="g", message=WhatsAppText(body="Hi")
                    ),
                ),
                recipients=[Recipient(external_user_id="u1")],
            )
        assert [d.recipient for d in sim.delivered()] == ["external_user_id:u1"]
        assert sim.stats.rejected_400 == 0
