"""What the rate limiter is told (:class:`RateLimits`, :class:`Rate`) and what it reports.

Braze counts requests per workspace in budgets (:class:`Bucket`): 250 per minute for
segment and Connected Audience sends, 250,000 per hour for sends by external ID (and the
endpoints without a limit of their own), 100 a day for ``/sends/id/create``. Values are
checked when built, so a limiter never starts from a nonsensical configuration.
"""

from __future__ import annotations

import enum
import math
from typing import Literal, TypeAlias

import attrs

from .._errors import BrazeValidationError
from .._redact import redact_url
from .._validate import check_count, check_seconds

__all__ = ["PRIORITIES", "Bucket", "BucketStats", "Priority", "Rate", "RateLimits"]

#: The lane of a request: ``"interactive"`` (a user waits on it: admitted first, may use the
#: whole budget) or ``"bulk"`` (a job: admitted after every waiting interactive request, and
#: within ``1 - RateLimits.reserve`` of each budget).
Priority: TypeAlias = Literal["interactive", "bulk"]
#: Both lanes, in the order they are served.
PRIORITIES: tuple[Priority, ...] = ("interactive", "bulk")


class Bucket(enum.Enum):
    """The request budgets Braze enforces on the endpoints this client calls."""

    AUDIENCE = "audience"
    EXTERNAL_ID = "external_id"
    #: ``/sends/id/create``: send IDs created a day (api_limits.md).
    SEND_IDS = "send_ids"


def _check_limit(instance: Rate, attribute: attrs.Attribute[int], value: object) -> None:
    del instance, attribute
    check_count(value, "Rate.limit")


def _to_period(value: object) -> float:
    return float(check_seconds(value, "Rate.period"))


@attrs.frozen
class Rate:
    """At most ``limit`` requests in any ``period`` seconds.

    >>> Rate(250, 60.0)
    Rate(limit=250, period=60.0)
    """

    #: Requests allowed in any window of ``period`` seconds.
    limit: int = attrs.field(validator=_check_limit)
    #: Length of the window, in seconds.
    period: float = attrs.field(converter=_to_period)


def _non_negative_finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    del instance
    check_seconds(value, f"RateLimits.{attribute.name}", zero=attribute.name not in _POSITIVE)


#: The fields of :class:`RateLimits` that must be > 0 (the others may be 0).
_POSITIVE = frozenset({"lease", "redis_timeout"})


def _fraction(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    del instance
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value < 1  # NaN fails too
    ):
        raise ValueError(f"RateLimits.{attribute.name} must be a fraction in [0, 1), got {value!r}")


def _url_repr(url: str | None) -> str:
    return "None" if url is None else repr(redact_url(url))


