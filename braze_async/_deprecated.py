"""The send methods of 0.x, kept for one release as thin wrappers of the one verb family.

Each warns (:class:`DeprecationWarning`, pointing at the caller's line) and calls its
replacement; none has behaviour of its own. They go in the next minor release. The mapping:

=============================================  ==============================================
0.x                                            now
=============================================  ==============================================
``trigger_campaign(id, recipients=..., ...)``  ``send(Campaign(id, ...), recipients=...)``
``trigger_canvas(id, context=..., ...)``       ``send(Canvas(id, context=...), ...)``
``send_messages(messages, external_user_ids)`` ``send(Messages(...), recipients=...)``
``send_campaign_request(request)``             ``send(Campaign(...), ...)``
``send_canvas_request(request)``               ``send(Canvas(...), ...)``
``send_messages_request(request)``             ``send(Messages(...), ...)``
``send_to_user(recipient, campaign_id=...)``   ``send_one(Campaign(...), recipient)``
``bulk_send(recipients, campaign_id=...)``     ``send_bulk(Campaign(...), recipients)``
``configure_batching(...)``                    ``BrazeClient(batching=Batching(...))``
=============================================  ==============================================
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import attrs

from ._batching import Batching, SendResult
from ._bulk import BulkInput
from ._errors import BrazeError, BrazeValidationError
from ._messages import Messages, MessagesSendRequest, SubscriptionState
from ._models import (
    Attachment,
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    Properties,
    Recipient,
    SendResponse,
    UserAlias,
)
from ._targets import Campaign, Canvas, Target

if TYPE_CHECKING:
    import asyncio

    from ._bulk import BulkReport

__all__ = ["DeprecatedSends", "target_of"]


class _Client(Protocol):
    """What the wrappers call of the client they are mixed into (not imported: the client
    imports this module)."""

    _shared: Any
    _root: Any

    async def send(
        self,
        target: Target,
        *,
        recipients: Sequence[Recipient] | None = None,
        audience: Properties | None = None,
        broadcast: bool | None = None,
        segment_id: str | None = None,
    ) -> SendResponse: ...

    async def send_one(self, target: Target, recipient: Recipient) -> SendResult: ...

    async def send_bulk(
        self, target: Target, recipients: BulkInput, **keywords: Any
    ) -> BulkReport: ...

    async def _post(
        self,
        path: str,
        request: CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse: ...


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"BrazeClient.{old}() is deprecated and goes in the next minor release; use {new}",
        DeprecationWarning,
        stacklevel=3,
    )


#: The 0.x keywords that named a send (the rest of bulk_send's were the job's).
_TARGET_KEYWORDS = frozenset(
    {
        "campaign_id",
        "canvas_id",
        "messages",
        "trigger_properties",
        "context",
        "canvas_entry_properties",
        "send_id",
        "override_frequency_capping",
        "recipient_subscription_state",
    }
)


def target_of(
    *,
    campaign_id: str | None = None,
    canvas_id: str | None = None,
    messages: Messages | Mapping[str, Any] | None = None,
    trigger_properties: Properties | None = None,
    context: Properties | None = None,
    canvas_entry_properties: Properties | None = None,
    send_id: str | None = None,
    override_frequency_capping: bool | None = None,
    recipient_subscription_state: SubscriptionState | None = None,
) -> Target:
    """The target the 0.x keywords named: ``messages``, or else exactly one of
    ``campaign_id`` / ``canvas_id`` (with ``messages``, ``campaign_id`` only tracks the send).
    A keyword of another kind of send is refused, naming it."""
    canvas_only = {"context": context, "canvas_entry_properties": canvas_entry_properties}
    if messages is not None:
        others = {"canvas_id": canvas_id, "trigger_properties": trigger_properties}
        for name, value in {**others, **canvas_only}.items():
            if value is not None:
                raise BrazeValidationError(name, "is not a field of /messages/send")
        typed = Messages.of(messages)
        return attrs.evolve(
            typed,
            campaign_id=typed.campaign_id if campaign_id is None else campaign_id,
            send_id=typed.send_id if send_id is None else send_id,
            override_frequency_capping=typed.override_frequency_capping
            if override_frequency_capping is None
            else override_frequency_capping,
            recipient_subscription_state=typed.recipient_subscription_state
            if recipient_subscription_state is None
            else recipient_subscription_state,
        )
    for name, given in (
        ("override_frequency_capping", override_frequency_capping is not None),
        ("recipient_subscription_state", recipient_subscription_state is not None),
    ):
        if given:
            raise BrazeValidationError(name, "is for /messages/send (give messages)")
    if (campaign_id is None) == (canvas_id is None):
        raise BrazeValidationError(
            "campaign_id", "give exactly one of campaign_id, canvas_id (or messages)"
        )
    if campaign_id is not None:
        for name, value in canvas_only.items():
            if value is not None:
                raise BrazeValidationError(name, "is for Canvas sends; use trigger_properties")
        return Campaign(campaign_id, trigger_properties=trigger_properties, send_id=send_id)
    assert canvas_id is not None
    if trigger_properties is not None:
        raise BrazeValidationError("trigger_properties", "is for campaign sends; use context")
    if send_id is not None:
        raise BrazeValidationError("send_id", "is for campaign sends only")
    return Canvas(canvas_id, context=context, canvas_entry_properties=canvas_entry_properties)


class DeprecatedSends:
    """The 0.x send methods of :class:`~braze_async.BrazeClient` (see the module's table)."""

    __slots__ = ()

    async def trigger_campaign(
        self,
        campaign_id: str,
        *,
        recipients: Sequence[Recipient] | None = None,
        broadcast: bool | None = None,
        audience: Properties | None = None,
        trigger_properties: Properties | None = None,
        send_id: str | None = None,
        attachments: Sequence[Attachment] | None = None,
    ) -> SendResponse:
        """Deprecated: ``send(Campaign(campaign_id, ...), recipients=...)``."""
        _deprecated("trigger_campaign", "send(Campaign(campaign_id, ...), recipients=...)")
        client = cast(_Client, self)
        target = Campaign(
            campaign_id,
            trigger_properties=trigger_properties,
            send_id=send_id,
            attachments=attachments,
        )
        return await client.send(
            target, recipients=recipients, audience=audience, broadcast=broadcast
        )

    async def trigger_canvas(
        self,
        canvas_id: str,
        *,
        recipients: Sequence[Recipient] | None = None,
        broadcast: bool | None = None,
        audience: Properties | None = None,
        context: Properties | None = None,
        canvas_entry_properties: Properties | None = None,
    ) -> SendResponse:
        """Deprecated: ``send(Canvas(canvas_id, context=...), recipients=...)``."""
        _deprecated("trigger_canvas", "send(Canvas(canvas_id, context=...), recipients=...)")
        client = cast(_Client, self)
        target = Canvas(canvas_id, context=context, canvas_entry_properties=canvas_entry_properties)
        return await client.send(
            target, recipients=recipients, audience=audience, broadcast=broadcast
        )

    async def send_messages(
        self,
        messages: Messages | Mapping[str, Any],
        *,
        external_user_ids: Sequence[str] | None = None,
        user_aliases: Sequence[UserAlias] | None = None,
        segment_id: str | None = None,
        audience: Properties | None = None,
        broadcast: bool | None = None,
        campaign_id: str | None = None,
        send_id: str | None = None,
        override_frequency_capping: bool | None = None,
        recipient_subscription_state: SubscriptionState | None = None,
    ) -> SendResponse:
        """Deprecated: ``send(Messages(..., campaign_id=...), recipients=...)``."""
        _deprecated("send_messages", "send(Messages(...), recipients=...)")
        client = cast(_Client, self)
        request = MessagesSendRequest(
            broadcast=broadcast,
            external_user_ids=external_user_ids,
            user_aliases=user_aliases,
            segment_id=segment_id,
            audience=audience,
            campaign_id=campaign_id,
            send_id=send_id,
            override_frequency_capping=override_frequency_capping,
            recipient_subscription_state=recipient_subscription_state,
            messages=Messages.of(messages),
        )
        return await client._post("/messages/send", request)

    async def send_campaign_request(self, request: CampaignTriggerRequest) -> SendResponse:
        """Deprecated: ``send(Campaign(...), recipients=...)``."""
        _deprecated("send_campaign_request", "send(Campaign(...), recipients=...)")
        client = cast(_Client, self)
        return await client._post("/campaigns/trigger/send", request)

    async def send_canvas_request(self, request: CanvasTriggerRequest) -> SendResponse:
        """Deprecated: ``send(Canvas(...), recipients=...)``."""
        _deprecated("send_canvas_request", "send(Canvas(...), recipients=...)")
        client = cast(_Client, self)
        return await client._post("/canvas/trigger/send", request)

    async def send_messages_request(self, request: MessagesSendRequest) -> SendResponse:
        """Deprecated: ``send(Messages(...), recipients=...)``."""
        _deprecated("send_messages_request", "send(Messages(...), recipients=...)")
        client = cast(_Client, self)
        return await client._post("/messages/send", request)

    def configure_batching(
        self,
        *,
        max_concurrency: int = Batching().max_concurrency,
        linger: float = Batching().linger,
        max_pending: int = Batching().max_pending,
    ) -> None:
        """Deprecated: ``BrazeClient(batching=Batching(...))``; before the first send_one."""
        _deprecated("configure_batching", "BrazeClient(batching=Batching(...))")
        client = cast(_Client, self)
        batchers = client._shared.batchers
        if batchers.started():
            raise BrazeError("configure_batching() must come before the first send_one()")
        batchers.configure(
            Batching(max_concurrency=max_concurrency, linger=linger, max_pending=max_pending)
        )

    async def send_to_user(self, recipient: Recipient, **target: Any) -> SendResult:
        """Deprecated: ``send_one(Campaign(...) | Canvas(...) | Messages(...), recipient)``.

        *target* holds the 0.x keywords naming the send (see :func:`target_of`)."""
        _deprecated("send_to_user", "send_one(Campaign(...), recipient)")
        client = cast(_Client, self)
        return await client.send_one(target_of(**target), recipient)

    async def bulk_send(self, recipients: BulkInput, **keywords: Any) -> BulkReport:
        """Deprecated: ``send_bulk(Campaign(...) | Canvas(...) | Messages(...), recipients,
        ...)``.

        *keywords* hold the 0.x keywords naming the send (see :func:`target_of`) and
        ``send_bulk``'s own (``journal``, ``concurrency``, ``stop``, ...)."""
        _deprecated("bulk_send", "send_bulk(Campaign(...), recipients)")
        client = cast(_Client, self)
        named = {key: keywords.pop(key) for key in _TARGET_KEYWORDS & keywords.keys()}
        return await client.send_bulk(target_of(**named), recipients, **keywords)
