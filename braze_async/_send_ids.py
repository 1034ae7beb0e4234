"""Send IDs, a mixin of :class:`~braze_async.BrazeClient`: ``create_send_id``.

``POST /sends/id/create`` (endpoints/messaging/send_messages/post_create_send_ids.md, paths
under ``_docs/_api/`` of ``braze-inc/braze-docs``) makes a send identifier for a campaign; a
``Campaign(..., send_id=...)`` then carries it, and Braze groups that send's statistics under
it. Its budget is its own (api_limits.md, ``rate_limits.md`` endpoint "sends id create"): "the
daily maximum number of custom send identifiers that can be created via this endpoint is 100
for a given workspace", each ``send_id`` and ``campaign_id`` combination counting. The client
spends :attr:`RateLimits.send_ids <braze_async.RateLimits.send_ids>` (100 in any 24 hours,
so never more than 100 in a day) and, once it is spent, says so at once instead of waiting
for hours (:data:`SEND_ID_MAX_WAIT`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from ._errors import (
    BrazeMalformedResponseError,
    BrazeRateLimitError,
    BrazeRateLimitWaitError,
)
from ._limits import Bucket
from ._retry import RetryPolicy
from ._validate import check_send_id, check_str
from ._wire import dumps

__all__ = ["SEND_ID_MAX_WAIT", "SendIdCreateRequest", "SendIds", "read_send_id"]

#: The longest a ``create_send_id`` waits for its daily budget (or the policy's
#: ``max_rate_limit_wait``, if shorter): a budget that frees later is spent for the day, and
#: the call says so (:class:`BrazeRateLimitWaitError`) rather than wait for hours.
SEND_ID_MAX_WAIT = 60.0


def _check_campaign_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_str(value, "campaign_id")


def _check_send_id(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None:
        check_send_id(value)


@attrs.frozen(kw_only=True)
class SendIdCreateRequest:
    """The body of ``POST /sends/id/create``: ``campaign_id`` (required) and ``send_id``
    (optional: Braze makes one when it is left out), both strings
    (post_create_send_ids.md, "Request parameters")."""

    #: The campaign the send ID belongs to.
    campaign_id: str = attrs.field(validator=_check_campaign_id)
    #: The send ID to create; None: Braze picks one.
    send_id: str | None = attrs.field(default=None, validator=_check_send_id)


def read_send_id(
    path: str, status: int, data: Mapping[str, Any], headers: Mapping[str, str]
) -> str | BrazeMalformedResponseError:
    """``{"message": "success", "send_id": "..."}`` (post_create_send_ids.md, "Example
    success response"): the send ID. An answer without one is unreadable."""
    send_id = data.get("send_id")
    if not isinstance(send_id, str) or not send_id:
        return BrazeMalformedResponseError(
            "Braze answered success without a send_id", status_code=status, endpoint=path
        )
    return send_id


class _Client(Protocol):
    """What ``create_send_id`` uses of the client it is mixed into."""

    _retry: RetryPolicy

    def with_options(self, *, retry: RetryPolicy) -> Any: ...


class SendIds:
    """The send ID endpoint (see the module docstring for its budget)."""

    async def create_send_id(self: _Client, campaign_id: str, send_id: str | None = None) -> str:
        """Create a send ID for *campaign_id* (*send_id*, or one Braze makes) and return it::

            send_id = await braze.create_send_id("weekly")
            await braze.send(Campaign("weekly", send_id=send_id), recipients=[...])

        Braze allows 100 a day per workspace; the client spends its own budget of as many
        (``RateLimits.send_ids``), so it never meets Braze's 429. When the budget is spent
        and frees later than a minute (:data:`SEND_ID_MAX_WAIT`), it raises
        :class:`BrazeRateLimitWaitError` at once, naming the daily limit; nothing was sent.
        An unknown outcome is retried only for a given *send_id* (the same one again is
        harmless; without one, a repeat would make, and spend, a second).
        """
        request = SendIdCreateRequest(campaign_id=campaign_id, send_id=send_id)
        policy = self._retry
        # A 429 here means the day's budget is spent (by another client of the workspace):
        # one retry, on the limiter's pause when it is on, then the daily limit is named.
        policy = attrs.evolve(
            policy,
            max_rate_limit_wait=min(policy.max_rate_limit_wait, SEND_ID_MAX_WAIT),
            rate_limited_attempts=1,
        )
        try:
            return await self.with_options(retry=policy)._call(  # type: ignore[no-any-return]
                "/sends/id/create",
                dumps(request),
                read_send_id,
                audience=Bucket.SEND_IDS,
                retry_ambiguous=send_id is not None,
            )
        except BrazeRateLimitError as error:
            raise _spent(error) from error


def _spent(error: BrazeRateLimitError) -> BrazeRateLimitError:
    """The same error, its message naming the daily limit."""
    frees = "" if error.retry_after is None else f"; it frees in {error.retry_after / 3600:.1f} h"
    message = (
        "the daily send ID budget is spent: Braze allows 100 send IDs a day per workspace "
        f"(RateLimits.send_ids){frees}; "
    )
    if isinstance(error, BrazeRateLimitWaitError):
        return BrazeRateLimitWaitError(
            message + "nothing was sent",
            max_wait=error.max_wait,
            retry_after=error.retry_after,
            endpoint=error.endpoint,
            attempts=error.attempts,
        )
    return BrazeRateLimitError(
        message + "Braze answered 429",
        status_code=error.status_code,
        errors=error.errors,
        endpoint=error.endpoint,
        attempts=error.attempts,
        retry_after=error.retry_after,
        headers=error.headers,
    )
