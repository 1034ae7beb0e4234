"""BrazeClient and its rate limiter: every request waits on the right bucket."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from braze_async import BrazeClient, BrazeConnectionError, Rate, RateLimits, Recipient
from braze_async._limits import Bucket

pytestmark = pytest.mark.anyio

OK = {"dispatch_id": "d", "message": "success"}


def make(handler: Any, limits: RateLimits | None = None) -> BrazeClient:
    return BrazeClient(
        api_key="k",
        instance="iad-01",
        transport=httpx.MockTransport(handler),
        rate_limits=limits or RateLimits(),
    )


def admitted(braze: BrazeClient, bucket: Bucket) -> int:
    assert braze._limiter is not None
    return braze._limiter.snapshot(bucket).admitted


async def test_requests_are_classified_into_buckets() -> None:
    """Segment/audience sends use the audience bucket, recipient sends the external-ID one,
    and transactional sends neither."""

    def handler(request: httpx.Request) -> httpx.Response:
        if "transactional" in request.url.path:
            return httpx.Response(201, json={"send_id": "s", "status": "queued"})
        return httpx.Response(201, json=OK)

    async with make(handler) as braze:
        await braze.trigger_campaign("c", broadcast=True)
        await braze.trigger_campaign("c", audience={"AND": [{"x": 1}]})
        await braze.trigger_canvas("cv", broadcast=True)
        await braze.trigger_campaign("c", recipients=[Recipient(external_user_id="u")])
        await braze.trigger_canvas("cv", recipients=[Recipient(external_user_id="u")])
        await braze.send_transactional("t", Recipient(external_user_id="u"))
        assert admitted(braze, Bucket.AUDIENCE) == 3
        assert admitted(braze, Bucket.EXTERNAL_ID) == 2


async def test_rate_limits_none_turns_limiting_off() -> None:
    """rate_limits=None: no limiter at all."""
    braze = BrazeClient(
        api_key="k",
        instance="iad-01",
        rate_limits=None,
        transport=httpx.MockTransport(lambda r: httpx.Response(201, json=OK)),
    )
    async with braze:
        await braze.trigger_campaign("c", broadcast=True)
    assert braze._limiter is None


async def test_never_sent_attempt_gives_its_slot_back() -> None:
    """A connect failure frees the slot, so the retry does not wait out the window."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(201, json=OK)

    limits = RateLimits(external_id=Rate(1, 3600.0))
    started = time.monotonic()
    async with make(handler, limits) as braze:
        await braze.trigger_campaign("c", recipients=[Recipient(external_user_id="u")])
    assert len(calls) == 2
    assert time.monotonic() - started < 30  # a held slot would have meant an hour


async def test_429_pauses_the_bucket_and_is_retried_after_reset() -> None:
    """A 429 that still arrives is retried once Braze's Retry-After has passed, not dropped."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(
                429, json={"message": "rate limit exceeded"}, headers={"Retry-After": "1"}
            )
        return httpx.Response(201, json=OK)

    async with make(handler) as braze:
        r = await braze.trigger_campaign("c", recipients=[Recipient(external_user_id="u")])
    assert r.dispatch_id == "d"
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.9


async def test_exhausted_server_budget_pauses_until_reset() -> None:
    """Remaining: 0 with a Reset in the future holds the next request until the reset."""
    calls: list[float] = []
    reset = int(time.time()) + 2

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.time())
        headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Reset": str(reset)}
        headers["X-RateLimit-Remaining"] = "0" if len(calls) == 1 else "99"
        return httpx.Response(201, json=OK, headers=headers)

    async with make(handler) as braze:
        for _ in range(2):
            await braze.trigger_campaign("c", recipients=[Recipient(external_user_id="u")])
    assert calls[1] >= reset - 0.05


async def test_unreachable_redis_is_a_connection_error_and_sends_nothing() -> None:
    """A fleet limiter that cannot reach Redis fails the send as never sent, cleanly."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(201, json=OK)

    limits = RateLimits(redis_url="redis://127.0.0.1:1/0", workspace="nowhere")
    async with make(handler, limits) as braze:
        with pytest.raises(BrazeConnectionError, match="rate limiter"):
            await braze.trigger_campaign("c", recipients=[Recipient(external_user_id="u")])
    assert calls == []
