"""The default transport on real loopback sockets: "never sent" and "maybe processed" stay apart.

httpx-aiohttp maps aiohttp's ServerDisconnectedError (request written, no answer) to
httpx.ConnectTimeout, which reads as "never sent, safe to retry". These tests pin our mapping.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

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
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio

ANSWER = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 44\r\n\r\n"
    b'{"dispatch_id": "d-1", "message": "success"}'
)


class RawServer:
    """A loopback TCP server whose per-connection behaviour each test scripts."""

    def __init__(
        self, behaviour: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    ) -> None:
        self.behaviour = behaviour
        self.connections = 0
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.behaviour(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            # The client hung up (a timeout, a test done with it). Since Python 3.12 an error
            # escaping this handler is reported to the loop, and so fails the test.
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return await reader.readexactly(length)


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[..., Awaitable[RawServer]]]:
    servers: list[RawServer] = []

    async def start(
        behaviour: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    ) -> RawServer:
        raw = RawServer(behaviour)
        raw.server = await asyncio.start_server(raw._handle, "127.0.0.1", 0)
        servers.append(raw)
        return raw

    yield start
    for raw in servers:
        assert raw.server is not None
        raw.server.close()
        await raw.server.wait_closed()


def client_for(url: str, **kwargs: object) -> BrazeClient:
    kwargs.setdefault("timeout", 2.0)
    kwargs.setdefault("clock", FakeClock())  # retry waits take no time
    return BrazeClient(api_key="k", base_url=url, **kwargs)  # type: ignore[arg-type]


ONE = [Recipient(external_user_id="u1")]


async def test_answered_request_succeeds(raw_server: Callable[..., Awaitable[RawServer]]) -> None:
    """A well-behaved server: the default transport carries request and answer."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ANSWER)
        await writer.drain()

    server = await raw_server(answer)
    async with client_for(server.url) as braze:
        assert (await braze.send(Campaign("c"), recipients=ONE)).dispatch_id == "d-1"


async def test_refused_connection_is_never_sent_and_retried() -> None:
    """Connection refused: never sent, so retried, then BrazeConnectionError."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with client_for(f"http://127.0.0.1:{port}", retry=RetryPolicy(attempts=3)) as braze:
        with pytest.raises(BrazeConnectionError) as info:
            await braze.send(Campaign("c"), recipients=ONE)
    assert info.value.attempts == 3


async def test_closed_after_reading_is_unknown_not_retried(
    raw_server: Callable[..., Awaitable[RawServer]],
) -> None:
    """Server reads the request then hangs up: outcome unknown, exactly one attempt."""

    async def read_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        server.requests += 1

    server = await raw_server(read_then_close)
    async with client_for(server.url) as braze:
        with pytest.raises(BrazeUnknownOutcomeError) as info:
            await braze.send(Campaign("c"), recipients=ONE)
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    assert server.requests == 1 and server.connections == 1


@pytest.mark.parametrize("reads_first", [False, True], ids=["before-reading", "after-reading"])
async def test_hang_up_once_connected_is_unknown_and_not_resent(
    raw_server: Callable[..., Awaitable[RawServer]], reads_first: bool
) -> None:
    """A server that hangs up once the connection is made, before or after reading the
    request: from our side both look the same (the request may already be in its buffer),
    so both are reported unknown and never resent."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if reads_first:
            await read_request(reader)

    server = await raw_server(hang_up)
    async with client_for(server.url) as braze:
        with pytest.raises(BrazeUnknownOutcomeError, match="no answer came back"):
            await braze.send(Campaign("c"), recipients=ONE)
    assert server.connections == 1  # maybe processed: not resent


async def test_transactional_with_dedup_key_is_retried_after_drop(
    raw_server: Callable[..., Awaitable[RawServer]],
) -> None:
    """With external_send_id the ambiguous drop is retried (Braze deduplicates)."""

    async def drop_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        server.requests += 1
        if server.requests > 1:
            body = b'{"send_id": "s-1", "status": "queued"}'
            writer.write(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()

    server = await raw_server(drop_first)
    async with client_for(server.url) as braze:
        t = await braze.send_transactional("t", ONE[0], external_send_id="order-1")
    assert t.send_id == "s-1" and server.requests == 2


async def test_read_timeout_is_unknown(raw_server: Callable[..., Awaitable[RawServer]]) -> None:
    """No answer within the read timeout: unknown outcome, one attempt."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        server.requests += 1
        await asyncio.sleep(5)

    server = await raw_server(silent)
    async with client_for(server.url, timeout=httpx.Timeout(0.3)) as braze:
        with pytest.raises(BrazeUnknownOutcomeError, match="ReadTimeout"):
            await braze.send(Campaign("c"), recipients=ONE)
    assert server.requests == 1


async def test_slow_loris_answer_hits_the_attempt_timeout(
    raw_server: Callable[..., Awaitable[RawServer]],
) -> None:
    """A server dripping its answer byte by byte is cut off by attempt_timeout."""

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        for byte in ANSWER:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)

    async def drip_then_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if server.connections == 1:
            await drip(reader, writer)
        else:  # the next connection answers at once
            await read_request(reader)
            writer.write(ANSWER)
            await writer.drain()

    server = await raw_server(drip_then_answer)
    async with client_for(server.url, attempt_timeout=0.5) as braze:
        with pytest.raises(BrazeUnknownOutcomeError, match="TimeoutError"):
            await braze.send(Campaign("c"), recipients=ONE)
        # The cut-off connection was dropped, not reused: the next send gets its answer.
        again = await braze.send(Campaign("c"), recipients=ONE)
    assert again.dispatch_id == "d-1"
    assert server.connections == 2


async def test_transport_maps_disconnect_to_remote_protocol_error(
    raw_server: Callable[..., Awaitable[RawServer]],
) -> None:
    """At the httpx level a drop after writing is RemoteProtocolError, not ConnectTimeout."""

    async def read_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    server = await raw_server(read_then_close)
    async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(server.url + "/x", content=b"{}")


def test_verify_false_is_refused() -> None:
    """TLS verification cannot be switched off."""
    with pytest.raises(ValueError, match="verify=False"):
        AiohttpTransport(verify=False)
