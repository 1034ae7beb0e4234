"""One request path: every way a request travels gets the same bounds and the same outcomes.

Each test runs on all three adapters of ``_http.py`` (our AiohttpTransport, an httpx transport,
an injected ``httpx.AsyncClient``) against a real loopback server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from braze_async import (
    AiohttpTransport,
    BrazeClient,
    BrazeConnectionError,
    BrazeUnknownOutcomeError,
    Campaign,
    Recipient,
    RetryPolicy,
)
from braze_async._http import deadline

pytestmark = pytest.mark.anyio

ANSWER = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 44\r\n\r\n"
    b'{"dispatch_id": "d-1", "message": "success"}'
)

Path = Callable[..., BrazeClient]


def ours(**kwargs: object) -> BrazeClient:
    return BrazeClient(transport=AiohttpTransport(), **kwargs)  # type: ignore[arg-type]


def httpx_transport(**kwargs: object) -> BrazeClient:
    return BrazeClient(transport=httpx.AsyncHTTPTransport(), **kwargs)  # type: ignore[arg-type]


class InjectedClient:
    """BrazeClients on injected httpx clients, closed at the end of the test (their owner)."""

    def __init__(self) -> None:
        self.clients: list[httpx.AsyncClient] = []

    def __call__(self, **kwargs: object) -> BrazeClient:
        # The injected client's own timeouts are generous: the BrazeClient's must win.
        http = httpx.AsyncClient(timeout=60.0)
        self.clients.append(http)
        return BrazeClient(transport=http, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=["aiohttp-transport", "httpx-transport", "injected-httpx-client"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Path]:
    """Each test runs once per adapter."""
    if request.param == "aiohttp-transport":
        yield ours
    elif request.param == "httpx-transport":
        yield httpx_transport
    else:
        injected = InjectedClient()
        yield injected
        for http in injected.clients:
            await http.aclose()


class Server:
    """A loopback server: reads each request, then waits ``delay`` before answering."""

    def __init__(self, delay: float, *, trickle: bool = False) -> None:
        self.delay = delay
        self.trickle = trickle
        self.requests = 0
        self.server: asyncio.Server | None = None
        #: The connection handlers running (the fixture stops them).
        self.handlers: set[asyncio.Task[object]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                self.requests += 1
                if self.trickle:  # a byte at a time, each well within the read timeout
                    for byte in ANSWER:
                        writer.write(bytes([byte]))
                        await writer.drain()
                        await asyncio.sleep(self.delay)
                else:
                    await asyncio.sleep(self.delay)
                    writer.write(ANSWER)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.handlers.discard(task)
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(delay: float, *, trickle: bool = False) -> Server:
        server = Server(delay, trickle=trickle)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.server is not None:
            # Stop the handlers first: since Python 3.12.1 wait_closed() waits for every
            # connection, and a client fixture torn down after this one still holds its own.
            server.server.close()
            handlers = list(server.handlers)
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            await server.server.wait_closed()


async def started(server: Server) -> Server:
    server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    return server


async def send(braze: BrazeClient) -> object:
    return await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u1")])


async def test_an_answer_comes_back_the_same_way(make: Path, serve: Callable[..., Server]) -> None:
    """The happy path is identical on every adapter."""
    server = await started(serve(0.0))
    async with make(api_key="k", base_url=server.url) as braze:
        response = await send(braze)
    assert getattr(response, "dispatch_id", None) == "d-1"
    assert server.requests == 1


async def test_read_timeout_applies_on_every_path(make: Path, serve: Callable[..., Server]) -> None:
    """``timeout=`` bounds the wait for the answer, and the outcome is unknown, not retried."""
    server = await started(serve(5.0))
    began = time.monotonic()
    async with make(api_key="k", base_url=server.url, timeout=0.2) as braze:
        with pytest.raises(BrazeUnknownOutcomeError, match="no answer came back"):
            await send(braze)
    assert time.monotonic() - began < 3.0
    assert server.requests == 1


async def test_attempt_timeout_applies_on_every_path(
    make: Path, serve: Callable[..., Server]
) -> None:
    """An answer trickled byte by byte beats the read timeout but not ``attempt_timeout``."""
    server = await started(serve(0.05, trickle=True))
    began = time.monotonic()
    async with make(api_key="k", base_url=server.url, timeout=2.0, attempt_timeout=0.3) as braze:
        with pytest.raises(BrazeUnknownOutcomeError, match="TimeoutError"):
            await send(braze)
    assert time.monotonic() - began < 3.0


async def test_refused_connection_is_never_sent_on_every_path(make: Path) -> None:
    """A refused connection is retried, then reported as never sent, on every adapter."""
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    retry = RetryPolicy(attempts=2, backoff_initial=0.0)
    async with make(api_key="k", base_url=f"http://127.0.0.1:{port}", retry=retry) as braze:
        with pytest.raises(BrazeConnectionError, match="could not reach Braze") as info:
            await send(braze)
    assert info.value.attempts == 2


async def test_injected_client_keeps_its_own_headers(serve: Callable[..., Server]) -> None:
    """An injected client's default headers still go out (its hooks and settings apply)."""
    seen: list[httpx.Request] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request)

    server = await started(serve(0.0))
    async with (
        httpx.AsyncClient(headers={"X-Team": "crm"}, event_hooks={"request": [hook]}) as http,
        BrazeClient(api_key="k", base_url=server.url, transport=http) as braze,
    ):
        await send(braze)
    assert seen[0].headers["x-team"] == "crm"
    assert seen[0].headers["authorization"] == "Bearer k"


ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)


