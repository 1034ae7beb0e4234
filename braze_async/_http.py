"""The HTTP layer: one small interface over every way a request can travel to Braze.

:class:`BrazeClient` posts bytes through an :class:`Exchange` and gets an :class:`Answer`
(status, lower-cased headers, the body or ``None`` when it is larger than the cap), or exactly
one of three errors, which are all the retry policy needs to know about the network:

- :class:`NeverSent`: the request never left this process (the connection could not be made,
  or no pooled connection came in time). Safe to retry.
- :class:`MaybeProcessed`: it may have reached Braze (anything after the connection was
  established: a read timeout, the peer hanging up, the attempt timeout). A retry may message
  people twice.
- :class:`CannotSend`: it can never be sent as it is (an unsupported scheme, a URL or header
  that the HTTP stack refuses). Not retried.

Three adapters, chosen once by :func:`open_exchange`, so the client has one code path:

- our :class:`~braze_async.AiohttpTransport` (the default), driven through its ``post`` fast
  path: no httpx ``Request``/``Response`` objects on the hot path;
- any other httpx transport (``httpx.MockTransport``, the simulator's in-process transport):
  a prebuilt ``httpx.Request`` handed to ``handle_async_request``;
- an injected ``httpx.AsyncClient`` (its pool, proxies and event hooks), through ``send``.

The same :class:`Timeouts` apply on all three: ``connect``, ``read``, ``write`` and ``pool``
as httpx defines them (an injected client's own timeouts are replaced by ours for Braze's
requests), and ``attempt``, a ceiling on one attempt from its start to the answer's last byte.
The route's bounds are the default; :meth:`Exchange.post` takes other ones for one request
(``BrazeClient.with_options``), over the same pool.
aiohttp has no separate write timer: its read timer starts once the connection is held and
runs while the body is written, so there a body that cannot be written within ``read``
seconds (Braze's bodies fit in one socket buffer) times out as maybe processed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import NamedTuple, Protocol

import aiohttp
import attrs
import httpx

from ._redact import Redactor
from ._transport import AiohttpTransport
from ._validate import check_seconds

__all__ = [
    "Answer",
    "AttemptClock",
    "CannotSend",
    "Exchange",
    "ExchangeError",
    "MaybeProcessed",
    "NeverSent",
    "Route",
    "Timeouts",
    "deadline",
    "open_exchange",
]

#: Errors that prove the request never left: always safe to retry.
#: (A ProxyError: the proxy refused to open the tunnel, so nothing went past it.)
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
#: Errors that prove the request cannot be sent at all: not retried.
_CANNOT_SEND = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL)


class Deadline(Protocol):
    """A timeout scope whose deadline can be set once it is entered (``asyncio.Timeout``)."""

    def reschedule(self, when: float | None) -> None: ...


if sys.version_info >= (3, 11):
    _timeout_at: Callable[[float | None], AbstractAsyncContextManager[Deadline]] = (
        asyncio.timeout_at
    )
else:  # Python 3.10

    class _Timeout:
        """``asyncio.Timeout`` for Python 3.10: cancels the task at the deadline and turns
        that cancellation into TimeoutError."""

        def __init__(self, when: float | None) -> None:
            self._when = when
            self._handle: asyncio.TimerHandle | None = None
            self._task: asyncio.Task[object] | None = None
            self._expired = False

        async def __aenter__(self) -> _Timeout:
            self._task = asyncio.current_task()
            self.reschedule(self._when)
            return self

        async def __aexit__(self, kind: object, exc: object, tb: object) -> None:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            if self._expired and isinstance(exc, asyncio.CancelledError):
                raise TimeoutError from None

        def reschedule(self, when: float | None) -> None:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            self._when = when
            if when is not None and self._task is not None:
                self._handle = asyncio.get_running_loop().call_at(when, self._expire)

        def _expire(self) -> None:
            self._expired = True
            if self._task is not None:
                self._task.cancel()

    _timeout_at = _Timeout


def deadline(seconds: float | None) -> AbstractAsyncContextManager[Deadline]:
    """A scope that raises TimeoutError after *seconds* (``None``: not until rescheduled)."""
    when = None if seconds is None else asyncio.get_running_loop().time() + seconds
    return _timeout_at(when)


class Answer(NamedTuple):
    """Braze's answer to one attempt."""

    #: The HTTP status code.
    status: int
    #: Response headers, names lower-cased (one pass, so lookups are dict lookups), the key
    #: redacted from their values (a hostile server may echo it).
    headers: dict[str, str]
    #: The body, or ``None`` when it was larger than the cap (it was then not read).
    body: bytes | None


