"""Every setting is checked where it is given, and nothing that is not Braze's error makes a
request that never left *unknown*.

A setting read from an environment variable arrives as text (``attempt_timeout="90"``); an
infinite or NaN number slips through ``isinstance``. Each is refused at once with a
:class:`BrazeValidationError` naming it, before any network, instead of failing every
request later (a bulk job's recipients all *unknown*, never resent) or after delivery.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from braze_async import (
    AiohttpTransport,
    Batching,
    BrazeClient,
    BrazeValidationError,
    Campaign,
    Rate,
    RateLimits,
    Recipient,
    RetryPolicy,
)
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

KEY = "sk-settings-0123456789"
INF, NAN = math.inf, math.nan


def raw(value: object) -> Any:
    """*value* as a setting read from a file or the environment meets the code: untyped."""
    return value


def client(**settings: Any) -> BrazeClient:
    return BrazeClient(api_key=KEY, instance="iad-01", **settings)


def view(**options: Any) -> BrazeClient:
    return client().with_options(**options)


def limits(**values: Any) -> AiohttpTransport:
    return AiohttpTransport(limits=httpx.Limits(**values))


@pytest.mark.parametrize(
    ("make", "field"),
    [
        pytest.param(lambda: client(timeout="30"), "timeout", id="timeout-as-text"),
        pytest.param(lambda: client(timeout=-1), "timeout", id="timeout-negative"),
        pytest.param(lambda: client(timeout=NAN), "timeout", id="timeout-nan"),
        pytest.param(lambda: client(timeout=True), "timeout", id="timeout-bool"),
        pytest.param(lambda: client(timeout=httpx.Timeout(5.0, pool=INF)), "timeout.pool",
                     id="pool-timeout-infinite"),
        pytest.param(lambda: client(timeout=httpx.Timeout(raw("5"))), "timeout.connect",
                     id="httpx-timeout-of-text"),
        pytest.param(lambda: client(attempt_timeout="90"), "attempt_timeout",
                     id="attempt-timeout-as-text"),
        pytest.param(lambda: client(attempt_timeout=INF), "attempt_timeout",
                     id="attempt-timeout-infinite"),
        pytest.param(lambda: client(attempt_timeout=0), "attempt_timeout",
                     id="attempt-timeout-zero"),
        pytest.param(lambda: client(retry={"attempts": 2}), "retry", id="retry-as-dict"),
        pytest.param(lambda: client(rate_limits="250000/3600"), "rate_limits",
                     id="rate-limits-as-text"),
        pytest.param(lambda: client(transport="aiohttp"), "transport", id="transport-as-text"),
        pytest.param(lambda: client(max_response_bytes="1048576"), "max_response_bytes",
                     id="max-response-bytes-as-text"),
        pytest.param(lambda: client(max_response_bytes=0), "max_response_bytes",
                     id="max-response-bytes-zero"),
        pytest.param(lambda: client(max_response_bytes=1e6), "max_response_bytes",
                     id="max-response-bytes-float"),
        pytest.param(lambda: client(batching={"linger": 0}), "batching", id="batching-as-dict"),
        pytest.param(lambda: client(on_event="print"), "on_event", id="on-event-as-text"),
        pytest.param(lambda: client(on_event=[print, None]), "on_event",
                     id="on-event-not-callable"),
        pytest.param(lambda: client(clock=object()), "clock", id="clock-not-a-clock"),
        pytest.param(lambda: view(timeout="2"), "timeout", id="view-timeout-as-text"),
        pytest.param(lambda: view(attempt_timeout="2"), "attempt_timeout",
                     id="view-attempt-timeout-as-text"),
        pytest.param(lambda: view(attempt_timeout=-2), "attempt_timeout",
                     id="view-attempt-timeout-negative"),
        pytest.param(lambda: view(retry=None), "retry", id="view-retry-none"),
        pytest.param(lambda: RetryPolicy(attempts=True), "RetryPolicy.attempts",
                     id="retry-attempts-bool"),
        pytest.param(lambda: RetryPolicy(attempts=raw("3")), "RetryPolicy.attempts",
                     id="retry-attempts-as-text"),
        pytest.param(lambda: RetryPolicy(backoff_max=INF), "RetryPolicy.backoff_max",
                     id="retry-backoff-infinite"),
        pytest.param(lambda: RetryPolicy(max_rate_limit_wait=raw("60")),
                     "RetryPolicy.max_rate_limit_wait", id="retry-max-wait-as-text"),
        pytest.param(lambda: RetryPolicy(retry_ambiguous=raw("false")),
                     "RetryPolicy.retry_ambiguous", id="retry-ambiguous-as-text"),
        pytest.param(lambda: RetryPolicy(jitter=raw(1)), "RetryPolicy.jitter",
                     id="retry-jitter-int"),
        pytest.param(lambda: Rate(raw("10"), 1.0), "Rate.limit", id="rate-limit-as-text"),
        pytest.param(lambda: Rate(10, INF), "Rate.period", id="rate-period-infinite"),
        pytest.param(lambda: RateLimits(margin=raw("1")), "RateLimits.margin",
                     id="rate-limits-margin-as-text"),
        pytest.param(lambda: RateLimits(external_id=raw((10, 1))), "RateLimits.external_id",
                     id="rate-limits-tuple-rate"),
        pytest.param(lambda: Batching(linger=INF), "linger", id="batching-linger-infinite"),
        pytest.param(lambda: Batching(max_pending=raw("10")), "max_pending",
                     id="batching-max-pending-as-text"),
        pytest.param(lambda: limits(keepalive_expiry=INF), "limits.keepalive_expiry",
                     id="keepalive-infinite"),
        pytest.param(lambda: limits(keepalive_expiry="30"), "limits.keepalive_expiry",
                     id="keepalive-as-text"),
        pytest.param(lambda: limits(max_connections=1.5), "limits.max_connections",
                     id="max-connections-float"),
        pytest.param(lambda: limits(max_connections=True), "limits.max_connections",
                     id="max-connections-bool"),
        pytest.param(lambda: AiohttpTransport(limits=raw((64, 30))), "limits",
                     id="limits-as-tuple"),
    ],
)  # fmt: skip
def test_a_setting_of_the_wrong_type_or_range_is_refused_naming_it(
    make: Callable[[], object], field: str
) -> None:
    """Refused where it is given, before any network, with the setting's name."""
    with pytest.raises(BrazeValidationError) as info:
        make()
    assert info.value.field == field


