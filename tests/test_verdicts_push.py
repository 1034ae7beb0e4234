"""The client and the simulator give the same verdict on generated push objects.

As in test_verdicts.py: generated ``/messages/send`` bodies carrying ``apple_push``,
``android_push``, ``kindle_push`` and ``web_push`` objects, mostly well formed and at times
broken in one field, go through the public API (``Messages(...)``, ``target.request(...)``,
the mapping checked by its page's rules) and, as JSON, to an in-process simulator that reads
the pages on its own (simulator/_push_rules.py). The client accepts ⇒ 201 for the body it
sends; the client refuses ⇒ 400, except for the pages' lenient readings listed in
:func:`lenient_reading`.
"""

from __future__ import annotations

from typing import Any

import orjson
import test_verdicts
from hypothesis import event, example, given
from hypothesis import strategies as st
from test_verdicts import SIM, VERDICTS, post

from braze_async import BrazeValidationError, Messages
from braze_async._wire import dumps

#: Values of every JSON kind, and some a page's field takes.
ODD = st.sampled_from(
    ["", "x", "é😀", 0, -1, 1, 3, 11, 2.5, 0.5, True, False, None, [], ["a"], [1], {}, {"a": 1}]
)
TEXT = st.sampled_from(["Hi", "é😀", "https://example.com/a"])
TIMES = st.sampled_from(test_verdicts.TIMES)
ACTIONS = st.sampled_from(["OPEN_APP", "URI", "DEEP_LINK", "CLOSE", "open"])
APPLE_IDS = st.sampled_from(["ab_pb_yes", "ab_pb_no", "ab_pb_more", "ab_pb_accept", "mine"])
CATEGORIES = st.sampled_from(["ab_cat_yes_no", "ab_cat_more", "ab_cat_accept_decline", "mine"])


