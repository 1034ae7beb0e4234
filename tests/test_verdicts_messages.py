"""The client and the simulator give the same verdict on the same generated messaging objects.

As tests/test_verdicts.py does for targeting and audiences, each side being an independent
reading of Braze's pages: generated ``/messages/send`` bodies carrying one non-push channel
object (email, sms, webhook, content_card, whats_app: valid, and broken in one or two
fields), and ``/campaigns/trigger/send`` bodies with generated ``attachments``. The client
takes the objects as the raw mappings a user may give (:meth:`Messages.of`) and the
attachments as :class:`Attachment`; it accepts ⇒ the simulator answers 201 to the body the
client sends; it refuses ⇒ the simulator answers 400 to the body as generated, except where
the pages contradict each other and the simulator accepts both readings
(:func:`lenient_reading`, each with the pages that disagree).
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st
from test_verdicts import VERDICTS, same_verdict

from braze_async import Attachment, Campaign, Messages, Recipient
from braze_async._wire import dumps

# -- strategies ---------------------------------------------------------------------------------

URLS = [
    "https://files.example.com/receipt.pdf",
    "http://x.io/a.PNG?size=2",
    "https://x.io/download?id=7",
    "https://x.io/setup.exe",
    "https://x.io/",
    "ftp://x.io/a.pdf",
    "x.io/a.pdf",
    "https:///a.pdf",
    "https://[::1/a.pdf",
    "",
]
ADDRESSES = ["s@example.com", "a.b+c@mail.x.io", "s@example", "s @x.io", "@x.io", "NO_REPLY_TO"]
SENDERS = [
    "Shop <shop@example.com>",
    "<shop@example.com>",
    "shop@example.com",
    "Shop <shop>",
    "Shop <shop@example.com",
    "",
]
#: 20 days from now (by the system clock, the simulator's): within a card's 30 days.
_SOON = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=20)
TIMES = [
    _SOON.strftime("%Y-%m-%dT%H:%M:%S+0000"),
    _SOON.strftime("%Y-%m-%dT%H:%M:%S"),
    _SOON.strftime("%Y-%m-%d"),
    "2031-01-01T00:00:00+0000",
    "2031-01-01T00:00:00Z",
    "2031-01-01",
    "20310101T000000Z",
    "2031-02-30T00:00:00Z",
    "2031-01-01T25:00:00Z",
    "soon",
]
#: Values of every JSON kind, for any field.
ANY = [None, "", "x", 0, 1, 60, -1, 2_592_001, 1.5, True, False, [], ["x"], {}, {"k": "v"}]
INDEXES = ["0", "1", "01", "x", "٣", ""]


def _pool(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from([*values, *ANY])


#: The fields of each object that matter, each with the values worth trying there.
FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "email": {
        "app_id": _pool("a"),
        "from": _pool(*SENDERS),
        "reply_to": _pool(*ADDRESSES),
        "bcc": _pool(*ADDRESSES),
        "body": _pool("<p>Hi</p>"),
        "email_template_id": _pool("tpl"),
        "subject": _pool("Hi"),
        "preheader": _pool("Hi"),
        "extras": _pool({"k": 1}),
        "headers": _pool({"X-Tag": "t"}),
        "should_inline_css": _pool(),
        "attachments": st.none(),  # drawn apart: attachment_lists
    },
    "sms": {
        "subscription_group_id": _pool("g"),
        "body": _pool("Hi"),
        "app_id": _pool("a"),
        "media_items": st.one_of(
            st.lists(st.sampled_from([*URLS, 7, {"url": URLS[0]}]), max_size=2), _pool()
        ),
        "link_shortening_enabled": _pool(),
        "user_click_tracking_enabled": _pool(),
    },
    "webhook": {
        "url": _pool("https://example.com/hook"),
        "request_method": _pool("POST", "PUT", "DELETE", "GET", "PATCH", "post"),
        "request_headers": _pool({"Content-Type": "text/plain", "X": ""}, {"A": 1}),
        "body": _pool('{"a": 1}'),
    },
    "content_card": {
        "type": _pool("CLASSIC", "CAPTIONED_IMAGE", "BANNER", "HERO"),
        "title": _pool("t"),
        "description": _pool("d"),
        "image_url": _pool("https://x.io/i.png"),
        "time_to_live": _pool(2_592_000, 86_400),
        "expire_at": _pool(*TIMES),
        "expire_in_local_time": _pool(),
        "pinned": _pool(),
        "extra": _pool(),
    },
}
VALID_BASE: dict[str, dict[str, Any]] = {
    "email": {"app_id": "a", "from": "Shop <shop@example.com>", "body": "<p>Hi</p>"},
    "sms": {"subscription_group_id": "g", "body": "Hi", "app_id": "a"},
    "webhook": {"url": "https://example.com/hook", "request_method": "POST"},
    "content_card": {"type": "CLASSIC", "title": "t", "description": "d", "time_to_live": 60},
}


@st.composite
def attachments(draw: st.DrawFn) -> dict[str, Any]:
    """An attachment object: mostly well formed, at times broken in a field."""
    body: dict[str, Any] = {
        "file_name": draw(st.sampled_from(["receipt", "receipt", "r.pdf", "r.v2", "", 7, None])),
        "url": draw(st.sampled_from([URLS[0], URLS[0], *URLS, None])),
    }
    if draw(st.integers(0, 3)) == 0:
        body["basic_auth_credential"] = draw(st.sampled_from(["files", "", 1]))
    return body


attachment_lists = st.lists(attachments(), max_size=3)


@st.composite
def flat_objects(draw: st.DrawFn, channel: str) -> dict[str, Any]:
    """A valid object of *channel*, then up to three fields set to drawn values (None: the
    field left out)."""
    body = dict(VALID_BASE[channel])
    fields = FIELDS[channel]
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
        value = draw(fields[name])
        if name == "attachments":
            value = draw(attachment_lists)
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


@st.composite
def variables(draw: st.DrawFn) -> Any:
    keys = draw(st.lists(st.sampled_from(INDEXES), max_size=3, unique=True))
    values = st.sampled_from(["a", "a", "", 1])
    return {key: draw(values) for key in keys} if draw(st.integers(0, 5)) else "0"


@st.composite
def whats_app_messages(draw: st.DrawFn) -> tuple[str, Any]:
    """A message type and a message of one of the six kinds, each at times broken."""
    kind = draw(
        st.sampled_from(
            [
                "template_message",
                "text_response_message",
                "text_image_response_message",
                "quick_reply_response_message",
                "list_response_message",
                "flow_response_message",
            ]
        )
    )
    maybe = st.sampled_from(["x", "x", "x", "", None, 1])
    if kind == "template_message":
        message: dict[str, Any] = {"template_name": draw(maybe), "template_language_code": "en"}
        for key in ("header_variables", "body_variables", "button_variables"):
            if draw(st.booleans()):
                message[key] = draw(variables())
        for key in ("header_media_uri", "header_image_uri"):
            if draw(st.integers(0, 3)) == 0:
                message[key] = draw(maybe)
    elif kind == "text_response_message":
        message = {"body": draw(maybe), "preview_url": draw(st.sampled_from([True, None, "y"]))}
    elif kind == "text_image_response_message":
        message = {"image_uri": draw(maybe), "caption": draw(maybe)}
    elif kind == "quick_reply_response_message":
        buttons = st.lists(st.sampled_from([{"text": "y"}, {"text": "y"}, {"text": ""}, "y"]))
        message = {"body": "b", "buttons": draw(buttons | st.sampled_from([None, {}]))}
        for key in ("header_text", "header_image_uri", "footer"):
            if draw(st.integers(0, 2)) == 0:
                message[key] = draw(maybe)
    elif kind == "list_response_message":
        row = st.sampled_from([{"row_title": "r"}, {"row_title": "r", "row_description": "d"},
                               {"row_title": ""}, {}, "r"])  # fmt: skip
        section = st.fixed_dictionaries(
            {"section_title": maybe, "list_rows": st.lists(row, max_size=6)}
        )
        sections = st.lists(section, max_size=3)
        message = {
            "body": draw(maybe),
            "list": {"list_button_text": draw(maybe), "list_sections": draw(sections)},
        }
    else:
        button = st.fixed_dictionaries(
            {"caption": st.sampled_from(["Start", "x" * 20, "x" * 21, "", None]),
             "flow_id": maybe}
        )  # fmt: skip
        message = {
            "body": draw(maybe),
            "flow_button": draw(button | st.sampled_from([None, "b"])),
            "generate_custom_attribute": draw(st.sampled_from([True, None, "true"])),
        }
    message = {key: value for key, value in message.items() if value is not None}
    if draw(st.integers(0, 9)) == 0:
        kind = draw(st.sampled_from(["video_message", "", "TEMPLATE_MESSAGE"]))
    return kind, message


@st.composite
def whats_app_objects(draw: st.DrawFn) -> dict[str, Any]:
    kind, message = draw(whats_app_messages())
    body: dict[str, Any] = {"app_id": "a", "subscription_group_id": "g"}
    body.update(message_type=kind, message=message)
    if draw(st.integers(0, 9)) == 0:
        body[draw(st.sampled_from(["app_id", "subscription_group_id", "message"]))] = draw(
            st.sampled_from(["", 1, None])
        )
    return {key: value for key, value in body.items() if value is not None}


channel_objects = st.one_of(
    *(st.tuples(st.just(channel), flat_objects(channel)) for channel in sorted(VALID_BASE)),
    st.tuples(st.just("whats_app"), whats_app_objects()),
)

# -- the two verdicts ---------------------------------------------------------------------------


def client_messages_body(channel: str, body: dict[str, Any]) -> bytes:
    """The body the client sends for the object given as a raw mapping; raises
    :class:`BrazeValidationError` where the client refuses it."""
    messages = Messages.of({channel: copy.deepcopy(body)})
    messages.check_expiry(time.time())  # as a send does, by the simulator's clock
    return dumps(messages.request([Recipient(external_user_id="u")]))


def raw_messages_body(channel: str, body: dict[str, Any]) -> bytes:
    return orjson.dumps({"external_user_ids": ["u"], "messages": {channel: body}})


#: The file_name of an attachment ends in a valid attachment type (a few of them suffice).
_TYPED_NAMES = (".pdf",)


def _lenient_attachment(attachment: Any) -> str | None:
    if type(attachment) is not dict:
        return None
    name, url = attachment.get("file_name"), attachment.get("url")
    if isinstance(name, str) and name.lower().endswith(_TYPED_NAMES):
        # email_object.md: file_name "excluding the extension", and its basic-auth example
        # sends "checkout_receipt.pdf".
        return "file_name with its extension"
    if isinstance(url, str) and "." not in url.split("?")[0].rsplit("/", 1)[-1]:
        # email_object.md: the extension "is detected automatically from the URL defined,
        # which should return the appropriate Content-Type": a URL without one.
        return "url without an extension"
    return None


def lenient_reading(channel: str, body: dict[str, Any]) -> str | None:
    """Why the simulator may accept what the client refuses: a place where the pages
    contradict each other, the client sending the strict reading; None elsewhere."""
    if channel == "email":
        # email_object.md: "from" required, "body" required unless email_template_id, and
        # the page's "Example email object with attachment" has neither.
        if body.get("from") is None:
            return "email without from"
        if body.get("body") is None and body.get("email_template_id") is None:
            return "email without body"
        listed = body.get("attachments")
        for attachment in listed if type(listed) is list else ():
            reason = _lenient_attachment(attachment)
            if reason is not None:
                return reason
    if channel == "whats_app" and body.get("message_type") == "template_message":
        message = body.get("message")
        if type(message) is dict and message.get("header_image_uri") is not None:
            # whats_app_object.md: an older version names a template's header image
            # header_image_uri; the newest, header_media_uri only.
            return "template with header_image_uri"
    return None


@VERDICTS
@given(channel_objects)
@example(("sms", {"subscription_group_id": "g", "body": "b", "app_id": "a", "media_items": []}))
# Found by this test: the client took a non-ASCII digit ("٣", str.isdigit) as a template
# variable index, the simulator refused it ("the WhatsApp template variable index
# (zero-indexed)", whats_app_object.md: 0, 1, 2...).
@example(
    (
        "whats_app",
        {
            "app_id": "a",
            "subscription_group_id": "g",
            "message_type": "template_message",
            "message": {"template_name": "t", "template_language_code": "en",
                        "body_variables": {"٣": "a"}},
        },
    )
)  # fmt: skip
def test_client_and_simulator_agree_on_messaging_objects(case: tuple[str, dict[str, Any]]) -> None:
    """Whatever the client refuses, the simulator refuses (bar the pages' contradictions);
    whatever the client sends, the simulator accepts."""
    channel, body = case
    same_verdict(
        "/messages/send",
        {"channel": channel, "body": body},
        lambda spec: client_messages_body(spec["channel"], spec["body"]),
        lambda spec: raw_messages_body(spec["channel"], spec["body"]),
        lenient_reading(channel, body),
    )


def client_campaign_body(specs: list[dict[str, Any]]) -> bytes:
    target = Campaign("c", attachments=[Attachment(**spec) for spec in specs])
    return dumps(target.request([Recipient(external_user_id="u")]))


def raw_campaign_body(specs: list[dict[str, Any]]) -> bytes:
    raw = [{key: value for key, value in spec.items() if value is not None} for spec in specs]
    body = {"campaign_id": "c", "recipients": [{"external_user_id": "u"}], "attachments": raw}
    return orjson.dumps(body)


@VERDICTS
@given(attachment_lists)
def test_client_and_simulator_agree_on_campaign_attachments(specs: list[dict[str, Any]]) -> None:
    """The same for the top-level ``attachments`` of /campaigns/trigger/send."""
    reasons = [_lenient_attachment(spec) for spec in specs]
    same_verdict(
        "/campaigns/trigger/send",
        {"attachments": specs},
        lambda spec: client_campaign_body(spec["attachments"]),
        lambda spec: raw_campaign_body(spec["attachments"]),
        next((reason for reason in reasons if reason), None),
    )
