"""``BrazeClient``: the async client for Braze's send endpoints.

It composes the layers, which do not know each other; data flows one way::

    models (_models) -> converter (_wire) -> rate limiter (_limits) -> HTTP (_http)
        -> answer (_answers) -> retry decision (_retry) -> response models (_wire)

The request path is :meth:`BrazeClient._call`: one loop, on one screen.
"""

from __future__ import annotations

import asyncio
import copy
import enum
import logging
import os
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Generic, TypeVar
from urllib.parse import quote

import attrs
import httpx

from ._answers import AnswerReader
from ._batching import (
    DEFAULT_LINGER,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_PENDING,
    Batcher,
    SendResult,
    SendTarget,
)
from ._bulk import (
    DEFAULT_BULK_CONCURRENCY,
    DEFAULT_MAX_DETAILS,
    BulkInput,
    BulkProgress,
    BulkReport,
    RecipientOutcome,
)
from ._bulk import bulk_send as _bulk_send
from ._errors import BrazeError, BrazeMalformedResponseError, BrazeValidationError
from ._events import EventHook, Events, Trace
from ._http import (
    Answer,
    ExchangeError,
    MaybeProcessed,
    Route,
    Timeouts,
    describe,
    open_exchange,
    sanitized,
)
from ._journal import DEFAULT_FSYNC, FsyncPolicy
from ._limits import Bucket, BucketStats, LimiterShare, RateLimiter, RateLimits
from ._logs import log_event
from ._messages import Messages, MessagesSendRequest, SubscriptionState
from ._models import (
    Attachment,
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    Properties,
    Recipient,
    SendResponse,
    TransactionalResponse,
    TransactionalSendRequest,
    UserAlias,
)
from ._retry import (
    AMBIGUOUS_STATUSES,
    Attempts,
    Decision,
    NotAdmitted,
    Retry,
    RetryPolicy,
    Unknown,
)
from ._telemetry import with_opentelemetry
from ._transport import DEFAULT_LIMITS, AiohttpTransport
from ._urls import budget_name, resolve_base_url
from ._version import __version__
from ._wire import dumps, structure_send_response, structure_transactional_response

__all__ = ["DEFAULT_TIMEOUT", "BrazeClient", "set_retry_timing"]

logger = logging.getLogger("braze_async")

#: Default timeouts: connect 5 s, read 30 s, write 30 s, waiting for a pooled connection 60 s.
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=60.0)
#: Default ceiling on one attempt from start to last byte (stops slow-loris answers).
DEFAULT_ATTEMPT_TIMEOUT: Final = 90.0
#: Largest answer we read; Braze's are a few hundred bytes.
DEFAULT_MAX_RESPONSE_BYTES: Final = 1 << 20

T = TypeVar("T")

#: What makes a typed response of a decoded 2xx body (path, status, body, headers), or says
#: the body is unreadable (the request's outcome is then unknown).
Reader = Callable[[str, int, Mapping[str, Any], Mapping[str, str]], T | BrazeMalformedResponseError]


class _Keep(enum.Enum):
    """``with_options``' "not given": keep the setting as it is (None turns a bound off)."""

    KEEP = "keep"


class _Shared:
    """What a client and its :meth:`~BrazeClient.with_options` views share, and change as
    they are used."""

    __slots__ = ("batcher", "closed", "loop")

    def __init__(self) -> None:
        self.closed = False
        #: The event loop of the first use (see _check_loop).
        self.loop: asyncio.AbstractEventLoop | None = None
        #: The batcher behind send_to_user, created on first use.
        self.batcher: Batcher | None = None


