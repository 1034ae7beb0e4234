"""``BrazeClient``: the async client for Braze's send endpoints.

It composes the layers, which do not know each other; data flows one way::

    models (_models) -> converter (_wire) -> rate limiter (_limits) -> HTTP (_http)
        -> answer (_answers) -> retry decision (_retry) -> response models (_wire)

The request path is :meth:`BrazeClient._call`: one loop, on one screen.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Generic, TypeVar
from urllib.parse import quote

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
from ._http import Answer, ExchangeError, MaybeProcessed, Route, Timeouts, open_exchange
from ._limits import Bucket, LimiterShare, RateLimiter, RateLimits
from ._models import (
    Attachment,
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    Properties,
    Recipient,
    SendResponse,
    TransactionalResponse,
    TransactionalSendRequest,
)
from ._retry import Attempts, Decision, GiveUp, NotAdmitted, Retry, RetryPolicy, Unknown
from ._transport import DEFAULT_LIMITS, AiohttpTransport
from ._urls import budget_name, resolve_base_url
from ._version import __version__
from ._wire import dumps, structure_send_response, structure_transactional_response

__all__ = ["DEFAULT_TIMEOUT", "BrazeClient"]

logger = logging.getLogger("braze_async")

#: Default timeouts: connect 5 s, read 30 s, write 30 s, waiting for a pooled connection 60 s.
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=60.0)
#: Default ceiling on one attempt from start to last byte (stops slow-loris answers).
DEFAULT_ATTEMPT_TIMEOUT: Final = 90.0
#: Largest answer we read; Braze's are a few hundred bytes.
DEFAULT_MAX_RESPONSE_BYTES: Final = 1 << 20

T = TypeVar("T")


class Done(Generic[T]):
    """A call's result, read from Braze's 2xx answer."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


def _read_trigger(path: str, status: int, data: Mapping[str, Any]) -> SendResponse | BrazeError:
    response = structure_send_response(data, status)
    if response.dispatch_id is None and not (status == 202 or response.queued):
        return BrazeMalformedResponseError(
            "Braze answered success without a dispatch_id", status_code=status, endpoint=path
        )
    return response


