"""BrazeClient and its rate limiter: every request waits on the right bucket."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from _fake_time import FakeTime

from braze_async import (
    BrazeClient,
    BrazeConnectionError,
    BrazeRateLimitError,
    Campaign,
    Canvas,
    Rate,
    RateLimits,
    Recipient,
    RetryPolicy,
)
from braze_async._limits import Bucket, LimiterShare, RateLimiter
from braze_async.simulator import BrazeSimulator

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
        await braze.send(Campaign("c"), broadcast=True)
        await braze.send(
            Campaign("c"),
            audience={
                "AND": [
                    {
                        "custom_attribute": {
                            "custom_attribute_name": "eye_color",
                            "comparison": "exists",
                        }
                    }
                ]
            },
        )
        await braze.send(Canvas("cv"), broadcast=True)
        await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
        await braze.send(Canvas("cv"), recipients=[Recipient(external_user_id="u")])
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
        await braze.send(Campaign("c"), broadcast=True)
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
        await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
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
        r = await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
    assert r.dispatch_id == "d"
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.9


def test_exhausted_server_budget_pauses_until_reset() -> None:
    """Remaining: 0 with a Reset in the future holds the next request until the reset (on
    fake time: the wait is measured, not slept)."""

    async def main(ft: FakeTime) -> tuple[list[float], float]:
        calls: list[float] = []
        reset = int(ft.time()) + 2

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(ft.time())
            headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Reset": str(reset)}
            headers["X-RateLimit-Remaining"] = "0" if len(calls) == 1 else "99"
            return httpx.Response(201, json=OK, headers=headers)

        limiter = RateLimiter(RateLimits(), clock=ft)
        braze = BrazeClient(
            api_key="k",
            instance="iad-01",
            transport=httpx.MockTransport(handler),
            rate_limits=limiter,
        )

        async def two() -> None:
            async with braze:
                for _ in range(2):
                    await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])

        await ft.run([asyncio.ensure_future(two())])
        return calls, reset

    calls, reset = asyncio.run(main(FakeTime()))
    assert len(calls) == 2
    assert calls[0] < reset <= calls[1]  # held exactly until the reset, not before


async def test_unreachable_redis_is_a_connection_error_and_sends_nothing() -> None:
    """A fleet limiter that cannot reach Redis fails the send as never sent, cleanly."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(201, json=OK)

    limits = RateLimits(redis_url="redis://127.0.0.1:1/0", workspace="nowhere", redis_retry_for=0.2)
    async with make(handler, limits) as braze:
        with pytest.raises(BrazeConnectionError, match="rate limiter"):
            await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
    assert calls == []


# -- one budget per workspace in one process ---------------------------------------------------


def sim_client(sim: BrazeSimulator, key: str | None = None, **kwargs: Any) -> BrazeClient:
    """A client of *sim*'s workspace (its key unless *key*), in process."""
    return BrazeClient(
        api_key=key or sim.api_key,
        base_url="https://rest.iad-01.braze.com",
        transport=sim.transport(),
        **kwargs,
    )


