"""Per-call control (``with_options``), the rate limiter's state in public
(``rate_limit_status``) and the answer's headers on responses and errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from braze_async import (
    Batching,
    BrazeBadRequestError,
    BrazeClient,
    BrazeError,
    BrazeServerError,
    BrazeUnknownOutcomeError,
    BucketStats,
    Campaign,
    Rate,
    RateLimits,
    Recipient,
    RetryPolicy,
)
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

ONE = [Recipient(external_user_id="u1")]
FAST = RetryPolicy(attempts=3, backoff_initial=0.001, backoff_max=0.002)


async def test_a_view_bounds_its_own_calls_while_the_client_keeps_its_defaults() -> None:
    """Against a Braze that answers in 0.3 s: the view's 0.1 s attempt bound fails its
    call, the client's own calls on the same pool succeed; options not given are kept and
    None lifts a bound."""
    async with (
        BrazeSimulator(latency=0.3) as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze,
    ):
        fast = braze.with_options(attempt_timeout=0.1)
        with pytest.raises(BrazeUnknownOutcomeError):
            await fast.send(Campaign("c"), recipients=ONE)
        assert (await braze.send(Campaign("c"), recipients=ONE)).dispatch_id
        still_fast = fast.with_options(retry=RetryPolicy(attempts=1))
        with pytest.raises(BrazeUnknownOutcomeError):
            await still_fast.send(Campaign("c"), recipients=ONE)
        unbounded = fast.with_options(attempt_timeout=None)
        assert (await unbounded.send(Campaign("c"), recipients=ONE)).dispatch_id
        read_bound = braze.with_options(timeout=httpx.Timeout(5.0, read=0.1))
        with pytest.raises(BrazeUnknownOutcomeError):
            await read_bound.send(Campaign("c"), recipients=ONE)


async def test_a_view_retries_by_its_own_policy() -> None:
    """Every answer a 503: the view (one attempt) sends once, the client (three) thrice."""
    async with (
        BrazeSimulator(fault_5xx=1.0, seed=1) as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url, retry=FAST) as braze,
    ):
        once = braze.with_options(retry=RetryPolicy(attempts=1))
        with pytest.raises(BrazeServerError) as info:
            await once.send(Campaign("c"), recipients=ONE)
        assert (info.value.attempts, sim.stats.requests) == (1, 1)
        with pytest.raises(BrazeServerError):
            await braze.send(Campaign("c"), recipients=ONE)
        assert sim.stats.requests == 4
        report = await once.send_bulk(Campaign("c"), ONE)
        assert (report.failed, sim.stats.requests) == (1, 5)


async def test_a_view_shares_the_pool_limiter_and_batcher() -> None:
    """A view is the same client underneath: its sends count on the client's limiter, and
    send_to_user calls through both ride in one request."""
    async with (
        BrazeSimulator() as sim,
        BrazeClient(
            api_key=sim.api_key, base_url=sim.base_url, batching=Batching(linger=0.05)
        ) as braze,
    ):
        view = braze.with_options(attempt_timeout=5.0)
        await view.send(Campaign("c"), recipients=ONE)
        await braze.send(Campaign("c"), recipients=ONE)
        assert braze.rate_limit_status()["external_id"].admitted == 2
        assert view.rate_limit_status() == braze.rate_limit_status()
        await asyncio.gather(
            braze.send_one(Campaign("b"), Recipient(external_user_id="a")),
            view.send_one(Campaign("b"), Recipient(external_user_id="b")),
            braze.send_one(Campaign("b"), Recipient(external_user_id="c")),
        )
        assert sim.stats.requests == 3  # two sends, then one batch of three
        assert sim.stats.recipients_per_request[3] == 1


async def test_closing_a_view_does_nothing_closing_the_client_closes_its_views() -> None:
    """The client owns the pool: a view's aclose leaves it open; the client's closes all."""
    async with BrazeSimulator() as sim:
        braze = BrazeClient(api_key=sim.api_key, base_url=sim.base_url)
        async with braze.with_options(retry=FAST) as view:
            await view.send(Campaign("c"), recipients=ONE)
        await braze.send(Campaign("c"), recipients=ONE)
        await braze.aclose()
        with pytest.raises(BrazeError, match="closed"):
            await view.send(Campaign("c"), recipients=ONE)
        with pytest.raises(BrazeError, match="closed"):
            await view.send_one(Campaign("c"), Recipient(external_user_id="u"))


async def test_rate_limit_status_tells_the_rate_the_slots_and_what_braze_said() -> None:
    """After a send: the configured rate, one slot counted, none in flight or waiting, and
    Braze's last X-RateLimit-Remaining / Reset."""
    async with (
        BrazeSimulator(external_id_rate="100/3600", window="sliding") as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze,
    ):
        await braze.send(Campaign("c"), recipients=ONE)
        status = braze.rate_limit_status()
    assert set(status) == {"audience", "external_id", "send_ids"}
    ext = status["external_id"]
    assert isinstance(ext, BucketStats)
    assert ext.rate == Rate(250_000, 3600.0)
    assert (ext.admitted, ext.counted, ext.in_flight, ext.waiting) == (1, 1, 0, 0)
    assert ext.paused_until is None
    assert (ext.server_limit, ext.server_remaining) == (100, 99)
    assert ext.server_reset is not None and time.time() < ext.server_reset <= time.time() + 3601
    assert status["audience"].server_remaining is None


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait for *condition* (a state that, once reached, stays), failing after 10 s."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.005)


