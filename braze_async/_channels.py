"""The ``/messages/send`` channels beside email, SMS and webhooks: Apple, Android, Kindle/FireOS
and web push, Content Cards and WhatsApp (objects_filters/messaging/).

Each page's rules (required fields, enumerations, sizes, formats) are written once, as a
:class:`_Shape` of the object's JSON, and :func:`check_channel` applies them to the body a
channel sends. A typed class checks its own body on creation; a plain mapping given for the
channel is checked by the same function (fields the shape does not know pass as they are)::

    Messages(web_push=WebPush(alert="Sale", title="Shop", buttons=[WebPushButton(text="Open")]))
    Messages(web_push={"alert": "Sale", "title": "Shop"})  # the same rules
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeAlias
from urllib.parse import urlsplit

import attrs
import orjson

from ._errors import BrazeValidationError
from ._models import WIRE_KEY, check_attachments
from ._validate import check_properties, check_str, is_iso_time, iso_time, json_default

Properties: TypeAlias = Mapping[str, Any]
Rule: TypeAlias = Callable[[Mapping[str, Any], str], None]


@attrs.frozen
class _Field:
    kind: str  # str, bool, int, number, object, time, choice, strings, list, shape, str|shape
    required: bool = False
    choices: tuple[str, ...] = ()
    shape: _Shape | None = None
    #: The range of an int or a number: (lowest, highest or None).
    bounds: tuple[float, float | None] | None = None


@attrs.frozen
class _Shape:
    """The JSON object of one page: its fields, and the rules that tie fields together."""

    page: str
    fields: Mapping[str, _Field]
    rules: tuple[Rule, ...] = ()


def _check_field(spec: _Field, value: object, field: str, page: str) -> None:
    kind = spec.kind
    if kind == "str|shape" and not isinstance(value, str):
        kind = "shape"
    if kind in ("str", "str|shape"):
        check_str(value, field)
    elif kind in ("bool", "int", "number"):
        if type(value) not in _TYPES[kind]:
            raise BrazeValidationError(field, f"must be {_KIND_NAMES[kind]} ({page})")
        if spec.bounds is not None:
            _check_bounds(spec.bounds, value, field, page)
    elif kind == "object":
        check_properties(value, field)
    elif kind == "time":
        if not is_iso_time(value):
            raise BrazeValidationError(field, f"must be an ISO 8601 date string ({page})")
    elif kind == "choice":
        if type(value) is not str or value not in spec.choices:
            raise BrazeValidationError(field, f"must be one of {', '.join(spec.choices)} ({page})")
    elif kind in ("list", "strings"):
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise BrazeValidationError(field, f"must be an array ({page})")
        for index, item in enumerate(value):
            if spec.shape is None:
                check_str(item, f"{field}[{index}]")
            else:
                check_shape(spec.shape, item, f"{field}[{index}]")
    else:
        assert spec.shape is not None
        check_shape(spec.shape, value, field)


_TYPES = {"bool": (bool,), "int": (int,), "number": (int, float)}
_KIND_NAMES = {"bool": "a boolean", "int": "an integer", "number": "a number"}


def _check_bounds(bounds: tuple[float, float | None], value: Any, field: str, page: str) -> None:
    low, high = bounds
    if high is None and value < low:
        raise BrazeValidationError(field, f"must be at least {low} ({page})")
    if high is not None and not low <= value <= high:
        raise BrazeValidationError(field, f"must be {low} to {high:,} ({page})")


def check_shape(shape: _Shape, value: object, where: str) -> Mapping[str, Any]:
    """Raise unless *value* is an object of *shape* (a field set to None counts as unset)."""
    if not isinstance(value, Mapping):
        raise BrazeValidationError(where, f"must be an object ({shape.page})")
    for key, spec in shape.fields.items():
        item = value.get(key)
        if item is None:
            if spec.required:
                raise BrazeValidationError(f"{where}.{key}", f"is required ({shape.page})")
            continue
        _check_field(spec, item, f"{where}.{key}", shape.page)
    for rule in shape.rules:
        rule(value, where)
    return value


def _f(
    kind: str,
    *choices: str,
    required: bool = False,
    shape: _Shape | None = None,
    bounds: tuple[float, float | None] | None = None,
) -> _Field:
    return _Field(kind, required, choices, shape, bounds)


def _json_size(value: object) -> int:
    """The bytes of *value* as JSON on the wire (compact, UTF-8)."""
    return len(orjson.dumps(value, default=json_default))


REQ = True
_STR, _BOOL, _INT, _OBJ, _TIME = (_f(k) for k in ("str", "bool", "int", "object", "time"))
_REQUIRED_STR = _f("str", required=REQ)

# -- email_object.md -------------------------------------------------------------------

_EMAIL_PAGE = "email_object.md"
#: "valid email address in the format "email@address.com"": a local part without spaces, an
#: ``@``, and a domain of dot-separated labels.
_ADDRESS = re.compile(r"[^\s@<>\"]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
#: "valid email address in the format "Display Name <email@address.com>"".
_FROM = re.compile(r"[^<>]*<([^<>]*)>")


def _email_rules(body: Mapping[str, Any], where: str) -> None:
    sender = _FROM.fullmatch(body["from"])
    if sender is None or not _ADDRESS.fullmatch(sender[1]):
        raise BrazeValidationError(
            f"{where}.from", f"must read 'Display Name <email@address.com>' ({_EMAIL_PAGE})"
        )
    reply_to = body.get("reply_to")
    if reply_to is not None and reply_to != "NO_REPLY_TO" and not _ADDRESS.fullmatch(reply_to):
        raise BrazeValidationError(
            f"{where}.reply_to", f"must be an email address or 'NO_REPLY_TO' ({_EMAIL_PAGE})"
        )
    bcc = body.get("bcc")
    if bcc is not None and not _ADDRESS.fullmatch(bcc):
        raise BrazeValidationError(
            f"{where}.bcc",
            f"must be an email address, a BCC address of the workspace ({_EMAIL_PAGE})",
        )
    # "body": "(required unless email_template_id is given, valid HTML)". The page's "Example
    # email object with attachment" has neither body nor from: the client keeps to the
    # object's strict reading, the simulator takes both (email_object.md, the object and that
    # example).
    if body.get("body") is None and body.get("email_template_id") is None:
        raise BrazeValidationError(
            f"{where}.body", f"is required unless email_template_id is given ({_EMAIL_PAGE})"
        )
    check_attachments(body.get("attachments"), f"{where}.attachments", mappings=True)


EMAIL = _Shape(
    _EMAIL_PAGE,
    {
        "app_id": _REQUIRED_STR,
        # "(required, ...)": strict, see _email_rules.
        "from": _REQUIRED_STR,
        "subject": _STR,
        "reply_to": _STR,
        "bcc": _STR,
        "body": _STR,
        "plaintext_body": _STR,
        "preheader": _STR,
        "email_template_id": _STR,
        "message_variation_id": _STR,
        # "valid Key-Value Hash".
        "extras": _OBJ,
        "headers": _OBJ,
        "should_inline_css": _BOOL,
    },
    (_email_rules,),
)

# -- sms_object.md ---------------------------------------------------------------------

_SMS_PAGE = "sms_object.md"


def _is_web_url(value: object) -> bool:
    if type(value) is not str:
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _sms_rules(body: Mapping[str, Any], where: str) -> None:
    items = body.get("media_items")
    if items is not None:
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
            raise BrazeValidationError(f"{where}.media_items", f"must be an array ({_SMS_PAGE})")
        # "use this field to pass an image URL in an MMS": each item an image's URL.
        for index, item in enumerate(items):
            if not _is_web_url(item):
                raise BrazeValidationError(
                    f"{where}.media_items[{index}]", f"must be an image's http(s) URL ({_SMS_PAGE})"
                )
    # "user_click_tracking_enabled: if link_shortening_enabled is true, use this field".
    if (
        body.get("user_click_tracking_enabled") is True
        and body.get("link_shortening_enabled") is not True
    ):
        raise BrazeValidationError(
            f"{where}.user_click_tracking_enabled",
            f"can be true only with link_shortening_enabled true ({_SMS_PAGE})",
        )


SMS = _Shape(
    _SMS_PAGE,
    {
        "subscription_group_id": _REQUIRED_STR,
        "message_variation_id": _STR,
        "body": _REQUIRED_STR,
        "app_id": _REQUIRED_STR,
        "link_shortening_enabled": _BOOL,
        "user_click_tracking_enabled": _BOOL,
    },
    (_sms_rules,),
)

# -- webhook_object.md -----------------------------------------------------------------

_WEBHOOK_PAGE = "webhook_object.md"


def _webhook_rules(body: Mapping[str, Any], where: str) -> None:
    # "request_headers: (optional, Hash) key-value pairs to use as request headers": text.
    for name, value in (body.get("request_headers") or {}).items():
        check_str(value, f"{where}.request_headers.{name}", allow_empty=True)
    # "body: (optional, string) if you want to include a JSON object, make sure to escape
    # quotes and backslashes": any string, even empty.
    if body.get("body") is not None:
        check_str(body["body"], f"{where}.body", allow_empty=True)


WEBHOOK = _Shape(
    _WEBHOOK_PAGE,
    {
        "url": _REQUIRED_STR,
        "request_method": _f("choice", "POST", "PUT", "DELETE", "GET", required=REQ),
        "request_headers": _OBJ,
        "message_variation_id": _STR,
    },
    (_webhook_rules,),
)

# -- content_cards_object.md ------------------------------------------------------------

_CARD_PAGE = "content_cards_object.md"
#: "Currently, Braze supports a maximum expiration time of 30 days" (content_cards_object.md).
MAX_CARD_SECONDS = 30 * 24 * 3600


def _card_rules(body: Mapping[str, Any], where: str) -> None:
    if body.get("type") in ("CAPTIONED_IMAGE", "BANNER") and body.get("image_url") is None:
        raise BrazeValidationError(
            f"{where}.image_url", f"is required for {body['type']} cards ({_CARD_PAGE})"
        )
    ttl = body.get("time_to_live")
    if ttl is None and body.get("expire_at") is None:
        raise BrazeValidationError(
            f"{where}.time_to_live", f"or expire_at is required ({_CARD_PAGE})"
        )
    if ttl is not None and not 0 < ttl <= MAX_CARD_SECONDS:
        raise BrazeValidationError(
            f"{where}.time_to_live",
            f"must be 1 to {MAX_CARD_SECONDS:,} seconds (30 days, {_CARD_PAGE})",
        )
    # "expire_in_local_time: if using expire_at, determines whether the card should expire in
    # users' local time".
    if body.get("expire_in_local_time") is True and body.get("expire_at") is None:
        raise BrazeValidationError(
            f"{where}.expire_in_local_time", f"applies only with expire_at ({_CARD_PAGE})"
        )


#: A wall-clock time names an instant in every zone from UTC+14 to UTC-12: the latest is 12
#: hours after its UTC reading.
_LATEST_ZONE = dt.timedelta(hours=12)


def check_card_expiry(card: object, sent_at: float, where: str) -> None:
    """Refuse a Content Card whose ``expire_at`` may come more than 30 days after *sent_at*
    (UTC epoch seconds: the earliest moment the send can happen). content_cards_object.md:
    "You must include either time_to_live or expire_at, a maximum expiration time exists of
    30 days". Read strictly: a time without an offset, or any time with
    ``expire_in_local_time`` ("expire in users' local time"), is a wall-clock time, whose
    latest instant is at UTC-12. An ``expire_at`` in the past is not documented as refused."""
    body = _body(card)
    text = body.get("expire_at")
    if text is None:
        return  # time_to_live: bounded by the shape
    written = iso_time(text)  # the shape has checked it reads
    latest = written
    if written.tzinfo is None or body.get("expire_in_local_time") is True:
        latest = written.replace(tzinfo=dt.timezone.utc) + _LATEST_ZONE
        if written.tzinfo is not None:
            latest = max(latest, written)
    limit = dt.datetime.fromtimestamp(sent_at + MAX_CARD_SECONDS, dt.timezone.utc)
    if latest > limit:
        raise BrazeValidationError(
            f"{where}.expire_at",
            f"{text} may come after {limit.isoformat()}, 30 days after the send (the maximum "
            f"expiration time, {_CARD_PAGE}; a time without an offset or in local time counts "
            "at UTC-12)",
        )


CONTENT_CARD = _Shape(
    _CARD_PAGE,
    {
        "type": _f("choice", "CLASSIC", "CAPTIONED_IMAGE", "BANNER", required=REQ),
        "title": _REQUIRED_STR,
        "description": _REQUIRED_STR,
        "message_variation_id": _STR,
        "pinned": _BOOL,
        "image_url": _STR,
        "time_to_live": _INT,
        "expire_at": _TIME,
        "expire_in_local_time": _BOOL,
        "ios_uri": _STR,
        "android_uri": _STR,
        "web_uri": _STR,
        "ios_use_webview": _BOOL,
        "android_use_webview": _BOOL,
        "uri_text": _STR,
        "extra": _OBJ,
    },
    (_card_rules,),
)

# -- apple_object.md ---------------------------------------------------------------------

_APPLE_PAGE = "apple_object.md"
#: "The total number of bytes in your alert string, extra object and other optional
#: parameters should not exceed 1912" (apple_object.md). The client counts the whole object
#: as it is sent (keys included), the strict reading; the simulator takes the values alone.
MAX_APPLE_PUSH_BYTES = 1912
#: apple_object.md, the Apple push action button object for Braze default buttons: each
#: category's buttons, and the actions each allows.
APPLE_DEFAULT_BUTTONS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    category: {
        f"ab_pb_{yes}": ("OPEN_APP", "URI", "DEEP_LINK"),
        **({f"ab_pb_{no}": ("CLOSE",)} if no else {}),
    }
    for category, yes, no in (
        ("ab_cat_accept_decline", "accept", "decline"),
        ("ab_cat_yes_no", "yes", "no"),
        ("ab_cat_confirm_cancel", "confirm", "cancel"),
        ("ab_cat_more", "more", ""),
    )
}
InterruptionLevel: TypeAlias = Literal["passive", "active", "time-sensitive", "critical"]
AssetFileType: TypeAlias = Literal["aif", "gif", "jpg", "m4a", "mp3", "mp4", "png", "wav"]
PushAction: TypeAlias = Literal["OPEN_APP", "URI", "DEEP_LINK", "CLOSE"]
_PUSH_ACTIONS = ("OPEN_APP", "URI", "DEEP_LINK", "CLOSE")

APPLE_ALERT = _Shape(
    _APPLE_PAGE,
    {
        # body: "required unless content-available is true in the Apple Push Object", a rule
        # of the push object (_apple_rules).
        "body": _STR,
        "title": _STR,
        "title_loc_key": _STR,
        "title_loc_args": _f("strings"),
        "action_loc_key": _STR,
        "loc_key": _STR,
        "loc_args": _f("strings"),
        "sound": _STR,
    },
)
APPLE_PUSH_BUTTON = _Shape(
    _APPLE_PAGE,
    {
        "action_id": _REQUIRED_STR,
        "action": _f("choice", *_PUSH_ACTIONS),
        "uri": _STR,
        "use_webview": _BOOL,
    },
)


def _apple_rules(body: Mapping[str, Any], where: str) -> None:
    silent = body.get("content-available") is True
    alert = body.get("alert")
    # "alert": "required unless content-available is true"; the alert object's "body" too.
    if alert is None and not silent:
        raise BrazeValidationError(
            f"{where}.alert", f"is required unless content-available is true ({_APPLE_PAGE})"
        )
    if isinstance(alert, Mapping) and alert.get("body") is None and not silent:
        raise BrazeValidationError(
            f"{where}.alert.body",
            f"is required unless content-available is true ({_APPLE_PAGE})",
        )
    # "Messages that include the keys ab or aps in the extra object will be rejected."
    for key in ("ab", "aps"):
        if key in (body.get("extra") or {}):
            raise BrazeValidationError(
                f"{where}.extra", f"must not hold the key {key!r} ({_APPLE_PAGE})"
            )
    # asset_file_type: "required if asset_url is present".
    if body.get("asset_url") is not None and body.get("asset_file_type") is None:
        raise BrazeValidationError(
            f"{where}.asset_file_type", f"is required when asset_url is given ({_APPLE_PAGE})"
        )
    _apple_buttons(body, where)
    size = _json_size(body)
    if size > MAX_APPLE_PUSH_BYTES:
        raise BrazeValidationError(
            where,
            f"is {size:,} bytes of JSON; Braze allows {MAX_APPLE_PUSH_BYTES:,} ({_APPLE_PAGE})",
        )


def _apple_buttons(body: Mapping[str, Any], where: str) -> None:
    """The Apple push action button objects against their category (apple_object.md)."""
    buttons = body.get("buttons")
    if not buttons:
        return
    category = body.get("category")
    # "You must include the category field in the Apple push object to use iOS push action
    # buttons."
    if category is None:
        raise BrazeValidationError(f"{where}.category", f"is required with buttons ({_APPLE_PAGE})")
    defaults = APPLE_DEFAULT_BUTTONS.get(category)
    for index, button in enumerate(buttons):
        at, action = f"{where}.buttons[{index}]", button.get("action")
        if defaults is not None:
            # Braze default buttons: the table's action identifiers and "Allowed Actions".
            allowed = defaults.get(button["action_id"])
            if allowed is None:
                raise BrazeValidationError(
                    f"{at}.action_id",
                    f"must be one of {', '.join(defaults)} in {category} ({_APPLE_PAGE})",
                )
            if action is not None and action not in allowed:
                raise BrazeValidationError(
                    f"{at}.action",
                    f"must be one of {', '.join(allowed)} for this button ({_APPLE_PAGE})",
                )
        else:
            # "for categories defined by your app": action "one of URI or DEEP_LINK" and uri,
            # both required.
            if action not in ("URI", "DEEP_LINK"):
                raise BrazeValidationError(
                    f"{at}.action",
                    f"must be URI or DEEP_LINK in a category of your app ({_APPLE_PAGE})",
                )
            if button.get("uri") is None:
                raise BrazeValidationError(
                    f"{at}.uri", f"is required in a category of your app ({_APPLE_PAGE})"
                )


APPLE_PUSH = _Shape(
    _APPLE_PAGE,
    {
        "badge": _INT,
        "alert": _f("str|shape", shape=APPLE_ALERT),
        "sound": _STR,
        "extra": _OBJ,
        "content-available": _BOOL,
        "interruption_level": _f("choice", "passive", "active", "time-sensitive", "critical"),
        # "(optional, float) ... between 0.0 and 1.0": a whole 0 or 1 is the same number.
        "relevance_score": _f("number", bounds=(0.0, 1.0)),
        "expiry": _TIME,
        "custom_uri": _STR,
        "use_webview": _BOOL,
        "message_variation_id": _STR,
        "notification_group_thread_id": _STR,
        "asset_url": _STR,
        "asset_file_type": _f("choice", "aif", "gif", "jpg", "m4a", "mp3", "mp4", "png", "wav"),
        "collapse_id": _STR,
        "mutable_content": _BOOL,
        "send_to_most_recent_device_only": _BOOL,
        "category": _STR,
        "buttons": _f("list", shape=APPLE_PUSH_BUTTON),
        # "an integer between 1 and 10".
        "apns_priority": _f("int", bounds=(1, 10)),
    },
    (_apple_rules,),
)

# -- android_object.md -------------------------------------------------------------------

_ANDROID_PAGE = "android_object.md"
#: "The total number of bytes in your alert string and extra object should not exceed 4,000"
#: (android_object.md; errors.md: "Android Push Length Exceeded"): the alert's UTF-8 bytes
#: and the extra object's JSON.
MAX_ANDROID_PUSH_BYTES = 4000
#: ``time_to_live``: "integer (maximum of 2,419,200 seconds)" (android_object.md).
MAX_ANDROID_TIME_TO_LIVE = 2_419_200

ANDROID_PUSH_BUTTON = _Shape(
    _ANDROID_PAGE,
    {
        "text": _REQUIRED_STR,
        "action": _f("choice", *_PUSH_ACTIONS),
        "uri": _STR,
        "use_webview": _BOOL,
    },
)
ANDROID_CONVERSATION_MESSAGE = _Shape(
    _ANDROID_PAGE,
    {"text": _REQUIRED_STR, "timestamp": _f("int", required=REQ), "person_id": _REQUIRED_STR},
)
ANDROID_CONVERSATION_PERSON = _Shape(_ANDROID_PAGE, {"id": _REQUIRED_STR, "name": _REQUIRED_STR})
ANDROID_CONVERSATION = _Shape(
    _ANDROID_PAGE,
    {
        "shortcut_id": _REQUIRED_STR,
        "reply_person_id": _REQUIRED_STR,
        "messages": _f("list", required=REQ, shape=ANDROID_CONVERSATION_MESSAGE),
        "persons": _f("list", required=REQ, shape=ANDROID_CONVERSATION_PERSON),
    },
)


def _android_rules(body: Mapping[str, Any], where: str) -> None:
    for name in ("alert", "title"):
        if body.get("send_to_sync") is True:
            # "send_to_sync: if set to true we throw an error if alert or title is set".
            if body.get(name) is not None:
                raise BrazeValidationError(
                    f"{where}.{name}",
                    f"must not be set when send_to_sync is true ({_ANDROID_PAGE})",
                )
        elif body.get(name) is None:
            raise BrazeValidationError(
                f"{where}.{name}", f"is required unless send_to_sync is true ({_ANDROID_PAGE})"
            )
    alert, extra = body.get("alert") or "", body.get("extra")
    size = len(alert.encode()) + (_json_size(extra) if extra is not None else 0)
    if size > MAX_ANDROID_PUSH_BYTES:
        raise BrazeValidationError(
            where,
            f"alert and extra are {size:,} bytes; Braze allows {MAX_ANDROID_PUSH_BYTES:,} "
            f"({_ANDROID_PAGE})",
        )


ANDROID_PUSH = _Shape(
    _ANDROID_PAGE,
    {
        "alert": _STR,
        "title": _STR,
        "extra": _OBJ,
        "message_variation_id": _STR,
        "notification_channel_id": _STR,
        # "accepts values from -2 to 2 ... Any values sent outside of that range default to 0":
        # Braze takes them and ignores them; the client refuses them (the simulator takes them).
        "priority": _f("int", bounds=(-2, 2)),
        "android_priority": _f("choice", "normal", "high"),
        # The page gives no type ("if set to true we throw an error..."): a boolean.
        "send_to_sync": _BOOL,
        "collapse_key": _STR,
        "sound": _STR,
        "custom_uri": _STR,
        "use_webview": _BOOL,
        "summary_text": _STR,
        # Seconds: not negative, at most 2,419,200.
        "time_to_live": _f("int", bounds=(0, MAX_ANDROID_TIME_TO_LIVE)),
        "notification_id": _INT,
        "push_icon_image_url": _STR,
        "accent_color": _INT,
        "send_to_most_recent_device_only": _BOOL,
        "buttons": _f("list", shape=ANDROID_PUSH_BUTTON),
        "conversation_data": _f("shape", shape=ANDROID_CONVERSATION),
    },
    (_android_rules,),
)

# -- kindle_and_fireos_object.md --------------------------------------------------------

_KINDLE_PAGE = "kindle_and_fireos_object.md"
KINDLE_PUSH = _Shape(
    _KINDLE_PAGE,
    {
        "alert": _REQUIRED_STR,
        "title": _REQUIRED_STR,
        "extra": _OBJ,
        "message_variation_id": _STR,
        # "Any values sent that outside of that integer range will default to 0": Braze takes
        # them and ignores them; the client refuses them (the simulator takes them).
        "priority": _f("int", bounds=(-2, 2)),
        "collapse_key": _STR,
        "sound": _STR,
        "custom_uri": _STR,
    },
)

# -- web_objects.md ---------------------------------------------------------------------

_WEB_PAGE = "web_objects.md"
WEB_PUSH_BUTTON = _Shape(
    _WEB_PAGE,
    {"text": _REQUIRED_STR, "action": _f("choice", "OPEN_APP", "URI", "CLOSE"), "uri": _STR},
)
WEB_PUSH = _Shape(
    _WEB_PAGE,
    {
        "alert": _REQUIRED_STR,
        "title": _REQUIRED_STR,
        "extra": _OBJ,
        "message_variation_id": _STR,
        "custom_uri": _STR,
        "image_url": _STR,
        "large_image_url": _STR,
        "require_interaction": _BOOL,
        # "integer (seconds)": not negative.
        "time_to_live": _f("int", bounds=(0, None)),
        "send_to_most_recent_device_only": _BOOL,
        "buttons": _f("list", shape=WEB_PUSH_BUTTON),
    },
)

# -- whats_app_object.md ----------------------------------------------------------------

_WA_PAGE = "whats_app_object.md"


def _variables(name: str, most: int | None) -> Rule:
    """A template's variables object: zero-indexed template variable keys to string values;
    "only zero or one header variables", "only one button variable"."""

    def check(body: Mapping[str, Any], where: str) -> None:
        variables = body.get(name)
        if variables is None:
            return
        for key, value in variables.items():
            # "the WhatsApp template variable index (zero-indexed)": 0, 1, 2... in ASCII digits
            # (str.isdigit alone also takes other scripts' digits, such as "٣").
            if not (type(key) is str and key.isascii() and key.isdigit()):
                raise BrazeValidationError(
                    f"{where}.{name}",
                    f"keys are template variable indexes, '0', '1'... ({_WA_PAGE})",
                )
            check_str(value, f"{where}.{name}.{key}")
        if most is not None and len(variables) > most:
            raise BrazeValidationError(
                f"{where}.{name}", f"takes at most {most} variable ({_WA_PAGE})"
            )

    return check


def _quick_reply_rules(body: Mapping[str, Any], where: str) -> None:
    # header_image_uri "only valid if header_text not present", and the other way round.
    if body.get("header_image_uri") is not None and body.get("header_text") is not None:
        raise BrazeValidationError(
            f"{where}.header_text", f"cannot be given with header_image_uri ({_WA_PAGE})"
        )
    if not body["buttons"]:
        raise BrazeValidationError(f"{where}.buttons", f"must hold a button ({_WA_PAGE})")


def _template_header(body: Mapping[str, Any], where: str) -> None:
    # The newest page: a template's image header is "header_media_uri", and
    # "header_image_uri is used only for response message types (such as
    # quick_reply_response_message), not template messages"; an older version of the page
    # named a template's header_image_uri. The client sends the newest reading, the simulator
    # takes both (whats_app_object.md, before and after flow_response_message was added).
    if body.get("header_image_uri") is not None:
        raise BrazeValidationError(
            f"{where}.header_image_uri",
            f"is for response messages; a template's header image is header_media_uri ({_WA_PAGE})",
        )
    # "You can use header_variables only with templates that have TEXT-type headers. For IMAGE
    # headers, use header_media_uri instead."
    if body.get("header_variables") and body.get("header_media_uri") is not None:
        raise BrazeValidationError(
            f"{where}.header_media_uri", f"cannot be given with header_variables ({_WA_PAGE})"
        )


#: "list_rows: A maximum of 10 rows can be included across all sections."
MAX_WHATS_APP_LIST_ROWS = 10


def _list_rules(body: Mapping[str, Any], where: str) -> None:
    sections = body["list"]["list_sections"]
    if not sections:
        raise BrazeValidationError(
            f"{where}.list.list_sections", f"must have at least one section ({_WA_PAGE})"
        )
    rows = sum(len(section["list_rows"]) for section in sections)
    if rows > MAX_WHATS_APP_LIST_ROWS:
        raise BrazeValidationError(
            f"{where}.list.list_sections",
            f"hold {rows} rows; at most {MAX_WHATS_APP_LIST_ROWS} across all sections ({_WA_PAGE})",
        )


#: "caption: Maximum 20 characters."
MAX_WHATS_APP_FLOW_CAPTION = 20


def _flow_button_rules(body: Mapping[str, Any], where: str) -> None:
    if len(body["caption"]) > MAX_WHATS_APP_FLOW_CAPTION:
        raise BrazeValidationError(
            f"{where}.caption",
            f"is over {MAX_WHATS_APP_FLOW_CAPTION} characters ({_WA_PAGE})",
        )


WHATS_APP_FLOW_BUTTON = _Shape(
    _WA_PAGE, {"caption": _REQUIRED_STR, "flow_id": _REQUIRED_STR}, (_flow_button_rules,)
)

WHATS_APP_MESSAGES: Mapping[str, _Shape] = {
    "template_message": _Shape(
        _WA_PAGE,
        {
            "template_name": _REQUIRED_STR,
            "template_language_code": _REQUIRED_STR,
            "header_variables": _OBJ,
            "body_variables": _OBJ,
            "button_variables": _OBJ,
            "header_media_uri": _STR,
        },
        (
            _variables("header_variables", 1),
            _variables("body_variables", None),
            _variables("button_variables", 1),
            _template_header,
        ),
    ),
    "text_response_message": _Shape(_WA_PAGE, {"body": _REQUIRED_STR, "preview_url": _BOOL}),
    "text_image_response_message": _Shape(_WA_PAGE, {"image_uri": _REQUIRED_STR, "caption": _STR}),
    "quick_reply_response_message": _Shape(
        _WA_PAGE,
        {
            "body": _REQUIRED_STR,
            "header_image_uri": _STR,
            "header_text": _STR,
            "footer": _STR,
            "buttons": _f("list", required=REQ, shape=_Shape(_WA_PAGE, {"text": _REQUIRED_STR})),
        },
        (_quick_reply_rules,),
    ),
    "list_response_message": _Shape(
        _WA_PAGE,
        {
            "header": _STR,
            "body": _REQUIRED_STR,
            "footer": _STR,
            "list": _f(
                "shape",
                required=REQ,
                shape=_Shape(
                    _WA_PAGE,
                    {
                        "list_button_text": _REQUIRED_STR,
                        "list_sections": _f(
                            "list",
                            required=REQ,
                            shape=_Shape(
                                _WA_PAGE,
                                {
                                    "section_title": _REQUIRED_STR,
                                    "list_rows": _f(
                                        "list",
                                        required=REQ,
                                        shape=_Shape(
                                            _WA_PAGE,
                                            {"row_title": _REQUIRED_STR, "row_description": _STR},
                                        ),
                                    ),
                                },
                            ),
                        ),
                    },
                ),
            ),
        },
        (_list_rules,),
    ),
    "flow_response_message": _Shape(
        _WA_PAGE,
        {
            "header_text": _STR,
            "body": _REQUIRED_STR,
            "footer": _STR,
            # "flow_button: Must include both caption and flow_id."
            "flow_button": _f("shape", required=REQ, shape=WHATS_APP_FLOW_BUTTON),
            "generate_custom_attribute": _BOOL,
        },
    ),
}


def _whats_app_rules(body: Mapping[str, Any], where: str) -> None:
    check_shape(WHATS_APP_MESSAGES[body["message_type"]], body["message"], f"{where}.message")


WHATS_APP = _Shape(
    _WA_PAGE,
    {
        "app_id": _REQUIRED_STR,
        "subscription_group_id": _REQUIRED_STR,
        "message_variation_id": _STR,
        "message_type": _f("choice", *WHATS_APP_MESSAGES, required=REQ),
        "message": _f("object", required=REQ),
    },
    (_whats_app_rules,),
)

#: The shape of each channel of this module, by its key in ``messages``.
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


def _body(value: object) -> Any:
    """The JSON of a typed object (unset fields left out), for its checks."""
    cls = type(value)
    if attrs.has(cls):
        return {
            a.metadata.get(WIRE_KEY, a.name): _body(getattr(value, a.name))
            for a in attrs.fields(cls)
            if getattr(value, a.name) is not None
        }
    if isinstance(value, (list, tuple)):
        return [_body(item) for item in value]
    return value


class _Checked:
    """A typed object that checks its body against its shape on creation."""

    __slots__ = ()
    _channel: ClassVar[str]

    def __attrs_post_init__(self) -> None:
        check_channel(self._channel, _body(self))


class _Part:
    """A typed object inside a channel's object (a button, an alert...): it checks its own
    fields on creation; the channel's object checks the rules that tie it to the rest."""

    __slots__ = ()
    _shape: ClassVar[_Shape]
    _where: ClassVar[str]

    def __attrs_post_init__(self) -> None:
        check_shape(self._shape, _body(self), self._where)