async def test_clients_of_one_workspace_share_one_budget() -> None:
    """Two clients with the same key and endpoint spend one budget: two sends of a budget of
    two leave nothing for a third, whichever client sends it (before: each had its own, and
    together they earned 429s)."""
    sim = BrazeSimulator(external_id_rate=(2, 3600), window="sliding")
    limits = RateLimits(external_id=Rate(2, 3600.0))
    impatient = RetryPolicy(max_rate_limit_wait=1.0)
    async with (
        sim_client(sim, rate_limits=limits, retry=impatient) as one,
        sim_client(sim, rate_limits=limits, retry=impatient) as other,
    ):
        assert one._limiter is not None and other._limiter is not None
        await one.send(Campaign("c"), recipients=[Recipient(external_user_id="a")])
        await other.send(Campaign("c"), recipients=[Recipient(external_user_id="b")])
        assert one._limiter.limiter is other._limiter.limiter
        for braze in (one, other):
            with pytest.raises(BrazeRateLimitError, match="nothing was sent"):
                await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="c")])
    assert sim.stats.rate_limited == 0


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("https://rest.iad-01.braze.com/", id="trailing-slash"),
        pytest.param("https://REST.iad-01.Braze.com", id="case"),
        pytest.param("HTTPS://rest.iad-01.braze.com:443", id="default-port"),
        pytest.param("https://REST.iad-01.braze.com:443/", id="all-three"),
    ],
)
async def test_one_endpoint_spelt_two_ways_is_one_budget(spelling: str) -> None:
    """``instance="iad-01"`` and the same endpoint written another way (case, default port,
    trailing slash) name one budget: one limiter, and a budget of two spent by both leaves
    nothing for a third (before: two budgets, and the third send earned a 429)."""
    sim = BrazeSimulator(external_id_rate=(2, 3600), window="sliding")
    limits = RateLimits(external_id=Rate(2, 3600.0))
    impatient = RetryPolicy(max_rate_limit_wait=1.0)
    shared: dict[str, Any] = {"api_key": sim.api_key, "rate_limits": limits, "retry": impatient}
    async with (
        BrazeClient(instance="iad-01", transport=sim.transport(), **shared) as one,
        BrazeClient(base_url=spelling, transport=sim.transport(), **shared) as other,
    ):
        assert one._limiter is not None and other._limiter is not None
        await one.send(Campaign("c"), recipients=[Recipient(external_user_id="a")])
        await other.send(Campaign("c"), recipients=[Recipient(external_user_id="b")])
        assert one._limiter.limiter is other._limiter.limiter
        assert other.rate_limit_status()["external_id"].admitted == 2
        with pytest.raises(BrazeRateLimitError, match="nothing was sent"):
            await other.send(Campaign("c"), recipients=[Recipient(external_user_id="c")])
    assert sim.stats.rate_limited == 0


def test_a_status_read_before_the_event_loop_does_not_split_the_budget() -> None:
    """rate_limit_status() of a client not used yet, outside any event loop, reports an idle
    budget and takes no limiter: in the loop the client then shares its workspace's budget
    with the other clients (before, that status read bound it to a limiter of its own, and
    the two clients spent a budget of one twice)."""
    sim = BrazeSimulator(external_id_rate=(1, 3600), window="sliding")
    limits = RateLimits(external_id=Rate(1, 3600.0))
    impatient = RetryPolicy(max_rate_limit_wait=1.0)
    early = sim_client(sim, rate_limits=limits, retry=impatient)
    status = early.rate_limit_status()["external_id"]
    assert (status.admitted, status.counted, status.rate) == (0, 0, Rate(1, 3600.0))

    async def main() -> None:
        late = sim_client(sim, rate_limits=limits, retry=impatient)
        async with early, late:
            await early.send(Campaign("c"), recipients=[Recipient(external_user_id="a")])
            with pytest.raises(BrazeRateLimitError, match="nothing was sent"):
                await late.send(Campaign("c"), recipients=[Recipient(external_user_id="b")])
            assert early.rate_limit_status()["external_id"].admitted == 1

    asyncio.run(main())
    assert sim.stats.rate_limited == 0


async def test_a_limiter_closed_under_its_shares_is_replaced_for_the_next_ones() -> None:
    """Someone closes a shared limiter directly: the next share of the budget gets a fresh
    one, and the first share's close later neither counts against the fresh one nor closes
    it; the fresh one closes with its own last share."""
    limits = RateLimits(workspace=f"replaced-{uuid.uuid4().hex[:8]}")
    first = LimiterShare(limits, name="unused")
    old = first.limiter
    await old.aclose()
    second, third = LimiterShare(limits, name="unused"), LimiterShare(limits, name="unused")
    fresh = second.limiter
    assert fresh is not old and third.limiter is fresh
    await first.aclose()
    await second.aclose()
    assert not fresh.closed
    await third.aclose()
    assert fresh.closed


async def test_other_configurations_and_workspaces_keep_their_own_budget() -> None:
    """Other RateLimits, another key or another workspace name: another budget; the same
    workspace name and limits: the same one, whatever the key."""
    sim = BrazeSimulator()
    two = RateLimits(external_id=Rate(2, 3600.0))
    named = RateLimits(external_id=Rate(2, 3600.0), workspace="w")
    clients = [
        sim_client(sim, rate_limits=two),
        sim_client(sim, rate_limits=RateLimits(external_id=Rate(3, 3600.0))),
        sim_client(sim, key="other-key", rate_limits=two),
        sim_client(sim, rate_limits=named),
        sim_client(sim, key="third-key", rate_limits=named),
    ]
    limiters = [braze._limiter.limiter for braze in clients if braze._limiter is not None]
    assert len({id(lim) for lim in limiters[:4]}) == 4
    assert limiters[4] is limiters[3]
    for braze in clients:
        await braze.aclose()


