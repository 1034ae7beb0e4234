"""The bodies of ``POST /messages/send``: messages defined in the request, no dashboard campaign.

endpoints/messaging/send_messages/post_send_messages.md. The request names its users
(``external_user_ids``, ``user_aliases``: at most 50 together) or a ``segment_id`` or an
``audience``, and carries one message per channel in ``messages``. Email, SMS and webhook are
typed here (objects_filters/messaging/), the push channels, Content Cards and WhatsApp in
``_channels/`` (public in :mod:`braze_async.channels`). Every channel also takes a plain
mapping, which meets the same rules as its class (``_channels.check_channel``: a field the
rules do not know is sent as it is).

Like every model, each class validates itself on creation and raises
:class:`~braze_async.BrazeValidationError` naming the field and the rule; each rule names its
page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import attrs

from ._audience import Audience, audience_body
from ._channels import (
    AndroidPush,
    ApplePush,
    ContentCard,
    KindlePush,
    WebPush,
    WhatsApp,
    _body,
    channel_mapping,
    check_card_expiry,
    check_channel,
)
from ._errors import BrazeValidationError
from ._models import (
    MAX_RECIPIENTS,
    NOT_IN_BODY,
    WIRE_KEY,
    Attachment,
    Properties,
    Recipient,
    UserAlias,
    check_attachments,
    check_targeting,
    unique_audience,
)
from ._validate import check_properties, check_send_id, check_str

__all__ = [
    "AndroidPush",
    "ApplePush",
    "EmailMessage",
    "Messages",
    "MessagesSendRequest",
    "SmsMessage",
    "SubscriptionState",
    "WebhookMessage",
]

#: The channels of the ``messages`` object (post_send_messages.md, "Request body").
CHANNELS = (
    "android_push",
    "apple_push",
    "content_card",
    "email",
    "kindle_push",
    "web_push",
    "webhook",
    "whats_app",
    "sms",
)
#: ``recipient_subscription_state`` values (post_send_messages.md, "Request parameters").
SUBSCRIPTION_STATES = ("opted_in", "subscribed", "all")
SubscriptionState = Literal["opted_in", "subscribed", "all"]


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _optional_str(obj: object, names: Sequence[str], where: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            check_str(value, _at(where, name))


def _optional_bool(obj: object, names: Sequence[str], where: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None and type(value) is not bool:
            raise BrazeValidationError(_at(where, name), "must be a boolean")


def _optional_objects(obj: object, names: Sequence[str], where: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            check_properties(value, f"{where}.{name}")


def _optional_choice(value: object, choices: Sequence[str], field: str) -> None:
    if value is not None and value not in choices:
        raise BrazeValidationError(field, f"must be one of {', '.join(choices)}")


@attrs.frozen(slots=True, kw_only=True)
class EmailMessage:
    """The ``email`` object (objects_filters/messaging/email_object.md); its rules, shared
    with a mapping given for the channel, are ``_channels/_email.py``'s ``EMAIL``."""

    #: The app identifier (any app of the workspace works for every user).
    app_id: str
    #: The sender, ``"Display Name <email@address.com>"``; JSON key ``from``.
    from_: str = attrs.field(metadata={WIRE_KEY: "from"})
    subject: str | None = None
    #: ``"email@address.com"``, or ``"NO_REPLY_TO"`` for none.
    reply_to: str | None = None
    #: One of the BCC addresses of the workspace's email settings.
    bcc: str | None = None
    #: The HTML body; required unless ``email_template_id`` is given.
    body: str | None = None
    plaintext_body: str | None = None
    preheader: str | None = None
    email_template_id: str | None = None
    message_variation_id: str | None = None
    extras: Properties | None = None
    headers: Properties | None = None
    should_inline_css: bool | None = None
    #: Files to attach (up to 2 MB each, fetched by Braze): :class:`Attachment`.
    attachments: Sequence[Attachment] | None = None

    def __attrs_post_init__(self) -> None:
        check_attachments(self.attachments, "messages.email.attachments")
        check_channel("email", _body(self))


@attrs.frozen(slots=True, kw_only=True)
class SmsMessage:
    """The ``sms`` object (objects_filters/messaging/sms_object.md); its rules, shared with a
    mapping given for the channel, are ``_channels/_email.py``'s ``SMS``."""

    subscription_group_id: str
    body: str
    app_id: str
    message_variation_id: str | None = None
    #: The http(s) URLs of images to send as MMS.
    media_items: Sequence[str] | None = None
    #: Link shortening and campaign-level click tracking.
    link_shortening_enabled: bool | None = None
    #: User-level click tracking too; only with ``link_shortening_enabled=True``.
    user_click_tracking_enabled: bool | None = None

    def __attrs_post_init__(self) -> None:
        check_channel("sms", _body(self))


