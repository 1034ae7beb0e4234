"""The request and response models: attrs classes that validate themselves on creation.

A model that exists is a model Braze accepts: every rule of the endpoint pages that can be
checked locally is checked in ``__attrs_post_init__`` and raises
:class:`~braze_async.BrazeValidationError` naming the field and the rule.

Each attribute is one JSON key of the same name: the converter in :mod:`braze_async._wire`
generates its hooks from these classes, so a documented Braze field is one attribute here.
Where the wire differs from the attribute, the attribute's ``metadata`` says so, with the keys
below (and nowhere else).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from ._errors import BrazeValidationError, ErrorDetail, request_id_in
from ._validate import _INT_MAX, _INT_MIN, check_object, check_properties, check_str

__all__ = [
    "ALSO_AT",
    "CANVAS_KEY",
    "MAX_RECIPIENTS",
    "NOT_IN_BODY",
    "REST_OF_BODY",
    "Attachment",
    "CampaignTriggerRequest",
    "CanvasTriggerRequest",
    "Recipient",
    "SendResponse",
    "TransactionalEvent",
    "TransactionalResponse",
    "TransactionalSendRequest",
    "UserAlias",
]

#: Braze accepts at most this many recipients in one trigger-send request.
MAX_RECIPIENTS = 50

#: The values Braze documents for ``prioritization`` when a recipient is identified by email.
PRIORITIZATION_VALUES = frozenset(
    {"identified", "unidentified", "most_recently_updated", "least_recently_updated"}
)

#: Characters Braze allows in a transactional ``external_send_id`` (its deduplication key).
_EXTERNAL_SEND_ID = re.compile(r"[A-Za-z0-9\-_+/=]{1,64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

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


@attrs.frozen(slots=True)
class UserAlias:
    """A user alias: the pair Braze uses to name users that have no external ID."""

    #: The alias itself, e.g. a CRM id.
    alias_name: str
    #: The namespace of the alias, e.g. ``"crm_id"``.
    alias_label: str

    def __attrs_post_init__(self) -> None:
        check_str(self.alias_name, "user_alias.alias_name")
        check_str(self.alias_label, "user_alias.alias_label")


@attrs.define(slots=True, init=False)
class Recipient:
    """One user to message, identified by exactly one of three identifiers.

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
    #: Or the user's email address (requires ``prioritization``).
    email: str | None = None
    #: Which profile wins when several share the email,
    #: e.g. ``["identified", "most_recently_updated"]``.
    prioritization: Sequence[str] | None = None
    #: Personalization for this user; overrides request-level keys with the same name.
    #: (For Canvas sends these are sent as the recipient's ``canvas_entry_properties``.)
    trigger_properties: Properties | None = attrs.field(
        default=None, metadata={CANVAS_KEY: "canvas_entry_properties"}
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
        email: str | None = None,
        prioritization: Sequence[str] | None = None,
        trigger_properties: Properties | None = None,
        send_to_existing_only: bool | None = None,
        attributes: Properties | None = None,
    ) -> None:
        self.external_user_id = external_user_id
        self.user_alias = user_alias
        self.email = email
        self.prioritization = prioritization
        self.trigger_properties = trigger_properties
        self.send_to_existing_only = send_to_existing_only
        self.attributes = attributes
        if (
            type(external_user_id) is str
            and external_user_id
            and user_alias is None
            and email is None
            and prioritization is None
            and send_to_existing_only is None
            and attributes is None
            and external_user_id.isascii()
        ):
            # The hot case (an external id, maybe properties) without the general walk.
            if trigger_properties is not None:
                if type(trigger_properties) is dict:
                    # Flat ASCII str -> str|int|bool payloads pass here; anything else takes
                    # the full walk, which explains what is wrong.
                    for key, value in trigger_properties.items():
                        kind = type(value)
                        if not (
                            type(key) is str
                            and key.isascii()
                            and (
                                (kind is str and value.isascii())
                                or kind is bool
                                or (kind is int and _INT_MIN <= value <= _INT_MAX)
                            )
                        ):
                            check_object(trigger_properties, "recipient.trigger_properties", 1)
                            break
                else:
                    check_properties(trigger_properties, "recipient.trigger_properties")
            return
        validate_recipient(self, "recipient")

    @property
    def key(self) -> str:
        """A stable string naming the user, e.g. ``"external_user_id:u1"``."""
        if self.external_user_id is not None:
            return f"external_user_id:{self.external_user_id}"
        if self.user_alias is not None:
            return f"user_alias:{self.user_alias.alias_name}/{self.user_alias.alias_label}"
        return f"email:{self.email}"