@pytest.fixture(params=["aiohttp-transport", "httpx-transport", "injected-httpx-client"])
async def one_connection(request: pytest.FixtureRequest) -> AsyncIterator[Path]:
    """A client factory per adapter, each with a pool of one connection."""
    clients: list[httpx.AsyncClient] = []

    def make(**kwargs: object) -> BrazeClient:
        if request.param == "aiohttp-transport":
            kwargs["transport"] = AiohttpTransport(limits=ONE_CONNECTION)
        elif request.param == "httpx-transport":
            kwargs["transport"] = httpx.AsyncHTTPTransport(limits=ONE_CONNECTION)
        else:
            http = httpx.AsyncClient(limits=ONE_CONNECTION, timeout=60.0)
            clients.append(http)
            kwargs["transport"] = http
        return BrazeClient(**kwargs)  # type: ignore[arg-type]

    yield make
    for http in clients:
        await http.aclose()


async def test_waiting_for_a_pooled_connection_is_not_on_the_attempt_clock(
    one_connection: Path, serve: Callable[..., Server]
) -> None:
    """The attempt clock starts once a connection is held: a request that queued for the
    pool longer than ``attempt_timeout`` still gets its full attempt, and succeeds."""
    server = await started(serve(1.0))
    async with one_connection(
        api_key="k", base_url=server.url, timeout=10.0, attempt_timeout=1.6, rate_limits=None
    ) as braze:
        _first, second = await asyncio.gather(send(braze), send(braze))
    assert getattr(second, "dispatch_id", None) == "d-1"
    assert server.requests == 2


async def test_no_pooled_connection_in_time_is_never_sent(
    one_connection: Path, serve: Callable[..., Server]
) -> None:
    """A request that never got a connection (pool timeout) is never-sent, not unknown."""
    server = await started(serve(1.5))
    timeout = httpx.Timeout(10.0, pool=0.2)
    retry = RetryPolicy(attempts=1)
    async with one_connection(
        api_key="k", base_url=server.url, timeout=timeout, retry=retry, rate_limits=None
    ) as braze:
        first, second = await asyncio.gather(send(braze), send(braze), return_exceptions=True)
    outcomes = sorted(type(x).__name__ for x in (first, second))
    assert outcomes == ["BrazeConnectionError", "SendResponse"]
    assert server.requests == 1


# -- the attempt's deadline scope: asyncio.timeout_at on 3.11+, our fallback on 3.10 ----------


async def test_a_deadline_expiring_raises_timeout_error() -> None:
    """A deadline already due cuts the body short with TimeoutError (not a cancellation)."""
    with pytest.raises(TimeoutError):
        async with deadline(0.0):
            await asyncio.sleep(3600)


async def test_a_deadline_set_once_entered_applies_and_lifted_never_fires() -> None:
    """No deadline until one is set (the attempt clock sets it once a connection is held);
    set to now it fires; lifted (None) it never does."""
    loop = asyncio.get_running_loop()

    async def set_once_entered() -> None:
        async with deadline(None) as scope:
            await asyncio.sleep(0)
            scope.reschedule(loop.time())
            await asyncio.sleep(3600)

    with pytest.raises(TimeoutError):
        await set_once_entered()
    async with deadline(0.0) as scope:
        scope.reschedule(None)  # lifted before it could fire
        await asyncio.sleep(0)
        await asyncio.sleep(0)


async def test_a_deadline_lets_a_quick_body_and_its_errors_through() -> None:
    """A body done in time returns normally; its own exception passes unchanged."""
    async with deadline(3600.0):
        result = 1
    assert result == 1
    with pytest.raises(KeyError, match="own"):
        async with deadline(3600.0):
            raise KeyError("own")


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    """Cancelled by its caller while a deadline runs: CancelledError, never a timeout."""
    entered = asyncio.Event()

    async def body() -> None:
        async with deadline(3600.0):
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.ensure_future(body())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
