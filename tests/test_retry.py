"""The retry decision as a table: attempt history + latest outcome -> retry / give up / unknown.

No I/O and no sleeps: :class:`Attempts` is fed outcomes and its decisions are checked.
"""

from __future__ import annotations

import random

import httpx
import pytest

from braze_async import (
    BrazeAPIError,
    BrazeBadRequestError,
    BrazeConnectionError,
    BrazeRateLimitError,
    BrazeRateLimitWaitError,
    BrazeServerError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    RetryPolicy,
)
from braze_async._http import CannotSend, MaybeProcessed, NeverSent
from braze_async._limits import WaitTooLong
from braze_async._retry import Attempts, GiveUp, NotAdmitted, Outcome, Retry, Unknown

PATH = "/campaigns/trigger/send"


def answer(status: int, retry_after: float | None = None) -> BrazeAPIError:
    kind = {400: BrazeBadRequestError, 429: BrazeRateLimitError}.get(status, BrazeServerError)
    return kind(f"HTTP {status}", status_code=status, endpoint=PATH, retry_after=retry_after)


def never_sent() -> NeverSent:
    error = NeverSent("ConnectError: refused")
    error.__cause__ = httpx.ConnectError("refused")
    return error


def maybe() -> MaybeProcessed:
    error = MaybeProcessed("ReadTimeout: timed out")
    error.__cause__ = httpx.ReadTimeout("timed out")
    return error


def too_long() -> NotAdmitted:
    """The limiter's refusal: the budget frees in 1800 s, the policy waits 60 s at most."""
    cause = WaitTooLong(1800.0, 60.0)
    return NotAdmitted(str(cause), cause)


def attempts(*, retry_ambiguous: bool = False, paced: bool = False, **policy: float) -> Attempts:
    return Attempts(
        RetryPolicy(**policy),  # type: ignore[arg-type]
        endpoint=PATH,
        retry_ambiguous=retry_ambiguous,
        paced=paced,
        rng=random.Random(7),
    )


def kinds(history: Attempts, outcomes: list[Outcome]) -> list[str]:
    """Feed *outcomes* in order; the decisions' kinds (and the final error's class)."""
    seen: list[str] = []
    for outcome in outcomes:
        decision = history.decide(outcome)
        if isinstance(decision, Retry):
            seen.append("retry")
        else:
            seen.append(f"{type(decision).__name__}:{type(decision.error).__name__}")
    return seen