@attrs.frozen(slots=True, kw_only=True)
class AppleAlert(_Part):
    """An Apple push alert object (apple_object.md): ``body`` is required unless the push
    object's ``content_available`` is true."""

    _shape: ClassVar[_Shape] = APPLE_ALERT
    _where: ClassVar[str] = "messages.apple_push.alert"

    body: str | None = None
    title: str | None = None
    title_loc_key: str | None = None
    title_loc_args: Sequence[str] | None = None
    action_loc_key: str | None = None
    loc_key: str | None = None
    loc_args: Sequence[str] | None = None
    #: Live Activities only.
    sound: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class ApplePushButton(_Part):
    """An Apple push action button object (apple_object.md). With a Braze default category
    (``ab_cat_yes_no``...) ``action_id`` is one of its buttons (``ab_pb_yes``...) and
    ``action`` one its table allows; with a category of your app, ``action`` is ``"URI"`` or
    ``"DEEP_LINK"`` and ``uri`` is required."""

    _shape: ClassVar[_Shape] = APPLE_PUSH_BUTTON
    _where: ClassVar[str] = "messages.apple_push.buttons[]"

    action_id: str
    action: PushAction | None = None
    uri: str | None = None
    use_webview: bool | None = None


@attrs.frozen(slots=True, kw_only=True)
class ApplePush(_Checked):
    """The ``apple_push`` object (objects_filters/messaging/apple_object.md); at most 1,912
    bytes of JSON."""

    _channel: ClassVar[str] = "apple_push"

    #: The notification: a string, or an Apple push alert object; required unless
    #: ``content_available`` is true.
    alert: str | AppleAlert | Properties | None = None
    badge: int | None = None
    #: ``"default"`` plays the standard sound.
    sound: str | None = None
    #: Additional keys and values; ``ab`` and ``aps`` are refused by Braze.
    extra: Properties | None = None
    #: JSON key ``content-available``.
    content_available: bool | None = attrs.field(
        default=None, metadata={WIRE_KEY: "content-available"}
    )
    interruption_level: InterruptionLevel | None = None
    #: Between 0.0 and 1.0.
    relevance_score: float | None = None
    #: An ISO 8601 date string.
    expiry: str | None = None
    custom_uri: str | None = None
    use_webview: bool | None = None
    message_variation_id: str | None = None
    notification_group_thread_id: str | None = None
    asset_url: str | None = None
    #: Required with ``asset_url``.
    asset_file_type: AssetFileType | None = None
    collapse_id: str | None = None
    mutable_content: bool | None = None
    send_to_most_recent_device_only: bool | None = None
    #: The iOS notification category; required with ``buttons``.
    category: str | None = None
    buttons: Sequence[ApplePushButton | Properties] | None = None
    #: Between 1 and 10.
    apns_priority: int | None = None