def _read_transactional(
    path: str, status: int, data: Mapping[str, Any]
) -> TransactionalResponse | BrazeError:
    return structure_transactional_response(data, status)


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
    :param max_connections: size of the connection pool of the client we create.
    :param max_response_bytes: answers larger than this are refused.
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
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
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
        self._api_key = api_key
        self._retry = retry if retry is not None else RetryPolicy()
        #: How retry waits sleep and where their jitter comes from: the testing hook
        #: :func:`braze_async.testing.set_retry_timing` replaces both.
        self._sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
        self._rng = random.Random()
        self._closed = False
        #: The event loop of the first use (see _check_loop).
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The batcher behind send_to_user, created on first use.
        self._batcher: Batcher | None = None
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
                    keepalive_expiry=DEFAULT_LIMITS.keepalive_expiry,
                )
            )
        route = Route(
            base_url=self._base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "User-Agent": f"braze-async/{__version__}",
            },
            timeouts=Timeouts.of(timeout, attempt_timeout),
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
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
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

        Prompt whatever the budget: what can be admitted now is sent, requests in flight
        finish (within their attempt timeout), and calls that would have to wait for the rate
        limiter fail as never sent (:class:`BrazeConnectionError`).
        """
        if self._closed:
            return
        self._check_loop()
        if self._limiter is not None:
            self._limiter.stop_waiting()  # this client's waits fail; other clients' go on
        if self._batcher is not None:
            await self._batcher.aclose()  # sends what waits, waits for what is in flight
        self._closed = True
        if self._limiter is not None:
            await self._limiter.aclose()
        await self._exchange.aclose()

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

        Target up to 50 ``recipients``, a Connected ``audience`` (a mapping), or, with
        ``broadcast=True`` (never implied), the campaign's whole segment.
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
        canvas_entry_properties: Properties | None = None,
    ) -> SendResponse:
        """Send an API-triggered Canvas (``POST /canvas/trigger/send``).

        Targeting works as in :meth:`trigger_campaign`; each recipient's
        ``trigger_properties`` are sent as its ``canvas_entry_properties``.
        """
        request = CanvasTriggerRequest(
            canvas_id=canvas_id,
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
        )

    # -- the request pipeline ----------------------------------------------------------------

    async def _trigger(
        self,
        path: str,
        request: object,
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
        )

    async def _call(
        self,
        path: str,
        body: bytes,
        read: Callable[[str, int, Mapping[str, Any]], T | BrazeError],
        *,
        audience: bool | None,
        retry_ambiguous: bool,
        on_admitted: Callable[[], object] | None = None,
    ) -> T:
        """POST *body* to *path* under the retry policy; return what *read* makes of the
        decoded 2xx body.

        *audience* names the rate-limit bucket (``True``: segment / audience, ``False``:
        recipients, ``None``: not rate limited); *on_admitted* runs once, before the first
        attempt leaves. Answers are handled in :meth:`_step`, so that no frame of an error's
        traceback holds what a server sent (a hostile one may echo the key).
        """
        if self._closed:
            raise BrazeError("the client is closed")
        self._check_loop()
        bucket = None if audience is None else Bucket.AUDIENCE if audience else Bucket.EXTERNAL_ID
        attempts = Attempts(
            self._retry,
            endpoint=path,
            retry_ambiguous=retry_ambiguous,
            paced=bucket is not None and self._limiter is not None,
            rng=self._rng,
        )
        while True:
            step = await self._step(path, body, read, bucket, attempts, on_admitted)
            on_admitted = None
            if isinstance(step, Done):
                return step.value
            if not isinstance(step, Retry):
                raise step.error
            level = logging.WARNING if step.rate_limited else logging.INFO
            logger.log(level, "POST %s failed: %s; retry in %.2f s", path, step.reason, step.delay)
            if step.delay:
                await self._sleep(step.delay)

    async def _step(
        self,
        path: str,
        body: bytes,
        read: Callable[[str, int, Mapping[str, Any]], T | BrazeError],
        bucket: Bucket | None,
        attempts: Attempts,
        on_admitted: Callable[[], object] | None,
    ) -> Done[T] | Decision:
        """One attempt and what comes of it: the result, or the retry policy's decision."""
        started = time.perf_counter()
        outcome = await self._attempt(path, body, bucket, on_admitted)
        if not isinstance(outcome, Answer):
            return attempts.decide(outcome)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "POST %s -> %d in %.1f ms (attempt %d)",
                path,
                outcome.status,
                (time.perf_counter() - started) * 1000,
                attempts.made + 1,
            )
        if not 200 <= outcome.status < 300:
            return attempts.decide(self._answers.error(path, outcome, attempts.made + 1))
        data = self._answers.success(path, outcome, attempts.made + 1)
        result = data if isinstance(data, BrazeError) else read(path, outcome.status, data)
        if isinstance(result, BrazeMalformedResponseError):
            return Unknown(result)
        if isinstance(result, BrazeError):
            return GiveUp(result)
        return Done(result)

    async def _attempt(
        self,
        path: str,
        body: bytes,
        bucket: Bucket | None,
        on_admitted: Callable[[], object] | None,
    ) -> Answer | ExchangeError | NotAdmitted:
        """One attempt, admitted by the rate limiter (when there is one for *bucket*)."""
        limiter = self._limiter
        if limiter is None or bucket is None:
            if on_admitted is not None:
                on_admitted()
            try:
                return await self._exchange.post(path, body)
            except ExchangeError as exc:
                return exc
        try:
            permit = await limiter.acquire(bucket, max_wait=self._retry.max_rate_limit_wait)
        except Exception as exc:  # e.g. Redis unreachable: nothing was sent
            return NotAdmitted(self._answers.redact(f"{type(exc).__name__}: {exc}"), exc)
        if on_admitted is not None:
            try:
                on_admitted()
            except BaseException:
                permit.release(sent=False)  # nothing was sent: the slot is given back
                raise
        try:
            answer = await self._exchange.post(path, body)
        except MaybeProcessed as exc:
            permit.release(outcome_unknown=True)  # it may reach Braze late: counts longer
            return exc
        except ExchangeError as exc:
            permit.release(sent=False)  # nothing left this process: the slot is given back
            return exc
        except BaseException:
            permit.release(outcome_unknown=True)  # cancelled mid-flight: it may reach Braze
            raise
        permit.release(sent=True)
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
        if self._batcher is not None:
            raise BrazeError("configure_batching() must come before the first send_to_user()")
        self._batcher = Batcher(
            self, max_concurrency=max_concurrency, linger=linger, max_pending=max_pending
        )

    async def send_to_user(
        self,
        recipient: Recipient,
        *,
        campaign_id: str | None = None,
        canvas_id: str | None = None,
        trigger_properties: Properties | None = None,
        canvas_entry_properties: Properties | None = None,
        send_id: str | None = None,
    ) -> SendResult:
        """Send a campaign or Canvas to one recipient, batched with concurrent callers.

        Calls with the same request-level fields (campaign or Canvas id, ``send_id``,
        request-level properties) share requests of up to 50 recipients; a lone call leaves
        at once. Returns this recipient's :class:`SendResult` (``result.dispatch_id``), or
        raises the error of the request it rode in::

            result = await braze.send_to_user(
                Recipient(external_user_id="u1", trigger_properties={"coupon": "SAVE20"}),
                campaign_id="welcome",
            )
        """
        if self._closed:
            raise BrazeError("the client is closed")
        self._check_loop()
        target = SendTarget.of(
            campaign_id=campaign_id,
            canvas_id=canvas_id,
            trigger_properties=trigger_properties,
            canvas_entry_properties=canvas_entry_properties,
            send_id=send_id,
        )
        if self._batcher is None:
            self._batcher = Batcher(self)
        return await self._batcher.send(recipient, target)

    async def bulk_send(
        self,
        recipients: BulkInput,
        *,
        campaign_id: str | None = None,
        canvas_id: str | None = None,
        trigger_properties: Properties | None = None,
        canvas_entry_properties: Properties | None = None,
        send_id: str | None = None,
        concurrency: int = DEFAULT_BULK_CONCURRENCY,
        journal: str | os.PathLike[str] | None = None,
        input_fingerprint: str = "",
        on_progress: Callable[[BulkProgress], object] | None = None,
        on_outcome: Callable[[RecipientOutcome], object] | None = None,
        stop: asyncio.Event | None = None,
        total: int | None = None,
        max_details: int = DEFAULT_MAX_DETAILS,
    ) -> BulkReport:
        """Send a campaign or Canvas to any number of recipients, 50 per request.

        The input is read lazily (any iterable or async iterable of :class:`Recipient`, or of
        the rows the file readers yield), ``concurrency`` requests at a time. Every item ends
        in exactly one of ``report.sent`` / ``rejected`` / ``failed`` / ``unknown``.

        :param journal: a file making the job resumable after a crash: run it again with the
            same arguments to skip what was sent and send the rest (see ``docs/bulk.md``).
        :param input_fingerprint: names the input in the journal; another input is refused.
        :param on_progress: called with a :class:`BulkProgress` as the job advances.
        :param on_outcome: called with each :class:`RecipientOutcome` that is not "sent".
        :param stop: set it to stop cleanly: no new batches, requests in flight finish.
        :param total: expected item count, for the ETA in the progress.
        :param max_details: how many not-sent outcomes ``report.details`` keeps.

        ::

            report = await braze.bulk_send(recipients, campaign_id="weekly", journal="w.journal")
            print(report.sent, report.rejected, report.failed, report.unknown)
        """
        if self._closed:
            raise BrazeError("the client is closed")
        self._check_loop()
        target = SendTarget.of(
            campaign_id=campaign_id,
            canvas_id=canvas_id,
            trigger_properties=trigger_properties,
            canvas_entry_properties=canvas_entry_properties,
            send_id=send_id,
        )
        return await _bulk_send(
            self,
            recipients,
            target,
            concurrency=concurrency,
            journal=journal,
            input_fingerprint=input_fingerprint,
            destination=self._base_url,
            on_progress=on_progress,
            on_outcome=on_outcome,
            stop=stop,
            total=total,
            max_details=max_details,
        )
