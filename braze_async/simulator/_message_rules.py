"""The non-push messaging objects of ``/messages/send``, as Braze's pages define them, read
again for the simulator, and the attachment object they share with
``/campaigns/trigger/send``.

Pages: ``_docs/_api/objects_filters/messaging/`` of braze-inc/braze-docs (``email_object.md``,
``sms_object.md``, ``webhook_object.md``, ``content_cards_object.md``,
``whats_app_object.md``, the newest version of each). Like ``_rules.py``, this module must not
import the client: it is a second, independent reading of the pages.

Each check raises ``ValueError`` naming the field and the rule (and its page). Fields a page
does not list pass as they are (Braze adds fields over time); a string field takes a
non-empty string, except where a page says otherwise. Where two pages (or a page and its
example) disagree, both readings are accepted here, and the comment says which pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ._iso import iso_time

__all__ = [
    "check_attachment_list",
    "check_content_card",
    "check_email",
    "check_sms",
    "check_webhook",
    "check_whats_app",
]

_EMAIL, _SMS, _WEBHOOK = "email_object.md", "sms_object.md", "webhook_object.md"
_CARD, _WA = "content_cards_object.md", "whats_app_object.md"


def _fail(where: str, rule: str, page: str) -> ValueError:
    return ValueError(f"{where} {rule} ({page})")


def _string(body: dict[str, Any], key: str, where: str, page: str, *, empty: bool = False) -> Any:
    """The value of *key* when it is a string (non-empty unless *empty*), or None if absent."""
    value = body.get(key)
    if value is None:
        return None
    if type(value) is not str or (not value and not empty):
        raise _fail(f"{where}.{key}", "must be a non-empty string", page)
    return value


def _required(body: dict[str, Any], key: str, where: str, page: str) -> Any:
    if body.get(key) is None:
        raise _fail(f"{where}.{key}", "is required", page)
    return _string(body, key, where, page)


def _strings(body: dict[str, Any], keys: tuple[str, ...], where: str, page: str) -> None:
    for key in keys:
        _string(body, key, where, page)


def _booleans(body: dict[str, Any], keys: tuple[str, ...], where: str, page: str) -> None:
    for key in keys:
        if key in body and body[key] is not None and type(body[key]) is not bool:
            raise _fail(f"{where}.{key}", "must be a boolean", page)


def _object(body: dict[str, Any], key: str, where: str, page: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is not None and type(value) is not dict:
        raise _fail(f"{where}.{key}", "must be an object", page)
    return value


def _array(body: dict[str, Any], key: str, where: str, page: str) -> list[Any] | None:
    value = body.get(key)
    if value is not None and type(value) is not list:
        raise _fail(f"{where}.{key}", "must be an array", page)
    return value


# -- addresses and URLs ---------------------------------------------------------------------

#: "valid email address in the format "email@address.com"" (email_object.md): one ``@``, a
#: local part and a domain of dot-separated labels, no spaces.
_ADDRESS = re.compile(r"[^\s@<>\"]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
#: "Display Name <email@address.com>" (email_object.md).
_FROM = re.compile(r"(?P<name>[^<>]*)<(?P<address>[^<>]*)>")


def _is_address(text: str) -> bool:
    return _ADDRESS.fullmatch(text) is not None


def _is_web_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# -- attachments (email_object.md, post_send_triggered_campaigns.md) -------------------------

#: email_object.md, "Valid attachment types include".
_TYPES = (
    "txt csv log css ics jpg jpe jpeg gif png bmp psd tif tiff svg indd ai eps doc docx rtf odt "
    "ott pdf pub pages mobi epub mp3 m4a m4v wma ogg flac wav aif aifc aiff mp4 mov avi mkv mpeg "
    "mpg wmv xls xlsx ods numbers odp ppt pptx pps key zip vcf pkpass"
)
ATTACHMENT_TYPES = frozenset(_TYPES.split())
#: The attachment object: ``file_name``, ``url`` and (email_object.md, "Authentication for
#: email file attachments": on the email object's attachments and the top-level
#: ``attachments`` of /campaigns/trigger/send alike) ``basic_auth_credential``.
ATTACHMENT_KEYS = frozenset({"file_name", "url", "basic_auth_credential"})


def _check_attachment(value: object, where: str, page: str) -> None:
    if type(value) is not dict:
        raise _fail(where, "must be an object of file_name and url", page)
    for key in value:
        if key not in ATTACHMENT_KEYS:
            raise _fail(
                f"{where}.{key}",
                f"is not a field of an attachment ({', '.join(sorted(ATTACHMENT_KEYS))})",
                page,
            )
    # file_name is "excluding the extension (for example, ".pdf")", yet the page's own
    # basic-auth example sends "checkout_receipt.pdf": both readings pass here (email_object.md,
    # the attachments field and the example of "Authentication for email file attachments").
    _required(value, "file_name", where, page)
    url = _required(value, "url", where, page)
    if not _is_web_url(url):
        raise _fail(f"{where}.url", "must be an http(s) URL Braze can download", page)
    # "The file name's extension is detected automatically from the URL defined, which should
    # return the appropriate Content-Type": an extension in the URL must be a valid type; a
    # URL without one passes (the Content-Type reading of the same sentence).
    last = urlsplit(url).path.rsplit("/", 1)[-1]
    if "." in last:
        extension = last.rsplit(".", 1)[1].lower()
        if extension not in ATTACHMENT_TYPES:
            raise _fail(
                f"{where}.url", f"names a .{extension} file, not a valid attachment type", page
            )
    _string(value, "basic_auth_credential", where, page)
    # "Attach files up to 2 MB": the file is Braze's to download; nothing here can weigh it.


def check_attachment_list(value: object, where: str, page: str) -> None:
    """An ``attachments`` array: attachment objects (email_object.md; *page* names the page
    the array sits in)."""
    if type(value) is not list:
        raise _fail(where, "must be an array of attachment objects", page)
    for index, attachment in enumerate(value):
        _check_attachment(attachment, f"{where}[{index}]", page)


# -- email (email_object.md) ----------------------------------------------------------------


def check_email(body: dict[str, Any], where: str) -> None:
    """The email object."""
    _required(body, "app_id", where, _EMAIL)
    # "from" is "(required, ...)" and "body" is "(required unless email_template_id is given)",
    # yet the page's "Example email object with attachment" has neither: both readings pass
    # here, each checked when it is given (email_object.md, the object and that example).
    sender = _string(body, "from", where, _EMAIL)
    if sender is not None:
        match = _FROM.fullmatch(sender)
        if match is None or not _is_address(match["address"]):
            raise _fail(f"{where}.from", "must read 'Display Name <email@address.com>'", _EMAIL)
    reply_to = _string(body, "reply_to", where, _EMAIL)
    if reply_to is not None and reply_to != "NO_REPLY_TO" and not _is_address(reply_to):
        raise _fail(f"{where}.reply_to", "must be an email address or NO_REPLY_TO", _EMAIL)
    bcc = _string(body, "bcc", where, _EMAIL)
    if bcc is not None and not _is_address(bcc):
        raise _fail(
            f"{where}.bcc", "must be an email address (a BCC address of the workspace)", _EMAIL
        )
    _strings(
        body,
        (
            "subject",
            "body",
            "plaintext_body",
            "preheader",
            "email_template_id",
            "message_variation_id",
        ),
        where,
        _EMAIL,
    )
    for key in ("extras", "headers"):
        _object(body, key, where, _EMAIL)  # "valid Key-Value Hash"
    _booleans(body, ("should_inline_css",), where, _EMAIL)
    if body.get("attachments") is not None:
        check_attachment_list(body["attachments"], f"{where}.attachments", _EMAIL)


# -- sms (sms_object.md) --------------------------------------------------------------------


def check_sms(body: dict[str, Any], where: str) -> None:
    """The SMS object."""
    for key in ("subscription_group_id", "body", "app_id"):
        _required(body, key, where, _SMS)
    _string(body, "message_variation_id", where, _SMS)
    items = _array(body, "media_items", where, _SMS)
    # "use this field to pass an image URL in an MMS": each item an image's URL.
    for index, item in enumerate(items or ()):
        if type(item) is not str or not _is_web_url(item):
            raise _fail(f"{where}.media_items[{index}]", "must be an image's http(s) URL", _SMS)
    _booleans(body, ("link_shortening_enabled", "user_click_tracking_enabled"), where, _SMS)
    # "user_click_tracking_enabled: if link_shortening_enabled is true, use this field".
    if (
        body.get("user_click_tracking_enabled") is True
        and body.get("link_shortening_enabled") is not True
    ):
        raise _fail(
            f"{where}.user_click_tracking_enabled",
            "can be true only with link_shortening_enabled true",
            _SMS,
        )


# -- webhook (webhook_object.md) ------------------------------------------------------------

_METHODS = ("POST", "PUT", "DELETE", "GET")


def check_webhook(body: dict[str, Any], where: str) -> None:
    """The webhook object."""
    _required(body, "url", where, _WEBHOOK)
    if body.get("request_method") not in _METHODS:
        raise _fail(
            f"{where}.request_method", f"is required, one of {', '.join(_METHODS)}", _WEBHOOK
        )
    headers = _object(body, "request_headers", where, _WEBHOOK)
    for name, value in (headers or {}).items():
        # "key-value pairs to use as request headers": a header's value is text (maybe empty).
        if type(value) is not str:
            raise _fail(f"{where}.request_headers.{name}", "must be a string", _WEBHOOK)
    # "if you want to include a JSON object, make sure to escape quotes": a string, any.
    _string(body, "body", where, _WEBHOOK, empty=True)
    _string(body, "message_variation_id", where, _WEBHOOK)


# -- content_card (content_cards_object.md) -------------------------------------------------

_CARD_TYPES = ("CLASSIC", "CAPTIONED_IMAGE", "BANNER")
#: "Currently, Braze supports a maximum expiration time of 30 days."
MAX_CARD_SECONDS = 30 * 24 * 60 * 60


def check_content_card(body: dict[str, Any], where: str) -> None:
    """The Content Card object."""
    kind = body.get("type")
    if kind not in _CARD_TYPES:
        raise _fail(f"{where}.type", f"is required, one of {', '.join(_CARD_TYPES)}", _CARD)
    for key in ("title", "description"):
        _required(body, key, where, _CARD)
    _strings(
        body,
        ("message_variation_id", "image_url", "ios_uri", "android_uri", "web_uri", "uri_text"),
        where,
        _CARD,
    )
    if kind in ("CAPTIONED_IMAGE", "BANNER") and body.get("image_url") is None:
        raise _fail(f"{where}.image_url", f"is required for {kind} cards", _CARD)
    _booleans(
        body,
        ("pinned", "expire_in_local_time", "ios_use_webview", "android_use_webview"),
        where,
        _CARD,
    )
    _object(body, "extra", where, _CARD)
    ttl, expire_at = body.get("time_to_live"), body.get("expire_at")
    if ttl is None and expire_at is None:
        raise _fail(f"{where}.time_to_live", "or expire_at is required", _CARD)
    if ttl is not None and (type(ttl) is not int or not 0 < ttl <= MAX_CARD_SECONDS):
        raise _fail(
            f"{where}.time_to_live",
            f"must be a number of seconds, 1 to {MAX_CARD_SECONDS} (30 days)",
            _CARD,
        )
    if expire_at is not None:
        try:
            iso_time(expire_at)  # a string naming a real instant (no 30 February)
        except (TypeError, ValueError):
            raise _fail(f"{where}.expire_at", "must be an ISO 8601 date string", _CARD) from None
    # "expire_in_local_time: if using expire_at, determines whether ...".
    if body.get("expire_in_local_time") is True and expire_at is None:
        raise _fail(f"{where}.expire_in_local_time", "applies only with expire_at", _CARD)


# -- whats_app (whats_app_object.md) ---------------------------------------------------------


def _variables(message: dict[str, Any], key: str, most: int | None, where: str) -> None:
    """A template's variables: "Each key is the WhatsApp template variable index
    (zero-indexed)", each value the text to put there."""
    variables = _object(message, key, where, _WA)
    if variables is None:
        return
    for name, value in variables.items():
        if not (name.isascii() and name.isdigit()):
            raise _fail(f"{where}.{key}.{name}", "is not a template variable index (0, 1...)", _WA)
        if type(value) is not str or not value:
            raise _fail(f"{where}.{key}.{name}", "must be a non-empty string", _WA)
    if most is not None and len(variables) > most:
        raise _fail(f"{where}.{key}", f"takes at most {most} variable", _WA)