class ExchangeError(Exception):
    """An attempt that got no answer; ``reason`` says why, with the key redacted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NeverSent(ExchangeError):
    """The request never left this process: nothing was sent, safe to retry."""


class MaybeProcessed(ExchangeError):
    """The request may have reached Braze and been processed."""


class CannotSend(ExchangeError):
    """The request can never be sent as it is."""


def _bound(_: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    """A bound is a finite number of seconds > 0, or None (named as the client's setting)."""
    if value is not None:
        name = attribute.name
        check_seconds(value, "attempt_timeout" if name == "attempt" else f"timeout.{name}")


@attrs.frozen(kw_only=True)
class Timeouts:
    """Every bound on one attempt, in seconds (``None``: no bound); checked when made."""

    #: Establishing a connection.
    connect: float | None = attrs.field(validator=_bound)
    #: Between two reads of the answer (aiohttp: also while the body is written).
    read: float | None = attrs.field(validator=_bound)
    #: Writing one chunk of the request (httpx transports).
    write: float | None = attrs.field(validator=_bound)
    #: Waiting for a connection from the pool.
    pool: float | None = attrs.field(validator=_bound)
    #: One attempt from start to the answer's last byte.
    attempt: float | None = attrs.field(validator=_bound)

    @classmethod
    def of(cls, timeout: float | httpx.Timeout | None, attempt: float | None) -> Timeouts:
        """From httpx's ``timeout`` (a number or an ``httpx.Timeout``) and the attempt bound."""
        if not isinstance(timeout, httpx.Timeout) and timeout is not None:
            check_seconds(timeout, "timeout")
        t = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        return cls(connect=t.connect, read=t.read, write=t.write, pool=t.pool, attempt=attempt)

    def as_httpx(self) -> httpx.Timeout:
        """The four network bounds as an ``httpx.Timeout``."""
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


class Exchange(Protocol):
    """The one interface the client posts through (see the module docstring)."""

    async def post(self, path: str, body: bytes | None, timeouts: Timeouts | None = None) -> Answer:
        """POST *body* to *path* (``None``: GET *path*, its query in it) under *timeouts*
        (``None``: the route's); raise
        :class:`NeverSent`, :class:`MaybeProcessed` or :class:`CannotSend` when no answer
        came."""
        ...

    async def aclose(self) -> None:
        """Close the connection pool, if this exchange owns it."""
        ...


@attrs.frozen(kw_only=True)
class Route:
    """Where and how every request goes: what the adapters share."""

    #: The REST endpoint, e.g. ``https://rest.iad-01.braze.com`` (no trailing slash).
    base_url: str
    #: Headers sent with every request (Authorization, Content-Type, User-Agent).
    headers: Mapping[str, str]
    #: The bounds on each attempt.
    timeouts: Timeouts
    #: Answers larger than this are not read.
    max_bytes: int
    #: Redacted from every error message (the API key).
    secret: str = attrs.field(repr=False)


class AttemptClock:
    """The bounds of one attempt as it goes: the pool wait (where the adapter bounds it),
    then the making of a new connection, then, once a connection is held, ``attempt``. A
    timeout before :meth:`connection_held` means "never sent".

    ``connect`` bounds the whole making of a connection, from :meth:`connecting` to
    :meth:`connection_held`: the name's resolution, the TCP connect, a proxy's ``CONNECT``
    and the TLS handshake. The HTTP stack's own connect timer covers only some of these
    (aiohttp's ``sock_connect`` times neither DNS nor a proxy that never answers ``CONNECT``),
    so this scope does it for all of them."""

    __slots__ = ("held", "making", "scope", "timeouts")

    def __init__(self, timeouts: Timeouts) -> None:
        #: The bounds of this attempt.
        self.timeouts = timeouts
        #: A new connection is being made (the pool wait is over).
        self.making = False
        #: A connection was held: the request may have left from here on.
        self.held = False
        #: The timeout scope the attempt runs in.
        self.scope: Deadline | None = None

    def connecting(self) -> None:
        """The pool gave a slot and a new connection is being made: it has ``connect``
        seconds (the pool wait's bound no longer applies)."""
        self.making = True
        if not self.held and self.scope is not None:
            self.scope.reschedule(_after(self.timeouts.connect))

    def timed_out(self) -> str:
        """What ran out of time before a connection was held."""
        if self.making:
            return (
                f"ConnectTimeout: no connection made within {self.timeouts.connect} s (name "
                "resolution, TCP, a proxy's CONNECT and TLS)"
            )
        return f"PoolTimeout: no pooled connection within {self.timeouts.pool} s"

    def connection_held(self) -> None:
        """A connection is held; the request is about to be written."""
        if not self.held:
            if self.scope is not None:
                self.scope.reschedule(_after(self.timeouts.attempt))
            self.held = True  # (once the attempt's bound is set: a failure there is "never sent")


def _after(seconds: float | None) -> float | None:
    """The event loop's time *seconds* from now (``None``: no deadline)."""
    return None if seconds is None else asyncio.get_running_loop().time() + seconds


class _Exchange:
    """What the three adapters share: the deadline and the error mapping."""

    def __init__(self, route: Route) -> None:
        self._route = route
        self._base_url = route.base_url
        self._timeouts = route.timeouts
        self._max_bytes = route.max_bytes
        #: Hides the key from every error and answer header that leaves here.
        self._redact = Redactor.of(route.secret)

    #: Whether this adapter bounds the wait for a pooled connection itself (aiohttp cannot).
    _bounds_pool_wait = False

    async def post(self, path: str, body: bytes | None, timeouts: Timeouts | None = None) -> Answer:
        clock = AttemptClock(self._timeouts if timeouts is None else timeouts)
        try:
            async with deadline(clock.timeouts.pool if self._bounds_pool_wait else None) as scope:
                clock.scope = scope
                answer = await self._post(path, body, clock)
        except _NEVER_SENT as exc:
            raise NeverSent(self._redact.describe(exc)) from self._redact.exception(exc)
        except _CANNOT_SEND as exc:
            raise CannotSend(self._redact.describe(exc)) from self._redact.exception(exc)
        except TimeoutError as exc:
            if clock.held:
                raise MaybeProcessed(self._redact.describe(exc)) from self._redact.exception(exc)
            raise NeverSent(clock.timed_out()) from self._redact.exception(exc)
        except httpx.TransportError as exc:
            raise MaybeProcessed(self._redact.describe(exc)) from self._redact.exception(exc)
        except Exception as exc:
            if clock.held:
                raise  # a failure nobody expected, once the request may have left: unknown
            # Nothing left this process (a request hook, a bug below us): never sent, and
            # not retried (it would fail alike).
            raise CannotSend(self._redact.describe(exc)) from self._redact.exception(exc)
        headers = self._redact.headers(answer.headers)
        return answer if headers is answer.headers else answer._replace(headers=headers)

    async def _post(self, path: str, body: bytes | None, clock: AttemptClock) -> Answer:
        """POST (GET without a body), telling *clock* when a connection is being made and
        when it is held."""
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


class _AiohttpExchange(_Exchange):
    """Our own AiohttpTransport, through its ``post`` fast path."""

    def __init__(self, transport: AiohttpTransport, route: Route) -> None:
        super().__init__(route)
        self._transport = transport
        self._header_items = [*route.headers.items(), ("Accept", "*/*")]
        self._aiohttp_timeout = _aiohttp_timeout(self._timeouts)

    _bounds_pool_wait = True

    async def _post(self, path: str, body: bytes | None, clock: AttemptClock) -> Answer:
        t = clock.timeouts
        status, headers, raw = await self._transport.post(
            self._base_url + path,
            self._header_items,
            body,
            timeout=self._aiohttp_timeout if t is self._timeouts else _aiohttp_timeout(t),
            max_bytes=self._max_bytes,
            secret=self._route.secret,
            events=clock,
        )
        return Answer(status, headers, raw)

    async def aclose(self) -> None:
        await self._transport.aclose()


def _aiohttp_timeout(t: Timeouts) -> aiohttp.ClientTimeout:
    """*t* as aiohttp's timeouts. aiohttp's ``connect`` would span the pool wait and the
    connection together: the pool wait is bounded by our AttemptClock instead, the connection
    by ``sock_connect``. Its read timer also covers the write (see the module docstring)."""
    return aiohttp.ClientTimeout(total=None, connect=None, sock_connect=t.connect, sock_read=t.read)


class _HttpxExchange(_Exchange):
    """Any httpx transport, or an injected ``httpx.AsyncClient``."""

    def __init__(
        self, sender: httpx.AsyncBaseTransport | httpx.AsyncClient, route: Route, *, owned: bool
    ) -> None:
        super().__init__(route)
        self._sender = sender
        self._owned = owned
        self._urls: dict[str, httpx.URL] = {}
        self._traced = _emits_traces(sender)
        self._httpx_timeout = route.timeouts.as_httpx()
        self._extensions: dict[str, object] = {"timeout": self._httpx_timeout.as_dict()}
        self._header_list = [
            (b"Host", httpx.URL(self._base_url).netloc),
            (b"Accept", b"*/*"),
            *((k.encode(), v.encode()) for k, v in route.headers.items()),
        ]

    async def _post(self, path: str, body: bytes | None, clock: AttemptClock) -> Answer:
        method = "GET" if body is None else "POST"
        httpx_timeout, extensions = self._httpx_timeout, self._extensions
        if clock.timeouts is not self._timeouts:
            httpx_timeout = clock.timeouts.as_httpx()
            extensions = {"timeout": httpx_timeout.as_dict()}
        if self._traced:
            # httpcore reports when a new connection is being made, and when the request's
            # headers start to go out: the pool wait and the connection are behind us. A
            # proxy's CONNECT goes out the same way, on the connection being made: it is not
            # our request (a CONNECT that is never answered is "never sent").
            async def trace(event: str, info: Mapping[str, object]) -> None:
                if event.endswith("send_request_headers.started"):
                    request = info.get("request")
                    if getattr(request, "method", None) != b"CONNECT":
                        clock.connection_held()
                elif event == "connection.connect_tcp.started":
                    clock.connecting()

            extensions = {**extensions, "trace": trace}
        else:
            clock.connection_held()  # a transport that tells nothing: the clock starts now
        if isinstance(self._sender, httpx.AsyncClient):
            # Through the client's own request building: its default headers, cookies and
            # event hooks apply; our bounds replace its timeouts.
            request = self._sender.build_request(
                method,
                self._base_url + path,
                content=body,
                headers=self._route.headers,
                timeout=httpx_timeout,
                extensions=extensions,
            )
            response = await self._sender.send(request, stream=True, follow_redirects=False)
        else:
            # A prebuilt URL and headers, so httpx parses and merges nothing per request.
            length = [] if body is None else [(b"Content-Length", str(len(body)).encode())]
            request = httpx.Request(
                method,
                self._url(path),
                headers=httpx.Headers([*self._header_list, *length]),
                content=body,
                extensions=extensions,
            )
            response = await self._sender.handle_async_request(request)
        try:
            raw = await self._read(response)
        finally:
            await response.aclose()
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers.raw
        }
        return Answer(response.status_code, headers, raw)

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self._base_url + path)
        return url

    async def _read(self, response: httpx.Response) -> bytes | None:
        """The body, or None when it is larger than the cap."""
        cap = self._max_bytes
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

    async def aclose(self) -> None:
        if self._owned:
            assert isinstance(self._sender, httpx.AsyncBaseTransport)
            await self._sender.aclose()


def _emits_traces(sender: httpx.AsyncBaseTransport | httpx.AsyncClient) -> bool:
    """Whether requests through *sender* reach httpcore, which reports their progress to the
    ``trace`` extension (httpx's own transport, as an injected client uses by default)."""
    if isinstance(sender, httpx.AsyncClient):
        mounted = getattr(sender, "_mounts", {}).values()
        transports = [getattr(sender, "_transport", None), *mounted]
        return all(t is None or isinstance(t, httpx.AsyncHTTPTransport) for t in transports)
    return isinstance(sender, httpx.AsyncHTTPTransport)


def open_exchange(route: Route, sender: httpx.AsyncBaseTransport | httpx.AsyncClient) -> Exchange:
    """The adapter for what the client was given: a transport (closed by
    :meth:`Exchange.aclose`) or an injected ``httpx.AsyncClient`` (left open: its owner's)."""
    if isinstance(sender, httpx.AsyncClient):
        return _HttpxExchange(sender, route, owned=False)
    if isinstance(sender, AiohttpTransport):
        return _AiohttpExchange(sender, route)
    return _HttpxExchange(sender, route, owned=True)
