"""The base of the senders that bulk tests script in place of a client: campaigns only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from braze_async import CanvasTriggerRequest, MessagesSendRequest, SendResponse


class CampaignSender:
    """A ``Sender`` for jobs that send a campaign: a subclass answers
    ``send_campaign_request``; a Canvas or ``/messages/send`` request is the test's mistake."""

    async def send_canvas_request(
        self,
        request: CanvasTriggerRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        raise AssertionError("campaigns only")

    async def send_messages_request(
        self,
        request: MessagesSendRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        raise AssertionError("campaigns only")