@attrs.frozen(slots=True, kw_only=True)
class AndroidPushButton(_Part):
    """An Android push action button object (android_object.md)."""

    _shape: ClassVar[_Shape] = ANDROID_PUSH_BUTTON
    _where: ClassVar[str] = "messages.android_push.buttons[]"

    text: str
    #: ``"OPEN_APP"`` (Braze's default), ``"URI"``, ``"DEEP_LINK"`` or ``"CLOSE"``.
    action: PushAction | None = None
    uri: str | None = None
    use_webview: bool | None = None


@attrs.frozen(slots=True, kw_only=True)
class AndroidConversationMessage(_Part):
    """An Android conversation push message object (android_object.md)."""

    _shape: ClassVar[_Shape] = ANDROID_CONVERSATION_MESSAGE
    _where: ClassVar[str] = "messages.android_push.conversation_data.messages[]"

    text: str
    #: A Unix timestamp (seconds).
    timestamp: int
    person_id: str


@attrs.frozen(slots=True, kw_only=True)
class AndroidConversationPerson(_Part):
    """An Android conversation push person object (android_object.md)."""

    _shape: ClassVar[_Shape] = ANDROID_CONVERSATION_PERSON
    _where: ClassVar[str] = "messages.android_push.conversation_data.persons[]"

    id: str
    name: str


