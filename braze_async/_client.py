"""``BrazeClient``: the async client for Braze's send endpoints.

It composes the parts, which do not know each other: models validate, the converter
serializes, the rate limiter admits, httpx (on :class:`AiohttpTransport` by default) carries,
and the answer is parsed into a response model or one exception of :mod:`._errors`.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import os
import random
import re
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final
from urllib.parse import quote, urlsplit

import aiohttp
import httpx
import orjson

from ._batching import DEFAULT_LINGER, DEFAULT_MAX_CONCURRENCY, Batcher, SendResult, SendTarget
from ._bulk import (
    DEFAULT_BULK_CONCURRENCY,
    DEFAULT_MAX_DETAILS,
    BulkInput,
    BulkProgress,
    BulkReport,
    RecipientOutcome,
)
from ._bulk import bulk_send as _bulk_send
from ._errors import (
    BrazeAPIError,
    BrazeConnectionError,
    BrazeError,
    BrazeMalformedResponseError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    ErrorDetail,
    error_class_for,
)
from ._limits import Bucket, RateLimiter, RateLimits
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
from ._retry import RetryPolicy, rate_limit_delay
from ._transport import DEFAULT_LIMITS, AiohttpTransport
from ._wire import (
    dumps,
    read_errors,
    structure_send_response,
    structure_transactional_response,
)

__all__ = ["DEFAULT_TIMEOUT", "BrazeClient"]

logger = logging.getLogger("braze_async")

#: Default timeouts: connect 5 s, read 30 s, write 30 s, waiting for a pooled connection 60 s.
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=60.0)
#: Default ceiling on one attempt from start to last byte (stops slow-loris answers).
DEFAULT_ATTEMPT_TIMEOUT: Final = 90.0
#: Largest answer we read; Braze's are a few hundred bytes.
DEFAULT_MAX_RESPONSE_BYTES: Final = 1 << 20

_INSTANCE = re.compile(r"[a-z]{2,4}-\d{2}")
_VERSION = "0.1.0"

#: Errors that prove the request never left: always safe to retry.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: Errors that prove the request cannot be sent at all: not retried.
_UNSENDABLE = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL)


if sys.version_info >= (3, 11):
    _deadline = asyncio.timeout
else:  # pragma: no cover - Python 3.10
    import contextlib

    @contextlib.asynccontextmanager
    async def _deadline(seconds: float | None):  # type: ignore[no-untyped-def]
        task = asyncio.current_task()
        assert task is not None
        handle = asyncio.get_running_loop().call_later(seconds, task.cancel) if seconds else None
        try:
            yield
        except asyncio.CancelledError:
            if handle is not None and handle.when() <= asyncio.get_running_loop().time():
                raise TimeoutError from None
            raise
        finally:
            if handle is not None:
                handle.cancel()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def budget_name(base_url: str, api_key: str) -> str:
    """The default name of a rate-limit budget: derived from endpoint and key, never the key."""
    digest = hashlib.sha256(f"{base_url}\0{api_key}".encode()).hexdigest()
    return f"{urlsplit(base_url).hostname}-{digest[:16]}"


def resolve_base_url(instance: str | None, base_url: str | None) -> str:
    """The REST endpoint from ``instance`` ("iad-01") or ``base_url``; https unless loopback."""
    if instance is not None and base_url is not None:
        raise BrazeValidationError("instance", "give either instance or base_url, not both")
    if instance is not None:
        if not isinstance(instance, str) or not _INSTANCE.fullmatch(instance):
            raise BrazeValidationError(
                "instance", f"must look like 'iad-01' or 'fra-02', not {instance!r}"
            )
        domain = "braze.eu" if instance.startswith("fra-") else "braze.com"
        return f"https://rest.{instance}.{domain}"
    if base_url is None:
        raise BrazeValidationError(
            "base_url", "is required: pass instance='iad-01' or base_url='https://rest...'"
        )
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BrazeValidationError("base_url", f"must be an http(s) URL, not {base_url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise BrazeValidationError(
            "base_url", "plain http:// is only allowed for loopback hosts; use https://"
        )
    if parts.query or parts.fragment:
        raise BrazeValidationError("base_url", "must not have a query or fragment")
    return base_url.rstrip("/")


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
    :param attempt_timeout: ceiling on one attempt, first byte sent to last byte read.
    :param retry: the :class:`RetryPolicy`.
    :param rate_limits: the client-side :class:`RateLimits` (Braze's published limits by
        default; with ``redis_url`` shared by every process); ``None`` turns limiting off.
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
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = DEFAULT_LIMITS.max_connections or 64,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        _sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        _rng: random.Random | None = None,
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
        self._attempt_timeout = attempt_timeout
        self._max_response_bytes = max_response_bytes
        self._sleep = _sleep
        self._rng = _rng or random.Random()
        self._closed = False
        #: Every rate-limited request passes through here (None: limiting is off).
        self._limiter = (
            None
            if rate_limits is None
            else RateLimiter(rate_limits, namespace=budget_name(self._base_url, api_key))
        )
        self._auth_headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "User-Agent": f"braze-async/{_VERSION}",
        }
        #: An injected client (used through ``send``), or None when we own the transport.
        self._http: httpx.AsyncClient | None = http_client
        self._transport: httpx.AsyncBaseTransport | None = None
        if http_client is None:
            # We own the connection pool. Requests go straight to the transport: httpx's
            # client adds per-request cookie extraction, auth and redirect machinery that a
            # send API does not use (about 0.15 ms of CPU a request, see benchmarks/). With
            # our own AiohttpTransport we even skip httpx's Request/Response objects (its
            # ``post`` fast path): another ~0.1 ms, which puts us level with raw aiohttp.
            limits = httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=DEFAULT_LIMITS.keepalive_expiry,
            )
            self._transport = transport or AiohttpTransport(limits=limits)
        #: Our own aiohttp transport, driven directly (no httpx objects on the hot path).
        self._direct = self._transport if isinstance(self._transport, AiohttpTransport) else None
        self._direct_headers = [*self._auth_headers.items(), ("Accept", "*/*")]
        httpx_timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._direct_timeout = aiohttp.ClientTimeout(
            total=None,
            connect=httpx_timeout.pool,
            sock_connect=httpx_timeout.connect,
            sock_read=httpx_timeout.read,
        )
        self._urls: dict[str, httpx.URL] = {}
        self._extensions = {"timeout": httpx_timeout.as_dict()}
        self._header_list = [
            (b"Host", httpx.URL(self._base_url).netloc),
            (b"Accept", b"*/*"),
            *((k.encode(), v.encode()) for k, v in self._auth_headers.items()),
        ]

    # -- lifecycle -------------------------------------------------------------------------

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
        """Close the connection pool (if we created it). Safe to call more than once."""
        if self._closed:
            return
        if self._batcher is not None:
            await self._batcher.aclose()  # sends what waits, waits for what is in flight
        self._closed = True
        if self._limiter is not None:
            await self._limiter.aclose()
        if self._transport is not None:
            await self._transport.aclose()

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

    async def send_campaign_request(self, request: CampaignTriggerRequest) -> SendResponse:
        """Send a ready-made :class:`CampaignTriggerRequest`."""
        return await self._trigger("/campaigns/trigger/send", request, request.targets_audience)

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

    async def send_canvas_request(self, request: CanvasTriggerRequest) -> SendResponse:
        """Send a ready-made :class:`CanvasTriggerRequest`."""
        return await self._trigger("/canvas/trigger/send", request, request.targets_audience)

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
        status, data = await self._call(
            path, dumps(request), audience=None, retry_ambiguous=external_send_id is not None
        )
        return structure_transactional_response(data, status)

    # -- the request pipeline ----------------------------------------------------------------

    async def _trigger(self, path: str, request: object, audience: bool) -> SendResponse:
        status, data = await self._call(
            path, dumps(request), audience=audience, retry_ambiguous=self._retry.retry_ambiguous
        )
        response = structure_send_response(data, status)
        if response.dispatch_id is None and not (status == 202 or response.queued):
            raise BrazeMalformedResponseError(
                "Braze answered success without a dispatch_id", status_code=status, endpoint=path
            )
        return response

    async def _call(
        self, path: str, body: bytes, *, audience: bool | None, retry_ambiguous: bool
    ) -> tuple[int, Mapping[str, Any]]:
        """POST *body* to *path* under the retry policy; return (status, decoded 2xx body).

        *audience* names the rate-limit bucket (``True``: segment / audience, ``False``:
        recipients, ``None``: not rate limited).
        """
        if self._closed:
            raise BrazeError("the client is closed")
        policy = self._retry
        bucket = None if audience is None else Bucket.AUDIENCE if audience else Bucket.EXTERNAL_ID
        attempt = failures = rate_limited = 0
        #: Why an earlier attempt may have been processed (set once we retried one).
        maybe_processed: str | None = None

        def final(error: BrazeError, cause: BaseException | None = None) -> BrazeError:
            """The error to raise: once an attempt may have been processed, any later
            definitive failure still leaves the outcome unknown (never "failed")."""
            if cause is not None:
                error.__cause__ = cause
            if maybe_processed is None or isinstance(error, BrazeUnknownOutcomeError):
                return error
            unknown = BrazeUnknownOutcomeError(
                f"an earlier attempt may have been processed ({maybe_processed}); "
                f"the last one failed: {error}",
                endpoint=path,
                attempts=attempt,
            )
            unknown.__cause__ = error
            return unknown

        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                status, headers, raw = await self._limited_attempt(path, body, bucket)
            except _UNSENDABLE as exc:
                raise final(
                    BrazeConnectionError(
                        f"the request cannot be sent: {exc}", endpoint=path, attempts=attempt
                    ),
                    exc,
                ) from None
            except _NEVER_SENT as exc:
                failures += 1
                if failures < policy.attempts:
                    await self._backoff(path, failures, f"never sent ({type(exc).__name__})")
                    continue
                raise final(
                    BrazeConnectionError(
                        f"could not reach Braze: {type(exc).__name__}: {exc}",
                        endpoint=path,
                        attempts=attempt,
                    ),
                    exc,
                ) from None
            except (httpx.TransportError, TimeoutError) as exc:
                failures += 1
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if retry_ambiguous and failures < policy.attempts:
                    maybe_processed = reason
                    await self._backoff(path, failures, f"outcome unknown ({reason}), retrying")
                    continue
                raise BrazeUnknownOutcomeError(
                    f"the request was sent but no answer came back ({reason}); "
                    "it may or may not have been processed",
                    endpoint=path,
                    attempts=attempt,
                ) from exc
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "POST %s -> %d in %.1f ms (attempt %d)",
                    path,
                    status,
                    (time.perf_counter() - started) * 1000,
                    attempt,
                )
            if 200 <= status < 300:
                return status, self._decode_success(path, status, raw, attempt)
            error = self._error(path, status, headers, raw, attempt)
            if status == 429:
                rate_limited += 1
                if rate_limited <= policy.rate_limited_attempts:
                    if bucket is not None and self._limiter is not None:
                        # The limiter now pauses the whole bucket until Braze's reset, so the
                        # retry (and every other sender) waits there, once.
                        logger.warning("POST %s rate limited; retrying after the reset", path)
                        continue
                    delay = error.retry_after
                    if delay is None:
                        delay = policy.backoff(rate_limited, self._rng) + policy.backoff_initial
                    delay = min(delay, policy.max_rate_limit_wait)
                    logger.warning("POST %s rate limited; retrying in %.2f s", path, delay)
                    await self._sleep(delay)
                    continue
            elif status >= 500:
                failures += 1
                if failures < policy.attempts:
                    await self._backoff(path, failures, f"HTTP {status}")
                    continue
            raise final(error)

    async def _limited_attempt(
        self, path: str, body: bytes, bucket: Bucket | None
    ) -> tuple[int, dict[str, str], bytes | None]:
        """One attempt, admitted by the rate limiter (when there is one for *bucket*)."""
        limiter = self._limiter
        if limiter is None or bucket is None:
            return await self._attempt(path, body)
        try:
            permit = await limiter.acquire(bucket)
        except Exception as exc:  # e.g. Redis unreachable: nothing was sent
            raise BrazeConnectionError(
                f"the rate limiter could not admit the request: {type(exc).__name__}: "
                f"{self._redact(str(exc))}",
                endpoint=path,
            ) from exc
        try:
            result = await self._attempt(path, body)
        except (*_UNSENDABLE, *_NEVER_SENT):
            permit.release(sent=False)  # nothing left this process: the slot is given back
            raise
        except BaseException:
            permit.release(sent=True)  # it may have reached Braze, so it counts
            raise
        permit.release(sent=True)
        limiter.observe(bucket, result[0], result[1])
        return result

    async def _backoff(self, path: str, retry: int, why: str) -> None:
        delay = self._retry.backoff(retry, self._rng)
        logger.info("POST %s failed: %s; retry %d in %.2f s", path, why, retry, delay)
        await self._sleep(delay)

    async def _attempt(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes | None]:
        """One POST; returns (status, headers, body or None if too large).

        Raises httpx's errors, or TimeoutError when the attempt outlives ``attempt_timeout``.
        """
        async with _deadline(self._attempt_timeout):
            if self._direct is not None:
                return await self._direct.post(
                    self._base_url + path,
                    self._direct_headers,
                    body,
                    timeout=self._direct_timeout,
                    max_bytes=self._max_response_bytes,
                    secret=self._api_key,
                )
            if self._transport is not None:
                # Hot path: a prebuilt URL and headers, so httpx parses and merges nothing.
                request = httpx.Request(
                    "POST",
                    self._url(path),
                    headers=self._headers_for(len(body)),
                    content=body,
                    extensions=self._extensions,
                )
                response = await self._transport.handle_async_request(request)
            else:
                assert self._http is not None
                request = self._http.build_request(
                    "POST", self._base_url + path, content=body, headers=self._auth_headers
                )
                response = await self._http.send(request, stream=True, follow_redirects=False)
            try:
                raw = await self._read(response)
            finally:
                await response.aclose()
        # One pass into a plain dict with lower-case names: the limiter, the retry policy and
        # the error reader look several up, and httpx.Headers lookups are linear scans.
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers.raw
        }
        return response.status_code, headers, raw

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self._base_url + path)
        return url

    def _headers_for(self, length: int) -> httpx.Headers:
        return httpx.Headers([*self._header_list, (b"Content-Length", str(length).encode())])

    async def _read(self, response: httpx.Response) -> bytes | None:
        """The body, or None when it is larger than ``max_response_bytes``."""
        cap = self._max_response_bytes
        length = response.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) <= cap:
            return await response.aread()
        try:  # transports such as MockTransport hand over bodies already in memory
            content = response.content
        except httpx.ResponseNotRead:
            pass
        else:
            return content if len(content) <= cap else None
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > cap:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _decode_success(
        self, path: str, status: int, raw: bytes | None, attempt: int
    ) -> Mapping[str, Any]:
        try:
            data = (orjson.loads(raw) if raw else {}) if raw is not None else None
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise BrazeMalformedResponseError(
                f"Braze answered HTTP {status} with a body that is not a JSON object: "
                f"{self._snippet(raw)}",
                status_code=status,
                endpoint=path,
                attempts=attempt,
            )
        return data

    def _error(
        self, path: str, status: int, headers: Mapping[str, str], raw: bytes | None, attempt: int
    ) -> BrazeAPIError:
        try:
            data = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            data = None
        errors: tuple[ErrorDetail, ...] = ()
        if isinstance(data, dict):
            message = str(data.get("message") or data.get("error") or f"HTTP {status}")
            errors = read_errors(data.get("errors"))
        else:
            message = f"HTTP {status} with a non-JSON body: {self._snippet(raw)}"
        if 300 <= status < 400:
            target = urlsplit(headers.get("location", "")).netloc or "an unknown place"
            message = f"unexpected redirect to {target}; not followed (the key stays here)"
        message = self._redact(message)
        errors = tuple(
            ErrorDetail(code=self._redact(e.code), message=self._redact(e.message)) for e in errors
        )
        retry_after = rate_limit_delay(headers) if status == 429 else None
        return error_class_for(status)(
            message,
            status_code=status,
            errors=errors,
            endpoint=path,
            attempts=attempt,
            retry_after=retry_after,
        )

    def _redact(self, text: str) -> str:
        # A hostile or broken server could echo our headers back; never carry the key on.
        return text.replace(self._api_key, "***") if self._api_key in text else text

    def _snippet(self, raw: bytes | None) -> str:
        if raw is None:
            return f"(larger than {self._max_response_bytes} bytes, not read)"
        # Redact the whole body before cutting it: a key straddling the cut must not leak half.
        text = self._redact(raw.decode("utf-8", "replace"))[:200]
        text = re.sub(r"<[^>]*>", " ", text)
        text = " ".join(text.split())
        return repr(text if text else "(empty)")

    # -- batched single sends and bulk jobs: see _batching.py and _bulk.py -------------------

    #: The batcher behind send_to_user, created on first use.
    _batcher: Batcher | None = None

    def configure_batching(
        self, *, max_concurrency: int = DEFAULT_MAX_CONCURRENCY, linger: float = DEFAULT_LINGER
    ) -> None:
        """Set how :meth:`send_to_user` batches; call it before the first ``send_to_user``.

        :param max_concurrency: batched requests in flight at once (default 16).
        :param linger: seconds a partial batch may wait for company while other batched
            requests are in flight (default 5 ms); a lone call never waits.
        """
        if self._batcher is not None:
            raise BrazeError("configure_batching() must come before the first send_to_user()")
        self._batcher = Batcher(self, max_concurrency=max_concurrency, linger=linger)

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
