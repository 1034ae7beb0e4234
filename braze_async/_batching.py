"""Micro-batching of single sends: many ``send_to_user`` calls, few requests to Braze.

A call joins the pending queue of its :class:`SendTarget` (endpoint, campaign or Canvas id,
``send_id``, request-level properties or messages, compared by their canonical JSON): only
recipients whose requests would be identical apart from the recipient list share a request.

When requests go out
====================
* A lone call is never kept waiting for a timer: when nothing is in flight, everything that
  arrived in the same event-loop tick is collected, then sent at the next tick.
* While requests are in flight, a partial batch waits up to ``linger`` (default 5 ms) for
  company; a full one never waits. At moderate load this turns requests of two or three
  recipients into requests of a dozen or more, which matters because every request spends
  rate budget (``linger=0`` turns it off).
* At most ``max_concurrency`` requests are in flight. While they are all busy, newcomers
  accumulate, so under load requests fill up to :data:`MAX_RECIPIENTS` (50) by themselves.
* Several targets with waiting recipients take turns (round robin), oldest first.
* At most ``max_pending`` callers wait at once (default 10,000: about 11 MiB of waiting
  callers). Past it a call fails at once, never sent, with a
  :class:`~braze_async.BrazeConnectionError` that says so: when Braze's budget is paused, a
  web app sheds load instead of growing without end.

Outcomes
========
Each caller gets its own outcome: the :class:`SendResult` of the request it rode in, or the
exception that request raised (the very same exception object for every caller of that
request). A 400 that names one bad recipient still fails the whole request: Braze refused the
request as a whole and sent nothing, so every caller of that batch gets the
:class:`~braze_async.BrazeBadRequestError`; the batch is not split and resent behind their
backs (retrying the others is safe and up to them). A success that carries a ``notice``
(a paused, stopped or archived Canvas: Braze sends nothing) is no success for its callers:
each gets a :class:`~braze_async.BrazeNotSentError`. Cancelling a caller before its batch
is sent removes it from the batch; once sent, cancelling it does not affect the others.
"""

from __future__ import annotations

import asyncio
import collections
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

import attrs
import orjson

from ._errors import (
    BrazeConnectionError,
    BrazeError,
    BrazeNotSentError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
)
from ._messages import Messages, MessagesSendRequest, SubscriptionState, check_tracking
from ._models import (
    MAX_RECIPIENTS,
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    Properties,
    Recipient,
    SendResponse,
    UserAlias,
    canvas_context,
)
from ._validate import check_personalization, check_str
from ._wire import converter, json_default

__all__ = [
    "DEFAULT_LINGER",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_PENDING",
    "Batcher",
    "SendResult",
    "SendTarget",
    "Sender",
]

#: Default bound on the requests a :class:`Batcher` has in flight at once.
DEFAULT_MAX_CONCURRENCY = 16
#: Default wait for company of a partial batch while other requests are in flight.
DEFAULT_LINGER = 0.005
#: Default bound on the callers a :class:`Batcher` keeps waiting (queued or in flight).
DEFAULT_MAX_PENDING = 10_000