@attrs.frozen(slots=True, kw_only=True)
class AndroidConversation(_Part):
    """An Android conversation push object (android_object.md)."""

    _shape: ClassVar[_Shape] = ANDROID_CONVERSATION
    _where: ClassVar[str] = "messages.android_push.conversation_data"

    shortcut_id: str
    reply_person_id: str
    messages: Sequence[AndroidConversationMessage | Properties]
    persons: Sequence[AndroidConversationPerson | Properties]


@attrs.frozen(slots=True, kw_only=True)
class AndroidPush(_Checked):
    """The ``android_push`` object (objects_filters/messaging/android_object.md): ``alert``
    and ``extra`` at most 4,000 bytes together."""

    _channel: ClassVar[str] = "android_push"

    #: The notification message; required unless ``send_to_sync`` is true.
    alert: str | None = None
    #: The title in the notification drawer; required unless ``send_to_sync`` is true.
    title: str | None = None
    extra: Properties | None = None
    message_variation_id: str | None = None
    notification_channel_id: str | None = None
    #: From -2 (MIN) to 2 (MAX).
    priority: int | None = None
    #: The FCM sender priority.
    android_priority: Literal["normal", "high"] | None = None
    #: A silent push: ``alert`` and ``title`` must then be absent.
    send_to_sync: bool | None = None
    collapse_key: str | None = None
    sound: str | None = None
    custom_uri: str | None = None
    use_webview: bool | None = None
    summary_text: str | None = None
    #: Seconds, at most 2,419,200.
    time_to_live: int | None = None
    notification_id: int | None = None
    push_icon_image_url: str | None = None
    #: An RGB integer.
    accent_color: int | None = None
    send_to_most_recent_device_only: bool | None = None
    buttons: Sequence[AndroidPushButton | Properties] | None = None
    conversation_data: AndroidConversation | Properties | None = None


