"""The default HTTP transport: httpx's interface on aiohttp's connection machinery.

Why not httpx's own transport: measured on this project's hardware, httpx's default
(httpcore) pool costs 1 ms of CPU per request alone and 5.8 ms at 64 concurrent requests,
while aiohttp's stays flat near 0.4 ms (see ``benchmarks/``).

Why not the ``httpx-aiohttp`` package: it maps every ``aiohttp.ClientConnectionError``,
including ``ServerDisconnectedError`` (our request was written, the server hung up without
answering), to ``httpx.ConnectTimeout``, which reads as "never sent, safe to retry". For a
send API that would message users twice. This transport keeps the distinction exact:

- the request never left (connect failed or timed out, no pooled connection in time):
  ``httpx.ConnectError`` / ``httpx.ConnectTimeout`` / ``httpx.PoolTimeout``;
- the request may have been processed (anything after the connection was established):
  ``httpx.RemoteProtocolError`` / ``httpx.ReadTimeout`` / ``httpx.ReadError``.
"""

from __future__ import annotations

import asyncio
import ssl
import types
import urllib.request
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import aiohttp
import httpx

from ._errors import BrazeValidationError
from ._redact import Redactor
from ._validate import check_count, check_seconds

__all__ = ["AiohttpTransport", "ConnectionEvents"]

#: Connections kept open to Braze. Requests beyond this wait for a free one.
DEFAULT_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=30)


#: Bodies up to this size (with a Content-Length) are read eagerly.
_EAGER_BODY = 64 * 1024


def _token(request: httpx.Request | None) -> str:
    if request is None:
        return ""
    value: str = request.headers.get("authorization", "")
    return value.partition(" ")[2]


def _map(
    exc: BaseException, request: httpx.Request | None, redact: Redactor
) -> httpx.TransportError:
    """*exc* as the httpx error it means, its message redacted (a hostile server can echo the
    key into one; aiohttp quotes a proxy's URL, password included). Chain it to
    ``redact.exception(exc)``: *exc* itself may carry a secret."""
    message = redact.text(str(exc) or type(exc).__name__)
    # Order matters: the connector errors subclass the generic ones below them.
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        # The proxy refused the CONNECT: the request never went past it.
        return httpx.ProxyError(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)):
        return httpx.UnsupportedProtocol(message, request=request)
    if isinstance(exc, (aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError, TimeoutError)):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)


class ConnectionEvents(Protocol):
    """What :meth:`AiohttpTransport.post` tells about the connection of a request."""

    def connecting(self) -> None:
        """A slot of the pool was given and a new connection is being made."""

    def connection_held(self) -> None:
        """A connection (new or pooled) is held; the request is about to be written."""


async def _connecting(
    session: aiohttp.ClientSession, context: types.SimpleNamespace, params: object
) -> None:
    events = context.trace_request_ctx
    if events is not None:
        events.connecting()


async def _connection_held(
    session: aiohttp.ClientSession, context: types.SimpleNamespace, params: object
) -> None:
    events = context.trace_request_ctx
    if events is not None:
        events.connection_held()