def validate_recipient(r: Recipient, field: str) -> None:
    """Apply Braze's recipient rules; *field* prefixes the names in errors."""
    has_id = r.external_user_id is not None
    has_alias = r.user_alias is not None
    has_email = r.email is not None
    count = has_id + has_alias + has_email
    if count != 1:
        raise BrazeValidationError(
            field,
            f"needs exactly one identifier: external_user_id, user_alias or email (got {count})",
        )
    if has_id:
        check_str(r.external_user_id, f"{field}.external_user_id")
    elif has_alias:
        if not isinstance(r.user_alias, UserAlias):
            raise BrazeValidationError(f"{field}.user_alias", "must be a UserAlias")
    else:
        email = check_str(r.email, f"{field}.email")
        if not _EMAIL.fullmatch(email):
            raise BrazeValidationError(f"{field}.email", "must be an email address")
        if not r.prioritization:
            raise BrazeValidationError(
                f"{field}.prioritization", "is required when the recipient is given by email"
            )
    if r.prioritization is not None:
        if not has_email:
            raise BrazeValidationError(
                f"{field}.prioritization", "is only allowed with an email identifier"
            )
        if isinstance(r.prioritization, str) or not isinstance(r.prioritization, Sequence):
            raise BrazeValidationError(f"{field}.prioritization", "must be a list of strings")
        for value in r.prioritization:
            if type(value) is not str or value not in PRIORITIZATION_VALUES:  # [] is unhashable
                raise BrazeValidationError(
                    f"{field}.prioritization",
                    f"values must be among {sorted(PRIORITIZATION_VALUES)}, not {value!r}",
                )
    if r.trigger_properties is not None:
        check_properties(r.trigger_properties, f"{field}.trigger_properties")
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
                raise BrazeValidationError(
                    f"{field}.send_to_existing_only",
                    "cannot be false for a user alias (Braze cannot create alias-only users)",
                )
            if not r.attributes:
                raise BrazeValidationError(
                    f"{field}.send_to_existing_only", "false requires an attributes object"
                )


def _check_subscription_groups(groups: object, field: str) -> None:
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
    """A file attached to an email campaign (up to 2 MB), fetched by Braze from ``url``."""

    #: The file's name without its extension (Braze takes the extension from the URL).
    file_name: str
    #: Where Braze downloads the file; must be http(s).
    url: str

    def __attrs_post_init__(self) -> None:
        check_str(self.file_name, "attachments.file_name")
        url = check_str(self.url, "attachments.url")
        if not url.startswith(("https://", "http://")):
            raise BrazeValidationError("attachments.url", "must be an http(s) URL")


def _check_targeting(
    recipients: Sequence[Recipient] | None,
    broadcast: bool | None,
    audience: Properties | None,
    attachments: Sequence[Attachment] | None = None,
) -> None:
    if broadcast is not None and type(broadcast) is not bool:
        raise BrazeValidationError("broadcast", "must be a boolean")
    if audience is not None:
        check_properties(audience, "audience")
        if not audience:
            raise BrazeValidationError("audience", "must not be empty")
    if recipients is not None:
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
    if broadcast:
        if recipients is not None:
            raise BrazeValidationError("broadcast", "true cannot be combined with recipients")
        if attachments is not None:
            raise BrazeValidationError("broadcast", "true cannot be combined with attachments")
    elif recipients is None and audience is None:
        raise BrazeValidationError(
            "broadcast",
            "must be explicitly True to send to the campaign's whole segment "
            "(or give recipients or an audience)",
        )


def _check_attachments(attachments: Sequence[Attachment] | None) -> None:
    if attachments is None:
        return
    if isinstance(attachments, (str, bytes)) or not isinstance(attachments, Sequence):
        raise BrazeValidationError("attachments", "must be a list of Attachment")
    for index, attachment in enumerate(attachments):
        if not isinstance(attachment, Attachment):
            raise BrazeValidationError(
                f"attachments[{index}]", "must be an Attachment with file_name and url"
            )


@attrs.frozen(slots=True, kw_only=True)
class CampaignTriggerRequest:
    """The body of ``POST /campaigns/trigger/send``."""

    campaign_id: str
    send_id: str | None = None
    trigger_properties: Properties | None = None
    broadcast: bool | None = None
    audience: Properties | None = None
    recipients: Sequence[Recipient] | None = None
    attachments: Sequence[Attachment] | None = None

    def __attrs_post_init__(self) -> None:
        check_str(self.campaign_id, "campaign_id")
        if self.send_id is not None:
            check_str(self.send_id, "send_id")
        if self.trigger_properties is not None:
            check_properties(self.trigger_properties, "trigger_properties")
        _check_attachments(self.attachments)
        _check_targeting(self.recipients, self.broadcast, self.audience, self.attachments)

    @property
    def targets_audience(self) -> bool:
        """True when Braze counts this request against the segment / audience budget."""
        return self.recipients is None