async def test_a_shared_limiter_closes_with_its_last_client_only() -> None:
    """Closing one client neither closes the shared limiter nor fails the other client's
    waiting calls; closing the last one closes the limiter."""
    sim = BrazeSimulator()
    limits = RateLimits(external_id=Rate(1, 3600.0))
    one, other = sim_client(sim, rate_limits=limits), sim_client(sim, rate_limits=limits)
    await one.send(Campaign("c"), recipients=[Recipient(external_user_id="a")])
    waiting = asyncio.ensure_future(
        other.send(Campaign("c"), recipients=[Recipient(external_user_id="b")])
    )
    for _ in range(5):
        await asyncio.sleep(0)
    assert other._limiter is not None
    shared = other._limiter.limiter
    await one.aclose()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done() and not shared.closed
    waiting.cancel()
    await other.aclose()
    assert shared.closed


async def test_a_limiter_can_be_passed_in_and_stays_the_callers() -> None:
    """limiter=: clients with different keys of one workspace share the limiter handed in;
    closing them leaves it open for its owner."""
    limiter = RateLimiter(RateLimits(external_id=Rate(2, 3600.0)))
    impatient = RetryPolicy(max_rate_limit_wait=1.0)
    transport = httpx.MockTransport(lambda r: httpx.Response(201, json=OK))
    async with (
        BrazeClient(api_key="k1", instance="iad-01", transport=transport, rate_limits=limiter,
                    retry=impatient) as one,
        BrazeClient(api_key="k2", instance="iad-01", transport=transport, rate_limits=limiter,
                    retry=impatient) as other,
    ):  # fmt: skip
        await one.send(Campaign("c"), recipients=[Recipient(external_user_id="a")])
        await other.send(Campaign("c"), recipients=[Recipient(external_user_id="b")])
        with pytest.raises(BrazeRateLimitError):
            await one.send(Campaign("c"), recipients=[Recipient(external_user_id="c")])
    assert not limiter.closed
    assert limiter.snapshot(Bucket.EXTERNAL_ID).admitted == 2
    await limiter.aclose()


def test_clients_in_different_event_loops_get_their_own_limiters() -> None:
    """A limiter belongs to one event loop: a client of the same workspace in another loop
    (another asyncio.run, another thread) gets another one, and no error."""
    sim = BrazeSimulator()
    clients: list[BrazeClient] = []

    async def main() -> None:
        braze = sim_client(sim)
        clients.append(braze)  # left open on purpose: its limiter stays registered
        await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="a")])

    asyncio.run(main())
    asyncio.run(main())
    first, second = (braze._limiter for braze in clients)
    assert first is not None and second is not None
    assert first.limiter is not second.limiter


def test_a_client_collected_unclosed_lets_go_of_its_limiter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client garbage-collected without aclose() gives its limiter back to the registry,
    even when the collection runs in the middle of the registry making another limiter (its
    finalizer must not wait for the registry's lock: before, that deadlocked)."""
    from braze_async._limits import _shared

    sim = BrazeSimulator()
    made: list[RateLimiter] = []

    def collecting(*args: Any, **kwargs: Any) -> RateLimiter:
        gc.collect()  # the unclosed client's share is finalized right here
        made.append(RateLimiter(*args, **kwargs))
        return made[-1]

    async def main() -> None:
        first = sim_client(sim)
        assert first._limiter is not None
        lost = first._limiter.limiter
        del first
        monkeypatch.setattr(_shared, "RateLimiter", collecting)
        again = sim_client(sim, rate_limits=RateLimits(margin=0.5))  # another budget: made
        assert again._limiter is not None
        assert again._limiter.limiter is made[0]
        monkeypatch.undo()
        fresh = sim_client(sim)  # the first one's budget: given back, so made anew
        assert fresh._limiter is not None
        assert fresh._limiter.limiter is not lost
        await again.aclose()
        await fresh.aclose()

    done = threading.Event()
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=in_thread, daemon=True)
    worker.start()
    assert done.wait(timeout=30), "the registry deadlocked"
    assert not errors, errors
