"""What a send goes to: a :class:`Campaign`, a :class:`Canvas` or :class:`Messages`.

A target is a frozen value, validated on creation, holding everything of a send request
except who receives it. Each knows its endpoint (``path``), how it puts recipients on the
wire (``request``, whose ``targets_audience`` picks the rate-limit bucket: "recipients" when
users are named, the broadcast budget otherwise, api_limits.md) and which recipients it
cannot carry (``check``). One verb family sends any of them::

    await braze.send(Campaign("welcome"), recipients=[Recipient(external_user_id="u1")])
    await braze.send_one(Canvas("onboarding", context={"plan": "pro"}), recipient)
    await braze.send_bulk(Messages(email=EmailMessage(...)), recipients)

:class:`Messages` (``/messages/send``) lives in :mod:`braze_async._messages`, beside its
channel objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Literal, TypeAlias

import attrs
import orjson

from ._audience import Audience, audience_body
from ._errors import BrazeValidationError
from ._messages import Messages, MessagesSendRequest
from ._models import (
    Attachment,
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    Properties,
    Recipient,
    canvas_context,
    check_attachments,
)
from ._validate import check_personalization, check_send_id, check_str
from ._wire import converter, dumps, json_default

__all__ = ["Campaign", "Canvas", "Target", "boarding", "canonical", "check_target", "named"]


def _no_segment(segment_id: str | None, what: str) -> None:
    if segment_id is not None:
        raise BrazeValidationError(
            "segment_id", f"is for /messages/send; a {what}'s segment is set in its dashboard"
        )


def _canonical_json(value: object) -> bytes:
    """JSON with sorted keys: equal for any two values Braze would receive identically."""
    return orjson.dumps(value, default=json_default, option=orjson.OPT_SORT_KEYS)


def _json_key(value: Properties | None) -> bytes | None:
    """Properties compare (and hash) by their canonical JSON: equal for equal payloads."""
    return None if value is None else _canonical_json(value)


def _tuple_key(value: Sequence[Attachment] | None) -> tuple[Attachment, ...] | None:
    return None if value is None else tuple(value)


@attrs.frozen(slots=True)
class Campaign:
    """An API-triggered campaign (``POST /campaigns/trigger/send``,
    endpoints/messaging/send_messages/post_send_triggered_campaigns.md)::

        Campaign("welcome", trigger_properties={"coupon": "SAVE20"})
    """

    kind: ClassVar[Literal["campaign"]] = "campaign"
    path: ClassVar[str] = "/campaigns/trigger/send"

    #: The campaign's API identifier.
    campaign_id: str
    #: Personalization for every recipient, at most 50 KB of JSON.
    trigger_properties: Properties | None = attrs.field(default=None, kw_only=True, eq=_json_key)
    #: Groups the send's statistics: ASCII, at most 64 characters (identifier_types.md).
    send_id: str | None = attrs.field(default=None, kw_only=True)
    #: Files attached to the campaign's emails; not with a broadcast.
    attachments: Sequence[Attachment] | None = attrs.field(
        default=None, kw_only=True, eq=_tuple_key
    )

    def __attrs_post_init__(self) -> None:
        check_str(self.campaign_id, "campaign_id")
        if self.send_id is not None:
            check_send_id(self.send_id)
        if self.trigger_properties is not None:
            check_personalization(self.trigger_properties, "trigger_properties")
        check_attachments(self.attachments, "attachments")

    @property
    def target_id(self) -> str:
        """The campaign id (what a journal names the target by)."""
        return self.campaign_id

    def request(
        self,
        recipients: Sequence[Recipient] | None = None,
        *,
        audience: Properties | Audience | None = None,
        broadcast: bool | None = None,
        segment_id: str | None = None,
    ) -> CampaignTriggerRequest:
        """The request sending this campaign to *recipients* (or an audience, or the
        campaign's whole segment with ``broadcast=True``)."""
        _no_segment(segment_id, "campaign")
        return CampaignTriggerRequest(
            campaign_id=self.campaign_id,
            send_id=self.send_id,
            trigger_properties=self.trigger_properties,
            broadcast=broadcast,
            audience=audience_body(audience),
            recipients=recipients,
            attachments=self.attachments,
        )

    def check(self, recipient: Recipient) -> None:
        """Every :class:`Recipient` can receive a campaign."""

    def describe(self) -> str:
        """``"campaign 'welcome'"``."""
        return f"campaign {self.campaign_id!r}"


@attrs.frozen(slots=True, init=False)
class Canvas:
    """An API-triggered Canvas (``POST /canvas/trigger/send``,
    endpoints/messaging/send_messages/post_send_triggered_canvases.md)::

        Canvas("onboarding", context={"plan": "pro"})

    ``context`` personalizes the Canvas for every recipient (objects_filters/context_object.md);
    ``canvas_entry_properties``, its older name, is still accepted. Each recipient's
    ``trigger_properties`` are sent as its ``context``.
    """

    kind: ClassVar[Literal["canvas"]] = "canvas"
    path: ClassVar[str] = "/canvas/trigger/send"

    #: The Canvas's API identifier.
    canvas_id: str
    #: Personalization for every recipient, at most 50 KB of JSON.
    context: Properties | None = attrs.field(default=None, eq=_json_key)

    def __init__(
        self,
        canvas_id: str,
        *,
        context: Properties | None = None,
        canvas_entry_properties: Properties | None = None,
    ) -> None:
        self.__attrs_init__(canvas_id, canvas_context(context, canvas_entry_properties))

    def __attrs_post_init__(self) -> None:
        check_str(self.canvas_id, "canvas_id")
        if self.context is not None:
            check_personalization(self.context, "context")

    @property
    def target_id(self) -> str:
        """The Canvas id (what a journal names the target by)."""
        return self.canvas_id

    @property
    def send_id(self) -> None:
        """Canvas sends have no ``send_id``."""
        return None

    def request(
        self,
        recipients: Sequence[Recipient] | None = None,
        *,
        audience: Properties | Audience | None = None,
        broadcast: bool | None = None,
        segment_id: str | None = None,
    ) -> CanvasTriggerRequest:
        """The request sending this Canvas to *recipients* (or an audience, or the Canvas's
        whole segment with ``broadcast=True``)."""
        _no_segment(segment_id, "Canvas")
        return CanvasTriggerRequest(
            canvas_id=self.canvas_id,
            context=self.context,
            broadcast=broadcast,
            audience=audience_body(audience),
            recipients=recipients,
        )

    def check(self, recipient: Recipient) -> None:
        """Every :class:`Recipient` can enter a Canvas."""

    def describe(self) -> str:
        """``"Canvas 'onboarding'"``."""
        return f"Canvas {self.canvas_id!r}"


#: What a send goes to.
Target: TypeAlias = Campaign | Canvas | Messages


def check_target(target: object) -> Target:
    """*target*, if it is one; else a :class:`BrazeValidationError` naming the types."""
    if not isinstance(target, (Campaign, Canvas, Messages)):
        raise BrazeValidationError(
            "target", f"must be a Campaign, Canvas or Messages, not {type(target).__name__}"
        )
    return target


def canonical(target: Target) -> bytes:
    """The target as canonical JSON: equal for two targets whose requests would be identical
    on the wire apart from who receives them. Batching groups callers by it, and a journal
    names its send by its hash (unchanged since the first journal format: fields added since
    are written only when set)."""
    if isinstance(target, Campaign):
        extra = [] if target.attachments is None else [converter.unstructure(target.attachments)]
        fields = ["campaign", target.campaign_id, target.send_id, target.trigger_properties]
        return _canonical_json(fields + extra)
    if isinstance(target, Canvas):
        return _canonical_json(["canvas", target.canvas_id, None, target.context])
    extra = [] if target.message_variation_id is None else [target.message_variation_id]
    return _canonical_json(
        [
            "messages",
            target.campaign_id,
            target.send_id,
            converter.unstructure(target),
            target.override_frequency_capping,
            target.recipient_subscription_state,
            *extra,
        ]
    )


def named(request: CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest) -> int:
    """How many users a request names (for logs, events and spans)."""
    if isinstance(request, MessagesSendRequest):
        return len(request.external_user_ids or ()) + len(request.user_aliases or ())
    return len(request.recipients or ())


def boarding(
    target: Target,
    request: CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest,
    riders: Callable[[], Sequence[Recipient]],
) -> Callable[[], tuple[bytes, int]]:
    """The late :data:`~braze_async._request.Body` of a batch whose *riders* (who of
    *request*'s recipients still ride, in order) are decided as each attempt is admitted:
    *request* while all of them ride, else a request of those who still do."""
    body: bytes | None = None

    def board() -> tuple[bytes, int]:
        nonlocal request, body
        now = riders()
        if len(now) != named(request):
            request, body = target.request(now), None
        if body is None:
            body = dumps(request)
        return body, len(now)

    return board