@attrs.frozen(slots=True, kw_only=True)
class ContentCard(_Checked):
    """The ``content_card`` object (objects_filters/messaging/content_cards_object.md)."""

    _channel: ClassVar[str] = "content_card"

    type: Literal["CLASSIC", "CAPTIONED_IMAGE", "BANNER"]
    title: str
    description: str
    message_variation_id: str | None = None
    pinned: bool | None = None
    #: Required for ``CAPTIONED_IMAGE`` and ``BANNER`` cards.
    image_url: str | None = None
    #: Seconds, at most 30 days; this or ``expire_at`` is required.
    time_to_live: int | None = None
    #: An ISO 8601 date (at most 30 days ahead).
    expire_at: str | None = None
    expire_in_local_time: bool | None = None
    ios_uri: str | None = None
    android_uri: str | None = None
    web_uri: str | None = None
    ios_use_webview: bool | None = None
    android_use_webview: bool | None = None
    uri_text: str | None = None
    extra: Properties | None = None


@attrs.frozen(slots=True, kw_only=True)
class KindlePush(_Checked):
    """The ``kindle_push`` object (objects_filters/messaging/kindle_and_fireos_object.md)."""

    _channel: ClassVar[str] = "kindle_push"

    alert: str
    title: str
    extra: Properties | None = None
    message_variation_id: str | None = None
    #: -2 (lowest) to 2 (highest).
    priority: int | None = None
    collapse_key: str | None = None
    #: ``"default"`` plays the standard sound.
    sound: str | None = None
    custom_uri: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class WebPushButton(_Part):
    """A web push action button object (web_objects.md)."""

    _shape: ClassVar[_Shape] = WEB_PUSH_BUTTON
    _where: ClassVar[str] = "messages.web_push.buttons[]"

    text: str
    #: ``"OPEN_APP"`` (Braze's default), ``"URI"`` or ``"CLOSE"``.
    action: Literal["OPEN_APP", "URI", "CLOSE"] | None = None
    uri: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class WebPush(_Checked):
    """The ``web_push`` object (objects_filters/messaging/web_objects.md)."""

    _channel: ClassVar[str] = "web_push"

    alert: str
    title: str
    extra: Properties | None = None
    message_variation_id: str | None = None
    custom_uri: str | None = None
    #: Cropped to a 1:1 aspect ratio.
    image_url: str | None = None
    large_image_url: str | None = None
    require_interaction: bool | None = None
    #: Seconds.
    time_to_live: int | None = None
    send_to_most_recent_device_only: bool | None = None
    buttons: Sequence[WebPushButton | Properties] | None = None


