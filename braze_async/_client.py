"""``BrazeClient``: the async client for Braze's send endpoints.

It composes the layers, which do not know each other; data flows one way::

    targets (_targets) -> models (_models) -> converter (_wire) -> the request path
        (_request: rate limiter, HTTP, answers, retry decision) -> response models (_wire)

The public surface: the send verbs, options and state (scheduling in _scheduling, a mixin);
the request path is :meth:`RequestPath.call <braze_async._request.RequestPath.call>`.
"""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Final, TypeVar
from urllib.parse import quote

import attrs
import httpx

from ._answers import AnswerReader, read_send, read_transactional
from ._audience import Audience
from ._batching import Batching, SendResult
from ._bulk import (
    DEFAULT_BULK_CONCURRENCY,
    DEFAULT_MAX_DETAILS,
    BulkInput,
    BulkProgress,
    BulkReport,
    RecipientOutcome,
)
from ._bulk import bulk_send as _bulk_send
from ._clock import SYSTEM_CLOCK, Clock
from ._deprecated import DeprecatedSends
from ._errors import BrazeError, BrazeValidationError
from ._events import EventHook, Events
from ._http import Route, Timeouts, open_exchange
from ._journal import DEFAULT_FSYNC, FsyncPolicy
from ._limits import Bucket, BucketStats, LimiterShare, Priority, RateLimiter, RateLimits
from ._live_activities import LiveActivities
from ._logs import log_event
from ._messages import MessagesSendRequest
from ._models import (
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    Properties,
    Recipient,
    SendResponse,
    TransactionalResponse,
    TransactionalSendRequest,
)
from ._redact import Redactor
from ._request import Body, Reader, RequestPath
from ._retry import RetryPolicy
from ._schedule import Schedule, Scheduled
from ._scheduling import Scheduling, checked_schedule
from ._send_ids import SendIds
from ._settings import KEEP, Keep, api_key_of, check_priority, check_settings, hooks_of
from ._state import Shared
from ._targets import Target, boarding, check_target, named
from ._telemetry import with_opentelemetry
from ._transport import AiohttpTransport
from ._urls import budget_name, resolve_base_url
from ._version import __version__
from ._wire import dumps

__all__ = ["DEFAULT_TIMEOUT", "BrazeClient"]

#: Default timeouts: connect 5 s, read 30 s, write 30 s, waiting for a pooled connection 60 s.
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=60.0)
#: Default ceiling on one attempt from start to last byte (stops slow-loris answers).
DEFAULT_ATTEMPT_TIMEOUT: Final = 90.0
#: Largest answer we read; Braze's are a few hundred bytes.
DEFAULT_MAX_RESPONSE_BYTES: Final = 1 << 20

T = TypeVar("T")