@attrs.frozen(slots=True, kw_only=True)
class WebhookMessage:
    """The ``webhook`` object (objects_filters/messaging/webhook_object.md); its rules, shared
    with a mapping given for the channel, are ``_channels/_email.py``'s ``WEBHOOK``."""

    url: str
    #: ``"POST"``, ``"PUT"``, ``"DELETE"`` or ``"GET"``.
    request_method: Literal["POST", "PUT", "DELETE", "GET"]
    request_headers: Mapping[str, str] | None = None
    #: A string (JSON must be written out, quotes escaped).
    body: str | None = None
    message_variation_id: str | None = None

    def __attrs_post_init__(self) -> None:
        check_channel("webhook", _body(self))


_TYPED = {
    "android_push": AndroidPush,
    "apple_push": ApplePush,
    "content_card": ContentCard,
    "email": EmailMessage,
    "kindle_push": KindlePush,
    "web_push": WebPush,
    "whats_app": WhatsApp,
    "sms": SmsMessage,
    "webhook": WebhookMessage,
}


@attrs.frozen(slots=True, kw_only=True)
class Messages:
    """A ``/messages/send`` target: messages defined in the request, one per channel (at
    least one), and the send's request-level fields (post_send_messages.md).

    Each channel takes its class or a plain mapping, checked by the same rules
    (objects_filters/messaging/)::

        Messages(
            email=EmailMessage(app_id="a", from_="Shop <shop@example.com>", body="Hi"),
            campaign_id="receipts",            # tracks the send's stats under a campaign
            message_variation_id="receipts-a", # and its variation (required with it)
        )

    Its recipients go on the wire as ``external_user_ids`` and ``user_aliases``: each must be
    an external id or an alias and nothing more (:meth:`check`).
    """

    kind: ClassVar[Literal["messages"]] = "messages"
    path: ClassVar[str] = "/messages/send"

    android_push: AndroidPush | Properties | None = attrs.field(
        default=None, validator=channel_mapping
    )
    apple_push: ApplePush | Properties | None = attrs.field(default=None, validator=channel_mapping)
    content_card: ContentCard | Properties | None = attrs.field(
        default=None, validator=channel_mapping
    )
    email: EmailMessage | Properties | None = attrs.field(default=None, validator=channel_mapping)
    kindle_push: KindlePush | Properties | None = attrs.field(
        default=None, validator=channel_mapping
    )
    web_push: WebPush | Properties | None = attrs.field(default=None, validator=channel_mapping)
    webhook: WebhookMessage | Properties | None = attrs.field(
        default=None, validator=channel_mapping
    )
    whats_app: WhatsApp | Properties | None = attrs.field(default=None, validator=channel_mapping)
    sms: SmsMessage | Properties | None = attrs.field(default=None, validator=channel_mapping)
    #: Tracks the send's stats under a dashboard campaign ("required if you wish to track
    #: campaign stats"); request level, not inside ``messages``.
    campaign_id: str | None = attrs.field(default=None, metadata={NOT_IN_BODY: True})
    #: The campaign's message variation the stats go under: required with ``campaign_id``
    #: unless every message names its own (errors.md, "Message Variant Unspecified").
    message_variation_id: str | None = attrs.field(default=None, metadata={NOT_IN_BODY: True})
    #: Groups the send's statistics (sends/send_id/post_create_send_id.md).
    send_id: str | None = attrs.field(default=None, metadata={NOT_IN_BODY: True})
    #: Ignore frequency capping (Braze's default: false).
    override_frequency_capping: bool | None = attrs.field(
        default=None, metadata={NOT_IN_BODY: True}
    )
    #: ``"opted_in"``, ``"subscribed"`` (Braze's default) or ``"all"``.
    recipient_subscription_state: SubscriptionState | None = attrs.field(
        default=None, metadata={NOT_IN_BODY: True}
    )

    def __attrs_post_init__(self) -> None:
        given = 0
        for name in CHANNELS:
            value = getattr(self, name)
            if value is None:
                continue
            given += 1
            typed = _TYPED.get(name)
            if typed is None or not isinstance(value, typed):
                check_properties(value, f"messages.{name}")
        if not given:
            # errors.md: "400 No message to send: No payload is specified for the message."
            raise BrazeValidationError("messages", "needs a message for at least one channel")
        check_tracking(
            self.campaign_id,
            self.send_id,
            self.override_frequency_capping,
            self.recipient_subscription_state,
            self.message_variation_id,
        )
        check_variation(self.campaign_id, self.message_variation_id, self)

    @classmethod
    def of(cls, value: Messages | Mapping[str, Any]) -> Messages:
        """``value`` itself, or the :class:`Messages` of a mapping keyed by channel."""
        if isinstance(value, Messages):
            return value
        if not isinstance(value, Mapping):
            raise BrazeValidationError(
                "messages", f"must be a Messages or a mapping, not {type(value).__name__}"
            )
        for key in value:
            if key not in CHANNELS:
                raise BrazeValidationError(
                    f"messages.{key}", f"is not a channel (known: {', '.join(CHANNELS)})"
                )
        return cls(**value)

    def check_expiry(self, sent_at: float) -> None:
        """Refuse a Content Card that may expire more than 30 days after *sent_at* (UTC epoch
        seconds: the earliest the send can happen; content_cards_object.md). A send checks it
        by the client's clock as its request is built, a schedule against its time."""
        if self.content_card is not None:
            check_card_expiry(self.content_card, sent_at, "messages.content_card")

    @property
    def target_id(self) -> str:
        """The tracking ``campaign_id``, or ``""`` (what a journal names the target by)."""
        return self.campaign_id or ""

    def check(self, recipient: Recipient) -> None:
        """Raise ``BrazeValidationError`` when *recipient* cannot ride in this target's
        requests: ``/messages/send`` takes bare external ids and aliases only."""
        if recipient.external_user_id is None and recipient.user_alias is None:
            raise BrazeValidationError(
                "recipient", "/messages/send takes external_user_id or user_alias recipients"
            )
        for name in ("trigger_properties", "send_to_existing_only", "attributes"):
            if getattr(recipient, name) is not None:
                raise BrazeValidationError(
                    f"recipient.{name}", "/messages/send has no per-recipient fields"
                )

    def request(
        self,
        recipients: Sequence[Recipient] | None = None,
        *,
        audience: Properties | Audience | None = None,
        broadcast: bool | None = None,
        segment_id: str | None = None,
    ) -> MessagesSendRequest:
        """The request sending these messages to *recipients* (as ``external_user_ids`` and
        ``user_aliases``), or to a ``segment_id`` or an ``audience``."""
        ids: list[str] = []
        aliases: list[UserAlias] = []
        for index, recipient in enumerate(recipients or ()):
            if not isinstance(recipient, Recipient):
                raise BrazeValidationError(
                    f"recipients[{index}]", f"must be a Recipient, not {type(recipient).__name__}"
                )
            self.check(recipient)
            if recipient.external_user_id is not None:
                ids.append(recipient.external_user_id)
            else:
                assert recipient.user_alias is not None
                aliases.append(recipient.user_alias)
        if recipients is not None and not recipients:
            raise BrazeValidationError("recipients", "must not be empty")
        return MessagesSendRequest(
            broadcast=broadcast,
            external_user_ids=ids or None,
            user_aliases=aliases or None,
            segment_id=segment_id,
            audience=audience_body(audience),
            campaign_id=self.campaign_id,
            message_variation_id=self.message_variation_id,
            send_id=self.send_id,
            override_frequency_capping=self.override_frequency_capping,
            recipient_subscription_state=self.recipient_subscription_state,
            messages=self,
        )

    def describe(self) -> str:
        """``"/messages/send"``, or ``"/messages/send (campaign 'receipts')"``."""
        tracked = f" (campaign {self.campaign_id!r})" if self.campaign_id else ""
        return f"/messages/send{tracked}"