def maybe(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Some of *fields*, each drawn from its strategy or, at times, any odd value."""
    body: dict[str, Any] = {}
    for name, strategy in fields.items():
        if draw(st.integers(0, 3)) == 0:
            body[name] = draw(ODD if draw(st.integers(0, 15)) == 0 else strategy)
    return body


def buttons(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> list[Any]:
    return [maybe(draw, fields) for _ in range(draw(st.integers(0, 2)))]


@st.composite
def apple_pushes(draw: st.DrawFn) -> dict[str, Any]:
    body = maybe(
        draw,
        {
            "badge": st.integers(0, 9),
            "sound": TEXT,
            "extra": st.sampled_from([{"k": "v"}, {"aps": 1}, {"ab": {}}]),
            "content-available": st.booleans(),
            "interruption_level": st.sampled_from(["passive", "critical", "loud"]),
            "relevance_score": st.floats(-0.5, 1.5),
            "expiry": TIMES,
            "use_webview": st.booleans(),
            "asset_url": TEXT,
            "asset_file_type": st.sampled_from(["png", "mp4", "bmp"]),
            "apns_priority": st.integers(0, 11),
            "category": CATEGORIES,
            "mutable_content": st.booleans(),
        },
    )
    if draw(st.integers(0, 5)) > 0:
        alert_fields = {"body": TEXT, "title": TEXT, "loc_args": st.just(["a"]), "sound": TEXT}
        alert = {"body": "b", **maybe(draw, alert_fields)}
        body["alert"] = draw(st.sampled_from([draw(TEXT), draw(TEXT), alert, {}]))
    if draw(st.integers(0, 2)) == 0:
        button = {
            "action_id": APPLE_IDS,
            "action": ACTIONS,
            "uri": TEXT,
            "use_webview": st.booleans(),
        }
        body["buttons"] = buttons(draw, button)
        body.setdefault("category", draw(CATEGORIES))
    if draw(st.integers(0, 9)) == 0:
        body["alert"] = "x" * draw(st.integers(1850, 1920))
    return body


@st.composite
def android_pushes(draw: st.DrawFn) -> dict[str, Any]:
    body = maybe(
        draw,
        {
            "alert": TEXT,
            "title": TEXT,
            "extra": st.sampled_from([{"k": "v"}, {"k": "é" * 1990}]),
            "priority": st.integers(-3, 3),
            "android_priority": st.sampled_from(["normal", "high", "max"]),
            "send_to_sync": st.booleans(),
            "time_to_live": st.sampled_from([-1, 0, 60, 2_419_200, 2_419_201]),
            "notification_id": st.integers(0, 9),
            "accent_color": st.integers(0, 0xFFFFFF),
            "use_webview": st.booleans(),
        },
    )
    if draw(st.integers(0, 3)) > 0 and not body.get("send_to_sync"):
        body.setdefault("alert", "Hi")
        body.setdefault("title", "T")
    if draw(st.integers(0, 3)) == 0:
        body["buttons"] = buttons(draw, {"text": TEXT, "action": ACTIONS, "uri": TEXT})
    if draw(st.integers(0, 3)) == 0:
        message = {"text": TEXT, "timestamp": st.integers(0, 9), "person_id": TEXT}
        person = {"id": TEXT, "name": TEXT}
        talk: dict[str, Any] = {"shortcut_id": "s", "reply_person_id": "p"}
        talk |= {"messages": buttons(draw, message), "persons": buttons(draw, person)}
        body["conversation_data"] = {k: v for k, v in talk.items() if draw(st.integers(0, 5))}
    return body


@st.composite
def simple_pushes(draw: st.DrawFn, web: bool) -> dict[str, Any]:
    fields: dict[str, st.SearchStrategy[Any]] = {"extra": st.just({"k": 1}), "sound": TEXT}
    if web:
        fields = {"time_to_live": st.integers(-2, 9), "require_interaction": st.booleans()}
    else:
        fields["priority"] = st.integers(-3, 3)
    body = maybe(draw, fields)
    for name in ("alert", "title"):
        if draw(st.integers(0, 5)):
            body[name] = draw(TEXT)
    if web and draw(st.integers(0, 3)) == 0:
        actions = st.sampled_from(["OPEN_APP", "URI", "CLOSE", "DEEP_LINK"])
        body["buttons"] = buttons(draw, {"text": TEXT, "action": actions, "uri": TEXT})
    return body


pushes = st.one_of(
    st.tuples(st.just("apple_push"), apple_pushes()),
    st.tuples(st.just("android_push"), android_pushes()),
    st.tuples(st.just("kindle_push"), simple_pushes(web=False)),
    st.tuples(st.just("web_push"), simple_pushes(web=True)),
)


def lenient_reading(channel: str, body: dict[str, Any]) -> str | None:
    """Why the simulator may accept what the client refuses (the pages' own leniency or two
    readings of one page, the client taking the strict one); None elsewhere."""
    priority = body.get("priority")
    if type(priority) is int and not -2 <= priority <= 2:
        # android_object.md, kindle_and_fireos_object.md: "from -2 to 2 ... Any values sent
        # outside of that range default to 0".
        return "priority out of range"
    if channel == "apple_push" and len(orjson.dumps(body)) > 1912:
        # apple_object.md: "bytes in your alert string, extra object and other optional
        # parameters": the whole object (client) or the values alone (simulator).
        return "apple size, keys counted"
    return None


@VERDICTS
@given(pushes)
# Found by this test: an ISO 8601 time in the basic form, or with a lowercase t, was refused by
# the client (the pages write the extended form) and taken by the simulator's fromisoformat.
@example(("apple_push", {"alert": "Hi", "expiry": "20250101T000000Z"}))
@example(("apple_push", {"alert": "Hi", "expiry": "2025-01-01t00:00:00Z"}))
def test_client_and_simulator_agree_on_push_objects(push: tuple[str, dict[str, Any]]) -> None:
    """Whatever push object the client refuses, the simulator refuses (bar the pages' lenient
    readings); whatever the client sends, the simulator accepts."""
    channel, body = push
    try:
        sent = dumps(Messages.of({channel: body}).request(segment_id="s"))
    except BrazeValidationError as exc:
        refusal: BrazeValidationError | None = exc
    else:
        refusal = None
    if refusal is not None:
        event(f"client refuses ({lenient_reading(channel, body) or 'strict'})")
        if lenient_reading(channel, body) is None:
            raw = orjson.dumps({"segment_id": "s", "messages": {channel: body}})
            answer = post(SIM, raw, "/messages/send")
            assert answer.status_code == 400, (refusal, answer.text)
            assert answer.json()["errors"][0]["code"] == f"invalid_{channel}"
        return
    event(f"client accepts {channel}")
    answer = post(SIM, sent, "/messages/send")
    assert answer.status_code == 201, (sent, answer.text)