class Sender(Protocol):
    """What a batch is sent through: :class:`~braze_async.BrazeClient` is one.

    ``on_admitted``, when given, is called once, after the rate limiter admitted the request
    and before its first attempt leaves; if it raises, nothing is sent and its exception
    propagates (a bulk job journals the batch there).

    ``stop``, when given, is a bulk job's stop event: once it is set, no attempt starts and
    every wait on the way (for the rate limiter, before a retry) ends, the request failing as
    never sent (a :class:`~braze_async.BrazeError` caused by a
    :class:`~braze_async._stop.Stopped`), or unknown after an attempt that may have been
    processed; requests in flight finish (see :mod:`braze_async._stop`).
    """

    async def send_campaign_request(
        self,
        request: CampaignTriggerRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse: ...

    async def send_canvas_request(
        self,
        request: CanvasTriggerRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse: ...

    async def send_messages_request(
        self,
        request: MessagesSendRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse: ...


def canonical_json(value: object) -> bytes:
    """JSON with sorted keys: equal for any two values Braze would receive identically."""
    return orjson.dumps(value, default=json_default, option=orjson.OPT_SORT_KEYS)


TargetKind = Literal["campaign", "canvas", "messages"]
_PATHS = {
    "campaign": "/campaigns/trigger/send",
    "canvas": "/canvas/trigger/send",
    "messages": "/messages/send",
}


@attrs.frozen(slots=True, kw_only=True)
class SendTarget:
    """Everything of a send request except its recipients.

    Two targets are equal when their requests would be identical on the wire apart from the
    recipient list; the properties and messages are compared through their canonical JSON.

    Build one with :meth:`campaign`, :meth:`canvas` or :meth:`for_messages`, which validate
    it (or :meth:`of`).
    """

    #: ``"campaign"`` (``/campaigns/trigger/send``), ``"canvas"`` (``/canvas/trigger/send``)
    #: or ``"messages"`` (``/messages/send``).
    kind: TargetKind
    #: The campaign or Canvas id; for messages, the tracking ``campaign_id`` or ``""``.
    target_id: str
    #: The campaign's ``send_id`` (campaigns and messages).
    send_id: str | None = None
    #: Request-level ``trigger_properties`` (campaign) or ``context`` (Canvas).
    properties: Properties | None = attrs.field(default=None, eq=False, hash=False)
    #: The messages of a ``/messages/send`` target, and its two flags.
    messages: Messages | None = attrs.field(default=None, eq=False, hash=False)
    override_frequency_capping: bool | None = attrs.field(default=None, eq=False, hash=False)
    recipient_subscription_state: SubscriptionState | None = attrs.field(
        default=None, eq=False, hash=False
    )
    #: Canonical JSON of all of the above: what equality and the journal go by.
    canonical: bytes = attrs.field(default=b"", repr=False)

    @classmethod
    def campaign(
        cls,
        campaign_id: str,
        *,
        trigger_properties: Properties | None = None,
        send_id: str | None = None,
    ) -> SendTarget:
        """A ``/campaigns/trigger/send`` target; raises ``BrazeValidationError`` if invalid."""
        check_str(campaign_id, "campaign_id")
        if send_id is not None:
            check_str(send_id, "send_id")
        if trigger_properties is not None:
            check_personalization(trigger_properties, "trigger_properties")
        return cls._make("campaign", campaign_id, send_id, trigger_properties)

    @classmethod
    def canvas(
        cls,
        canvas_id: str,
        *,
        context: Properties | None = None,
        canvas_entry_properties: Properties | None = None,
    ) -> SendTarget:
        """A ``/canvas/trigger/send`` target (``canvas_entry_properties`` is the older name of
        ``context``); raises ``BrazeValidationError`` if invalid."""
        check_str(canvas_id, "canvas_id")
        context = canvas_context(context, canvas_entry_properties)
        if context is not None:
            check_personalization(context, "context")
        return cls._make("canvas", canvas_id, None, context)

    @classmethod
    def for_messages(
        cls,
        messages: Messages | Mapping[str, Any],
        *,
        campaign_id: str | None = None,
        send_id: str | None = None,
        override_frequency_capping: bool | None = None,
        recipient_subscription_state: SubscriptionState | None = None,
    ) -> SendTarget:
        """A ``/messages/send`` target; raises ``BrazeValidationError`` if invalid.

        Its recipients are sent as ``external_user_ids`` and ``user_aliases``, so each must
        be an external id or an alias and nothing more (:meth:`check`).
        """
        check_tracking(
            campaign_id, send_id, override_frequency_capping, recipient_subscription_state
        )
        typed = Messages.of(messages)
        canonical = canonical_json(
            [
                "messages",
                campaign_id,
                send_id,
                converter.unstructure(typed),
                override_frequency_capping,
                recipient_subscription_state,
            ]
        )
        return cls(
            kind="messages",
            target_id=campaign_id or "",
            send_id=send_id,
            messages=typed,
            override_frequency_capping=override_frequency_capping,
            recipient_subscription_state=recipient_subscription_state,
            canonical=canonical,
        )

    @classmethod
    def of(
        cls,
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
    ) -> SendTarget:
        """The target named by ``messages``, or else by exactly one of ``campaign_id`` /
        ``canvas_id`` (with ``messages``, ``campaign_id`` only tracks the send)."""
        canvas_only = {"context": context, "canvas_entry_properties": canvas_entry_properties}
        if messages is not None:
            others = {"canvas_id": canvas_id, "trigger_properties": trigger_properties}
            for name, value in {**others, **canvas_only}.items():
                if value is not None:
                    raise BrazeValidationError(name, "is not a field of /messages/send")
            return cls.for_messages(
                messages,
                campaign_id=campaign_id,
                send_id=send_id,
                override_frequency_capping=override_frequency_capping,
                recipient_subscription_state=recipient_subscription_state,
            )
        if override_frequency_capping is not None:
            raise BrazeValidationError(
                "override_frequency_capping", "is for /messages/send (give messages)"
            )
        if recipient_subscription_state is not None:
            raise BrazeValidationError(
                "recipient_subscription_state", "is for /messages/send (give messages)"
            )
        if (campaign_id is None) == (canvas_id is None):
            raise BrazeValidationError(
                "campaign_id", "give exactly one of campaign_id, canvas_id (or messages)"
            )
        if campaign_id is not None:
            for name, value in canvas_only.items():
                if value is not None:
                    raise BrazeValidationError(name, "is for Canvas sends; use trigger_properties")
            return cls.campaign(campaign_id, trigger_properties=trigger_properties, send_id=send_id)
        assert canvas_id is not None
        if trigger_properties is not None:
            raise BrazeValidationError("trigger_properties", "is for campaign sends; use context")
        if send_id is not None:
            raise BrazeValidationError("send_id", "is for campaign sends only")
        return cls.canvas(
            canvas_id, context=context, canvas_entry_properties=canvas_entry_properties
        )

    @classmethod
    def _make(
        cls,
        kind: TargetKind,
        target_id: str,
        send_id: str | None,
        properties: Properties | None,
    ) -> SendTarget:
        try:
            canonical = canonical_json([kind, target_id, send_id, properties])
        except TypeError as exc:  # pragma: no cover - check_properties refuses these first
            raise BrazeValidationError("properties", f"cannot be sent as JSON: {exc}") from None
        return cls(
            kind=kind,
            target_id=target_id,
            send_id=send_id,
            properties=properties,
            canonical=canonical,
        )

    @property
    def path(self) -> str:
        """The endpoint this target's requests go to."""
        return _PATHS[self.kind]

    def check(self, recipient: Recipient) -> None:
        """Raise ``BrazeValidationError`` when ``recipient`` cannot ride in this target's
        requests: ``/messages/send`` takes bare external ids and aliases only."""
        if self.kind != "messages":
            return
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
        self, recipients: Sequence[Recipient]
    ) -> CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest:
        """The request sending this target to ``recipients`` (1 to 50 of them)."""
        if self.kind == "campaign":
            return CampaignTriggerRequest(
                campaign_id=self.target_id,
                send_id=self.send_id,
                trigger_properties=self.properties,
                recipients=recipients,
            )
        if self.kind == "canvas":
            return CanvasTriggerRequest(
                canvas_id=self.target_id, context=self.properties, recipients=recipients
            )
        assert self.messages is not None
        ids: list[str] = []
        aliases: list[UserAlias] = []
        for recipient in recipients:
            self.check(recipient)
            if recipient.external_user_id is not None:
                ids.append(recipient.external_user_id)
            else:
                assert recipient.user_alias is not None
                aliases.append(recipient.user_alias)
        return MessagesSendRequest(
            external_user_ids=ids or None,
            user_aliases=aliases or None,
            campaign_id=self.target_id or None,
            send_id=self.send_id,
            override_frequency_capping=self.override_frequency_capping,
            recipient_subscription_state=self.recipient_subscription_state,
            messages=self.messages,
        )

    async def send(
        self,
        sender: Sender,
        recipients: Sequence[Recipient],
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        """Send this target to ``recipients`` through ``sender`` (``on_admitted`` and
        ``stop``: see :class:`Sender`)."""
        request = self.request(recipients)
        if isinstance(request, CampaignTriggerRequest):
            return await sender.send_campaign_request(request, on_admitted=on_admitted, stop=stop)
        if isinstance(request, CanvasTriggerRequest):
            return await sender.send_canvas_request(request, on_admitted=on_admitted, stop=stop)
        return await sender.send_messages_request(request, on_admitted=on_admitted, stop=stop)

    def describe(self) -> str:
        """``"campaign 'weekly'"``, ``"Canvas 'onboarding'"`` or ``"/messages/send"``."""
        if self.kind == "messages":
            tracked = f" (campaign {self.target_id!r})" if self.target_id else ""
            return f"/messages/send{tracked}"
        return f"{'campaign' if self.kind == 'campaign' else 'Canvas'} {self.target_id!r}"


@attrs.frozen(slots=True, kw_only=True)
class SendResult:
    """The outcome of one :meth:`~braze_async.BrazeClient.send_to_user` call."""

    #: The recipient that was sent.
    recipient: Recipient
    #: Braze's answer to the request this recipient rode in (shared with its batch-mates).
    response: SendResponse
    #: How many recipients that request carried.
    batch_size: int

    @property
    def dispatch_id(self) -> str | None:
        """The dispatch of the request; ``None`` when Braze gave none (HTTP 202, or a bare
        ``{"message": "success"}``)."""
        return self.response.dispatch_id


class _Waiter:
    __slots__ = ("future", "recipient", "taken")

    def __init__(self, recipient: Recipient, future: asyncio.Future[SendResult]) -> None:
        self.recipient = recipient
        self.future = future
        #: Set once the waiter is part of a batch on its way: cancelling it no longer matters.
        self.taken = False


class Batcher:
    """Collects single sends into requests of up to 50 recipients.

    :param sender: sends a finished batch (a :class:`~braze_async.BrazeClient`).
    :param max_concurrency: requests in flight at once.
    :param linger: seconds a partial batch may wait for company while other requests are in
        flight (0: the next loop tick); a lone call never waits.
    :param max_batch: recipients per request (at most :data:`MAX_RECIPIENTS`).
    :param max_pending: callers waiting at once (queued or in flight) at most; past it,
        :meth:`send` fails at once as never sent.

    ::

        batcher = Batcher(braze, max_concurrency=8)
        target = SendTarget.campaign("welcome")
        result = await batcher.send(Recipient(external_user_id="u1"), target)
        await batcher.aclose()
    """

    def __init__(
        self,
        sender: Sender,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        linger: float = DEFAULT_LINGER,
        max_batch: int = MAX_RECIPIENTS,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise BrazeValidationError("max_concurrency", "must be an integer")
        if max_concurrency < 1:
            raise BrazeValidationError("max_concurrency", "must be at least 1")
        if not isinstance(linger, (int, float)) or not (math.isfinite(linger) and linger >= 0):
            raise BrazeValidationError("linger", "must be a finite number of seconds >= 0")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int):
            raise BrazeValidationError("max_batch", "must be an integer")
        if not 1 <= max_batch <= MAX_RECIPIENTS:
            raise BrazeValidationError("max_batch", f"must be between 1 and {MAX_RECIPIENTS}")
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise BrazeValidationError("max_pending", "must be an integer >= 1")
        self._sender = sender
        self._max_concurrency = max_concurrency
        self._linger = float(linger)
        self._max_batch = max_batch
        self._max_pending = max_pending
        #: Callers of send() not yet answered (queued or in flight).
        self._callers = 0
        #: Waiting callers per target; insertion order is the round-robin order.
        self._pending: dict[SendTarget, collections.deque[_Waiter]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._closed = False
        #: Requests sent so far (whatever their outcome).
        self.requests = 0
        #: Recipients sent so far, in those requests.
        self.recipients = 0

    @property
    def in_flight(self) -> int:
        """Requests on their way now."""
        return len(self._tasks)

    @property
    def pending(self) -> int:
        """Callers waiting for a batch to leave."""
        return sum(len(q) for q in self._pending.values())

    async def send(self, recipient: Recipient, target: SendTarget) -> SendResult:
        """Send ``recipient`` to ``target`` in a batch; return its own outcome.

        Raises what the batch's request raised (the same exception for each of its callers),
        or, when ``max_pending`` callers are waiting already, ``BrazeConnectionError`` at once.
        """
        if self._closed:
            raise BrazeError("the client is closed")
        if not isinstance(recipient, Recipient):
            raise BrazeValidationError(
                "recipient", f"must be a Recipient, not {type(recipient).__name__}"
            )
        if not isinstance(target, SendTarget):
            raise BrazeValidationError("target", "must be a SendTarget")
        target.check(recipient)
        if self._callers >= self._max_pending:
            raise BrazeConnectionError(
                f"{self._callers} send_to_user() calls are already waiting, the most allowed "
                "(configure_batching(max_pending=...)); nothing was sent for this one"
            )
        loop = asyncio.get_running_loop()
        waiter = _Waiter(recipient, loop.create_future())
        queue = self._pending.get(target)
        if queue is None:
            queue = self._pending[target] = collections.deque()
        queue.append(waiter)
        self._schedule(loop, full=len(queue) >= self._max_batch)
        self._callers += 1
        try:
            return await waiter.future
        except asyncio.CancelledError:
            if not waiter.taken:
                self._forget(target, waiter)
            elif waiter.future.done() and not waiter.future.cancelled():
                waiter.future.exception()  # its outcome arrived as we were cancelled: seen
            raise
        finally:
            self._callers -= 1

    def _forget(self, target: SendTarget, waiter: _Waiter) -> None:
        queue = self._pending.get(target)
        if queue is None:
            return
        try:
            queue.remove(waiter)
        except ValueError:  # pragma: no cover - taken waiters are not looked up
            return
        if not queue:
            del self._pending[target]

    def _schedule(self, loop: asyncio.AbstractEventLoop, *, full: bool = False) -> None:
        """Arrange a flush: at the next tick, or after ``linger`` unless a batch is full."""
        if len(self._tasks) >= self._max_concurrency:
            return  # a completing request flushes
        if self._flush_handle is not None:
            if not (full and isinstance(self._flush_handle, asyncio.TimerHandle)):
                return
            self._flush_handle.cancel()
        if self._linger and not full and self._tasks:
            # Requests are in flight, so this is not a lone call: wait a little for company
            # rather than spend a request (and rate budget) on a handful of recipients.
            self._flush_handle = loop.call_later(self._linger, self._flush)
        else:
            # call_soon runs after every callback already queued for this tick: the callers
            # that arrive in the same tick are collected into the same batch.
            self._flush_handle = loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        while self._pending and len(self._tasks) < self._max_concurrency:
            target = next(iter(self._pending))
            queue = self._pending.pop(target)
            batch: list[_Waiter] = []
            while queue and len(batch) < self._max_batch:
                waiter = queue.popleft()
                if waiter.future.done():  # cancelled while waiting
                    continue
                waiter.taken = True
                batch.append(waiter)
            if queue:
                self._pending[target] = queue  # to the back of the line: round robin
            if batch:
                task = asyncio.get_running_loop().create_task(self._run(target, batch))
                self._tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._pending and self._flush_handle is None:
            self._flush()

    async def _run(self, target: SendTarget, batch: list[_Waiter]) -> None:
        self.requests += 1
        self.recipients += len(batch)
        try:
            response = await target.send(self._sender, [w.recipient for w in batch])
        except asyncio.CancelledError:
            # Only aclose() being cancelled, or loop teardown, cancels a batch: it may have
            # reached Braze already.
            error = BrazeUnknownOutcomeError(
                "the batch was cancelled while in flight; it may or may not have been processed"
            )
            for waiter in batch:
                if not waiter.future.done():
                    waiter.future.set_exception(error)
            raise
        except Exception as exc:
            for waiter in batch:
                if not waiter.future.done():
                    waiter.future.set_exception(exc)
        else:
            if response.notice is not None:
                # Braze will send nothing: no caller of this batch was sent.
                refused = BrazeNotSentError(
                    response.notice,
                    status_code=response.status_code,
                    dispatch_id=response.dispatch_id,
                    endpoint=target.path,
                )
                for waiter in batch:
                    if not waiter.future.done():
                        waiter.future.set_exception(refused)
                return
            size = len(batch)
            for waiter in batch:
                if not waiter.future.done():
                    waiter.future.set_result(
                        SendResult(recipient=waiter.recipient, response=response, batch_size=size)
                    )

    async def aclose(self) -> None:
        """Send what is waiting, wait for the requests in flight, refuse new calls.

        If this is cancelled, the requests in flight are cancelled: their callers get
        :class:`~braze_async.BrazeUnknownOutcomeError`, waiting callers a ``BrazeError``.
        """
        self._closed = True
        try:
            while self._pending or self._tasks:
                if self._flush_handle is not None:
                    self._flush_handle.cancel()
                    self._flush_handle = None
                if self._pending and len(self._tasks) < self._max_concurrency:
                    self._flush()
                if self._tasks:
                    await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self._abort()
            raise

    def _abort(self) -> None:
        error = BrazeError("the client was closed before this recipient was sent")
        for queue in self._pending.values():
            for waiter in queue:
                if not waiter.future.done():
                    waiter.future.set_exception(error)
        self._pending.clear()
        for task in self._tasks:
            task.cancel()