# -- WhatsApp: the message objects by message_type --------------------------------------


class _WhatsAppMessage:
    __slots__ = ()
    message_type: ClassVar[str]

    def __attrs_post_init__(self) -> None:
        check_shape(
            WHATS_APP_MESSAGES[self.message_type], _body(self), "messages.whats_app.message"
        )


@attrs.frozen(slots=True, kw_only=True)
class WhatsAppTemplate(_WhatsAppMessage):
    """A ``template_message``: a WhatsApp template and its variables by index (``"0"``...)."""

    message_type: ClassVar[str] = "template_message"

    template_name: str
    template_language_code: str
    #: At most one.
    header_variables: Mapping[str, str] | None = None
    body_variables: Mapping[str, str] | None = None
    #: At most one: the path of a call-to-action URL, keyed by the button's index.
    button_variables: Mapping[str, str] | None = None
    #: The header image of a template whose header is of type IMAGE (not with
    #: ``header_variables``, which are for TEXT headers).
    header_media_uri: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class WhatsAppText(_WhatsAppMessage):
    """A ``text_response_message``."""

    message_type: ClassVar[str] = "text_response_message"

    body: str
    preview_url: bool | None = None


@attrs.frozen(slots=True, kw_only=True)
class WhatsAppImage(_WhatsAppMessage):
    """A ``text_image_response_message``."""

    message_type: ClassVar[str] = "text_image_response_message"

    image_uri: str
    caption: str | None = None


