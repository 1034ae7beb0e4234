"""The base of the senders that bulk and batching tests script in place of a client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from braze_async import Campaign, Canvas, Recipient, Schedule, SendResponse
from braze_async._messages import MessagesSendRequest
from braze_async._models import CampaignTriggerRequest, CanvasTriggerRequest
from braze_async._targets import Target


class RequestSender:
    """A ``Sender`` (what a batch is sent through) whose subclass answers each batch's
    request: ``send_campaign_request``, ``send_canvas_request`` or ``send_messages_request``,
    each given the request the target builds (of the ``riders`` at once, when given), the
    ``on_admitted`` hook and the job's
    ``stop`` (a scripted wait must end when it is set, as the client's waits do)."""

    async def _send_batch(
        self,
        target: Target,
        recipients: Sequence[Recipient],
        *,
        riders: Callable[[], Sequence[Recipient]] | None = None,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
        schedule: Schedule | None = None,
    ) -> SendResponse:
        assert schedule is None, "a scripted sender sends: it schedules nothing"
        if riders is not None:  # admitted at once: who rides is decided now
            recipients = riders()
        if isinstance(target, Campaign):
            return await self.send_campaign_request(
                target.request(recipients), on_admitted=on_admitted, stop=stop
            )
        if isinstance(target, Canvas):
            return await self.send_canvas_request(
                target.request(recipients), on_admitted=on_admitted, stop=stop
            )
        return await self.send_messages_request(
            target.request(recipients), on_admitted=on_admitted, stop=stop
        )

    async def send_campaign_request(
        self,
        request: CampaignTriggerRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        raise AssertionError("no campaign sends here")

    async def send_canvas_request(
        self,
        request: CanvasTriggerRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        raise AssertionError("no Canvas sends here")

    async def send_messages_request(
        self,
        request: MessagesSendRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        raise AssertionError("no /messages/send here")


class CampaignSender(RequestSender):
    """A ``Sender`` for jobs that send a campaign: a subclass answers
    ``send_campaign_request``; a Canvas or ``/messages/send`` request is the test's mistake."""