@attrs.frozen(slots=True, kw_only=True)
class CanvasTriggerRequest:
    """The body of ``POST /canvas/trigger/send``."""

    canvas_id: str
    canvas_entry_properties: Properties | None = None
    broadcast: bool | None = None
    audience: Properties | None = None
    recipients: Sequence[Recipient] | None = None

    def __attrs_post_init__(self) -> None:
        check_str(self.canvas_id, "canvas_id")
        if self.canvas_entry_properties is not None:
            check_properties(self.canvas_entry_properties, "canvas_entry_properties")
        _check_targeting(self.recipients, self.broadcast, self.audience)

    @property
    def targets_audience(self) -> bool:
        """True when Braze counts this request against the segment / audience budget."""
        return self.recipients is None


@attrs.frozen(slots=True, kw_only=True)
class TransactionalSendRequest:
    """The body of ``POST /transactional/v1/campaigns/{campaign_id}/send``."""

    #: Travels in the URL, not the body.
    campaign_id: str = attrs.field(metadata={NOT_IN_BODY: True})
    recipient: Recipient
    external_send_id: str | None = None
    trigger_properties: Properties | None = None

    def __attrs_post_init__(self) -> None:
        check_str(self.campaign_id, "campaign_id")
        if "/" in self.campaign_id or self.campaign_id in (".", ".."):
            # It travels in the URL path: "a/b" or ".." would name another endpoint.
            raise BrazeValidationError("campaign_id", "must not contain '/' or be '.' or '..'")
        if not isinstance(self.recipient, Recipient):
            raise BrazeValidationError("recipient", "must be a Recipient")
        if self.recipient.email is not None:
            raise BrazeValidationError(
                "recipient.email",
                "transactional sends take external_user_id or user_alias, not email",
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
                    "external_send_id", "must be 1-64 characters of [a-zA-Z0-9-_+/=]"
                )
        if self.trigger_properties is not None:
            check_properties(self.trigger_properties, "trigger_properties")


@attrs.frozen(slots=True, kw_only=True)
class SendResponse:
    """Braze's answer to a trigger send (campaign or Canvas)."""

    #: Id of the dispatch; one for every recipient of the request. ``None`` only when Braze
    #: queued the request during maintenance (HTTP 202, ``message == "queued"``).
    dispatch_id: str | None
    #: ``"success"``, or ``"queued"`` when Braze accepted it for later processing.
    message: str
    #: Non-fatal errors Braze reported alongside success.
    errors: tuple[ErrorDetail, ...] = ()
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
    def status(self) -> str:
        """The same as ``message``; named like the transactional answer's field."""
        return self.message


@attrs.frozen(slots=True, kw_only=True)
class TransactionalResponse:
    """Braze's answer to a transactional send."""

    #: Id of this send, used by the Transactional Currents postbacks (newer Braze answers
    #: name it ``dispatch_id``).
    send_id: str | None = attrs.field(metadata={ALSO_AT: (("dispatch_id",),)})
    #: Current status of the message, e.g. ``"queued"``.
    status: str | None = None
    #: ``"success"`` normally.
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


TransactionalStatus = Literal["Sent", "Aborted", "Email Delivered", "Email Bounced"]


@attrs.frozen(slots=True, kw_only=True)
class TransactionalEvent:
    """One Transactional Currents postback (parse with :func:`parse_transactional_postback`)."""

    #: The send it is about (the ``send_id`` the send returned; newer postbacks name it
    #: ``dispatch_id``).
    send_id: str = attrs.field(metadata={ALSO_AT: (("dispatch_id",),)})
    #: ``"Sent"``, ``"Aborted"``, ``"Email Delivered"``, ``"Email Bounced"``, or a newer one.
    status: str
    #: Your ``external_send_id``, if you gave one (newer postbacks put it under ``metadata``).
    external_send_id: str | None = attrs.field(
        default=None, metadata={ALSO_AT: (("metadata", "external_send_id"),)}
    )
    #: Every other key Braze included, untouched.
    extra: Mapping[str, Any] = attrs.field(factory=dict, metadata={REST_OF_BODY: True})