@attrs.frozen(slots=True)
class WhatsAppButton:
    """A quick reply button."""

    text: str

    def __attrs_post_init__(self) -> None:
        check_str(self.text, "messages.whats_app.message.buttons[].text")


@attrs.frozen(slots=True, kw_only=True)
class WhatsAppQuickReply(_WhatsAppMessage):
    """A ``quick_reply_response_message``: at most one of ``header_image_uri`` and
    ``header_text``."""

    message_type: ClassVar[str] = "quick_reply_response_message"

    body: str
    buttons: Sequence[WhatsAppButton | Properties]
    header_image_uri: str | None = None
    header_text: str | None = None
    footer: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class WhatsAppListRow:
    """A list row object."""

    row_title: str
    row_description: str | None = None


@attrs.frozen(slots=True, kw_only=True)
class WhatsAppListSection:
    """A list section object."""

    section_title: str
    list_rows: Sequence[WhatsAppListRow | Properties]


@attrs.frozen(slots=True, kw_only=True)
class WhatsAppList(_WhatsAppMessage):
    """A ``list_response_message``: at least one section, at most 10 rows across them. On
    the wire its ``list_button_text`` and ``list_sections`` go inside ``list``."""

    message_type: ClassVar[str] = "list_response_message"

    body: str
    list_button_text: str
    list_sections: Sequence[WhatsAppListSection | Properties]
    header: str | None = None
    footer: str | None = None

    def wire(self) -> dict[str, Any]:
        """The page's object: ``list`` holds the button text and the sections."""
        body = _body(self)
        body["list"] = {
            "list_button_text": body.pop("list_button_text"),
            "list_sections": body.pop("list_sections"),
        }
        return dict(body)

    def __attrs_post_init__(self) -> None:
        check_shape(
            WHATS_APP_MESSAGES[self.message_type], self.wire(), "messages.whats_app.message"
        )


