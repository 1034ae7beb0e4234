"""The request and response models: attrs classes that validate themselves on creation.

A model that exists is a model Braze accepts: every rule of the endpoint pages that can be
checked locally is checked in ``__attrs_post_init__`` and raises
:class:`~braze_async.BrazeValidationError` naming the field and the rule.

Each attribute is one JSON key of the same name: the converter in :mod:`braze_async._wire`
generates its hooks from these classes, so a documented Braze field is one attribute here.
Where the wire differs from the attribute, the attribute's ``metadata`` says so, with the keys
below (and nowhere else).

Each rule names the page of Braze's documentation it comes from (paths under ``_docs/_api/``
of the public repository ``braze-inc/braze-docs``). Where two pages disagree the newest wins;
where the pages contradict themselves we keep to the stricter reading. The bodies of
``/messages/send`` live in :mod:`braze_async._messages`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import attrs
import orjson

from ._audience import check_audience
from ._errors import BrazeValidationError, ErrorDetail, request_id_in
from ._validate import (
    INT_MAX,
    INT_MIN,
    check_alias_part,
    check_json_size,
    check_object,
    check_personalization,
    check_properties,
    check_send_id,
    check_str,
    json_default,
)

__all__ = [
    "ALSO_AT",
    "CANVAS_KEY",
    "MAX_RECIPIENTS",
    "NOT_IN_BODY",
    "REST_OF_BODY",
    "WIRE_KEY",
    "Attachment",
    "CampaignTriggerRequest",
    "CanvasTriggerRequest",
    "Recipient",
    "SendResponse",
    "TransactionalEvent",
    "TransactionalResponse",
    "TransactionalSendRequest",
    "UserAlias",
    "canvas_context",
    "check_attachment",
    "check_attachments",
    "check_recipients",
    "check_targeting",
    "unique_audience",
    "validate_recipient",
]

#: Braze accepts at most this many recipients in one send request: "up to 50 specific
#: external_ids" (api_limits.md, "Batching Messaging endpoint requests").
MAX_RECIPIENTS = 50

#: The values Braze documents for ``prioritization`` when a recipient is identified by email
#: (endpoints/user_data/post_user_identify.md, "Identifying users by email").
PRIORITIZATION_VALUES = frozenset(
    {"identified", "unidentified", "most_recently_updated", "least_recently_updated"}
)

#: Braze's regex for a transactional ``external_send_id``, ``/^[a-zA-Z0-9-_+\/=]+$/``
#: (endpoints/messaging/send_messages/post_send_transactional_message.md); no page gives a
#: length limit, so we set none.
_EXTERNAL_SEND_ID = re.compile(r"[A-Za-z0-9\-_+/=]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
#: Longest transactional ``campaign_id``, percent-encoded: it travels in the URL path, and
#: RFC 9110 (section 4.1) only asks servers and proxies to take URIs of 8,000 octets; Braze's
#: page gives no limit (its ids are 36-character UUIDs). Longer ones would fail on the way.
MAX_PATH_ID = 4_096
#: Properties in the hot case of Recipient.__init__ that are certainly under 50 KB of JSON:
#: at most _FEW keys, keys and string values at most _SHORT characters. Escaping writes an
#: ASCII character as at most 6 bytes, so such an object is at most
#: 2 + 16 * (2 * (2 + 6 * 256) + 2) = 49,250 bytes; anything else is measured.
_FEW, _SHORT = 16, 256

Properties = Mapping[str, Any]

# -- what an attribute's metadata may tell the converter ---------------------------------

#: True: the value travels outside the JSON body (in the URL, as the HTTP status or headers).
NOT_IN_BODY = "braze_async.not_in_body"
#: The key inside a Canvas request, where Canvas names the field differently.
CANVAS_KEY = "braze_async.canvas_key"
#: Answers only: other places Braze puts the value (key paths into the body), read when the
#: attribute's own key holds no non-empty string.
ALSO_AT = "braze_async.also_at"
#: Answers only: True for the one attribute that keeps every key no other attribute reads.
REST_OF_BODY = "braze_async.rest_of_body"
#: The JSON key, where it cannot be the attribute's name (``from``, ``content-available``).
WIRE_KEY = "braze_async.wire_key"


@attrs.frozen(slots=True)
class UserAlias:
    """A user alias: the pair Braze uses to name users that have no external ID.

    objects_filters/user_alias_object.md: ``alias_name`` and ``alias_label``, both required
    non-empty strings of at most 236 bytes (UTF-8).
    """

    #: The alias itself, e.g. a CRM id.
    alias_name: str
    #: The namespace of the alias, e.g. ``"crm_id"``.
    alias_label: str

    def __attrs_post_init__(self) -> None:
        check_alias_part(self.alias_name, "user_alias.alias_name")
        check_alias_part(self.alias_label, "user_alias.alias_label")


@attrs.define(slots=True, init=False)
class Recipient:
    """One user to message, identified by exactly one of four identifiers.

    The recipients object (objects_filters/recipient_object.md): ``external_user_id``,
    ``user_alias``, ``braze_id`` or ``email``; "requests must specify only one".

    Validated when created; treat it as immutable afterwards (it is not frozen only because
    attrs' frozen ``__init__`` costs twice as much, and a bulk job builds millions of these).

    >>> Recipient(external_user_id="u1", trigger_properties={"coupon": "SAVE20"})
    Recipient(external_user_id='u1', ...)
    >>> Recipient(email="a@example.com", prioritization=["identified"])  # doctest: +ELLIPSIS
    Recipient(...)
    """

    #: Your id for the user.
    external_user_id: str | None = None
    #: Or the user's alias.
    user_alias: UserAlias | None = None
    #: Or the id Braze gave the user (campaign and Canvas sends; not transactional ones).
    braze_id: str | None = None
    #: Or the user's email address (requires ``prioritization``).
    email: str | None = None
    #: Which profile wins when several share the email,
    #: e.g. ``["identified", "most_recently_updated"]``.
    prioritization: Sequence[str] | None = None
    #: Personalization for this user (at most 50 KB of JSON); overrides request-level keys
    #: with the same name. For Canvas sends it is sent as the recipient's ``context``, the
    #: current name of ``canvas_entry_properties`` (objects_filters/recipient_object.md).
    trigger_properties: Properties | None = attrs.field(
        default=None, metadata={CANVAS_KEY: "context"}
    )
    #: Braze's default is ``True`` (only existing users); ``False`` creates the user and needs
    #: ``attributes``; not allowed with ``user_alias``.
    send_to_existing_only: bool | None = None
    #: Attributes to set on the profile before sending (may include ``subscription_groups``).
    attributes: Properties | None = None

    def __repr__(self) -> str:
        # Short repr: identifiers only (properties can be large and personal).
        ident = (
            f"external_user_id={self.external_user_id!r}"
            if self.external_user_id is not None
            else f"user_alias={self.user_alias!r}"
            if self.user_alias is not None
            else f"braze_id={self.braze_id!r}"
            if self.braze_id is not None
            else f"email={self.email!r}"
        )
        return f"Recipient({ident}, ...)"

    # A hand-written __init__ (attrs keeps eq, fields and the converter's view): one call
    # instead of two, and the hot case validated from locals. A bulk job builds millions.
    def __init__(
        self,
        *,
        external_user_id: str | None = None,
        user_alias: UserAlias | None = None,
        braze_id: str | None = None,
        email: str | None = None,
        prioritization: Sequence[str] | None = None,
        trigger_properties: Properties | None = None,
        send_to_existing_only: bool | None = None,
        attributes: Properties | None = None,
    ) -> None:
        self.external_user_id = external_user_id
        self.user_alias = user_alias
        self.braze_id = braze_id
        self.email = email
        self.prioritization = prioritization
        self.trigger_properties = trigger_properties
        self.send_to_existing_only = send_to_existing_only
        self.attributes = attributes
        if (
            type(external_user_id) is str
            and external_user_id
            and user_alias is None
            and braze_id is None
            and email is None
            and prioritization is None
            and send_to_existing_only is None
            and attributes is None
            and external_user_id.isascii()
        ):
            # The hot case (an external id, maybe properties) without the general walk.
            if trigger_properties is not None:
                if type(trigger_properties) is dict:
                    # Flat, small ASCII str -> str|int|bool payloads pass here, certainly
                    # under 50 KB (see _FEW); anything else takes the full walk, which
                    # explains what is wrong, and is measured.
                    for key, value in trigger_properties.items():
                        kind = type(value)
                        if not (
                            type(key) is str
                            and key.isascii()
                            and len(key) <= _SHORT
                            and (
                                (kind is str and value.isascii() and len(value) <= _SHORT)
                                or kind is bool
                                or (kind is int and INT_MIN <= value <= INT_MAX)
                            )
                        ):
                            check_object(trigger_properties, "recipient.trigger_properties", 1)
                            check_json_size(trigger_properties, "recipient.trigger_properties")
                            break
                    else:
                        if len(trigger_properties) > _FEW:
                            check_json_size(trigger_properties, "recipient.trigger_properties")
                else:
                    check_personalization(trigger_properties, "recipient.trigger_properties")
            return
        validate_recipient(self, "recipient")

    @property
    def key(self) -> str:
        """A stable string naming the user, e.g. ``"external_user_id:u1"``."""
        if self.external_user_id is not None:
            return f"external_user_id:{self.external_user_id}"
        if self.user_alias is not None:
            return f"user_alias:{self.user_alias.alias_name}/{self.user_alias.alias_label}"
        if self.braze_id is not None:
            return f"braze_id:{self.braze_id}"
        return f"email:{self.email}"


def validate_recipient(r: Recipient, field: str) -> None:
    """Apply Braze's recipient rules; *field* prefixes the names in errors.

    From objects_filters/recipient_object.md unless a line says otherwise.
    """
    has_id = r.external_user_id is not None
    has_alias = r.user_alias is not None
    has_braze_id = r.braze_id is not None
    has_email = r.email is not None
    count = has_id + has_alias + has_braze_id + has_email
    if count != 1:
        raise BrazeValidationError(
            field,
            "needs exactly one identifier: external_user_id, user_alias, braze_id or email "
            f"(got {count})",
        )
    if has_id:
        check_str(r.external_user_id, f"{field}.external_user_id")
    elif has_alias:
        if not isinstance(r.user_alias, UserAlias):
            raise BrazeValidationError(f"{field}.user_alias", "must be a UserAlias")
    elif has_braze_id:
        check_str(r.braze_id, f"{field}.braze_id")
    else:
        email = check_str(r.email, f"{field}.email")
        if not _EMAIL.fullmatch(email):
            raise BrazeValidationError(f"{field}.email", "must be an email address")
        if not r.prioritization:
            # "prioritization: required when using email" (the campaign and Canvas pages).
            raise BrazeValidationError(
                f"{field}.prioritization", "is required when the recipient is given by email"
            )
    if r.prioritization is not None:
        _check_prioritization(r.prioritization, has_email, f"{field}.prioritization")
    if r.trigger_properties is not None:
        # 50 KB: objects_filters/trigger_properties_object.md, context_object.md.
        check_personalization(r.trigger_properties, f"{field}.trigger_properties")
    if r.attributes is not None:
        check_properties(r.attributes, f"{field}.attributes")
        if "subscription_groups" in r.attributes:  # null is not a list either
            groups = r.attributes["subscription_groups"]
            _check_subscription_groups(groups, f"{field}.attributes.subscription_groups")
    if r.send_to_existing_only is not None:
        if type(r.send_to_existing_only) is not bool:
            raise BrazeValidationError(f"{field}.send_to_existing_only", "must be a boolean")
        if not r.send_to_existing_only:
            if has_alias:
                # post_send_triggered_campaigns.md: "not supported for user aliases".
                raise BrazeValidationError(
                    f"{field}.send_to_existing_only",
                    "cannot be false for a user alias (Braze cannot create alias-only users)",
                )
            if not r.attributes:
                raise BrazeValidationError(
                    f"{field}.send_to_existing_only", "false requires an attributes object"
                )


def _check_prioritization(value: object, has_email: bool, field: str) -> None:
    """The prioritization array (endpoints/user_data/post_user_identify.md)."""
    if not has_email:
        raise BrazeValidationError(field, "is only allowed with an email identifier")
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise BrazeValidationError(field, "must be a list of strings")
    for item in value:
        if type(item) is not str or item not in PRIORITIZATION_VALUES:  # [] is unhashable
            raise BrazeValidationError(
                field, f"values must be among {sorted(PRIORITIZATION_VALUES)}, not {item!r}"
            )
    # "Only one of the following options may exist in the prioritization array at a time:
    # identified, unidentified."
    if "identified" in value and "unidentified" in value:
        raise BrazeValidationError(field, "may hold only one of 'identified' and 'unidentified'")


def _check_subscription_groups(groups: object, field: str) -> None:
    """``attributes.subscription_groups`` (objects_filters/user_attributes_object.md): objects
    of a ``subscription_group_id`` and a ``subscription_state``, "subscribed" or
    "unsubscribed" (endpoints/subscription_groups/post_update_user_subscription_group_status.md)."""
    if not isinstance(groups, (list, tuple)):
        raise BrazeValidationError(field, "must be a list of objects")
    for index, group in enumerate(groups):
        where = f"{field}[{index}]"
        if not isinstance(group, Mapping):
            raise BrazeValidationError(where, "must be an object")
        check_str(group.get("subscription_group_id"), f"{where}.subscription_group_id")
        if group.get("subscription_state") not in ("subscribed", "unsubscribed"):
            raise BrazeValidationError(
                f"{where}.subscription_state", "must be 'subscribed' or 'unsubscribed'"
            )


@attrs.frozen(slots=True)
class Attachment:
    """A file attached to an email (up to 2 MB), fetched by Braze from ``url``.

    objects_filters/messaging/email_object.md (the email object's ``attachments``, and, its
    "Authentication for email file attachments" says, the top-level ``attachments`` of
    post_send_triggered_campaigns.md): ``file_name`` and ``url``, both required, and
    ``basic_auth_credential``. See :func:`check_attachment` for the rules::

        Attachment(file_name="receipt", url="https://files.example.com/r/42.pdf")
    """

    #: The file's name without its extension (Braze takes the extension from the URL).
    file_name: str
    #: Where Braze downloads the file: an http(s) URL whose path ends in the file's
    #: extension, one of the page's valid attachment types (``.pdf``, ``.png``...).
    url: str
    #: The name of a basic authentication credential stored in the dashboard (Settings >
    #: Connected Content), for a URL that needs a login.
    basic_auth_credential: str | None = None

    def __attrs_post_init__(self) -> None:
        body = {"file_name": self.file_name, "url": self.url}
        if self.basic_auth_credential is not None:
            body["basic_auth_credential"] = self.basic_auth_credential
        check_attachment(body, "attachments")


#: email_object.md, "Valid attachment types include".
_TYPES = (
    "txt csv log css ics jpg jpe jpeg gif png bmp psd tif tiff svg indd ai eps doc docx rtf odt "
    "ott pdf pub pages mobi epub mp3 m4a m4v wma ogg flac wav aif aifc aiff mp4 mov avi mkv mpeg "
    "mpg wmv xls xlsx ods numbers odp ppt pptx pps key zip vcf pkpass"
)
ATTACHMENT_TYPES = frozenset(_TYPES.split())
_ATTACHMENT_FIELDS = ("file_name", "url", "basic_auth_credential")


def check_attachment(body: Mapping[str, Any], where: str) -> None:
    """Raise unless *body* is an attachment object (email_object.md), naming the field
    (``messages.email.attachments[1].url``) and the rule."""
    page = "email_object.md"
    if not isinstance(body, Mapping):
        raise BrazeValidationError(
            where, f"must be an attachment object of file_name and url ({page})"
        )
    for key in body:
        if key not in _ATTACHMENT_FIELDS:
            raise BrazeValidationError(
                f"{where}.{key}",
                f"is not a field of an attachment: {', '.join(_ATTACHMENT_FIELDS)}",
            )
    name = check_str(body.get("file_name"), f"{where}.file_name")
    # "the name of the file ..., excluding the extension (for example, ".pdf")"; the page's
    # basic-auth example sends "checkout_receipt.pdf" all the same. The client keeps to the
    # strict reading, the simulator takes both (email_object.md, the attachments field and the
    # example of "Authentication for email file attachments").
    if "." in name and name.rsplit(".", 1)[1].lower() in ATTACHMENT_TYPES:
        raise BrazeValidationError(
            f"{where}.file_name",
            f"must not end in its extension (.{name.rsplit('.', 1)[1]}): Braze takes it from the "
            f"url ({page})",
        )
    url = check_str(body.get("url"), f"{where}.url")
    try:
        parts = urlsplit(url)
        scheme, host, path = parts.scheme, parts.hostname, parts.path
    except ValueError:  # an unreadable URL (a bad IPv6 host, a bad port)
        scheme, host, path = "", None, ""
    if scheme not in ("http", "https") or not host:
        raise BrazeValidationError(
            f"{where}.url", f"must be an http(s) URL Braze can download ({page})"
        )
    # "The file name's extension is detected automatically from the URL defined, which should
    # return the appropriate Content-Type": the client asks the URL's path to end in a valid
    # attachment type; the simulator also takes a URL without one (the Content-Type reading).
    last = path.rsplit("/", 1)[-1]
    extension = last.rsplit(".", 1)[1].lower() if "." in last else ""
    if extension not in ATTACHMENT_TYPES:
        raise BrazeValidationError(
            f"{where}.url",
            f"must end in the file's extension, a valid attachment type (.pdf, .png...), not "
            f"{'.' + extension if extension else 'none'} ({page})",
        )
    if body.get("basic_auth_credential") is not None:
        check_str(body["basic_auth_credential"], f"{where}.basic_auth_credential")
    # "Attach files up to 2 MB": the file is Braze's to download; the client cannot weigh it.


def check_targeting(
    recipients: Sequence[object] | None,
    broadcast: bool | None,
    audience: Properties | None,
    attachments: Sequence[Attachment] | None = None,
    *,
    segment_id: str | None = None,
    what: str = "recipients",
) -> bool | None:
    """Braze's targeting rules of the send endpoints; returns the ``broadcast`` to send.

    The campaign, Canvas and /messages/send pages (endpoints/messaging/send_messages/): a
    send without ``recipients`` (*what*) "must set broadcast to true", and "if broadcast is
    set to true, a recipients list cannot be included" (nor ``attachments``, on the campaign
    page). Another line of the same pages reads an omitted ``broadcast`` as "the entire
    segment"; we never imply that: a send to the whole segment needs ``broadcast=True``, and
    a send to an audience or segment without recipients carries ``broadcast: true``, as the
    strict reading asks (``broadcast=False`` there is refused).
    """
    if broadcast is not None and type(broadcast) is not bool:
        raise BrazeValidationError("broadcast", "must be a boolean")
    if audience is not None:
        check_properties(audience, "audience")
        if not audience:
            raise BrazeValidationError("audience", "must not be empty")
        check_audience(audience)
    if recipients is not None:
        if broadcast:
            raise BrazeValidationError("broadcast", f"true cannot be combined with {what}")
        return broadcast
    if audience is None and segment_id is None:
        if broadcast is not True:
            raise BrazeValidationError(
                "broadcast",
                "must be explicitly True to send to the campaign's whole segment "
                f"(or give {what} or an audience)",
            )
    elif broadcast is False:
        raise BrazeValidationError(
            "broadcast", f"must be true when no {what} are given (Braze: 'must be set to true')"
        )
    if attachments is not None:
        # post_send_triggered_campaigns.md: "If broadcast is set to true, then the
        # attachments list cannot be included."
        raise BrazeValidationError("broadcast", "true cannot be combined with attachments")
    return True


def unique_audience(
    *,
    campaign_id: str | None = None,
    canvas_id: str | None = None,
    segment_id: str | None = None,
    audience: Properties | None = None,
) -> str:
    """The key of the unique audience a broadcast targets: a sha256 of the canonical JSON
    (sorted keys) of the fields api_limits.md names ("What counts as the same unique
    audience?": "the campaign or Canvas being triggered (the campaign_id or canvas_id [...],
    if specified)", "the audience being targeted (the segments or filters, or for API
    campaigns, the segment_id [...])", "the connected audience filters (the audience object
    [...], if specified)"), nothing else: not the endpoint, not the personalization. The
    same filters in another key order give the same key."""
    fields: dict[str, object] = {"campaign_id": campaign_id, "canvas_id": canvas_id}
    fields.update(segment_id=segment_id, audience=audience)
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS, default=json_default)
    return hashlib.sha256(canonical).hexdigest()


def check_recipients(recipients: Sequence[Recipient]) -> None:
    """1 to :data:`MAX_RECIPIENTS` :class:`Recipient` objects."""
    if isinstance(recipients, (str, bytes)) or not isinstance(recipients, Sequence):
        raise BrazeValidationError("recipients", "must be a list of Recipient")
    if not recipients:
        raise BrazeValidationError(
            "recipients", "must not be empty (to send to the whole segment, use broadcast=True)"
        )
    if len(recipients) > MAX_RECIPIENTS:
        raise BrazeValidationError(
            "recipients", f"holds {len(recipients)} recipients; at most {MAX_RECIPIENTS}"
        )
    for index, recipient in enumerate(recipients):
        if not isinstance(recipient, Recipient):
            raise BrazeValidationError(
                f"recipients[{index}]", f"must be a Recipient, not {type(recipient).__name__}"
            )


def check_attachments(
    attachments: Sequence[Attachment] | None, field: str, *, mappings: bool = False
) -> None:
    """A list of :class:`Attachment` (or None); with *mappings*, also attachment objects
    given as mappings, each checked by :func:`check_attachment` at ``field[index]``."""
    if attachments is None:
        return
    if isinstance(attachments, (str, bytes, Mapping)) or not isinstance(attachments, Sequence):
        raise BrazeValidationError(field, "must be a list of Attachment")
    for index, attachment in enumerate(attachments):
        if mappings and isinstance(attachment, Mapping):
            check_attachment(attachment, f"{field}[{index}]")
        elif not isinstance(attachment, Attachment):
            raise BrazeValidationError(
                f"{field}[{index}]", "must be an Attachment with file_name and url"
            )


@attrs.frozen(slots=True, kw_only=True)
class CampaignTriggerRequest:
    """The body of ``POST /campaigns/trigger/send``.

    endpoints/messaging/send_messages/post_send_triggered_campaigns.md. Without
    ``recipients``, give ``broadcast=True`` (the whole segment) or an ``audience`` (sent with
    ``broadcast: true``, see :func:`check_targeting`).
    """

    campaign_id: str
    send_id: str | None = None
    #: Personalization for every recipient, at most 50 KB of JSON.
    trigger_properties: Properties | None = None
    broadcast: bool | None = None
    audience: Properties | None = None
    recipients: Sequence[Recipient] | None = None
    attachments: Sequence[Attachment] | None = None

    def __attrs_post_init__(self) -> None:
        check_str(self.campaign_id, "campaign_id")
        if self.send_id is not None:
            check_send_id(self.send_id)
        if self.trigger_properties is not None:
            check_personalization(self.trigger_properties, "trigger_properties")
        check_attachments(self.attachments, "attachments")
        if self.recipients is not None:
            check_recipients(self.recipients)
        broadcast = check_targeting(
            self.recipients, self.broadcast, self.audience, self.attachments
        )
        object.__setattr__(self, "broadcast", broadcast)

    @property
    def targets_audience(self) -> bool:
        """True when Braze counts this request against the broadcast budget: "when only
        specifying a segment or Connected Audience" (api_limits.md)."""
        return self.recipients is None

    @property
    def audience_key(self) -> str | None:
        """The unique audience of a broadcast (:func:`unique_audience`), else None."""
        if not self.targets_audience:
            return None
        return unique_audience(campaign_id=self.campaign_id, audience=self.audience)


@attrs.frozen(slots=True, kw_only=True, init=False)
class CanvasTriggerRequest:
    """The body of ``POST /canvas/trigger/send``.

    endpoints/messaging/send_messages/post_send_triggered_canvases.md: personalization goes
    in ``context`` (objects_filters/context_object.md), the current name of
    ``canvas_entry_properties``, which is still accepted here (and sent as ``context``).
    Targeting works as in :class:`CampaignTriggerRequest`; each recipient's
    ``trigger_properties`` are sent as its ``context``.
    """

    canvas_id: str
    #: Personalization for every recipient, at most 50 KB of JSON.
    context: Properties | None = None
    broadcast: bool | None = None
    audience: Properties | None = None
    recipients: Sequence[Recipient] | None = None

    def __init__(
        self,
        *,
        canvas_id: str,
        context: Properties | None = None,
        broadcast: bool | None = None,
        audience: Properties | None = None,
        recipients: Sequence[Recipient] | None = None,
        canvas_entry_properties: Properties | None = None,
    ) -> None:
        self.__attrs_init__(
            canvas_id=canvas_id,
            context=canvas_context(context, canvas_entry_properties),
            broadcast=broadcast,
            audience=audience,
            recipients=recipients,
        )

    def __attrs_post_init__(self) -> None:
        check_str(self.canvas_id, "canvas_id")
        if self.context is not None:
            check_personalization(self.context, "context")
        if self.recipients is not None:
            check_recipients(self.recipients)
        broadcast = check_targeting(self.recipients, self.broadcast, self.audience)
        object.__setattr__(self, "broadcast", broadcast)

    @property
    def canvas_entry_properties(self) -> Properties | None:
        """The older name of :attr:`context`."""
        return self.context

    @property
    def targets_audience(self) -> bool:
        """True when Braze counts this request against the broadcast budget (api_limits.md)."""
        return self.recipients is None

    @property
    def audience_key(self) -> str | None:
        """The unique audience of a broadcast (:func:`unique_audience`), else None."""
        if not self.targets_audience:
            return None
        return unique_audience(canvas_id=self.canvas_id, audience=self.audience)


def canvas_context(
    context: Properties | None, canvas_entry_properties: Properties | None
) -> Properties | None:
    """The Canvas ``context`` given under either of its names (at most one of them)."""
    if canvas_entry_properties is None:
        return context
    if context is not None:
        raise BrazeValidationError(
            "canvas_entry_properties", "is the older name of context: give one of them"
        )
    return canvas_entry_properties


@attrs.frozen(slots=True, kw_only=True)
class TransactionalSendRequest:
    """The body of ``POST /transactional/v1/campaigns/{campaign_id}/send``.

    endpoints/messaging/send_messages/post_send_transactional_message.md.
    """

    #: Travels in the URL, not the body.
    campaign_id: str = attrs.field(metadata={NOT_IN_BODY: True})
    recipient: Recipient
    external_send_id: str | None = None
    #: Personalization for the recipient, at most 50 KB of JSON.
    trigger_properties: Properties | None = None

    def __attrs_post_init__(self) -> None:
        check_str(self.campaign_id, "campaign_id")
        if "/" in self.campaign_id or self.campaign_id in (".", ".."):
            # It travels in the URL path: "a/b" or ".." would name another endpoint.
            raise BrazeValidationError("campaign_id", "must not contain '/' or be '.' or '..'")
        if len(quote(self.campaign_id, safe="")) > MAX_PATH_ID:
            raise BrazeValidationError(
                "campaign_id",
                f"is over {MAX_PATH_ID:,} characters once URL-encoded (it travels in the URL)",
            )
        if not isinstance(self.recipient, Recipient):
            raise BrazeValidationError("recipient", "must be a Recipient")
        # "a request to this endpoint must specify a single user either by external_user_id
        # or user_alias".
        for name in ("email", "braze_id"):
            if getattr(self.recipient, name) is not None:
                raise BrazeValidationError(
                    f"recipient.{name}",
                    f"transactional sends take external_user_id or user_alias, not {name}",
                )
        if self.recipient.trigger_properties is not None:
            # Braze's transactional recipient object has no properties of its own.
            raise BrazeValidationError(
                "recipient.trigger_properties",
                "transactional sends take trigger_properties at the request level",
            )
        if self.external_send_id is not None:
            check_str(self.external_send_id, "external_send_id")
            if not _EXTERNAL_SEND_ID.fullmatch(self.external_send_id):
                raise BrazeValidationError(
                    "external_send_id", "must be Base64-compatible: only [a-zA-Z0-9-_+/=]"
                )
        if self.trigger_properties is not None:
            check_personalization(self.trigger_properties, "trigger_properties")


@attrs.frozen(slots=True, kw_only=True)
class SendResponse:
    """Braze's answer to a send (campaign, Canvas or ``/messages/send``).

    Every shape of errors.md ("Server responses", "Responses for tracked send IDs") and of
    the Canvas page: ``{"dispatch_id", "message": "success"}``, a bare
    ``{"message": "success"}``, success with a list of non-fatal ``errors``, with a
    ``send_id``, with a ``notice``, and ``{"message": "queued"}`` (HTTP 202).
    """

    #: Id of the dispatch; one for every recipient of the request. ``None`` when Braze did
    #: not give one: it queued the request during maintenance (HTTP 202), or answered a bare
    #: ``{"message": "success"}``.
    dispatch_id: str | None
    #: ``"success"``, or ``"queued"`` when Braze accepted it for later processing.
    message: str
    #: Non-fatal errors Braze reported alongside success: "any messages that were not
    #: affected by an error in the errors array will still be delivered" (errors.md).
    errors: tuple[ErrorDetail, ...] = ()
    #: Set when Braze will send nothing for this request although it answered success: the
    #: Canvas is paused, stopped or archived (post_send_triggered_canvases.md), e.g.
    #: ``"The Canvas is paused. Resume the Canvas to ensure trigger requests will take
    #: effect."``. ``send_to_user`` and ``bulk_send`` count its recipients as failed.
    notice: str | None = None
    #: The id of a tracked send, for ``/sends/data_series`` (errors.md, "Responses for
    #: tracked send IDs").
    send_id: str | None = None
    #: The HTTP status: 201 normally, 202 when queued.
    status_code: int = attrs.field(default=201, metadata={NOT_IN_BODY: True})
    #: The answer's headers, names lower-cased (e.g. ``x-ratelimit-remaining``).
    headers: Mapping[str, str] = attrs.field(
        factory=dict, eq=False, repr=False, metadata={NOT_IN_BODY: True}
    )

    @property
    def request_id(self) -> str | None:
        """The answer's request id, when a header carries one (quote it to Braze's support)."""
        return request_id_in(self.headers)

    @property
    def queued(self) -> bool:
        """True when Braze accepted the request for later processing (HTTP 202)."""
        return self.message == "queued"

    @property
    def will_send(self) -> bool:
        """False when Braze said it will send nothing (a :attr:`notice`)."""
        return self.notice is None

    @property
    def status(self) -> str:
        """The same as ``message``; named like the transactional answer's field."""
        return self.message


@attrs.frozen(slots=True, kw_only=True)
class TransactionalResponse:
    """Braze's answer to a transactional send.

    The current shape (post_send_transactional_message.md, "Example responses"):
    ``{"dispatch_id", "status", "metadata"}``; older answers name the id ``send_id`` and add
    ``"message": "success"``.
    """

    #: Id of this send, as the transactional postbacks name it (older answers: ``send_id``).
    dispatch_id: str | None = attrs.field(metadata={ALSO_AT: (("send_id",),)})
    #: Current status of the message, e.g. ``"queued"``.
    status: str | None = None
    #: Additional information about the send instance, as Braze gave it.
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    #: ``"success"`` in older answers; the current shape has no ``message``.
    message: str = ""
    #: Non-fatal errors Braze reported alongside success.
    errors: tuple[ErrorDetail, ...] = ()
    #: The HTTP status of the answer.
    status_code: int = attrs.field(default=201, metadata={NOT_IN_BODY: True})
    #: The answer's headers, names lower-cased.
    headers: Mapping[str, str] = attrs.field(
        factory=dict, eq=False, repr=False, metadata={NOT_IN_BODY: True}
    )

    @property
    def request_id(self) -> str | None:
        """The answer's request id, when a header carries one (quote it to Braze's support)."""
        return request_id_in(self.headers)

    @property
    def send_id(self) -> str | None:
        """The older name of :attr:`dispatch_id`."""
        return self.dispatch_id


#: A postback's ``status``: the current lowercase set (the "Message status" table of the
#: transactional page's postback section), then the capitalized set of older pages.
TransactionalStatus = Literal[
    "sent",
    "processed",
    "aborted",
    "delivered",
    "bounced",
    "Sent",
    "Aborted",
    "Email Delivered",
    "Email Bounced",
]

#: The older postback statuses and their names in the current set.
_OLDER_STATUSES = {
    "Sent": "sent",
    "Aborted": "aborted",
    "Email Delivered": "delivered",
    "Email Bounced": "bounced",
}


@attrs.frozen(slots=True, kw_only=True)
class TransactionalEvent:
    """One transactional event postback (parse with :func:`parse_transactional_postback`).

    The current shape (post_send_transactional_message.md, "Transactional HTTP event
    postback"): ``{"dispatch_id", "status", "metadata": {"external_send_id",
    "campaign_api_id", ...}}``; older postbacks name the id ``send_id`` and put
    ``external_send_id`` at the top level.
    """

    #: The send it is about (the ``dispatch_id`` the send returned; older postbacks name it
    #: ``send_id``).
    dispatch_id: str = attrs.field(metadata={ALSO_AT: (("send_id",),)})
    #: ``"sent"``, ``"processed"``, ``"aborted"``, ``"delivered"``, ``"bounced"``, one of
    #: the older capitalized ones (``"Email Delivered"``...), or a newer one, as Braze sent
    #: it; :attr:`current_status` names the older ones in the current set.
    status: str
    #: Your ``external_send_id``, if you gave one (current postbacks put it under
    #: ``metadata``).
    external_send_id: str | None = attrs.field(
        default=None, metadata={ALSO_AT: (("metadata", "external_send_id"),)}
    )
    #: Additional information about the event (timestamps, ``campaign_api_id``, ``reason``).
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    #: Every other key Braze included, untouched.
    extra: Mapping[str, Any] = attrs.field(factory=dict, metadata={REST_OF_BODY: True})

    @property
    def send_id(self) -> str:
        """The older name of :attr:`dispatch_id`."""
        return self.dispatch_id

    @property
    def current_status(self) -> str:
        """:attr:`status` in the current lowercase set (``"Email Delivered"`` is
        ``"delivered"``); a status of neither set as it is."""
        return _OLDER_STATUSES.get(self.status, self.status)