class BrazeClient(Scheduling, SendIds, LiveActivities, DeprecatedSends):
    """An asyncio client for Braze's messaging endpoints.

    Use it as an async context manager, or call :meth:`aclose` when done. Every send names
    its target first, a :class:`~braze_async.Campaign`, :class:`~braze_async.Canvas` or
    :class:`~braze_async.Messages`::

        async with BrazeClient(api_key=key, instance="iad-01") as braze:
            r = await braze.send(Campaign("welcome"), recipients=[Recipient(external_user_id="u1")])
            one = await braze.send_one(Campaign("welcome"), Recipient(external_user_id="u2"))
            report = await braze.send_bulk(Campaign("weekly"), recipients, journal="w.journal")

    :param api_key: the REST API key (sent only as ``Authorization: Bearer``); defaults to
        ``$BRAZE_API_KEY``. It never appears in a repr, log line or exception.
    :param instance: the Braze instance, e.g. ``"iad-01"``; or give ``base_url``.
    :param base_url: the REST endpoint, e.g. ``"https://rest.iad-01.braze.com"``; defaults to
        ``$BRAZE_REST_URL``. ``http://`` is refused except for loopback hosts.
    :param timeout: httpx timeouts (seconds or ``httpx.Timeout``); default :data:`DEFAULT_TIMEOUT`.
    :param attempt_timeout: ceiling on one attempt, first byte sent to last byte read.
    :param retry: the :class:`RetryPolicy`.
    :param rate_limits: the client-side :class:`RateLimits` (Braze's published limits by
        default; shared by a fleet with ``redis_url``; clients of one workspace share one
        budget in an event loop), a :class:`RateLimiter` to use (not closed by
        :meth:`aclose`), or ``None``: limiting off.
    :param transport: an httpx transport (closed by :meth:`aclose`) or ``httpx.AsyncClient``
        (left open); by default our :class:`AiohttpTransport` (64 connections kept idle 30 s).
        Pool and proxy settings are a value you build: ``AiohttpTransport(limits=httpx.Limits(
        max_connections=128, keepalive_expiry=30), proxy="http://proxy:3128")``.
    :param max_response_bytes: answers larger than this are refused (default 1 MiB).
    :param batching: how :meth:`send_one` batches concurrent callers (:class:`Batching`).
    :param on_event: a hook, or hooks, called with each :class:`BrazeEvent` of each call,
        in the call's task; one that raises is logged once and never breaks a send.
        :class:`OpenTelemetry` is such a hook, added on the global providers when
        ``opentelemetry-api`` is installed and none is given (see ``docs/logging.md``).
    :param clock: where time is read and waits sleep, for the retry waits and the limiter
        this client makes (a ``RateLimiter`` given as ``rate_limits`` keeps its own); tests
        give a :class:`braze_async.testing.FakeClock` to replace time in one place.
    :raises BrazeValidationError: for a setting of the wrong type or out of range (text read
        from the environment where a number belongs, an infinite number), naming it.
    """

    #: The rate limiter's lane of the batches sent through this client or view (the
    #: batchers' and bulk jobs' sender is a view in their lane; see _in_lane).
    _lane: Priority = "interactive"

    def __init__(
        self,
        api_key: str | None = None,
        *,
        instance: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        attempt_timeout: float | None = DEFAULT_ATTEMPT_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_limits: RateLimits | RateLimiter | None = RateLimits(),  # noqa: B008 - frozen
        transport: httpx.AsyncBaseTransport | httpx.AsyncClient | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        batching: Batching = Batching(),  # noqa: B008 - frozen, safe to share
        on_event: EventHook | Sequence[EventHook] | None = None,
        clock: Clock | None = None,
    ) -> None:
        api_key = api_key_of(api_key)
        if instance is None and base_url is None:
            base_url = os.environ.get("BRAZE_REST_URL")
        self._base_url = resolve_base_url(instance, base_url)
        check_settings(retry, rate_limits, transport, max_response_bytes, batching, clock)
        hooks = hooks_of(on_event)
        self._retry = retry if retry is not None else RetryPolicy()
        #: The bounds of each attempt: the route's, or a view's own (see with_options).
        self._timeouts = Timeouts.of(timeout, attempt_timeout)
        #: Closed?, the event loop, the batcher: shared with the views of with_options.
        self._shared = Shared(batching)
        #: The client whose views this is (itself, unless made by with_options).
        self._root = self
        clock = SYSTEM_CLOCK if clock is None else clock
        #: The workspace's rate limiter, shared with the other clients of the budget (see
        #: _limits); None: limiting is off.
        self._limiter = (
            None
            if rate_limits is None
            else LimiterShare(
                rate_limits if isinstance(rate_limits, RateLimits) else RateLimits(),
                name=budget_name(self._base_url, api_key),
                limiter=rate_limits if isinstance(rate_limits, RateLimiter) else None,
                clock=clock,
            )
        )
        route = Route(
            base_url=self._base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "User-Agent": f"braze-async/{__version__}",
            },
            timeouts=self._timeouts,
            max_bytes=max_response_bytes,
            secret=api_key,
        )
        #: The one request path: our AiohttpTransport by default (driven through its fast
        #: path, level with raw aiohttp), the limiter, the answers, the events (the log, the
        #: hooks, OpenTelemetry) and the clock of the retry waits.
        self._path = RequestPath(
            exchange=open_exchange(route, AiohttpTransport() if transport is None else transport),
            limiter=self._limiter,
            answers=AnswerReader(
                secret=api_key, max_bytes=max_response_bytes, wallclock=clock.time
            ),
            events=Events((log_event, *with_opentelemetry(hooks)), base_url=self._base_url),
            clock=clock,
            redact=Redactor.of(api_key),
        )

    # -- lifecycle -------------------------------------------------------------------------

    def _check_loop(self) -> None:
        """Refuse a closed client; a client belongs to the event loop it was first used in:
        its pool, limiter and batcher hold that loop's futures, which another cannot await."""
        loop = asyncio.get_running_loop()
        shared = self._shared
        if shared.closed:
            raise BrazeError("the client is closed")
        if shared.loop is None:
            shared.loop = loop
        elif shared.loop is not loop:
            raise BrazeError(
                "this BrazeClient belongs to the event loop it was first used in; create one "
                "client per event loop (e.g. in your app's lifespan, or per test)"
            )

    @property
    def base_url(self) -> str:
        """The REST endpoint requests go to."""
        return self._base_url

    def __repr__(self) -> str:
        return f"BrazeClient(base_url={self._base_url!r}, api_key='***')"

    async def __aenter__(self) -> BrazeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (if we created it). Safe to call more than once.

        On a view made by :meth:`with_options` it does nothing: the client it came from owns
        the pool, and closing that client closes its views too.

        Prompt whatever the budget: what can be admitted now is sent, requests in flight
        finish (within their attempt timeout), and calls that would have to wait for the rate
        limiter fail as never sent (:class:`BrazeConnectionError`).
        """
        shared = self._shared
        if shared.closed or self._root is not self:
            return
        self._check_loop()
        if self._limiter is not None:
            self._limiter.stop_waiting()  # this client's waits fail; other clients' go on
        await shared.batchers.aclose()  # sends what waits, waits for what is in flight
        shared.closed = True
        if self._limiter is not None:
            await self._limiter.aclose()
        await self._path.exchange.aclose()

    # -- per-call control and state --------------------------------------------------------

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | Keep | None = KEEP,
        attempt_timeout: float | Keep | None = KEEP,
        retry: RetryPolicy | Keep = KEEP,
    ) -> BrazeClient:
        """A view of this client with other timeouts or retry policy, for some calls.

        The view shares everything else: the connection pool, the rate limiter, the
        batcher, the hooks and telemetry; making one costs a shallow copy. Options not
        given are kept (``None`` turns a bound off). A web handler that must answer fast::

            fast = braze.with_options(
                timeout=httpx.Timeout(2.0, pool=0.5), attempt_timeout=2.0,
                retry=RetryPolicy(attempts=1),
            )
            await fast.send(Campaign("receipt"), recipients=[Recipient(external_user_id=u)])

        bounds each attempt to 2 s and makes no retry after a failure (429s are still
        retried as ``RetryPolicy.rate_limited_attempts`` says; wrap the call in
        ``asyncio.timeout`` to bound the rate limiter's wait too). ``send_one`` through a view
        joins the shared batcher, whose requests go out with this client's own options.

        :param timeout: httpx timeouts (seconds or ``httpx.Timeout``) for each attempt.
        :param attempt_timeout: ceiling on one attempt, first byte sent to last byte read.
        :param retry: the :class:`RetryPolicy` of the view's calls.
        """
        view = copy.copy(self)
        current = self._timeouts
        if not isinstance(timeout, Keep):
            current = Timeouts.of(timeout, current.attempt)
        if not isinstance(attempt_timeout, Keep):
            current = attrs.evolve(current, attempt=attempt_timeout)
        view._timeouts = current
        if not isinstance(retry, Keep):
            if not isinstance(retry, RetryPolicy):
                raise BrazeValidationError("retry", "must be a RetryPolicy")
            view._retry = retry
        return view

    def rate_limit_status(self) -> dict[str, BucketStats]:
        """The client-side rate limiter's state now, per bucket (``"audience"``,
        ``"external_id"``); empty when limiting is off (``rate_limits=None``).

        Each :class:`BucketStats` tells the rate, the slots in use (``counted``; None with
        Redis, where the fleet's are) and in flight, the callers waiting, the 429 pause and
        the last ``X-RateLimit-*`` Braze sent: ``braze.rate_limit_status()["external_id"]``.
        """
        limiter = self._limiter
        if limiter is None:
            return {}
        return {bucket.value: limiter.snapshot(bucket) for bucket in Bucket}

    # -- the send endpoints ----------------------------------------------------------------

    async def send(
        self,
        target: Target,
        *,
        recipients: Sequence[Recipient] | None = None,
        audience: Properties | Audience | None = None,
        broadcast: bool | None = None,
        segment_id: str | None = None,
        priority: Priority = "interactive",
    ) -> SendResponse:
        """Send *target* in one request: to up to 50 ``recipients`` (filtered by an
        ``audience`` if given), to a Connected ``audience`` (sent with ``broadcast: true``, as
        Braze's pages ask when recipients are omitted), to a ``segment_id`` (:class:`Messages`
        only), or, with ``broadcast=True`` (never implied), to the target's whole segment::

            r = await braze.send(Campaign("welcome"), recipients=[Recipient(external_user_id="u1")])
            print(r.dispatch_id)

        When Braze answers that it will send nothing (a paused Canvas), the answer carries a
        ``notice``: check ``response.will_send``. Invalid input raises
        :class:`BrazeValidationError` before any network call.

        ``priority`` is the rate limiter's lane (``"interactive"``, or ``"bulk"`` for a job
        that should leave the budget's reserve to the web app; see ``docs/rate-limits.md``).
        """
        check_priority(priority)
        request = check_target(target).request(
            recipients, audience=audience, broadcast=broadcast, segment_id=segment_id
        )
        return await self._post(target.path, request, priority=priority)

    async def send_one(
        self, target: Target, recipient: Recipient, *, priority: Priority = "interactive"
    ) -> SendResult:
        """Send *target* to one recipient, batched with concurrent callers of the same
        target into requests of up to 50 (see :class:`Batching`); a lone call leaves at once.

        Returns this recipient's :class:`SendResult` (``result.dispatch_id``), or raises the
        error of the request it rode in (:class:`BrazeNotSentError` when Braze answered that
        it will send nothing, e.g. for a paused Canvas)::

            result = await braze.send_one(
                Campaign("welcome"),
                Recipient(external_user_id="u1", trigger_properties={"coupon": "SAVE20"}),
            )

        ``priority="bulk"`` batches it with the other bulk callers, in the limiter's bulk lane.
        """
        self._check_loop()
        lane = check_priority(priority)
        batcher = self._shared.batchers.of(lane, lambda: self._root._in_lane(lane))
        return await batcher.send(recipient, target)

    def _in_lane(self, priority: Priority) -> BrazeClient:
        """This client, or a view of it whose batches wait in *priority*'s lane."""
        if priority == self._lane:
            return self
        view = copy.copy(self)
        view._lane = priority
        return view

    async def send_bulk(
        self,
        target: Target,
        recipients: BulkInput,
        *,
        concurrency: int = DEFAULT_BULK_CONCURRENCY,
        journal: str | os.PathLike[str] | None = None,
        input_fingerprint: str = "",
        journal_fsync: FsyncPolicy = DEFAULT_FSYNC,
        on_progress: Callable[[BulkProgress], object] | None = None,
        on_outcome: Callable[[RecipientOutcome], object] | None = None,
        stop: asyncio.Event | None = None,
        total: int | None = None,
        max_details: int = DEFAULT_MAX_DETAILS,
        priority: Priority = "bulk",
        schedule: Schedule | None = None,
    ) -> BulkReport:
        """Send *target* to any number of recipients, 50 per request.

        The input is read lazily (any iterable or async iterable of :class:`Recipient`, or of
        the rows the file readers yield), ``concurrency`` requests at a time. Every item ends
        in exactly one of ``report.sent`` / ``rejected`` / ``failed`` / ``unknown``: a
        request Braze answers with a ``notice`` (a paused Canvas: nothing is sent) fails its
        recipients and stops the job; non-fatal errors of successes are kept in
        ``report.non_fatal_errors``.

        :param journal: a file making the job resumable after a crash: run it again with the
            same arguments to skip what was sent and send the rest (see ``docs/bulk.md``).
        :param input_fingerprint: names the input in the journal; another input is refused.
        :param journal_fsync: which records reach the disk before the job goes on:
            ``"begin"`` (the default: survives a power loss without messaging anyone twice),
            ``"always"`` (fewer unknowns after one) or ``"never"`` (survives a kill only).
        :param on_progress: called with a :class:`BulkProgress` as the job advances.
        :param on_outcome: called with each :class:`RecipientOutcome` that is not "sent".
        :param stop: set it to stop cleanly: no new batches, requests in flight finish, those
            still waiting for the rate limiter are failed (never sent).
        :param total: expected item count, for the ETA in the progress.
        :param max_details: how many not-sent outcomes ``report.details`` keeps.
        :param priority: the rate limiter's lane: ``"bulk"`` leaves each budget's reserve
            (``RateLimits.reserve``) to interactive sends and waits behind them.
        :param schedule: schedule the batches instead (see ``docs/scheduling.md``).

        ::

            report = await braze.send_bulk(Campaign("weekly"), recipients, journal="w.journal")
            print(report.sent, report.rejected, report.failed, report.unknown)
        """
        self._check_loop()
        check_target(target)
        return await _bulk_send(
            self._in_lane(check_priority(priority)),
            recipients,
            target,
            schedule=checked_schedule(schedule, self),
            concurrency=concurrency,
            journal=journal,
            input_fingerprint=input_fingerprint,
            journal_fsync=journal_fsync,
            destination=self._base_url,
            on_progress=on_progress,
            on_outcome=on_outcome,
            stop=stop,
            total=total,
            max_details=max_details,
        )

    async def send_transactional(
        self,
        campaign_id: str,
        recipient: Recipient,
        *,
        external_send_id: str | None = None,
        trigger_properties: Properties | None = None,
        priority: Priority = "interactive",
    ) -> TransactionalResponse:
        """Send a transactional email (``POST /transactional/v1/campaigns/{id}/send``).

        One recipient (external_user_id or user_alias). With ``external_send_id`` Braze
        deduplicates repeats, so an attempt whose outcome is unknown is retried.
        ``priority`` names its lane; Braze gives transactional sends no budget of ours to
        wait for today, so it only matters once they spend one.
        """
        check_priority(priority)
        request = TransactionalSendRequest(
            campaign_id=campaign_id,
            recipient=recipient,
            external_send_id=external_send_id,
            trigger_properties=trigger_properties,
        )
        path = f"/transactional/v1/campaigns/{quote(campaign_id, safe='')}/send"
        return await self._call(
            path,
            dumps(request),
            read_transactional,
            audience=None,
            retry_ambiguous=external_send_id is not None,
            recipients=1,
            priority=priority,
        )

    # -- the request pipeline ----------------------------------------------------------------

    async def _send_batch(
        self,
        target: Target,
        recipients: Sequence[Recipient],
        *,
        riders: Callable[[], Sequence[Recipient]] | None = None,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
        schedule: Schedule | None = None,
    ) -> SendResponse | Scheduled:
        """One batch of a bulk job or of :meth:`send_one` (the ``Sender`` of _batching):
        *riders* says, each time an attempt is admitted, who of *recipients* still rides;
        *on_admitted* runs once, just before the first attempt that was admitted leaves (a
        bulk job journals the batch there); *stop* ends every wait; *schedule*: a create."""
        request = target.request(recipients)
        if schedule is not None:
            return await self._schedule_batch(request, target, schedule, on_admitted, stop)
        body = None if riders is None else boarding(target, request, riders)
        return await self._post(target.path, request, on_admitted, stop, body)

    async def _post(
        self,
        path: str,
        request: CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
        body: Body | None = None,
        *,
        priority: Priority | None = None,
    ) -> SendResponse:
        if isinstance(request, MessagesSendRequest):  # a card's expiry: 30 days from now
            request.messages.check_expiry(self._path.clock.time())
        return await self._call(
            path,
            dumps(request) if body is None else body,
            read_send,
            audience=request.targets_audience,
            audience_key=request.audience_key,
            retry_ambiguous=self._retry.retry_ambiguous,
            on_admitted=on_admitted,
            recipients=named(request),
            stop=stop,
            priority=self._lane if priority is None else priority,
        )

    async def _call(
        self,
        path: str,
        body: Body | None,
        read: Reader[T],
        *,
        audience: bool | Bucket | None,
        retry_ambiguous: bool,
        on_admitted: Callable[[], object] | None = None,
        recipients: int = 0,
        stop: asyncio.Event | None = None,
        priority: Priority = "interactive",
        audience_key: str | None = None,
    ) -> T:
        """POST *body* (None: GET) to *path* through the request path (:mod:`braze_async._request`),
        under this client's (or view's) retry policy and timeouts."""
        self._check_loop()
        return await self._path.call(
            path,
            body,
            read,
            policy=self._retry,
            timeouts=self._timeouts,
            audience=audience,
            retry_ambiguous=retry_ambiguous,
            on_admitted=on_admitted,
            recipients=recipients,
            stop=stop,
            priority=priority,
            audience_key=audience_key,
        )