@attrs.frozen(slots=True, kw_only=True)
class WhatsAppFlowButton:
    """A flow button object: the button's ``caption`` (at most 20 characters) and the
    published WhatsApp Flow's ``flow_id``."""

    caption: str
    flow_id: str

    def __attrs_post_init__(self) -> None:
        check_shape(WHATS_APP_FLOW_BUTTON, _body(self), "messages.whats_app.message.flow_button")


@attrs.frozen(slots=True, kw_only=True)
class WhatsAppFlow(_WhatsAppMessage):
    """A ``flow_response_message``: an interactive WhatsApp Flow the recipient completes."""

    message_type: ClassVar[str] = "flow_response_message"

    body: str
    flow_button: WhatsAppFlowButton | Properties
    header_text: str | None = None
    footer: str | None = None
    #: Save the flow's response on the user profile as a custom attribute.
    generate_custom_attribute: bool | None = None


WhatsAppMessage: TypeAlias = (
    WhatsAppTemplate
    | WhatsAppText
    | WhatsAppImage
    | WhatsAppQuickReply
    | WhatsAppList
    | WhatsAppFlow
)


def whats_app_message(message: WhatsAppMessage | Properties) -> Any:
    """The JSON of a WhatsApp message object."""
    if isinstance(message, WhatsAppList):
        return message.wire()
    return _body(message)


@attrs.frozen(slots=True, kw_only=True)
class WhatsApp:
    """The ``whats_app`` object (objects_filters/messaging/whats_app_object.md); its
    ``message_type`` follows from a typed ``message`` (give it with a mapping)::

        WhatsApp(app_id="app", subscription_group_id="g", message=WhatsAppText(body="Hi"))
    """

    app_id: str
    subscription_group_id: str
    message: WhatsAppMessage | Properties
    message_type: str | None = None
    message_variation_id: str | None = None

    def __attrs_post_init__(self) -> None:
        kind = getattr(self.message, "message_type", None)
        if isinstance(kind, str):
            if self.message_type is not None and self.message_type != kind:
                raise BrazeValidationError(
                    "messages.whats_app.message_type", f"is {kind} for this message"
                )
            object.__setattr__(self, "message_type", kind)
        check_channel("whats_app", self.wire())

    def wire(self) -> dict[str, Any]:
        """The object Braze receives."""
        body = {
            "app_id": self.app_id,
            "subscription_group_id": self.subscription_group_id,
            "message_variation_id": self.message_variation_id,
            "message_type": self.message_type,
            "message": whats_app_message(self.message),
        }
        return {key: value for key, value in body.items() if value is not None}