class Done(Generic[T]):
    """A call's result, read from Braze's 2xx answer."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


def _once(callback: Callable[[], object]) -> Callable[[], object]:
    """*callback*, run by the first call only (``on_admitted``: before the first attempt that
    is admitted, whichever attempt that is)."""
    pending = [callback]

    def run() -> object:
        return pending.pop()() if pending else None

    return run


def _read_trigger(
    path: str, status: int, data: Mapping[str, Any], headers: Mapping[str, str]
) -> SendResponse | BrazeMalformedResponseError:
    """What a 2xx answer to a send means (errors.md, "Server responses").

    A success is ``"message": "success"`` (with a ``dispatch_id`` or not, with non-fatal
    ``errors``, a ``send_id`` or a ``notice``), a ``dispatch_id``, or a 202 / ``"queued"``;
    anything else is unreadable: the request may or may not have been processed.
    """
    response = structure_send_response(data, status, headers)
    if response.dispatch_id is None and not (
        response.message == "success" or status == 202 or response.queued
    ):
        return BrazeMalformedResponseError(
            "Braze answered success without a dispatch_id or a success message",
            status_code=status,
            endpoint=path,
        )
    if response.notice is not None:  # (non-fatal errors are logged by _events)
        logger.warning("POST %s: Braze will send nothing: %s", path, response.notice)
    return response


def _count_recipients(
    request: CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest,
) -> int:
    """How many users a request names (for logs, events and spans)."""
    if isinstance(request, MessagesSendRequest):
        return len(request.external_user_ids or ()) + len(request.user_aliases or ())
    return len(request.recipients or ())


def _read_transactional(
    path: str, status: int, data: Mapping[str, Any], headers: Mapping[str, str]
) -> TransactionalResponse | BrazeMalformedResponseError:
    return structure_transactional_response(data, status, headers)


class BrazeClient:
    """An asyncio client for Braze's messaging endpoints.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with BrazeClient(api_key=key, instance="iad-01") as braze:
            r = await braze.trigger_campaign(
                "welcome", recipients=[Recipient(external_user_id="u1")]
            )
            print(r.dispatch_id)

    :param api_key: the REST API key (sent only as ``Authorization: Bearer``); defaults to
        ``$BRAZE_API_KEY``. It never appears in a repr, log line or exception.
    :param instance: the Braze instance, e.g. ``"iad-01"``; or give ``base_url``.
    :param base_url: the REST endpoint, e.g. ``"https://rest.iad-01.braze.com"``; defaults to
        ``$BRAZE_REST_URL``. ``http://`` is refused except for loopback hosts.
    :param timeout: httpx timeouts (seconds or ``httpx.Timeout``); default :data:`DEFAULT_TIMEOUT`.
    :param attempt_timeout: ceiling on one attempt, first byte sent to last byte read. Both
        bounds apply on every transport, an injected ``http_client`` included (its own
        timeouts are replaced for Braze's requests); see :mod:`braze_async._http`.
    :param retry: the :class:`RetryPolicy`.
    :param rate_limits: the client-side :class:`RateLimits` (Braze's published limits by
        default; with ``redis_url`` shared by every process); ``None`` turns limiting off.
        Clients of one workspace (same endpoint and key, or same ``workspace``) with equal
        ``rate_limits`` share one limiter in an event loop: one budget, not one each.
    :param limiter: a :class:`RateLimiter` to use instead of the shared one (e.g. one budget
        for clients with different keys of one workspace); not closed by :meth:`aclose`.
    :param http_client: an ``httpx.AsyncClient`` to use (not closed by :meth:`aclose`).
    :param transport: an httpx transport for the client we create (tests pass
        ``httpx.MockTransport`` or the simulator's); default :class:`AiohttpTransport`.
    :param max_connections: size of the connection pool of the client we create (default
        64): at most this many requests are in flight at once, others wait for a connection
        (within ``timeout.pool``). Keep it at or above your concurrency (``send_to_user``'s
        ``max_concurrency``, ``bulk_send``'s ``concurrency``).
    :param keepalive_expiry: seconds an idle pooled connection is kept for reuse (default
        30). Set it below the idle timeout of any load balancer or proxy on the way: one that
        closes idle connections first turns the next request on a stale connection into a
        lost answer, an unknown outcome.
    :param proxy: an HTTP proxy for the client we create, e.g. ``"http://proxy:3128"``;
        Braze's HTTPS requests go through it in a ``CONNECT`` tunnel (the proxy never sees
        the key). With ``http_client`` or ``transport``, configure the proxy there.
    :param trust_env: without ``proxy``, read it from ``HTTPS_PROXY`` / ``NO_PROXY`` (and
        ``HTTP_PROXY``, ``ALL_PROXY``) as httpx does. Off by default.
    :param max_response_bytes: answers larger than this are refused.
    :param on_event: a hook, or a sequence of hooks, called with each :class:`BrazeEvent`
        of each call (attempt started, answer, limiter wait, retry, unknown outcome, failure,
        success); synchronous, in the call's task. A hook that raises is logged once and
        never breaks a send. OpenTelemetry's spans and metrics are such a hook:
        :class:`OpenTelemetry`, added on the global providers when ``opentelemetry-api`` is
        installed and none is given (see ``docs/logging.md``).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        instance: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        attempt_timeout: float | None = DEFAULT_ATTEMPT_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_limits: RateLimits | None = RateLimits(),  # noqa: B008 - frozen, safe to share
        limiter: RateLimiter | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = DEFAULT_LIMITS.max_connections or 64,
        keepalive_expiry: float = DEFAULT_LIMITS.keepalive_expiry or 30.0,
        proxy: str | None = None,
        trust_env: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        on_event: EventHook | Sequence[EventHook] | None = None,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get("BRAZE_API_KEY")
        if not isinstance(api_key, str) or not api_key.strip():
            raise BrazeValidationError(
                "api_key", "is required (pass api_key= or set BRAZE_API_KEY)"
            )
        if any(c in api_key for c in "\r\n\x00"):
            raise BrazeValidationError("api_key", "must not contain control characters")
        if instance is None and base_url is None:
            base_url = os.environ.get("BRAZE_REST_URL")
        self._base_url = resolve_base_url(instance, base_url)
        if http_client is not None and transport is not None:
            raise BrazeValidationError("transport", "give either http_client or transport")
        if (proxy is not None or trust_env) and (http_client is not None or transport is not None):
            raise BrazeValidationError(
                "proxy", "set the proxy on the http_client or transport you give"
            )
        if not (isinstance(keepalive_expiry, (int, float)) and keepalive_expiry > 0):
            raise BrazeValidationError("keepalive_expiry", "must be a number of seconds > 0")
        self._api_key = api_key
        self._retry = retry if retry is not None else RetryPolicy()
        #: How retry waits sleep and where their jitter comes from: the testing hook
        #: :func:`braze_async.testing.set_retry_timing` replaces both.
        self._sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
        self._rng = random.Random()
        #: Closed?, the event loop, the batcher: shared with the views of with_options.
        self._shared = _Shared()
        #: The client whose views this is (itself, unless made by with_options).
        self._root = self
        #: Once it answers True, this client's waits for the rate limiter fail as never sent
        #: (a view's: a stopped bulk job's requests; see bulk_send).
        self._give_up: Callable[[], bool] | None = None
        #: Where each call reports: the log, the hooks, OpenTelemetry (see _events.py).
        hooks = () if on_event is None else (on_event,) if callable(on_event) else on_event
        self._events = Events((log_event, *with_opentelemetry(hooks)), base_url=self._base_url)
        #: Every rate-limited request passes through here (None: limiting is off): the
        #: workspace's limiter, shared with the other clients of the budget (see _limits).
        self._limiter = (
            None
            if rate_limits is None and limiter is None
            else LimiterShare(
                rate_limits or RateLimits(),
                name=budget_name(self._base_url, api_key),
                limiter=limiter,
            )
        )
        self._answers = AnswerReader(secret=api_key, max_bytes=max_response_bytes)
        if http_client is None and transport is None:
            # We own the pool: our AiohttpTransport, driven through its fast path (no httpx
            # Request/Response objects: level with raw aiohttp, see benchmarks/).
            transport = AiohttpTransport(
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=max_connections,
                    keepalive_expiry=keepalive_expiry,
                ),
                proxy=proxy,
                trust_env=trust_env,
            )
        #: The bounds of each attempt: the route's, or a view's own (see with_options).
        self._timeouts = Timeouts.of(timeout, attempt_timeout)
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
        sender = http_client if http_client is not None else transport
        assert sender is not None
        #: The one request path, whatever carries it (see _http.py).
        self._exchange = open_exchange(route, sender)

    # -- lifecycle -------------------------------------------------------------------------

    def _check_loop(self) -> None:
        """A client belongs to the event loop it was first used in: its pool, limiter and
        batcher hold that loop's futures, which another loop cannot await."""
        loop = asyncio.get_running_loop()
        shared = self._shared
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
        if shared.batcher is not None:
            await shared.batcher.aclose()  # sends what waits, waits for what is in flight
        shared.closed = True
        if self._limiter is not None:
            await self._limiter.aclose()
        await self._exchange.aclose()

    # -- per-call control and state --------------------------------------------------------

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | _Keep | None = _Keep.KEEP,
        attempt_timeout: float | _Keep | None = _Keep.KEEP,
        retry: RetryPolicy | None = None,
    ) -> BrazeClient:
        """A view of this client with other timeouts or retry policy, for some calls.

        The view shares everything else: the connection pool, the rate limiter, the
        batcher, the hooks and telemetry; making one costs a shallow copy. Options not
        given are kept (``None`` turns a bound off). A web handler that must answer fast::

            fast = braze.with_options(
                timeout=httpx.Timeout(2.0, pool=0.5), attempt_timeout=2.0,
                retry=RetryPolicy(attempts=1),
            )
            await fast.trigger_campaign("receipt", recipients=[Recipient(external_user_id=u)])

        bounds each attempt to 2 s and makes no retry after a failure (429s are still
        retried as ``RetryPolicy.rate_limited_attempts`` says; the rate limiter's own wait
        is not bounded by these timeouts: wrap the call in ``asyncio.timeout`` for a hard
        deadline). ``send_to_user`` through a view joins the shared batcher, whose requests
        carry many callers and go out with this client's own options; ``bulk_send`` and the
        direct sends use the view's. Closing a view does nothing (see :meth:`aclose`).

        :param timeout: httpx timeouts (seconds or ``httpx.Timeout``) for each attempt.
        :param attempt_timeout: ceiling on one attempt, first byte sent to last byte read.
        :param retry: the :class:`RetryPolicy` of the view's calls.
        """
        view = copy.copy(self)
        current = self._timeouts
        if not isinstance(timeout, _Keep):
            current = Timeouts.of(timeout, current.attempt)
        if not isinstance(attempt_timeout, _Keep):
            current = attrs.evolve(current, attempt=attempt_timeout)
        view._timeouts = current
        if retry is not None:
            view._retry = retry
        return view

    def rate_limit_status(self) -> dict[str, BucketStats]:
        """The client-side rate limiter's state now, per bucket (``"audience"``,
        ``"external_id"``); empty when limiting is off (``rate_limits=None``).

        Each :class:`BucketStats` tells the rate, the slots in use (``counted``) and in
        flight, the callers waiting, the 429 pause (``paused_until``), and the last
        ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` Braze sent::

            status = braze.rate_limit_status()["external_id"]
            print(status.in_flight, status.waiting, status.server_remaining)

        It is this process's view: with ``RateLimits(redis_url=...)`` the fleet's slots are
        in Redis, and ``counted`` is None.
        """
        limiter = self._limiter
        if limiter is None:
            return {}
        return {bucket.value: limiter.snapshot(bucket) for bucket in Bucket}

    # -- the send endpoints ----------------------------------------------------------------

    async def trigger_campaign(
        self,
        campaign_id: str,
        *,
        recipients: Sequence[Recipient] | None = None,
        broadcast: bool | None = None,
        audience: Properties | None = None,
        trigger_properties: Properties | None = None,
        send_id: str | None = None,
        attachments: Sequence[Attachment] | None = None,
    ) -> SendResponse:
        """Send an API-triggered campaign (``POST /campaigns/trigger/send``).

        Target up to 50 ``recipients`` (filtered by an ``audience`` if given), a Connected
        ``audience`` (a mapping; sent with ``broadcast: true``, as Braze's page asks when
        recipients are omitted), or, with ``broadcast=True`` (never implied), the campaign's
        whole segment. ``trigger_properties`` (request level, and each recipient's) are at
        most 50 KB of JSON each.
        """
        request = CampaignTriggerRequest(
            campaign_id=campaign_id,
            send_id=send_id,
            trigger_properties=trigger_properties,
            broadcast=broadcast,
            audience=audience,
            recipients=recipients,
            attachments=attachments,
        )
        return await self.send_campaign_request(request)

    async def send_campaign_request(
        self, request: CampaignTriggerRequest, *, on_admitted: Callable[[], object] | None = None
    ) -> SendResponse:
        """Send a ready-made :class:`CampaignTriggerRequest`.

        :param on_admitted: called once, after the rate limiter admitted the request and just
            before its first attempt leaves (bulk jobs journal the batch there). If it raises,
            nothing is sent and its exception propagates.
        """
        return await self._trigger(
            "/campaigns/trigger/send", request, request.targets_audience, on_admitted
        )

    async def trigger_canvas(
        self,
        canvas_id: str,
        *,
        recipients: Sequence[Recipient] | None = None,
        broadcast: bool | None = None,
        audience: Properties | None = None,
        context: Properties | None = None,
        canvas_entry_properties: Properties | None = None,
    ) -> SendResponse:
        """Send an API-triggered Canvas (``POST /canvas/trigger/send``).

        Targeting works as in :meth:`trigger_campaign`. ``context`` personalizes the Canvas
        for every recipient (``canvas_entry_properties`` is its older name: give either);
        each recipient's ``trigger_properties`` are sent as its ``context``. When the Canvas
        is paused, stopped or archived, Braze answers success with a ``notice`` and sends
        nothing: check ``response.will_send``.
        """
        request = CanvasTriggerRequest(
            canvas_id=canvas_id,
            context=context,
            canvas_entry_properties=canvas_entry_properties,
            broadcast=broadcast,
            audience=audience,
            recipients=recipients,
        )
        return await self.send_canvas_request(request)

    async def send_canvas_request(
        self, request: CanvasTriggerRequest, *, on_admitted: Callable[[], object] | None = None
    ) -> SendResponse:
        """Send a ready-made :class:`CanvasTriggerRequest` (``on_admitted`` as in
        :meth:`send_campaign_request`)."""
        return await self._trigger(
            "/canvas/trigger/send", request, request.targets_audience, on_admitted
        )

    async def send_messages(
        self,
        messages: Messages | Mapping[str, Any],
        *,
        external_user_ids: Sequence[str] | None = None,
        user_aliases: Sequence[UserAlias] | None = None,
        segment_id: str | None = None,
        audience: Properties | None = None,
        broadcast: bool | None = None,
        campaign_id: str | None = None,
        send_id: str | None = None,
        override_frequency_capping: bool | None = None,
        recipient_subscription_state: SubscriptionState | None = None,
    ) -> SendResponse:
        """Send messages defined in the request (``POST /messages/send``), no dashboard
        campaign needed.

        ``messages`` has one message per channel (a :class:`Messages`, or a mapping such
        as ``{"email": EmailMessage(...), "web_push": {...}}``). Name up to 50 users
        (``external_user_ids`` and ``user_aliases`` together), or give a ``segment_id`` or
        an ``audience``. ``campaign_id`` tracks the send's stats under a campaign. It spends
        the trigger sends' budgets: 250,000 an hour when users are named, the broadcast
        budget otherwise::

            await braze.send_messages(
                {"email": EmailMessage(app_id=app, from_="Shop <shop@example.com>", body=html)},
                external_user_ids=["u1", "u2"],
            )
        """
        request = MessagesSendRequest(
            broadcast=broadcast,
            external_user_ids=external_user_ids,
            user_aliases=user_aliases,
            segment_id=segment_id,
            audience=audience,
            campaign_id=campaign_id,
            send_id=send_id,
            override_frequency_capping=override_frequency_capping,
            recipient_subscription_state=recipient_subscription_state,
            messages=Messages.of(messages),
        )
        return await self.send_messages_request(request)

    async def send_messages_request(
        self, request: MessagesSendRequest, *, on_admitted: Callable[[], object] | None = None
    ) -> SendResponse:
        """Send a ready-made :class:`MessagesSendRequest` (``on_admitted`` as in
        :meth:`send_campaign_request`)."""
        return await self._trigger("/messages/send", request, request.targets_audience, on_admitted)

    async def send_transactional(
        self,
        campaign_id: str,
        recipient: Recipient,
        *,
        external_send_id: str | None = None,
        trigger_properties: Properties | None = None,
    ) -> TransactionalResponse:
        """Send a transactional email (``POST /transactional/v1/campaigns/{id}/send``).

        One recipient (external_user_id or user_alias). With ``external_send_id`` Braze
        deduplicates repeats, so an attempt whose outcome is unknown is retried.
        """
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
            _read_transactional,
            audience=None,
            retry_ambiguous=external_send_id is not None,
            recipients=1,
        )

    # -- the request pipeline ----------------------------------------------------------------

    async def _trigger(
        self,
        path: str,
        request: CampaignTriggerRequest | CanvasTriggerRequest | MessagesSendRequest,
        audience: bool,
        on_admitted: Callable[[], object] | None = None,
    ) -> SendResponse:
        return await self._call(
            path,
            dumps(request),
            _read_trigger,
            audience=audience,
            retry_ambiguous=self._retry.retry_ambiguous,
            on_admitted=on_admitted,
            recipients=_count_recipients(request),
        )

    async def _call(
        self,
        path: str,
        body: bytes,
        read: Reader[T],
        *,
        audience: bool | None,
        retry_ambiguous: bool,
        on_admitted: Callable[[], object] | None = None,
        recipients: int = 0,
    ) -> T:
        """POST *body* to *path* under the retry policy; return what *read* makes of the
        decoded 2xx body and the answer's headers.

        *audience* names the rate-limit bucket (``True``: segment / audience, ``False``:
        recipients, ``None``: not rate limited); *on_admitted* runs once, before the first
        attempt leaves; *recipients* (how many the request names) goes into logs, events and
        spans. Answers are handled in :meth:`_step`, so that no frame of an error's
        traceback holds what a server sent (a hostile one may echo the key).
        """
        if self._shared.closed:
            raise BrazeError("the client is closed")
        self._check_loop()
        bucket = None if audience is None else Bucket.AUDIENCE if audience else Bucket.EXTERNAL_ID
        if on_admitted is not None:
            on_admitted = _once(on_admitted)
        attempts = Attempts(
            self._retry,
            endpoint=path,
            retry_ambiguous=retry_ambiguous,
            paced=bucket is not None and self._limiter is not None,
            rng=self._rng,
        )
        trace = self._events.trace(path, None if bucket is None else bucket.value, recipients)
        while True:
            step = await self._step(path, body, read, bucket, attempts, on_admitted, trace)
            if isinstance(step, Done):
                trace.succeeded(getattr(step.value, "errors", ()))
                return step.value
            trace.decided(step)
            if not isinstance(step, Retry):
                raise step.error
            if step.delay:
                await self._sleep(step.delay)

    async def _step(
        self,
        path: str,
        body: bytes,
        read: Reader[T],
        bucket: Bucket | None,
        attempts: Attempts,
        on_admitted: Callable[[], object] | None,
        trace: Trace,
    ) -> Done[T] | Decision:
        """One attempt and what comes of it: the result, or the retry policy's decision."""
        outcome = await self._attempt(path, body, bucket, on_admitted, trace)
        trace.answered(outcome)
        if not isinstance(outcome, Answer):
            return attempts.decide(outcome)
        if not 200 <= outcome.status < 300:
            return attempts.decide(self._answers.error(path, outcome, attempts.made + 1))
        data = self._answers.success(path, outcome, attempts.made + 1)
        if isinstance(data, BrazeMalformedResponseError):
            return Unknown(data)
        result = read(path, outcome.status, data, outcome.headers)
        if isinstance(result, BrazeMalformedResponseError):
            return Unknown(result)
        return Done(result)

    async def _attempt(
        self,
        path: str,
        body: bytes,
        bucket: Bucket | None,
        on_admitted: Callable[[], object] | None,
        trace: Trace,
    ) -> Answer | ExchangeError | NotAdmitted:
        """One attempt, admitted by the rate limiter (when there is one for *bucket*)."""
        limiter = self._limiter
        if limiter is None or bucket is None:
            if on_admitted is not None:
                on_admitted()
            trace.started()
            try:
                return await self._exchange.post(path, body, self._timeouts)
            except ExchangeError as exc:
                return exc
        try:
            permit = await limiter.acquire(
                bucket, max_wait=self._retry.max_rate_limit_wait, give_up=self._give_up
            )
        except Exception as exc:  # e.g. Redis unreachable: nothing was sent
            reason = describe(exc, self._api_key)
            # Without its traceback: the Redis client's frames hold its connection settings.
            return NotAdmitted(reason, sanitized(exc, self._api_key) or RuntimeError(reason))
        trace.admitted(permit.waited)
        if on_admitted is not None:
            try:
                on_admitted()
            except BaseException:
                permit.release(sent=False)  # nothing was sent: the slot is given back
                raise
        trace.started()
        try:
            answer = await self._exchange.post(path, body, self._timeouts)
        except MaybeProcessed as exc:
            permit.release(outcome_unknown=True)  # it may reach Braze late: counts longer
            return exc
        except ExchangeError as exc:
            permit.release(sent=False)  # nothing left this process: the slot is given back
            return exc
        except BaseException:
            permit.release(outcome_unknown=True)  # cancelled mid-flight: it may reach Braze
            raise
        # A gateway's 502/504 may come before Braze counts the request: counted longer.
        permit.release(sent=True, outcome_unknown=answer.status in AMBIGUOUS_STATUSES)
        limiter.observe(bucket, answer.status, answer.headers)
        return answer

    # -- batched single sends and bulk jobs: see _batching.py and _bulk.py -------------------

    def configure_batching(
        self,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        linger: float = DEFAULT_LINGER,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        """Set how :meth:`send_to_user` batches; call it before the first ``send_to_user``.

        :param max_concurrency: batched requests in flight at once (default 16).
        :param linger: seconds a partial batch may wait for company while other batched
            requests are in flight (default 5 ms); a lone call never waits.
        :param max_pending: callers of ``send_to_user`` waiting at once, at most (default
            10,000, about 11 MiB); past it a call fails at once as never sent
            (:class:`BrazeConnectionError`) instead of queueing without end.
        """
        if self._shared.batcher is not None:
            raise BrazeError("configure_batching() must come before the first send_to_user()")
        self._shared.batcher = Batcher(
            self._root, max_concurrency=max_concurrency, linger=linger, max_pending=max_pending
        )

    async def send_to_user(
        self,
        recipient: Recipient,
        *,
        campaign_id: str | None = None,
        canvas_id: str | None = None,
        messages: Messages | Mapping[str, Any] | None = None,
        trigger_properties: Properties | None = None,
        context: Properties | None = None,
        canvas_entry_properties: Properties | None = None,
        send_id: str | None = None,
        override_frequency_capping: bool | None = None,
        recipient_subscription_state: SubscriptionState | None = None,
    ) -> SendResult:
        """Send a campaign, a Canvas or messages to one recipient, batched with concurrent
        callers.

        Name the send as :meth:`bulk_send` does. Calls with the same request-level fields
        share requests of up to 50 recipients; a lone call leaves at once. Returns this
        recipient's :class:`SendResult` (``result.dispatch_id``), or raises the error of the
        request it rode in (:class:`BrazeNotSentError` when Braze answered that it will send
        nothing, e.g. for a paused Canvas)::

            result = await braze.send_to_user(
                Recipient(external_user_id="u1", trigger_properties={"coupon": "SAVE20"}),
                campaign_id="welcome",
            )
        """
        shared = self._shared
        if shared.closed:
            raise BrazeError("the client is closed")
        self._check_loop()
        target = SendTarget.of(
            campaign_id=campaign_id,
            canvas_id=canvas_id,
            messages=messages,
            trigger_properties=trigger_properties,
            context=context,
            canvas_entry_properties=canvas_entry_properties,
            send_id=send_id,
            override_frequency_capping=override_frequency_capping,
            recipient_subscription_state=recipient_subscription_state,
        )
        if shared.batcher is None:
            shared.batcher = Batcher(self._root)
        return await shared.batcher.send(recipient, target)

    async def bulk_send(
        self,
        recipients: BulkInput,
        *,
        campaign_id: str | None = None,
        canvas_id: str | None = None,
        messages: Messages | Mapping[str, Any] | None = None,
        trigger_properties: Properties | None = None,
        context: Properties | None = None,
        canvas_entry_properties: Properties | None = None,
        send_id: str | None = None,
        override_frequency_capping: bool | None = None,
        recipient_subscription_state: SubscriptionState | None = None,
        concurrency: int = DEFAULT_BULK_CONCURRENCY,
        journal: str | os.PathLike[str] | None = None,
        input_fingerprint: str = "",
        journal_fsync: FsyncPolicy = DEFAULT_FSYNC,
        on_progress: Callable[[BulkProgress], object] | None = None,
        on_outcome: Callable[[RecipientOutcome], object] | None = None,
        stop: asyncio.Event | None = None,
        total: int | None = None,
        max_details: int = DEFAULT_MAX_DETAILS,
    ) -> BulkReport:
        """Send a campaign, a Canvas or messages to any number of recipients, 50 per request.

        The send is one of: ``campaign_id`` (``/campaigns/trigger/send``, with
        ``trigger_properties`` and ``send_id``); ``canvas_id`` (``/canvas/trigger/send``,
        with ``context``, or its older name ``canvas_entry_properties``); or ``messages``
        (``/messages/send``: the recipients go as ``external_user_ids`` and
        ``user_aliases``, and ``campaign_id`` and ``send_id`` only track the send, with
        ``override_frequency_capping`` and ``recipient_subscription_state``).

        The input is read lazily (any iterable or async iterable of :class:`Recipient`, or of
        the rows the file readers yield), ``concurrency`` requests at a time. Every item ends
        in exactly one of ``report.sent`` / ``rejected`` / ``failed`` / ``unknown``: a
        request Braze answers with a ``notice`` (a paused Canvas: nothing is sent) fails its
        recipients and stops the job; non-fatal errors of successes are kept in
        ``report.non_fatal_errors``.

        :param journal: a file making the job resumable after a crash: run it again with the
            same arguments to skip what was sent and send the rest (see ``docs/bulk.md``).
        :param input_fingerprint: names the input in the journal; another input is refused.
        :param journal_fsync: which journal records reach the disk before the job goes on:
            ``"begin"`` (the default: each batch's begin record, before its request leaves;
            survives a power loss without messaging anyone twice), ``"always"`` (end records
            too: fewer unknowns after a power loss) or ``"never"`` (survives a kill, not a
            power loss). See ``benchmarks/bench_journal.py`` for the cost.
        :param on_progress: called with a :class:`BulkProgress` as the job advances.
        :param on_outcome: called with each :class:`RecipientOutcome` that is not "sent".
        :param stop: set it to stop cleanly: no new batches, requests in flight finish, those
            still waiting for the rate limiter are failed (never sent).
        :param total: expected item count, for the ETA in the progress.
        :param max_details: how many not-sent outcomes ``report.details`` keeps.

        ::

            report = await braze.bulk_send(recipients, campaign_id="weekly", journal="w.journal")
            print(report.sent, report.rejected, report.failed, report.unknown)
        """
        if self._shared.closed:
            raise BrazeError("the client is closed")
        self._check_loop()
        target = SendTarget.of(
            campaign_id=campaign_id,
            canvas_id=canvas_id,
            messages=messages,
            trigger_properties=trigger_properties,
            context=context,
            canvas_entry_properties=canvas_entry_properties,
            send_id=send_id,
            override_frequency_capping=override_frequency_capping,
            recipient_subscription_state=recipient_subscription_state,
        )
        sender, on_stop = self, None
        if stop is not None and self._limiter is not None:
            # A view whose waits for the limiter end at the stop, retries' waits included:
            # what waits was never sent (or, after an ambiguous answer, is unknown).
            sender = copy.copy(self)
            sender._give_up = stop.is_set
            on_stop = self._limiter.nudge
        return await _bulk_send(
            sender,
            recipients,
            target,
            concurrency=concurrency,
            journal=journal,
            input_fingerprint=input_fingerprint,
            journal_fsync=journal_fsync,
            destination=self._base_url,
            on_progress=on_progress,
            on_outcome=on_outcome,
            stop=stop,
            on_stop=on_stop,
            total=total,
            max_details=max_details,
        )


def set_retry_timing(
    client: BrazeClient,
    *,
    sleep: Callable[[float], Awaitable[object]] | None = None,
    rng: random.Random | None = None,
) -> BrazeClient:
    """Make *client*'s retry waits call *sleep* (instead of ``asyncio.sleep``) and draw their
    jitter from *rng*; returns the client. A testing hook: see :mod:`braze_async.testing`.

    Only the retry policy's backoff and 429 waits go through *sleep*; the rate limiter's own
    waits are timed by its clock (see :class:`~braze_async.RateLimits`).
    """
    if sleep is not None:
        client._sleep = sleep
    if rng is not None:
        client._rng = rng
    return client
