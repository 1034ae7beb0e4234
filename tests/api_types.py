"""The public API's types, pinned: mypy --strict checks this file; nothing runs it.

If a change to braze_async breaks a line here, it breaks users' type-checked code too.
"""

from __future__ import annotations

import random
from typing import Any

from typing_extensions import assert_type

from braze_async import (
    Attachment,
    BrazeAPIError,
    BrazeClient,
    BrazeError,
    BrazeRateLimitError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    BulkReport,
    ErrorDetail,
    Rate,
    RateLimiter,
    RateLimits,
    Recipient,
    RetryPolicy,
    SendResponse,
    SendResult,
    TransactionalEvent,
    TransactionalResponse,
    UserAlias,
    parse_transactional_postback,
)
from braze_async.simulator import BrazeSimulator, ThreadedSimulator
from braze_async.testing import set_retry_timing


async def client_api(key: str) -> None:
    braze = BrazeClient(
        api_key=key,
        instance="iad-01",
        retry=RetryPolicy(attempts=3, retry_ambiguous=False),
        rate_limits=RateLimits(audience=Rate(250, 60.0), external_id=Rate(250_000, 3600.0)),
    )
    BrazeClient(api_key=key, base_url="https://rest.iad-01.braze.com", rate_limits=None)
    shared = RateLimiter(RateLimits(workspace="prod", redis_timeout=1.0, redis_retry_for=5.0))
    BrazeClient(api_key=key, instance="iad-01", limiter=shared)
    BrazeClient(api_key=key, instance="iad-01", retry=RetryPolicy(max_rate_limit_wait=5.0))
    braze.configure_batching(max_concurrency=8, linger=0.01, max_pending=1_000)
    async with braze:
        r = await braze.trigger_campaign(
            "c",
            recipients=[Recipient(external_user_id="u", trigger_properties={"a": 1})],
            trigger_properties={"b": [1, 2]},
            send_id="s",
            attachments=[Attachment("f", "https://x/f.pdf")],
        )
        assert_type(r, SendResponse)
        assert_type(r.dispatch_id, str | None)
        assert_type(r.errors, tuple[ErrorDetail, ...])
        assert_type(await braze.trigger_campaign("c", broadcast=True), SendResponse)
        assert_type(await braze.trigger_campaign("c", audience={"AND": []}), SendResponse)
        assert_type(
            await braze.trigger_canvas(
                "cv", recipients=[Recipient(user_alias=UserAlias("n", "l"))]
            ),
            SendResponse,
        )
        t = await braze.send_transactional(
            "t", Recipient(external_user_id="u"), external_send_id="o-1"
        )
        assert_type(t, TransactionalResponse)
        assert_type(t.send_id, str | None)
        one = await braze.send_to_user(Recipient(external_user_id="u"), campaign_id="c")
        assert_type(one, SendResult)
        assert_type(one.dispatch_id, str | None)
        report = await braze.bulk_send([Recipient(external_user_id="u")], campaign_id="c")
        assert_type(report, BulkReport)
        assert_type(report.sent + report.rejected + report.failed + report.unknown, int)
    await braze.aclose()


def errors_api(exc: BrazeError) -> None:
    if isinstance(exc, BrazeValidationError):
        assert_type(exc.field, str)
        assert_type(exc.rule, str)
    if isinstance(exc, BrazeAPIError):
        assert_type(exc.status_code, int)
        assert_type(exc.errors, tuple[ErrorDetail, ...])
    if isinstance(exc, BrazeRateLimitError):
        assert_type(exc.retry_after, float | None)
    if isinstance(exc, BrazeUnknownOutcomeError):
        assert_type(exc.endpoint, str)


def postback_api(body: bytes, data: dict[str, Any]) -> None:
    assert_type(parse_transactional_postback(body), TransactionalEvent)
    assert_type(parse_transactional_postback(data).external_send_id, str | None)


async def simulator_api() -> None:
    async with BrazeSimulator(external_id_rate="50/4", window="sliding", seed=1) as sim:
        assert_type(sim.base_url, str)
        assert_type(sim.api_key, str)
        assert_type(sim.delivered_counts()["external_user_id:u"], int)
    with ThreadedSimulator() as threaded:
        assert_type(threaded.base_url, str)


async def testing_api(key: str) -> None:
    async def no_sleep(delay: float) -> None:
        return None

    braze = set_retry_timing(BrazeClient(api_key=key, instance="iad-01"), sleep=no_sleep)
    assert_type(braze, BrazeClient)
    set_retry_timing(braze, rng=random.Random(0))
    await braze.aclose()