class _ResponseStream(httpx.AsyncByteStream):
    __slots__ = ("_redact", "_request", "_response")

    def __init__(
        self, response: aiohttp.ClientResponse, request: httpx.Request, redact: Redactor
    ) -> None:
        self._response = response
        self._request = request
        self._redact = redact

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(65536):
                yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            redact = self._redact.plus(_token(self._request))
            raise _map(exc, self._request, redact) from redact.exception(exc)

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` async transport running on an ``aiohttp.ClientSession``.

    :param limits: connection pool size and keep-alive (httpx's ``Limits``):
        ``max_connections`` open at once (further requests wait for one), and
        ``keepalive_expiry``, the seconds an idle pooled connection is kept. Keep it below
        the idle timeout of any load balancer or proxy on the way, which would otherwise
        close connections we still hold as reusable.
    :param verify: TLS verification: ``True`` (default, system CAs via certifi-free
        ``ssl.create_default_context``), or an ``ssl.SSLContext``. ``False`` is refused: Braze
        keys must not travel over unverified TLS.
    :param proxy: an HTTP proxy for every request, e.g. ``"http://proxy.internal:3128"``
        (credentials may be given in it). HTTPS requests go through it in a ``CONNECT``
        tunnel: the proxy never sees the key.
    :param trust_env: without ``proxy``, take it from the environment as httpx does:
        ``HTTPS_PROXY`` (``HTTP_PROXY`` for ``http://``, else ``ALL_PROXY``), unless the
        host is in ``NO_PROXY``. Read once per host, on its first request. Nothing else is
        read from the environment (aiohttp's own ``trust_env`` also reads ``~/.netrc``).
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        verify: ssl.SSLContext | bool = True,
        proxy: str | None = None,
        trust_env: bool = False,
    ) -> None:
        if verify is False:
            raise ValueError("verify=False is not supported: TLS verification stays on")
        if not isinstance(limits, httpx.Limits):
            raise BrazeValidationError("limits", "must be an httpx.Limits")
        if limits.max_connections is not None:
            check_count(limits.max_connections, "limits.max_connections")
        if limits.keepalive_expiry is not None:
            check_seconds(limits.keepalive_expiry, "limits.keepalive_expiry")
        self._ssl: ssl.SSLContext | bool = (
            verify if isinstance(verify, ssl.SSLContext) else ssl.create_default_context()
        )
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._proxy = proxy
        self._trust_env = trust_env
        #: Origin (``scheme://host:port``) -> its proxy from the environment, or None.
        self._env_proxies: dict[str, str | None] = {}
        #: Hides the passwords of the proxies in use (aiohttp quotes a proxy's URL in its
        #: errors); each request's key is added to it when one fails.
        self._redact = Redactor.of(urls=[proxy])

    def __repr__(self) -> str:
        # The proxy URL may hold credentials: name only whether there is one.
        proxied = "proxy" if self._proxy else "environment" if self._trust_env else "none"
        return f"AiohttpTransport(max_connections={self._limits.max_connections}, proxy={proxied})"

    def _proxy_for(self, url: str) -> str | None:
        """The proxy for a request to *url* (``proxy``, or the environment's)."""
        if self._proxy is not None or not self._trust_env:
            return self._proxy
        end = url.find("/", url.find("//") + 2)
        origin = url if end < 0 else url[:end]
        try:
            return self._env_proxies[origin]
        except KeyError:
            proxy = self._env_proxies[origin] = _environment_proxy(origin)
            self._redact = self._redact.plus(urls=[proxy])
            return proxy

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry or 30.0,
            ssl=self._ssl,
        )
        # No cookie jar, no settings from the environment (the proxy is chosen per request, see
        # _proxy_for): a send API needs neither. No
        # compression either: aiohttp would offer gzip, and a server (or CDN) taking the offer
        # would send answers we do not decompress (see handle_async_request).
        # Tell the caller of ``post`` when a new connection is being made and when one is held
        # (new or reused): its attempt clock starts there, so time spent waiting for the pool
        # is never "maybe sent".
        held = aiohttp.TraceConfig()
        held.on_connection_create_start.append(_connecting)
        held.on_connection_create_end.append(_connection_held)
        held.on_connection_reuseconn.append(_connection_held)
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            headers={"Accept-Encoding": "identity"},
            trace_configs=[held],
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        timeout = request.extensions.get("timeout", {})
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=request.content or None,
                allow_redirects=False,
                compress=False,
                proxy=self._proxy_for(str(request.url)),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            redact = self._redact.plus(_token(request))
            raise _map(exc, request, redact) from redact.exception(exc)
        length = response.content_length
        if (
            length is not None
            and length <= _EAGER_BODY
            and not response.headers.get("Content-Encoding")
        ):
            # Braze's answers are a few dozen bytes: read them here, sparing httpx's stream
            # machinery (async generators) on every request. Larger bodies stay streamed, so
            # the caller can refuse them without reading them.
            try:
                data = await response.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                redact = self._redact.plus(_token(request))
                raise _map(exc, request, redact) from redact.exception(exc)
            finally:
                response.release()
            return httpx.Response(
                status_code=response.status,
                headers=response.raw_headers,
                content=data,
                request=request,
                extensions={"http_version": b"HTTP/1.1"},
            )
        headers = response.raw_headers
        if response.headers.get("Content-Encoding"):
            # Encoded although we asked for identity: hand the body over as it came. httpx
            # would decompress it, and a 300 kB gzip "bomb" would become gigabytes in memory.
            headers = tuple(h for h in headers if h[0].lower() != b"content-encoding")
        return httpx.Response(
            status_code=response.status,
            headers=headers,
            stream=_ResponseStream(response, request, self._redact),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def post(
        self,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        *,
        timeout: aiohttp.ClientTimeout,
        max_bytes: int,
        secret: str = "",
        events: ConnectionEvents | None = None,
    ) -> tuple[int, dict[str, str], bytes | None]:
        """POST *body* (``None``: GET) and read the whole answer: ``(status, headers, body)``.

        The fast path braze_async's client takes when it owns this transport: no httpx
        ``Request``/``Response`` objects (about a tenth of a request's CPU). Header names come
        back lower-cased; the body is ``None`` when it is larger than *max_bytes* (it is then
        not read, and the connection is dropped). Errors are httpx's, mapped as in
        :meth:`handle_async_request`; *secret* (the key) and the proxy's password are redacted
        from them.
        *events* hears when a new connection is being made and when a connection (new or
        pooled) is held, before the request is written.
        """
        session = self._session or self._open()
        try:
            response = await session.request(
                "GET" if body is None else "POST",
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                compress=False,
                proxy=self._proxy_for(url),
                timeout=timeout,
                trace_request_ctx=events,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            redact = self._redact.plus(secret)
            raise _map(exc, None, redact) from redact.exception(exc)
        complete = False
        try:
            length = response.content_length
            data: bytes | None
            if length is not None and length > max_bytes:
                data = None
            elif length is not None:
                data = await response.read()
                complete = True
            else:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > max_bytes:
                        break
                    chunks.append(chunk)
                else:
                    complete = True
                data = b"".join(chunks) if complete else None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            redact = self._redact.plus(secret)
            raise _map(exc, None, redact) from redact.exception(exc)
        finally:
            if complete:
                response.release()
            else:
                response.close()  # never drain a body we refused (or lost): drop the socket
        return response.status, {k.lower(): v for k, v in response.headers.items()}, data

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _environment_proxy(origin: str) -> str | None:
    """The proxy the environment names for *origin*, as httpx and requests read it."""
    scheme, _, host = origin.partition("://")
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme) or proxies.get("all")
    # NO_PROXY as the standard library reads it (typeshed lacks this function).
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not proxy or bypass(host, proxies):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"