def _check_external_user_ids(values: Sequence[str] | None) -> int:
    if values is None:
        return 0
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise BrazeValidationError("external_user_ids", "must be a list of strings")
    if not values:
        raise BrazeValidationError("external_user_ids", "must not be empty")
    for index, value in enumerate(values):
        check_str(value, f"external_user_ids[{index}]")
    return len(values)


def _check_user_aliases(values: Sequence[UserAlias] | None) -> int:
    if values is None:
        return 0
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise BrazeValidationError("user_aliases", "must be a list of UserAlias")
    if not values:
        raise BrazeValidationError("user_aliases", "must not be empty")
    for index, value in enumerate(values):
        if not isinstance(value, UserAlias):
            raise BrazeValidationError(f"user_aliases[{index}]", "must be a UserAlias")
    return len(values)


def check_tracking(
    campaign_id: str | None,
    send_id: str | None,
    override_frequency_capping: bool | None,
    recipient_subscription_state: str | None,
    message_variation_id: str | None = None,
) -> None:
    """The request-level fields of ``/messages/send`` besides its targeting and messages."""
    for name, value in (
        ("campaign_id", campaign_id),
        ("message_variation_id", message_variation_id),
    ):
        if value is not None:
            check_str(value, name)
    if send_id is not None:
        check_send_id(send_id)
    if override_frequency_capping is not None and type(override_frequency_capping) is not bool:
        raise BrazeValidationError("override_frequency_capping", "must be a boolean")
    _optional_choice(
        recipient_subscription_state, SUBSCRIPTION_STATES, "recipient_subscription_state"
    )