def _template(message: dict[str, Any], where: str) -> None:
    for key in ("template_name", "template_language_code"):
        _required(message, key, where, _WA)
    # "Currently, only zero or one header variables can be specified"; "only one button
    # variable can be specified".
    _variables(message, "header_variables", 1, where)
    _variables(message, "body_variables", None, where)
    _variables(message, "button_variables", 1, where)
    # The newest page names a template's header image header_media_uri ("header_image_uri is
    # used only for response message types"); an older version named it header_image_uri:
    # both pass here (whats_app_object.md, its versions before and after flow messages).
    _strings(message, ("header_media_uri", "header_image_uri"), where, _WA)
    # "You can use header_variables only with templates that have TEXT-type headers. For IMAGE
    # headers, use header_media_uri instead": one header, one kind.
    if message.get("header_variables") and message.get("header_media_uri") is not None:
        raise _fail(f"{where}.header_media_uri", "cannot be given with header_variables", _WA)


def _text(message: dict[str, Any], where: str) -> None:
    _required(message, "body", where, _WA)
    _booleans(message, ("preview_url",), where, _WA)


def _image(message: dict[str, Any], where: str) -> None:
    _required(message, "image_uri", where, _WA)
    _string(message, "caption", where, _WA)


def _quick_reply(message: dict[str, Any], where: str) -> None:
    _required(message, "body", where, _WA)
    _strings(message, ("header_image_uri", "header_text", "footer"), where, _WA)
    # header_image_uri "(only valid if header_text not present)", and the other way round.
    if message.get("header_image_uri") is not None and message.get("header_text") is not None:
        raise _fail(f"{where}.header_text", "cannot be given with header_image_uri", _WA)
    buttons = _array(message, "buttons", where, _WA)
    if not buttons:
        raise _fail(f"{where}.buttons", "is required: an array of button objects", _WA)
    for index, button in enumerate(buttons):
        if type(button) is not dict:
            raise _fail(f"{where}.buttons[{index}]", "must be a button object", _WA)
        _required(button, "text", f"{where}.buttons[{index}]", _WA)