async def test_rate_limit_status_shows_callers_waiting_and_a_429_pause() -> None:
    """Callers in line are counted while they wait; a 429 shows as paused_until."""
    async with BrazeSimulator(external_id_rate="1/30", window="sliding") as sim:
        one_an_hour = RateLimits(external_id=Rate(1, 3600.0))
        async with BrazeClient(
            api_key=sim.api_key, base_url=sim.base_url, rate_limits=one_an_hour
        ) as braze:
            await braze.send(Campaign("c"), recipients=ONE)  # Braze's one of the window too
            tasks = [
                asyncio.ensure_future(braze.send(Campaign("c"), recipients=ONE)) for _ in range(3)
            ]
            status = braze.rate_limit_status
            # They stay in line: the next slot is an hour away.
            await eventually(lambda: status()["external_id"].waiting == 3, "three waiting")
            assert (status()["external_id"].in_flight, status()["external_id"].admitted) == (0, 1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            assert status()["external_id"].waiting == 0
        # A client that has not heard Braze's headers yet sends, and meets the 429.
        async with BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as fresh:
            task = asyncio.ensure_future(fresh.send(Campaign("c"), recipients=ONE))
            status = fresh.rate_limit_status
            await eventually(lambda: status()["external_id"].paused_until is not None, "a pause")
            paused_until = status()["external_id"].paused_until
            assert paused_until is not None and paused_until > time.time() + 10
            assert sim.stats.rate_limited == 1
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_rate_limit_status_is_empty_without_a_limiter() -> None:
    """rate_limits=None: nothing to tell."""
    braze = BrazeClient(api_key="k", instance="iad-01", rate_limits=None)
    assert braze.rate_limit_status() == {}
    await braze.aclose()


async def test_responses_carry_the_answers_headers() -> None:
    """SendResponse.headers holds Braze's headers, names lower-cased; equality and hashing
    ignore them."""
    async with (
        BrazeSimulator() as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze,
    ):
        r = await braze.send(Campaign("c"), recipients=ONE)
        t = await braze.send_transactional("t", Recipient(external_user_id="u"))
    assert r.headers["x-ratelimit-limit"] == "250000"
    assert t.headers["content-type"] == "application/json"
    assert r.request_id is None  # the simulator sends none
    assert hash(r) == hash(type(r)(dispatch_id=r.dispatch_id, message=r.message))
    assert "headers" not in repr(r)


async def test_request_ids_are_read_from_the_headers_of_answers_and_errors() -> None:
    """A request id header shows as ``request_id`` on a response and on a BrazeAPIError,
    which carries the error answer's headers too."""
    replies = iter(
        [
            httpx.Response(201, headers={"X-Request-Id": "req-1"}, json={"dispatch_id": "d"}),
            httpx.Response(
                400, headers={"X-Request-Id": "req-2", "X-Other": "v"}, json={"message": "no"}
            ),
        ]
    )
    transport = httpx.MockTransport(lambda request: next(replies))
    async with BrazeClient(api_key="k", instance="iad-01", transport=transport) as braze:
        r = await braze.send(Campaign("c"), recipients=ONE)
        with pytest.raises(BrazeBadRequestError) as info:
            await braze.send(Campaign("c"), recipients=ONE)
    assert r.request_id == "req-1"
    assert info.value.request_id == "req-2"
    assert info.value.headers["x-other"] == "v"
