"""The simulator's own reading of the push objects (_push_rules.py): each rule of
apple_object.md, android_object.md, kindle_and_fireos_object.md and web_objects.md broken is a
400 ``invalid_<channel>`` naming the field, over loopback HTTP; what the pages allow is a 201,
the lenient readings of the pages included."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

APPLE: dict[str, Any] = {"alert": "Hi"}
ANDROID: dict[str, Any] = {"alert": "Hi", "title": "T"}
WEB: dict[str, Any] = {"alert": "Hi", "title": "T"}
TALK: dict[str, Any] = {
    "shortcut_id": "s",
    "reply_person_id": "p",
    "messages": [{"text": "t", "timestamp": 1, "person_id": "p"}],
    "persons": [{"id": "p", "name": "P"}],
}
MINE = {"category": "mine"}

# (channel, object, the field the error names)
REFUSED: list[tuple[str, Any, str]] = [
    ("apple_push", {}, "alert"),
    ("apple_push", {"alert": ""}, "alert"),
    ("apple_push", {"alert": {"title": "t"}}, "alert.body"),
    ("apple_push", {"alert": {"body": "b", "loc_args": ["a", 1]}}, "alert.loc_args"),
    ("apple_push", {**APPLE, "badge": 1.5}, "badge"),
    ("apple_push", {**APPLE, "content-available": "true"}, "content-available"),
    ("apple_push", {**APPLE, "extra": {"aps": {}}}, "extra"),
    ("apple_push", {**APPLE, "interruption_level": "loud"}, "interruption_level"),
    ("apple_push", {**APPLE, "relevance_score": -0.1}, "relevance_score"),
    ("apple_push", {**APPLE, "expiry": "soon"}, "expiry"),
    ("apple_push", {**APPLE, "expiry": "20250101T000000Z"}, "expiry"),
    ("apple_push", {**APPLE, "asset_url": "u"}, "asset_file_type"),
    ("apple_push", {**APPLE, "asset_url": "u", "asset_file_type": "bmp"}, "asset_file_type"),
    ("apple_push", {**APPLE, "apns_priority": 11}, "apns_priority"),
    ("apple_push", {**APPLE, "mutable_content": 1}, "mutable_content"),
    ("apple_push", {**APPLE, "buttons": [{"action_id": "ab_pb_yes"}]}, "category"),
    ("apple_push", {**APPLE, "category": "ab_cat_yes_no", "buttons": [{}]}, "buttons[0].action_id"),
    ("apple_push", {**APPLE, "category": "ab_cat_yes_no", "buttons": [{"action_id": "ab_pb_more"}]},
     "buttons[0].action_id"),
    ("apple_push", {**APPLE, "category": "ab_cat_more",
                    "buttons": [{"action_id": "ab_pb_more", "action": "CLOSE"}]},
     "buttons[0].action"),
    ("apple_push", {**APPLE, **MINE, "buttons": [{"action_id": "a", "uri": "u"}]},
     "buttons[0].action"),
    ("apple_push", {**APPLE, **MINE, "buttons": [{"action_id": "a", "action": "URI"}]},
     "buttons[0].uri"),
    ("apple_push", {"alert": "x" * 1913}, "apple_push"),
    ("android_push", {"title": "T"}, "alert"),
    ("android_push", {"alert": "A"}, "title"),
    ("android_push", {"send_to_sync": True, "alert": "A"}, "alert"),
    ("android_push", {**ANDROID, "send_to_sync": 1}, "send_to_sync"),
    ("android_push", {**ANDROID, "priority": "high"}, "priority"),
    ("android_push", {**ANDROID, "android_priority": "max"}, "android_priority"),
    ("android_push", {**ANDROID, "time_to_live": 2_419_201}, "time_to_live"),
    ("android_push", {**ANDROID, "accent_color": 1.5}, "accent_color"),
    ("android_push", {**ANDROID, "buttons": [{"text": "t", "action": "GO"}]}, "buttons[0].action"),
    ("android_push", {**ANDROID, "buttons": [{"action": "URI"}]}, "buttons[0].text"),
    ("android_push", {**ANDROID, "conversation_data": {**TALK, "reply_person_id": None}},
     "conversation_data.reply_person_id"),
    ("android_push", {**ANDROID, "conversation_data": {**TALK, "messages": [{"text": "t"}]}},
     "conversation_data.messages[0].timestamp"),
    ("android_push", {**ANDROID, "conversation_data": {**TALK, "persons": [{"name": "n"}]}},
     "conversation_data.persons[0].id"),
    ("android_push", {**ANDROID, "alert": "é" * 2001}, "android_push"),
    ("kindle_push", {"title": "T"}, "alert"),
    ("kindle_push", {"alert": "A", "title": "T", "sound": 1}, "sound"),
    ("web_push", {**WEB, "time_to_live": -5}, "time_to_live"),
    ("web_push", {**WEB, "image_url": ""}, "image_url"),
    ("web_push", {**WEB, "buttons": [{"text": "t", "action": "DEEP_LINK"}]}, "buttons[0].action"),
]  # fmt: skip
ACCEPTED: list[tuple[str, Any]] = [
    ("apple_push", {"content-available": True, "alert": {"title": "no body when silent"}}),
    ("apple_push", {"alert": {"title": "Hello!", "body": "Message here"},
                    "message_variation_id": "iosPush-640"}),  # apple_object.md, "Example"
    ("apple_push", {**APPLE, "category": "ab_cat_yes_no",
                    "buttons": [{"action_id": "ab_pb_yes", "action": "URI", "uri": "u"},
                                {"action_id": "ab_pb_no"}]}),
    ("apple_push", {**APPLE, **MINE,
                    "buttons": [{"action_id": "a", "action": "DEEP_LINK", "uri": "u"}]}),
    # The size: the values' bytes (apple_object.md, "alert string, extra object and other
    # optional parameters"); the whole object's JSON here is more than 1912.
    ("apple_push", {"alert": "x" * 1900, "sound": "default"}),
    # "Any values sent outside of that range default to 0" (android_object.md,
    # kindle_and_fireos_object.md): Braze takes them.
    ("android_push", {**ANDROID, "priority": 9}),
    ("kindle_push", {"alert": "A", "title": "T", "priority": -7}),
    ("android_push", {"send_to_sync": True}),
    ("android_push", {**ANDROID, "conversation_data": TALK, "buttons": [{"text": "Go"}],
                      "time_to_live": 2_419_200, "future_field": 1}),
    ("web_push", {**WEB, "buttons": [{"text": "t", "action": "CLOSE"}], "time_to_live": 0}),
]  # fmt: skip


async def test_each_push_rule_is_a_400_over_http() -> None:
    """Every broken rule is refused with its channel's code and the field in the message; the
    pages' valid objects (and lenient readings) are sent."""
    # Each request is one broadcast of the same audience: no per-audience limit (10 a minute,
    # api_limits.md) in the way of the rules.
    async with BrazeSimulator(per_audience_rate="100000000/60") as sim:
        headers = {"Authorization": f"Bearer {sim.api_key}"}
        async with httpx.AsyncClient(base_url=sim.base_url, headers=headers) as http:
            for channel, obj, field in REFUSED:
                body = {"segment_id": "s", "messages": {channel: obj}}
                answer = await http.post("/messages/send", json=body)
                assert answer.status_code == 400, (channel, obj)
                error = answer.json()["errors"][0]
                where = "messages" if field == channel else f"messages.{channel}"
                assert error["code"] == f"invalid_{channel}", error
                assert f"{where}.{field}" in error["message"], (error, field)
            for channel, obj in ACCEPTED:
                body = {"segment_id": "s", "messages": {channel: obj}}
                answer = await http.post("/messages/send", json=body)
                assert answer.status_code == 201, (channel, obj, answer.text)