def test_good_settings_are_kept() -> None:
    """Numbers of either type, None where a bound may be off, hooks in a list."""
    braze = client(
        timeout=httpx.Timeout(5, pool=None),
        attempt_timeout=None,
        max_response_bytes=4096,
        on_event=[print],
        transport=limits(max_connections=8, keepalive_expiry=None),
    )
    assert braze.with_options(timeout=None, attempt_timeout=30).base_url == braze.base_url
    assert RetryPolicy(attempts=2, backoff_initial=0, max_rate_limit_wait=60).attempts == 2


class RefusingHook:
    """An ``httpx.AsyncClient`` request hook that fails: a bug of ours or of the caller's,
    before anything left this process."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, request: httpx.Request) -> None:
        self.calls += 1
        raise RuntimeError("a request hook failed")


async def test_an_error_that_is_not_brazes_before_anything_left_is_never_sent(
    tmp_path: Path,
) -> None:
    """A failure below us before the request left (here an injected client's request hook)
    fails the job's recipients as never sent, not unknown: resumed once it is fixed, the job
    sends them all."""
    journal = tmp_path / "job.journal"
    everyone = [Recipient(external_user_id=f"u{i}") for i in range(200)]
    hook = RefusingHook()
    async with BrazeSimulator(KEY) as sim:
        async with (
            httpx.AsyncClient(event_hooks={"request": [hook]}) as http,
            BrazeClient(api_key=KEY, base_url=sim.base_url, transport=http) as braze,
        ):
            report = await braze.send_bulk(Campaign("weekly"), everyone, journal=journal)
        assert hook.calls > 0 and sim.stats.requests == 0
        assert report.unknown == 0
        assert report.sent + report.failed + report.not_attempted == 200
        async with BrazeClient(api_key=KEY, base_url=sim.base_url) as braze:
            resumed = await braze.send_bulk(Campaign("weekly"), everyone, journal=journal)
        assert (resumed.sent, resumed.unknown) == (200, 0)
        assert len(sim.delivered()) == 200