@pytest.mark.parametrize(
    ("options", "outcomes", "expected"),
    [
        pytest.param(
            {},
            [answer(500), answer(503), answer(500), answer(503)],
            ["retry", "retry", "retry", "GiveUp:BrazeServerError"],
            id="500-503-retried-until-attempts-spent",
        ),
        pytest.param(
            {},
            [answer(502), answer(502), answer(502), answer(502)],
            ["retry", "retry", "retry", "GiveUp:BrazeServerError"],
            id="502-failed-before-reaching-braze-is-retried",
        ),
        pytest.param(
            {"retry_ambiguous": True, "attempts": 2},
            [answer(502), answer(500)],
            ["retry", "GiveUp:BrazeServerError"],
            id="5xx-after-a-502-is-still-a-plain-failure",
        ),
        pytest.param(
            {},
            [answer(503), answer(504)],
            ["retry", "Unknown:BrazeUnknownOutcomeError"],
            id="504-from-a-gateway-is-maybe-processed",
        ),
        pytest.param(
            {"retry_ambiguous": True},
            [answer(504), answer(502), answer(500)],
            ["retry", "retry", "retry"],
            id="gateway-errors-retried-when-ambiguity-is-allowed",
        ),
        pytest.param(
            {"retry_ambiguous": True, "attempts": 2},
            [answer(504), answer(500)],
            ["retry", "Unknown:BrazeUnknownOutcomeError"],
            id="5xx-after-a-gateway-error-is-unknown",
        ),
        pytest.param({}, [answer(400)], ["GiveUp:BrazeBadRequestError"], id="4xx-never-retried"),
        pytest.param(
            {"attempts": 2},
            [never_sent(), never_sent()],
            ["retry", "GiveUp:BrazeConnectionError"],
            id="never-sent-retried-then-connection-error",
        ),
        pytest.param(
            {}, [maybe()], ["Unknown:BrazeUnknownOutcomeError"], id="ambiguous-not-retried"
        ),
        pytest.param(
            {"retry_ambiguous": True},
            [maybe(), answer(400)],
            ["retry", "Unknown:BrazeUnknownOutcomeError"],
            id="definitive-failure-after-ambiguous-retry-is-unknown",
        ),
        pytest.param(
            {"retry_ambiguous": True, "attempts": 2},
            [maybe(), maybe()],
            ["retry", "Unknown:BrazeUnknownOutcomeError"],
            id="ambiguous-retries-bounded-by-attempts",
        ),
        pytest.param(
            {"retry_ambiguous": True},
            [maybe(), never_sent(), never_sent(), never_sent()],
            ["retry", "retry", "retry", "Unknown:BrazeUnknownOutcomeError"],
            id="never-sent-after-ambiguous-is-still-unknown",
        ),
        pytest.param(
            {"attempts": 1, "rate_limited_attempts": 2},
            [answer(429, 1.0), answer(429, 1.0), answer(429, 1.0)],
            ["retry", "retry", "GiveUp:BrazeRateLimitError"],
            id="429s-have-their-own-count",
        ),
        pytest.param(
            {"attempts": 2},
            [answer(429, 1.0), answer(500), answer(429, 1.0), answer(500)],
            ["retry", "retry", "retry", "GiveUp:BrazeServerError"],
            id="429s-do-not-spend-attempts",
        ),
        pytest.param(
            {},
            [CannotSend("UnsupportedProtocol: ftp")],
            ["GiveUp:BrazeConnectionError"],
            id="cannot-send-never-retried",
        ),
        pytest.param(
            {},
            [NotAdmitted("ConnectionError: redis down", OSError("redis down"))],
            ["GiveUp:BrazeConnectionError"],
            id="not-admitted-is-never-sent",
        ),
        pytest.param(
            {"retry_ambiguous": True},
            [maybe(), NotAdmitted("ConnectionError: redis down", OSError("redis down"))],
            ["retry", "Unknown:BrazeUnknownOutcomeError"],
            id="not-admitted-after-ambiguous-is-unknown",
        ),
        pytest.param(
            {},
            [too_long()],
            ["GiveUp:BrazeRateLimitWaitError"],
            id="a-wait-too-long-is-never-sent",
        ),
        pytest.param(
            {"retry_ambiguous": True},
            [maybe(), too_long()],
            ["retry", "Unknown:BrazeUnknownOutcomeError"],
            id="a-wait-too-long-after-ambiguous-is-unknown",
        ),
    ],
)
def test_decision_table(
    options: dict[str, float], outcomes: list[Outcome], expected: list[str]
) -> None:
    """Each history of outcomes gives exactly these decisions, in order."""
    assert kinds(attempts(**options), outcomes) == expected  # type: ignore[arg-type]


class Ceiling(random.Random):
    """A random source whose uniform draws are always the top of their range."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Floor(random.Random):
    """A random source whose uniform draws are always the bottom of their range."""

    def uniform(self, a: float, b: float) -> float:
        return a


def backoffs(rng: random.Random, n: int = 5) -> list[float]:
    """The delays of *n* retries after 503s (initial 1 s, at most 4 s), drawn from *rng*."""
    policy = RetryPolicy(attempts=n + 1, backoff_initial=1.0, backoff_max=4.0)
    history = Attempts(policy, endpoint=PATH, retry_ambiguous=False, paced=False, rng=rng)
    delays = []
    for _ in range(n):
        decision = history.decide(answer(503))
        assert isinstance(decision, Retry)
        delays.append(decision.delay)
    return delays


def test_backoff_is_full_jitter_below_a_doubling_ceiling() -> None:
    """The n-th retry waits uniformly below min(backoff_max, initial * 2**(n-1)): the ceiling
    doubles up to the cap, the floor is 0, and the draws come from the policy's rng."""
    assert backoffs(Ceiling()) == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoffs(Floor()) == [0.0] * 5
    drawn = backoffs(random.Random(7), 200)
    ceilings = [min(4.0, 2.0 ** (n - 1)) for n in range(1, 201)]
    assert all(0 <= d <= c for d, c in zip(drawn, ceilings, strict=True))
    assert len(set(drawn)) == 200  # jittered, not a fixed schedule
    assert sum(drawn[3:]) / len(drawn[3:]) == pytest.approx(2.0, abs=0.3)  # uniform below 4