#: "list_rows: A maximum of 10 rows can be included across all sections."
_MAX_ROWS = 10


def _list(message: dict[str, Any], where: str) -> None:
    _required(message, "body", where, _WA)
    _strings(message, ("header", "footer"), where, _WA)
    listing = _object(message, "list", where, _WA)
    if listing is None:
        raise _fail(f"{where}.list", "is required", _WA)
    where = f"{where}.list"
    _required(listing, "list_button_text", where, _WA)
    sections = _array(listing, "list_sections", where, _WA)
    if not sections:
        # "list_sections: Must have at least one section."
        raise _fail(f"{where}.list_sections", "must have at least one section", _WA)
    rows = 0
    for index, section in enumerate(sections):
        at = f"{where}.list_sections[{index}]"
        if type(section) is not dict:
            raise _fail(at, "must be a list section object", _WA)
        _required(section, "section_title", at, _WA)
        if type(section.get("list_rows")) is not list:
            raise _fail(f"{at}.list_rows", "is required: an array of list row objects", _WA)
        for number, row in enumerate(section["list_rows"]):
            if type(row) is not dict:
                raise _fail(f"{at}.list_rows[{number}]", "must be a list row object", _WA)
            _required(row, "row_title", f"{at}.list_rows[{number}]", _WA)
            _string(row, "row_description", f"{at}.list_rows[{number}]", _WA)
        rows += len(section["list_rows"])
    if rows > _MAX_ROWS:
        raise _fail(f"{where}.list_sections", f"hold {rows} rows; at most {_MAX_ROWS}", _WA)