def check_variation(
    campaign_id: str | None, message_variation_id: str | None, messages: Messages
) -> None:
    """errors.md, "Fatal errors": "400 Message Variant Unspecified | You provide a campaign ID
    but no message variation ID." With a ``campaign_id``, the request's
    ``message_variation_id`` or one in every message (each messaging object's page: "used when
    providing a campaign_id to specify which message variation this message should be tracked
    under"). The client's reading is the strict one: without the request's, every message
    names its own, and one message without it is refused; the simulator accepts a variation
    anywhere in the request (errors.md asks for "a message variation ID", one)."""
    if campaign_id is None or message_variation_id is not None:
        return
    given: list[str] = []
    missing: list[str] = []
    for name in CHANNELS:
        value = getattr(messages, name)
        if value is None:
            continue
        if isinstance(value, Mapping):
            variation = value.get("message_variation_id")
        else:
            variation = getattr(value, "message_variation_id", None)
        (missing if variation is None else given).append(name)
    if not missing:
        return
    page = 'errors.md: "400 Message Variant Unspecified", a campaign ID but no message variation ID'
    if not given:
        raise BrazeValidationError(
            "message_variation_id",
            f"is required with campaign_id {campaign_id!r}: give the request one, or each "
            f"message its own ({page})",
        )
    raise BrazeValidationError(
        f"messages.{missing[0]}.message_variation_id",
        f"is required with campaign_id {campaign_id!r}, as the other messages have ({page})",
    )


@attrs.frozen(slots=True, kw_only=True)
class MessagesSendRequest:
    """The body of ``POST /messages/send`` (post_send_messages.md).

    Name up to 50 users (``external_user_ids`` and ``user_aliases`` together), or give a
    ``segment_id`` or an ``audience`` (sent with ``broadcast: true``, as the page asks when
    no users are named; ``broadcast=True`` alone is refused: give the segment). It spends
    the same budgets as the trigger sends (api_limits.md).
    """

    broadcast: bool | None = None
    external_user_ids: Sequence[str] | None = None
    user_aliases: Sequence[UserAlias] | None = None
    segment_id: str | None = None
    audience: Properties | None = None
    #: Required to track campaign stats on the dashboard; otherwise optional.
    campaign_id: str | None = None
    #: The campaign's message variation the stats go under (with ``campaign_id``).
    message_variation_id: str | None = None
    send_id: str | None = None
    #: Ignore frequency capping (Braze's default: false).
    override_frequency_capping: bool | None = None
    #: ``"opted_in"``, ``"subscribed"`` (Braze's default) or ``"all"``.
    recipient_subscription_state: SubscriptionState | None = None
    messages: Messages

    def __attrs_post_init__(self) -> None:
        named = _check_external_user_ids(self.external_user_ids) + _check_user_aliases(
            self.user_aliases
        )
        if named > MAX_RECIPIENTS:
            # errors.md: "The max number of external_ids and aliases per request was exceeded".
            raise BrazeValidationError(
                "external_user_ids",
                f"and user_aliases name {named} users together; at most {MAX_RECIPIENTS}",
            )
        _optional_str(self, ("segment_id",), "")
        check_tracking(
            self.campaign_id,
            self.send_id,
            self.override_frequency_capping,
            self.recipient_subscription_state,
            self.message_variation_id,
        )
        if not named and self.segment_id is None and self.audience is None:
            # "You will need to include at least one of 'segment_id', 'external_user_ids',
            # and 'audience'."
            raise BrazeValidationError(
                "external_user_ids", "or user_aliases, segment_id or audience is required"
            )
        broadcast = check_targeting(
            (self.external_user_ids or self.user_aliases) if named else None,
            self.broadcast,
            self.audience,
            segment_id=self.segment_id,
            what="external_user_ids or user_aliases",
        )
        object.__setattr__(self, "broadcast", broadcast)
        if not isinstance(self.messages, Messages):
            raise BrazeValidationError("messages", "must be a Messages (see Messages.of)")
        check_variation(self.campaign_id, self.message_variation_id, self.messages)

    @property
    def targets_audience(self) -> bool:
        """True when Braze counts this request against the broadcast budget: "when only
        specifying a segment or Connected Audience" (api_limits.md)."""
        return self.external_user_ids is None and self.user_aliases is None

    @property
    def audience_key(self) -> str | None:
        """The unique audience of a broadcast (api_limits.md names /messages/send: its
        ``campaign_id``, ``segment_id`` and ``audience``), else None."""
        if not self.targets_audience:
            return None
        return unique_audience(
            campaign_id=self.campaign_id, segment_id=self.segment_id, audience=self.audience
        )
