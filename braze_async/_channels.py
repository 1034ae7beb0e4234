"""The ``/messages/send`` channels beside the common ones: Content Cards, Kindle/FireOS push,
web push and WhatsApp (objects_filters/messaging/).

Each page's rules (required fields, enumerations, sizes, formats) are written once, as a
:class:`_Shape` of the object's JSON, and :func:`check_channel` applies them to the body a
channel sends. A typed class checks its own body on creation; a plain mapping given for the
channel is checked by the same function (fields the shape does not know pass as they are)::

    Messages(web_push=WebPush(alert="Sale", title="Shop", buttons=[WebPushButton(text="Open")]))
    Messages(web_push={"alert": "Sale", "title": "Shop"})  # the same rules
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeAlias
from urllib.parse import urlsplit

import attrs

from ._errors import BrazeValidationError
from ._models import WIRE_KEY, check_attachments
from ._validate import check_properties, check_str, iso_time

Properties: TypeAlias = Mapping[str, Any]
Rule: TypeAlias = Callable[[Mapping[str, Any], str], None]


@attrs.frozen
class _Field:
    kind: str  # str, bool, int, object, time, choice, list, shape
    required: bool = False
    choices: tuple[str, ...] = ()
    shape: _Shape | None = None


@attrs.frozen
class _Shape:
    """The JSON object of one page: its fields, and the rules that tie fields together."""

    page: str
    fields: Mapping[str, _Field]
    rules: tuple[Rule, ...] = ()


def _check_field(spec: _Field, value: object, field: str, page: str) -> None:
    kind = spec.kind
    if kind == "str":
        check_str(value, field)
    elif kind in ("bool", "int"):
        if type(value) is not {"bool": bool, "int": int}[kind]:
            raise BrazeValidationError(
                field, f"must be {'a boolean' if kind == 'bool' else 'an integer'} ({page})"
            )
    elif kind == "object":
        check_properties(value, field)
    elif kind == "time":
        if not _is_iso_time(value):
            raise BrazeValidationError(field, f"must be an ISO 8601 date string ({page})")
    elif kind == "choice":
        if type(value) is not str or value not in spec.choices:
            raise BrazeValidationError(field, f"must be one of {', '.join(spec.choices)} ({page})")
    elif kind == "list":
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise BrazeValidationError(field, f"must be an array ({page})")
        assert spec.shape is not None
        for index, item in enumerate(value):
            check_shape(spec.shape, item, f"{field}[{index}]")
    else:
        assert spec.shape is not None
        check_shape(spec.shape, value, field)


def _is_iso_time(value: object) -> bool:
    """An ISO 8601 date string, as the client's one reader (``_validate.iso_time``) reads it."""
    if type(value) is not str:
        return False
    try:
        iso_time(value)
    except ValueError:
        return False
    return True


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


def _f(kind: str, *choices: str, required: bool = False, shape: _Shape | None = None) -> _Field:
    return _Field(kind, required, choices, shape)


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

# -- kindle_and_fireos_object.md --------------------------------------------------------

_KINDLE_PAGE = "kindle_and_fireos_object.md"


def _kindle_rules(body: Mapping[str, Any], where: str) -> None:
    # "Any values sent that outside of that integer range will default to 0": Braze takes
    # them and ignores them; the client refuses them rather than send what will be ignored.
    priority = body.get("priority")
    if priority is not None and not -2 <= priority <= 2:
        raise BrazeValidationError(f"{where}.priority", f"must be -2 to 2 ({_KINDLE_PAGE})")


KINDLE_PUSH = _Shape(
    _KINDLE_PAGE,
    {
        "alert": _REQUIRED_STR,
        "title": _REQUIRED_STR,
        "extra": _OBJ,
        "message_variation_id": _STR,
        "priority": _INT,
        "collapse_key": _STR,
        "sound": _STR,
        "custom_uri": _STR,
    },
    (_kindle_rules,),
)

# -- web_objects.md ---------------------------------------------------------------------

_WEB_PAGE = "web_objects.md"
WEB_PUSH_BUTTON = _Shape(
    _WEB_PAGE,
    {"text": _REQUIRED_STR, "action": _f("choice", "OPEN_APP", "URI", "CLOSE"), "uri": _STR},
)


def _web_rules(body: Mapping[str, Any], where: str) -> None:
    ttl = body.get("time_to_live")
    if ttl is not None and ttl < 0:
        raise BrazeValidationError(
            f"{where}.time_to_live", f"must be seconds, not negative ({_WEB_PAGE})"
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
        "time_to_live": _INT,
        "send_to_most_recent_device_only": _BOOL,
        "buttons": _f("list", shape=WEB_PUSH_BUTTON),
    },
    (_web_rules,),
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
class WebPushButton:
    """A web push action button object (web_objects.md)."""

    text: str
    #: ``"OPEN_APP"`` (Braze's default), ``"URI"`` or ``"CLOSE"``.
    action: Literal["OPEN_APP", "URI", "CLOSE"] | None = None
    uri: str | None = None

    def __attrs_post_init__(self) -> None:
        check_shape(WEB_PUSH_BUTTON, _body(self), "messages.web_push.buttons[]")


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
