"""The Content Card object (content_cards_object.md): its rules and :class:`ContentCard`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import attrs

from .._errors import BrazeValidationError
from .._validate import iso_time, last_instant
from ._shape import (
    _BOOL,
    _INT,
    _OBJ,
    _REQUIRED_STR,
    _STR,
    _TIME,
    REQ,
    Properties,
    _body,
    _Checked,
    _f,
    _Shape,
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
        latest = last_instant(written)
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


@attrs.frozen(slots=True, kw_only=True)
class ContentCard(_Checked):
    """The ``content_card`` object (objects_filters/messaging/content_cards_object.md)."""

    _channel: ClassVar[str] = "content_card"
    _shape: ClassVar[_Shape] = CONTENT_CARD

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