def _optional_name(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    del instance
    if value is not None and (not isinstance(value, str) or not value):
        raise BrazeValidationError(
            f"RateLimits.{attribute.name}", "must be a non-empty str or None"
        )


def _is_rate(instance: object, attribute: attrs.Attribute[Rate], value: object) -> None:
    del instance
    if not isinstance(value, Rate):
        raise BrazeValidationError(f"RateLimits.{attribute.name}", f"must be a Rate, not {value!r}")


@attrs.frozen(kw_only=True)
class RateLimits:
    """How fast the client may send; Braze's published limits by default.

    >>> RateLimits(redis_url="redis://localhost:6379/0", workspace="acme-prod")  # doctest: +SKIP
    """

    #: Segment and Connected Audience sends (and scheduled triggers): 250 per minute.
    audience: Rate = attrs.field(default=Rate(250, 60.0), validator=_is_rate)
    #: Broadcasts to one unique audience, on top of :attr:`audience`: api_limits.md gives
    #: the broadcast calls of /messages/send, /campaigns/trigger/send, /canvas/trigger/send
    #: and the campaign and Canvas schedule creates "250 requests per minute across all
    #: audiences, and 10 requests per minute per unique audience (whichever limit hits
    #: first)". The same audience: the same campaign or Canvas, segment and ``audience``
    #: filter (each request's ``audience_key``), whatever the endpoint.
    per_audience: Rate = attrs.field(default=Rate(10, 60.0), validator=_is_rate)
    #: Sends by external ID and every endpoint without a limit of its own: 250,000 per hour.
    external_id: Rate = attrs.field(default=Rate(250_000, 3600.0), validator=_is_rate)
    #: Send IDs created (``/sends/id/create``): 100 a day per workspace (api_limits.md,
    #: post_create_send_ids.md), counted here over any 24 hours.
    send_ids: Rate = attrs.field(default=Rate(100, 86400.0), validator=_is_rate)
    #: When set, the budgets are shared by every process using the same Redis and workspace.
    #: Its password never appears in a repr, log line or error.
    redis_url: str | None = attrs.field(default=None, validator=_optional_name, repr=_url_repr)
    #: Name of the budget in Redis. Braze limits are per workspace, not per API key; when None
    #: the client derives a name from the REST endpoint and a hash of the key (never the key).
    workspace: str | None = attrs.field(default=None, validator=_optional_name)
    #: Extra seconds each slot stays counted after its request completed (clock-skew safety).
    margin: float = attrs.field(default=0.0, validator=_non_negative_finite)
    #: Redis only: longest a request may hold its slot (keep it above the HTTP timeout). A slot
    #: whose holder died expires ``lease + period`` after admission.
    lease: float = attrs.field(default=120.0, validator=_non_negative_finite)
    #: Redis only: seconds one call to Redis may take to connect, and to answer, before it
    #: counts as failed (redis-py 5.0 has no default: a stalled Redis would hang every send).
    redis_timeout: float = attrs.field(default=2.0, validator=_non_negative_finite)
    #: Redis only: how long an acquisition keeps retrying a Redis that fails (with backoff,
    #: from the first failure) before the request fails as never sent. A blip shorter than
    #: this costs nothing; a Redis that stays away stops a bulk job. 0: fail at once.
    redis_retry_for: float = attrs.field(default=10.0, validator=_non_negative_finite)
    #: The share of each budget that bulk requests leave to interactive ones (see
    #: :data:`Priority` and ``docs/rate-limits.md``): bulk is admitted only while fewer than
    #: ``limit - reserved(bucket)`` slots are counted, and Braze's Remaining stays above
    #: ``reserved(bucket)``. 0: one budget for both lanes (interactive still go first).
    reserve: float = attrs.field(default=0.1, validator=_fraction)

    def rate(self, bucket: Bucket) -> Rate:
        """The :class:`Rate` configured for *bucket*."""
        if bucket is Bucket.SEND_IDS:
            return self.send_ids
        return self.audience if bucket is Bucket.AUDIENCE else self.external_id

    def reserved(self, bucket: Bucket) -> int:
        """Slots of *bucket*'s window that only interactive requests may take:
        ``ceil(limit * reserve)``, never the whole budget (bulk keeps at least one).

        >>> RateLimits().reserved(Bucket.AUDIENCE)
        25
        """
        limit = self.rate(bucket).limit
        return min(math.ceil(limit * self.reserve - 1e-9), limit - 1)


@attrs.frozen(kw_only=True)
class BucketStats:
    """The state of one rate-limit bucket at one moment: what
    :meth:`BrazeClient.rate_limit_status() <braze_async.BrazeClient.rate_limit_status>`
    returns per bucket, and the counters tests and benchmarks read.

    The view of this process: with Redis, the slots other processes hold are not counted
    here (``counted`` is then None).
    """

    #: The configured rate.
    rate: Rate
    #: Callers waiting in line for a permit now.
    waiting: int
    #: Wall-clock time (UTC epoch seconds) until which a 429 pauses admissions; None when
    #: not paused.
    paused_until: float | None
    #: Last ``X-RateLimit-Remaining`` Braze sent for this bucket (None before any).
    server_remaining: int | None
    #: Last ``X-RateLimit-Reset`` Braze sent (UTC epoch seconds; None before any).
    server_reset: float | None

    #: Permits handed out since the limiter was created.
    admitted: int
    #: Permits not yet released.
    in_flight: int
    #: Acquisitions that had to wait at least once.
    waited: int
    #: Permits released with ``sent=False``.
    unsent: int
    #: 429 answers observed.
    throttled: int
    #: Slots counted now (in flight + released but unexpired); None when kept in Redis.
    counted: int | None
    #: Seconds until admissions resume after a 429 (0 when not paused).
    paused_for: float
    #: Last valid ``X-RateLimit-Limit`` seen, for diagnostics (not acted upon).
    server_limit: int | None
