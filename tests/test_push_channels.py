"""The push objects of ``/messages/send`` (objects_filters/messaging/apple_object.md,
android_object.md, kindle_and_fireos_object.md, web_objects.md): every rule the pages give,
refused for the typed class and for a plain mapping alike, the error naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from braze_async import BrazeValidationError, Messages
from braze_async._wire import dumps
from braze_async.channels import (
    AndroidConversation,
    AndroidConversationMessage,
    AndroidConversationPerson,
    AndroidPush,
    AndroidPushButton,
    AppleAlert,
    ApplePush,
    ApplePushButton,
    KindlePush,
    WebPush,
    WebPushButton,
    check_channel,
)

TYPED: dict[str, Any] = {
    "apple_push": ApplePush,
    "android_push": AndroidPush,
    "kindle_push": KindlePush,
    "web_push": WebPush,
}
APPLE: dict[str, Any] = {"alert": "Hi"}
ANDROID: dict[str, Any] = {"alert": "Hi", "title": "T"}
CONVERSATION: dict[str, Any] = {
    "shortcut_id": "s",
    "reply_person_id": "p",
    "messages": [{"text": "t", "timestamp": 1, "person_id": "p"}],
    "persons": [{"id": "p", "name": "P"}],
}


def typed(channel: str, body: dict[str, Any]) -> Any:
    """The typed class of *channel* built from its JSON (``content-available`` renamed)."""
    fields = {k.replace("-", "_"): v for k, v in body.items()}
    return TYPED[channel](**fields)


# (channel, body, field under messages., words of the rule)
RULES: list[tuple[str, dict[str, Any], str, str]] = [
    # apple_object.md
    ("apple_push", {}, "alert", "required unless content-available"),
    ("apple_push", {"content-available": False}, "alert", "required unless"),
    ("apple_push", {"alert": {"title": "t"}}, "alert.body", "required unless"),
    ("apple_push", {"alert": 3}, "alert", "must be an object"),
    ("apple_push", {"alert": {"body": "b", "loc_args": "x"}}, "alert.loc_args", "array"),
    ("apple_push", {"alert": {"body": "b", "title_loc_args": [1]}}, "alert.title_loc_args[0]",
     "string"),
    ("apple_push", {**APPLE, "badge": "1"}, "badge", "integer"),
    ("apple_push", {**APPLE, "content-available": "true"}, "content-available", "boolean"),
    ("apple_push", {**APPLE, "extra": {"aps": 1}}, "extra", "'aps'"),
    ("apple_push", {**APPLE, "extra": {"ab": 1}}, "extra", "'ab'"),
    ("apple_push", {**APPLE, "interruption_level": "loud"}, "interruption_level", "one of"),
    ("apple_push", {**APPLE, "relevance_score": 1.5}, "relevance_score", "0.0 to 1"),
    ("apple_push", {**APPLE, "relevance_score": True}, "relevance_score", "number"),
    ("apple_push", {**APPLE, "expiry": "tomorrow"}, "expiry", "ISO 8601"),
    ("apple_push", {**APPLE, "use_webview": 1}, "use_webview", "boolean"),
    ("apple_push", {**APPLE, "asset_url": "https://x/a.png"}, "asset_file_type",
     "required when asset_url"),
    ("apple_push", {**APPLE, "asset_url": "u", "asset_file_type": "bmp"}, "asset_file_type",
     "one of"),
    ("apple_push", {**APPLE, "mutable_content": "yes"}, "mutable_content", "boolean"),
    ("apple_push", {**APPLE, "apns_priority": 11}, "apns_priority", "1 to 10"),
    ("apple_push", {**APPLE, "apns_priority": 0}, "apns_priority", "1 to 10"),
    ("apple_push", {**APPLE, "buttons": [{"action_id": "ab_pb_yes"}]}, "category",
     "required with buttons"),
    ("apple_push", {**APPLE, "category": "ab_cat_yes_no", "buttons": [{}]},
     "buttons[0].action_id", "required"),
    ("apple_push", {**APPLE, "category": "ab_cat_yes_no", "buttons": [{"action_id": "ab_pb_more"}]},
     "buttons[0].action_id", "ab_pb_yes, ab_pb_no"),
    ("apple_push", {**APPLE, "category": "ab_cat_yes_no",
                    "buttons": [{"action_id": "ab_pb_no", "action": "URI"}]},
     "buttons[0].action", "CLOSE"),
    ("apple_push", {**APPLE, "category": "ab_cat_more",
                    "buttons": [{"action_id": "ab_pb_more", "action": "OPEN"}]},
     "buttons[0].action", "one of"),
    ("apple_push", {**APPLE, "category": "mine",
                    "buttons": [{"action_id": "a", "action": "OPEN_APP", "uri": "u"}]},
     "buttons[0].action", "URI or DEEP_LINK"),
    ("apple_push", {**APPLE, "category": "mine", "buttons": [{"action_id": "a", "action": "URI"}]},
     "buttons[0].uri", "required"),
    ("apple_push", {**APPLE, "category": "mine",
                    "buttons": [{"action_id": "a", "action": "URI", "uri": "u", "use_webview": 0}]},
     "buttons[0].use_webview", "boolean"),
    ("apple_push", {"alert": "x" * 1900, "sound": "default"}, "apple_push", "1,912"),
    # android_object.md
    ("android_push", {"title": "T"}, "alert", "required unless send_to_sync"),
    ("android_push", {"alert": "A"}, "title", "required unless send_to_sync"),
    ("android_push", {"send_to_sync": True, "title": "T"}, "title", "must not be set"),
    ("android_push", {**ANDROID, "send_to_sync": True}, "alert", "must not be set"),
    ("android_push", {**ANDROID, "send_to_sync": "true"}, "send_to_sync", "boolean"),
    ("android_push", {**ANDROID, "priority": 3}, "priority", "-2 to 2"),
    ("android_push", {**ANDROID, "priority": 1.0}, "priority", "integer"),
    ("android_push", {**ANDROID, "android_priority": "urgent"}, "android_priority", "normal"),
    ("android_push", {**ANDROID, "time_to_live": 2_419_201}, "time_to_live", "2,419,200"),
    ("android_push", {**ANDROID, "time_to_live": -1}, "time_to_live", "0 to"),
    ("android_push", {**ANDROID, "notification_id": "1"}, "notification_id", "integer"),
    ("android_push", {**ANDROID, "accent_color": "#fff"}, "accent_color", "integer"),
    ("android_push", {**ANDROID, "use_webview": "no"}, "use_webview", "boolean"),
    ("android_push", {**ANDROID, "buttons": [{}]}, "buttons[0].text", "required"),
    ("android_push", {**ANDROID, "buttons": [{"text": "t", "action": "OPEN"}]},
     "buttons[0].action", "one of"),
    ("android_push", {**ANDROID, "buttons": {"text": "t"}}, "buttons", "array"),
    ("android_push", {**ANDROID, "conversation_data": {**CONVERSATION, "shortcut_id": None}},
     "conversation_data.shortcut_id", "required"),
    ("android_push", {**ANDROID, "conversation_data": {**CONVERSATION, "persons": None}},
     "conversation_data.persons", "required"),
    ("android_push", {**ANDROID, "conversation_data": {
        **CONVERSATION, "messages": [{"text": "t", "timestamp": "1", "person_id": "p"}]}},
     "conversation_data.messages[0].timestamp", "integer"),
    ("android_push", {**ANDROID, "conversation_data": {**CONVERSATION, "persons": [{"id": "p"}]}},
     "conversation_data.persons[0].name", "required"),
    ("android_push", {"alert": "é" * 1990, "title": "T", "extra": {"k": "v" * 15}},
     "android_push", "4,000"),
    # kindle_and_fireos_object.md
    ("kindle_push", {"alert": "A"}, "title", "required"),
    ("kindle_push", {"alert": "A", "title": "T", "priority": -3}, "priority", "-2 to 2"),
    ("kindle_push", {"alert": "A", "title": "T", "extra": []}, "extra", "object"),
    # web_objects.md
    ("web_push", {"title": "T"}, "alert", "required"),
    ("web_push", {"alert": "A", "title": "T", "time_to_live": -1}, "time_to_live", "at least 0"),
    ("web_push", {"alert": "A", "title": "T", "require_interaction": "yes"},
     "require_interaction", "boolean"),
    ("web_push", {"alert": "A", "title": "T", "buttons": [{"text": "t", "action": "DEEP_LINK"}]},
     "buttons[0].action", "one of"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("channel", "body", "field", "rule"),
    [pytest.param(*r, id=f"{r[0]}-{r[2]}-{i}") for i, r in enumerate(RULES)],
)
def test_each_rule_refuses_the_class_and_the_mapping(
    channel: str, body: dict[str, Any], field: str, rule: str
) -> None:
    """The typed class, check_channel and a mapping given to Messages refuse the same body,
    naming the field and the page."""
    where = "messages" if field == channel else f"messages.{channel}"
    given: dict[str, Any] = {channel: body}
    builds: list[Callable[[], object]] = [
        lambda: check_channel(channel, body),
        lambda: Messages(**given),
        lambda: Messages.of({channel: body}),
        lambda: typed(channel, body),
    ]
    required = {"kindle_push": ("alert", "title"), "web_push": ("alert", "title")}
    if any(body.get(name) is None for name in required.get(channel, ())):
        builds.pop()  # the class's own signature requires the field (a TypeError)
    for build in builds:
        with pytest.raises(BrazeValidationError) as caught:
            build()
        assert caught.value.field == f"{where}.{field}", build
        assert rule in caught.value.rule
        # The page is named, but by the generic string and object checks (_validate.py).
        assert ".md)" in caught.value.rule or caught.value.rule.startswith(GENERIC)


GENERIC = ("must be a string", "must be an object (a mapping)", "must not be empty")


VALID: list[tuple[str, dict[str, Any]]] = [
    ("apple_push", {"content-available": True}),
    ("apple_push", {"content-available": True, "alert": {"title": "no body when silent"}}),
    ("apple_push", {"alert": {"body": "b", "title": "t", "loc_args": ["a"], "sound": "s"},
                    "relevance_score": 1, "apns_priority": 10, "expiry": "2019-07-22T13:17:55+0000",
                    "asset_url": "u", "asset_file_type": "png", "interruption_level": "critical"}),
    ("apple_push", {**APPLE, "category": "ab_cat_accept_decline",
                    "buttons": [{"action_id": "ab_pb_accept", "action": "DEEP_LINK", "uri": "u"},
                                {"action_id": "ab_pb_decline"}]}),
    ("apple_push", {**APPLE, "category": "mine",
                    "buttons": [{"action_id": "a", "action": "DEEP_LINK", "uri": "app://x"}]}),
    ("apple_push", {**APPLE, "category": "mine"}),
    ("apple_push", {"alert": "x" * 1880}),
    ("android_push", {"send_to_sync": True, "extra": {"k": "v"}}),
    ("android_push", {**ANDROID, "priority": -2, "android_priority": "high", "time_to_live": 0,
                      "buttons": [{"text": "Go", "action": "DEEP_LINK", "uri": "u"}],
                      "conversation_data": CONVERSATION}),
    ("android_push", {"alert": "é" * 2000, "title": "T"}),
    ("kindle_push", {"alert": "A", "title": "T", "priority": 2}),
    ("web_push", {"alert": "A", "title": "T", "time_to_live": 0, "buttons": [{"text": "t"}]}),
]  # fmt: skip


@pytest.mark.parametrize(("channel", "body"), VALID)
def test_what_the_pages_allow_passes_unchanged(channel: str, body: dict[str, Any]) -> None:
    """A body the page allows goes on the wire as it is, from a mapping or from the class."""
    for message in (body, typed(channel, body)):
        given: dict[str, Any] = {channel: message}
        request = Messages(**given).request(segment_id="s")
        assert orjson.loads(dumps(request))["messages"][channel] == body


def test_the_typed_sub_objects_write_the_pages_objects() -> None:
    """AppleAlert, the buttons and the conversation objects go on the wire as their pages'
    JSON, and the push object checks them against the rest (a default category's buttons)."""
    apple = ApplePush(
        alert=AppleAlert(body="b", loc_key="k", loc_args=["x"]),
        category="ab_cat_yes_no",
        buttons=[ApplePushButton(action_id="ab_pb_yes", action="URI", uri="https://x")],
    )
    android = AndroidPush(
        alert="a",
        title="t",
        buttons=[AndroidPushButton(text="Go", action="CLOSE")],
        conversation_data=AndroidConversation(
            shortcut_id="s",
            reply_person_id="p",
            messages=[AndroidConversationMessage(text="t", timestamp=1, person_id="p")],
            persons=[AndroidConversationPerson(id="p", name="P")],
        ),
    )
    sent = orjson.loads(dumps(Messages(apple_push=apple, android_push=android).request(
        segment_id="s")))["messages"]  # fmt: skip
    assert sent["apple_push"] == {
        "alert": {"body": "b", "loc_key": "k", "loc_args": ["x"]},
        "category": "ab_cat_yes_no",
        "buttons": [{"action_id": "ab_pb_yes", "action": "URI", "uri": "https://x"}],
    }
    assert sent["android_push"]["conversation_data"] == CONVERSATION
    assert sent["android_push"]["buttons"] == [{"text": "Go", "action": "CLOSE"}]
    with pytest.raises(BrazeValidationError) as caught:
        ApplePush(alert="a", category="ab_cat_yes_no", buttons=[ApplePushButton(action_id="x")])
    assert caught.value.field == "messages.apple_push.buttons[0].action_id"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: AppleAlert(body="b", loc_args="x"), "messages.apple_push.alert.loc_args"),
        (lambda: ApplePushButton(action_id=""), "messages.apple_push.buttons[].action_id"),
        (lambda: AndroidPushButton(text="t", action="GO"),  # type: ignore[arg-type]
         "messages.android_push.buttons[].action"),
        (lambda: AndroidConversationPerson(id="p", name=1),  # type: ignore[arg-type]
         "messages.android_push.conversation_data.persons[].name"),
        (lambda: AndroidConversationMessage(text="t", timestamp=1.5, person_id="p"),  # type: ignore[arg-type]
         "messages.android_push.conversation_data.messages[].timestamp"),
        (lambda: AndroidConversation(shortcut_id="s", reply_person_id="p", messages={}, persons=[]),  # type: ignore[arg-type]
         "messages.android_push.conversation_data.messages"),
        (lambda: WebPushButton(text=""), "messages.web_push.buttons[].text"),
    ],
)  # fmt: skip
def test_a_sub_object_refuses_its_own_fields_on_creation(build: Any, field: str) -> None:
    """Each typed sub-object checks its page's fields when built."""
    with pytest.raises(BrazeValidationError) as caught:
        build()
    assert caught.value.field == field
