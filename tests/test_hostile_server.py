"""Hostile servers over real loopback sockets: every misbehaviour becomes one clear BrazeError.

A small asyncio server answers each request from a script: malformed JSON, an HTML error
page, a success with neither ``dispatch_id`` nor ``"success"``, a slow-loris body, a redirect
to another host, a 50 MB body, a garbage status line, a truncated body, a header flood, a
compressed answer.
Each must raise a BrazeError subclass with a short, readable message (or succeed, where the
answer is valid), leave memory bounded, send the key nowhere else, and leave the client
usable: the next request on the same client, answered properly, succeeds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
import pytest

from braze_async import (
    BrazeAPIError,
    BrazeClient,
    BrazeError,
    BrazeMalformedResponseError,
    BrazeServerError,
    BrazeUnknownOutcomeError,
    Campaign,
    Recipient,
    RetryPolicy,
)

pytestmark = pytest.mark.anyio

KEY = "sk-hostile-server-0123456789"
ONE = [Recipient(external_user_id="u1")]
MB = 1 << 20

#: Writes one answer; returns whether the connection may serve another request.
Behaviour = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]


def answer(
    status: str, body: bytes, *headers: str, content_type: str = "application/json"
) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    return ("\r\n".join([*head, *headers]) + "\r\n\r\n").encode() + body


async def good(head: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(answer("201 Created", b'{"dispatch_id": "d-good", "message": "success"}'))
    await writer.drain()
    return True


def fixed(raw: bytes, *, keep: bool = True) -> Behaviour:
    async def behaviour(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        await writer.drain()
        return keep

    return behaviour


async def slow_loris(head: bytes, writer: asyncio.StreamWriter) -> bool:
    """Headers at once, then one byte of the body every 50 ms: never a read timeout."""
    writer.write(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n")
    writer.write(b"Content-Length: 1000\r\n\r\n")
    for _ in range(400):
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.05)
    return False


async def slow_headers(head: bytes, writer: asyncio.StreamWriter) -> bool:
    """The status line and headers one byte every 50 ms: a slow loris before the body."""
    for byte in b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Slow: " + b"z" * 400:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.05)
    return False


def huge(status: str, *, chunked: bool, size: int = 50 * MB) -> Behaviour:
    """``size`` bytes of body, streamed 64 KiB at a time, until the client hangs up."""

    async def behaviour(head: bytes, writer: asyncio.StreamWriter) -> bool:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n".encode()
        )
        block = b'{"dispatch_id": "' + b"x" * (64 * 1024 - 17)
        sent = 0
        while sent < size:
            writer.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            await writer.drain()
            sent += len(block)
        return False

    return behaviour


def compressing(head: bytes) -> bytes:
    """Like many servers and CDNs: gzip whenever the client says it accepts it."""
    body = b'{"dispatch_id": "d-gzip", "message": "success"}'
    if b"gzip" in head.lower().split(b"accept-encoding:", 1)[-1].split(b"\r\n", 1)[0]:
        return answer("201 Created", gzip.compress(body), "Content-Encoding: gzip")
    return answer("201 Created", body)


def gzip_bomb(expanded: int = 64 * MB) -> bytes:
    """A gzip body of ~64 kB that inflates to ``expanded`` bytes of almost-JSON."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"x" * MB
    parts = [z.compress(b'{"dispatch_id": "')]
    parts += [z.compress(block) for _ in range(expanded // MB)]
    return b"".join([*parts, z.compress(b'"}'), z.flush()])


async def bomb(head: bytes, writer: asyncio.StreamWriter) -> bool:
    """A small gzip answer, sent whatever the client accepts."""
    writer.write(answer("201 Created", gzip_bomb(), "Content-Encoding: gzip"))
    await writer.drain()
    return True


class HostileServer:
    """A loopback HTTP/1.1 server answering each request with the next scripted behaviour
    (then properly), keeping connections alive when the behaviour allows."""

    def __init__(self) -> None:
        self.script: collections.deque[Behaviour] = collections.deque()
        self.heads: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                self.heads.append(head)
                behaviour = self.script.popleft() if self.script else good
                if not await behaviour(head, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client hung up: what hostile servers live with
        finally:
            self.handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@pytest.fixture
async def hostile() -> AsyncIterator[Callable[[], Awaitable[HostileServer]]]:
    servers: list[HostileServer] = []

    async def start() -> HostileServer:
        server = HostileServer()
        server.server = await asyncio.start_server(server._handle, "127.0.0.1", 0)
        servers.append(server)
        return server

    yield start
    for server in servers:
        assert server.server is not None
        server.server.close()
        for task in list(server.handlers):
            task.cancel()
        await server.server.wait_closed()


def client(url: str, **kwargs: object) -> BrazeClient:
    kwargs.setdefault("retry", RetryPolicy(attempts=1))
    kwargs.setdefault("timeout", 5.0)
    return BrazeClient(api_key=KEY, base_url=url, rate_limits=None, **kwargs)  # type: ignore[arg-type]


def readable(exc: BaseException) -> str:
    """The message: short, one line, no markup, no key."""
    text = str(exc)
    assert 10 < len(text) < 1000, text
    assert "\n" not in text and "</" not in text and "<html" not in text.lower(), text
    assert KEY not in text and KEY not in repr(exc)
    return text


CASES = [
    pytest.param(
        fixed(answer("201 Created", b'{"dispatch_id": "d1",')),
        BrazeMalformedResponseError,
        "not a JSON object",
        id="malformed-json",
    ),
    pytest.param(
        fixed(answer("200 OK", b'{"message": "error"}')),
        BrazeMalformedResponseError,
        "without a dispatch_id or a success message",
        id="no-dispatch-id-no-success",
    ),
    pytest.param(
        fixed(answer("200 OK", b"[1, 2, 3]")),
        BrazeMalformedResponseError,
        "not a JSON object",
        id="json-array",
    ),
    pytest.param(
        fixed(
            answer(
                "504 Gateway Time-out",
                b"<html><head><title>504 Gateway Time-out</title></head><body><center><h1>"
                b"504 Gateway Time-out</h1></center><hr><center>nginx</center></body></html>",
                content_type="text/html",
            )
        ),
        BrazeUnknownOutcomeError,  # a gateway's 504 may follow a send Braze accepted
        "HTTP 504 with a non-JSON body: '504 Gateway Time-out 504 Gateway Time-out nginx'",
        id="html-error-page",
    ),
    pytest.param(
        fixed(answer("500 Internal Server Error", b"\xff\xfe\x00garbage\x00")),
        BrazeServerError,
        "HTTP 500 with a non-JSON body",
        id="binary-error-page",
    ),
    pytest.param(slow_loris, BrazeUnknownOutcomeError, "TimeoutError", id="slow-loris"),
    pytest.param(slow_headers, BrazeUnknownOutcomeError, "TimeoutError", id="slow-loris-headers"),
    pytest.param(
        huge("200 OK", chunked=True),
        BrazeMalformedResponseError,
        f"larger than {MB} bytes, not read",
        id="50MB-chunked",
    ),
    pytest.param(
        huge("201 Created", chunked=False),
        BrazeMalformedResponseError,
        f"larger than {MB} bytes, not read",
        id="50MB-content-length",
    ),
    pytest.param(
        huge("500 Internal Server Error", chunked=True),
        BrazeServerError,
        f"larger than {MB} bytes, not read",
        id="50MB-error",
    ),
    pytest.param(bomb, BrazeMalformedResponseError, "not a JSON object", id="gzip-bomb-64MB"),
    pytest.param(
        fixed(b"HELLO THERE\r\n\r\n", keep=False),
        BrazeUnknownOutcomeError,
        "no answer came back",
        id="garbage-status-line",
    ),
    pytest.param(
        fixed(answer("201 Created", b'{"dispatch_id": "d1"}')[:-10], keep=False),
        BrazeUnknownOutcomeError,
        "no answer came back",
        id="truncated-body",
    ),
    pytest.param(
        fixed(b"HTTP/1.1 201 Created\r\nX-Flood: " + b"a" * 200_000 + b"\r\n\r\n", keep=False),
        BrazeUnknownOutcomeError,
        "no answer came back",
        id="header-flood",
    ),
    pytest.param(
        fixed(b"", keep=False),
        BrazeUnknownOutcomeError,
        "no answer came back",
        id="hang-up-without-answer",
    ),
]


@pytest.mark.parametrize(("behaviour", "error", "message"), CASES)
async def test_a_hostile_answer_is_one_clear_error_and_the_client_stays_usable(
    hostile: Callable[[], Awaitable[HostileServer]],
    behaviour: Behaviour,
    error: type[BrazeError],
    message: str,
) -> None:
    """Each misbehaviour raises its BrazeError with a readable message; the next call succeeds."""
    server = await hostile()
    server.script.append(behaviour)
    tracemalloc.start()
    try:
        async with client(server.url, attempt_timeout=1.0) as braze:
            with pytest.raises(BrazeError) as info:
                await braze.send(Campaign("c"), recipients=ONE)
            peak = tracemalloc.get_traced_memory()[1]
            assert type(info.value) is error, repr(info.value)
            assert message in readable(info.value)
            # The same client, the same server, now answering properly.
            response = await braze.send(Campaign("c"), recipients=ONE)
            assert response.dispatch_id == "d-good"
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB, f"{peak / MB:.1f} MB traced while reading the answer"


async def test_a_redirect_to_another_host_is_not_followed_and_the_key_stays_home(
    hostile: Callable[[], Awaitable[HostileServer]],
) -> None:
    """A 307 to another host: BrazeAPIError naming it; that host never gets a connection."""
    elsewhere = await hostile()
    server = await hostile()
    target = f"{elsewhere.url}/campaigns/trigger/send"
    for status in ("307 Temporary Redirect", "308 Permanent Redirect", "302 Found"):
        server.script.append(fixed(answer(status, b"", f"Location: {target}")))
    async with client(server.url) as braze:
        for _ in range(3):
            with pytest.raises(BrazeAPIError) as info:
                await braze.send(Campaign("c"), recipients=ONE)
            host = elsewhere.url.removeprefix("http://")
            assert f"unexpected redirect to {host}; not followed" in readable(info.value)
        assert (await braze.send(Campaign("c"), recipients=ONE)).dispatch_id == "d-good"
    assert elsewhere.connections == 0 and not elsewhere.heads
    assert all(f"Bearer {KEY}".encode() in head for head in server.heads)


async def test_a_server_that_compresses_whenever_allowed_is_understood(
    hostile: Callable[[], Awaitable[HostileServer]],
) -> None:
    """Servers and CDNs gzip when the client accepts it: the answer must still be read."""

    async def behaviour(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(compressing(head))
        await writer.drain()
        return True

    server = await hostile()
    server.script.extend([behaviour, behaviour])
    async with client(server.url) as braze:
        assert (await braze.send(Campaign("c"), recipients=ONE)).dispatch_id == "d-gzip"
        assert (await braze.send(Campaign("c"), recipients=ONE)).dispatch_id == "d-gzip"
    # Read because the client offers no compression (identity only), so it never has to
    # inflate an answer; the gzip bomb above comes regardless, and is refused.
    assert len(server.heads) == 2
    assert all(b"\r\naccept-encoding: identity\r\n" in h.lower() for h in server.heads)


async def test_a_server_echoing_the_key_in_errors_never_gets_it_into_ours(
    hostile: Callable[[], Awaitable[HostileServer]],
) -> None:
    """Error bodies quoting our Authorization header are redacted in messages and details."""
    server = await hostile()
    echo = orjson.dumps(
        {"message": f"bad Authorization: Bearer {KEY}", "errors": [{"code": KEY, "message": KEY}]}
    ).decode()
    server.script.append(fixed(answer("400 Bad Request", echo.encode())))
    server.script.append(
        fixed(answer("201 Created", f"<p>{KEY}</p>".encode(), content_type="text/html"))
    )
    async with client(server.url) as braze:
        for _ in range(2):
            with pytest.raises(BrazeError) as info:
                await braze.send(Campaign("c"), recipients=ONE)
            readable(info.value)
            for detail in getattr(info.value, "errors", ()):
                assert KEY not in detail.code and KEY not in detail.message