def test_without_jitter_the_backoff_is_its_ceiling() -> None:
    """RetryPolicy(jitter=False): each retry waits its ceiling, whatever the rng draws."""
    policy = RetryPolicy(attempts=6, backoff_initial=1.0, backoff_max=4.0, jitter=False)
    history = Attempts(policy, endpoint=PATH, retry_ambiguous=False, paced=False, rng=Floor())
    delays = [history.decide(answer(503)) for _ in range(5)]
    assert [d.delay for d in delays if isinstance(d, Retry)] == [1.0, 2.0, 4.0, 4.0, 4.0]
    with pytest.raises(BrazeValidationError, match="jitter"):
        RetryPolicy(jitter=0)  # type: ignore[arg-type]


def test_a_wait_refused_here_says_braze_sent_no_status() -> None:
    """The limiter's wait past max_rate_limit_wait: a BrazeRateLimitWaitError (still caught
    as BrazeRateLimitError) with no status code, since Braze never answered it; it says why,
    how long the budget needs and how long the policy waits; Braze's own 429 keeps its 429."""
    final = attempts().decide(too_long())
    assert isinstance(final, GiveUp)
    error = final.error
    assert isinstance(error, BrazeRateLimitWaitError)
    assert isinstance(error, BrazeRateLimitError)
    assert error.status_code is None
    assert (error.retry_after, error.max_wait) == (1800.0, 60.0)
    assert isinstance(error.__cause__, WaitTooLong)
    assert str(error) == (
        "rate limited: the budget frees in 1800.0 s; the caller waits 60 s at most "
        "(RetryPolicy.max_rate_limit_wait); nothing was sent (/campaigns/trigger/send, 1 attempt)"
    )
    braze = attempts(rate_limited_attempts=1)
    braze.decide(answer(429, 1.0))
    told = braze.decide(answer(429, 1.0))
    assert isinstance(told, GiveUp)
    assert type(told.error) is BrazeRateLimitError and told.error.status_code == 429


def test_429_waits_for_braze_headers_capped_by_max_rate_limit_wait() -> None:
    """Unpaced, a 429 waits Retry-After, never longer than max_rate_limit_wait."""
    history = attempts(max_rate_limit_wait=30.0)
    assert history.decide(answer(429, 12.5)) == Retry(12.5, "rate limited", rate_limited=True)
    assert history.decide(answer(429, 3600.0)) == Retry(30.0, "rate limited", rate_limited=True)


def test_429_without_headers_backs_off() -> None:
    """A 429 with no usable header waits a backoff plus the initial step."""
    decision = attempts(backoff_initial=0.5, backoff_max=8.0).decide(answer(429))
    assert isinstance(decision, Retry)
    assert 0.5 <= decision.delay <= 1.0


def test_paced_429_goes_straight_back_to_the_limiter() -> None:
    """With the limiter pacing the bucket, the retry does not sleep: the limiter waits."""
    decision = attempts(paced=True).decide(answer(429, 60.0))
    assert decision == Retry(0.0, "rate limited", rate_limited=True)


def test_errors_name_endpoint_attempts_and_cause() -> None:
    """The final error names the endpoint and the attempt count, and chains the cause."""
    history = attempts(attempts=3)
    outcomes: list[Outcome] = [never_sent(), never_sent(), never_sent()]
    decisions = [history.decide(o) for o in outcomes]
    final = decisions[-1]
    assert isinstance(final, GiveUp)
    assert isinstance(final.error, BrazeConnectionError)
    assert final.error.endpoint == PATH
    assert final.error.attempts == 3
    assert isinstance(final.error.__cause__, httpx.ConnectError)
    assert "could not reach Braze: ConnectError: refused" in str(final.error)


def test_unknown_after_ambiguous_chains_the_last_error() -> None:
    """An unknown outcome built from a later failure keeps that failure as its cause."""
    history = attempts(retry_ambiguous=True)
    history.decide(maybe())
    final = history.decide(answer(400))
    assert isinstance(final, Unknown)
    assert isinstance(final.error, BrazeUnknownOutcomeError)
    assert isinstance(final.error.__cause__, BrazeBadRequestError)
    assert "ReadTimeout" in str(final.error)
