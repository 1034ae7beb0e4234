"""The WhatsApp object (whats_app_object.md) and its message objects, by ``message_type``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeAlias

import attrs

from .._errors import BrazeValidationError
from .._validate import check_str
from ._shape import (
    _BOOL,
    _OBJ,
    _REQUIRED_STR,
    _STR,
    REQ,
    Properties,
    Rule,
    _body,
    _f,
    _Shape,
    check_shape,
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
        check_shape(WHATS_APP, self.wire(), "messages.whats_app")

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