#: "caption: Maximum 20 characters."
_MAX_FLOW_CAPTION = 20


def _flow(message: dict[str, Any], where: str) -> None:
    _required(message, "body", where, _WA)
    _strings(message, ("header_text", "footer"), where, _WA)
    _booleans(message, ("generate_custom_attribute",), where, _WA)
    button = _object(message, "flow_button", where, _WA)
    if button is None:
        raise _fail(f"{where}.flow_button", "is required", _WA)
    # "flow_button: Must include both caption and flow_id."
    caption = _required(button, "caption", f"{where}.flow_button", _WA)
    _required(button, "flow_id", f"{where}.flow_button", _WA)
    if len(caption) > _MAX_FLOW_CAPTION:
        raise _fail(f"{where}.flow_button.caption", f"is over {_MAX_FLOW_CAPTION} characters", _WA)


_MESSAGES: dict[str, Callable[[dict[str, Any], str], None]] = {
    "template_message": _template,
    "text_response_message": _text,
    "text_image_response_message": _image,
    "quick_reply_response_message": _quick_reply,
    "list_response_message": _list,
    "flow_response_message": _flow,
}


def check_whats_app(body: dict[str, Any], where: str) -> None:
    """The WhatsApp object and its message, by ``message_type``."""
    for key in ("app_id", "subscription_group_id"):
        _required(body, key, where, _WA)
    _string(body, "message_variation_id", where, _WA)
    kind = body.get("message_type")
    if kind not in _MESSAGES:
        raise _fail(f"{where}.message_type", f"is required, one of {', '.join(_MESSAGES)}", _WA)
    message = _object(body, "message", where, _WA)
    if message is None:
        raise _fail(f"{where}.message", "is required", _WA)
    _MESSAGES[kind](message, f"{where}.message")
