"""The email, SMS and webhook objects' rules (email_object.md, sms_object.md,
webhook_object.md); their typed classes are in ``_messages.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .._errors import BrazeValidationError
from .._models import check_attachments
from .._validate import check_str
from ._shape import (
    _BOOL,
    _OBJ,
    _REQUIRED_STR,
    _STR,
    REQ,
    _f,
    _Shape,
)

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
