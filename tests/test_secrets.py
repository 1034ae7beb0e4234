"""Secret hygiene: the API key appears in no log record, exception, journal, report or output.

The same holds for the password of a Redis URL (``RateLimits(redis_url=...)``): a real
redis-server that requires it is killed, or given a wrong one, and the errors, log records and
reprs are searched for it.

Full jobs run with every logger at DEBUG (root handler: braze_async, aiohttp, httpx, asyncio
and the rest), against a simulator with faults so that errors, retries and lost answers
happen, in process and through the command line in a subprocess. A distinctive key is then
searched for everywhere the job left text: log records (message, arguments, formatted
traceback), exceptions (str, repr, ``traceback.format_exception``, the whole cause chain),
the journal, the report and outcomes, the failures file, and the command's stdout/stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import _redis_server
import orjson
import pytest

from braze_async import (
    BrazeClient,
    BrazeConnectionError,
    BrazeError,
    RateLimits,
    Recipient,
    RecipientOutcome,
    RetryPolicy,
)
from braze_async._limits import RateLimiter
from braze_async.simulator import BrazeSimulator, ThreadedSimulator

pytestmark = pytest.mark.anyio

#: The key's secret part: a random tail, so that any copy of it anywhere is a leak.
TOKEN = secrets.token_hex(12)
KEY = f"sk-LEAKCHECK-{TOKEN}"
FAST = RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.02)


#: A Redis password, and a wrong one: neither may show anywhere.
PASSWORD = f"pw-LEAKCHECK-{secrets.token_hex(8)}"
WRONG = f"pw-WRONG-{secrets.token_hex(8)}"


def faulty(seed: int) -> ThreadedSimulator:
    """A simulator failing often, every way: 5xx, 429, connections dropped before and after."""
    return ThreadedSimulator(
        KEY, seed=seed, fault_5xx=0.3, fault_429=0.02, drop_before=0.03, drop_after=0.03
    )


def assert_clean(text: str, where: str) -> None:
    """Neither the key nor any 8 characters of its secret part, nor a Redis password, are in
    ``text``."""
    assert PASSWORD not in text and WRONG not in text, f"a Redis password leaked into {where}"
    assert KEY not in text, f"the API key leaked into {where}"
    for start in range(len(TOKEN) - 7):
        assert TOKEN[start : start + 8] not in text, f"part of the API key leaked into {where}"


def exception_texts(exc: BaseException) -> Iterator[str]:
    """str, repr and args of an exception and of every exception in its cause/context chain,
    and the whole formatted traceback, frame locals included (as Sentry captures them)."""
    yield "".join(traceback.format_exception(exc))
    # The whole __cause__/__context__ chain, with every frame's locals repr'd.
    yield "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(vars(current)) if hasattr(current, "__dict__") else ""
        # A context suppressed by ``raise ... from`` is not shown by tracebacks or reporters.
        stack.append(current.__cause__)
        if not current.__suppress_context__:
            stack.append(current.__context__)


async def raised_by(url: str, **send: Any) -> BrazeError:
    """The error a send to *url* raises, caught here: its traceback starts in this frame,
    whose locals hold no key (a test's own locals, such as the hostile answer, would)."""
    async with BrazeClient(api_key=KEY, base_url=url, retry=FAST, rate_limits=None) as braze:
        try:
            await braze.trigger_campaign("c", **send)
        except BrazeError as exc:
            return exc
    raise AssertionError("the send did not fail")


class Records(logging.Handler):
    """Every record of every logger, kept whole."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.formatter_ = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> Iterator[tuple[str, str]]:
        for record in self.records:
            where = f"a log record of {record.name}"
            yield self.formatter_.format(record), where  # message, args, exc_info traceback
            yield repr(record.args), where
            yield repr(vars(record)), where
            if record.exc_info and record.exc_info[1] is not None:
                for text in exception_texts(record.exc_info[1]):
                    yield text, where


@pytest.fixture
def every_log() -> Iterator[Records]:
    """The root logger at DEBUG with a handler seeing everything that propagates."""
    root = logging.getLogger()
    handler = Records()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def users(n: int) -> Iterator[Recipient]:
    for i in range(n):
        yield Recipient(external_user_id=f"u{i}", trigger_properties={"i": i})


def check_all(texts: Iterable[tuple[str, str]]) -> int:
    count = 0
    for text, where in texts:
        assert_clean(text, where)
        count += 1
    return count


async def raw_server(
    answer: bytes,
) -> tuple[asyncio.Server, str]:
    """A loopback server that answers every request with ``answer`` and hangs up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def hostile_urls() -> AsyncIterator[Callable[[bytes], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: bytes) -> str:
        server, url = await raw_server(answer)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def echo(status: str, body: str, content_type: str = "application/json") -> bytes:
    data = body.encode()
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode() + data


async def test_a_faulty_bulk_job_in_process_leaks_the_key_nowhere(
    tmp_path: Path, every_log: Records
) -> None:
    """bulk_send with a journal through 5xx, 429 and dropped connections, logging at DEBUG."""
    journal = tmp_path / "job.journal"
    outcomes: list[RecipientOutcome] = []
    with faulty(seed=99) as sim:
        async with BrazeClient(api_key=KEY, base_url=sim.base_url, retry=FAST) as braze:
            assert_clean(repr(braze), "the client's repr")
            report = await braze.bulk_send(
                users(3_000), campaign_id="weekly", journal=journal, on_outcome=outcomes.append
            )
            again = await braze.bulk_send(users(3_000), campaign_id="weekly", journal=journal)
    assert report.unknown and report.sent and sim.stats.faults_5xx, report  # errors did happen
    assert again.already_sent == report.sent
    assert_clean(journal.read_text(), "the journal")
    assert_clean(repr(report) + repr(again), "the report")
    for outcome in outcomes:
        assert_clean(repr(outcome) + orjson.dumps(outcome.to_json()).decode(), "an outcome")
    assert check_all(every_log.texts()) > 0
    assert {r.name for r in every_log.records} >= {"braze_async"}


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        pytest.param(
            echo("500 Internal Server Error", f'{{"message": "Authorization: Bearer {KEY}"}}'),
            "BrazeServerError",
            id="json-echo",
        ),
        pytest.param(
            echo(
                "504 Gateway Timeout",
                f"<html><pre>Authorization: Bearer {KEY}</pre></html>",
                "text/html",
            ),
            "BrazeUnknownOutcomeError",  # a gateway's 504: maybe processed
            id="html-echo",
        ),
        pytest.param(
            echo("201 Created", f"not json, but your key: {KEY}", "text/plain"),
            "BrazeMalformedResponseError",
            id="success-echo",
        ),
        pytest.param(
            f"HTTP/1.1 OOPS {KEY}\r\n\r\n".encode(),
            "BrazeUnknownOutcomeError",
            id="garbage-status-line",
        ),
        pytest.param(
            b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n{",
            "BrazeUnknownOutcomeError",
            id="truncated",
        ),
    ],
)
async def test_exceptions_and_their_causes_never_carry_the_key(
    every_log: Records,
    hostile_urls: Callable[[bytes], Awaitable[str]],
    answer: bytes,
    error: str,
) -> None:
    """A server echoing our key, or answering garbage: no str, repr or traceback holds it."""
    exc = await raised_by(await hostile_urls(answer), recipients=[Recipient(external_user_id="u1")])
    assert type(exc).__name__ == error
    for text in exception_texts(exc):
        assert_clean(text, f"the {error}")
    check_all(every_log.texts())


async def test_a_connection_refused_error_never_carries_the_key(every_log: Records) -> None:
    """Nothing listening: BrazeConnectionError, whose causes hold no headers either."""
    server, url = await raw_server(b"")
    server.close()
    await server.wait_closed()
    for text in exception_texts(await raised_by(url, broadcast=True)):
        assert_clean(text, "a connection error")
    check_all(every_log.texts())


async def test_a_key_cut_by_the_snippet_does_not_leak_half(
    hostile_urls: Callable[[bytes], Awaitable[str]],
) -> None:
    """An echoed key cut at the snippet's 200-byte edge must not show its first half."""
    prefix = "x" * (200 - len("sk-LEAKCHECK-") - 12)
    url = await hostile_urls(echo("500 Internal Server Error", prefix + KEY, "text/plain"))
    async with BrazeClient(api_key=KEY, base_url=url, retry=FAST, rate_limits=None) as braze:
        with pytest.raises(BrazeError) as info:
            await braze.trigger_campaign("c", broadcast=True)
    assert_clean(str(info.value), "the snippet of the answer")


CLI = (
    "import logging, sys; "
    "logging.basicConfig(level=logging.DEBUG, format='%(name)s %(levelname)s %(message)s'); "
    "from braze_async.cli import main; sys.exit(main())"
)


@pytest.mark.parametrize("key_from", ["flag", "environment"])
def test_the_cli_through_faults_prints_and_writes_no_key(tmp_path: Path, key_from: str) -> None:
    """`braze-async send` at DEBUG (asyncio debug too): stdout, stderr, journal, failures clean."""
    users_file = tmp_path / "users.jsonl"
    lines = [orjson.dumps({"external_user_id": f"u{i}"}) for i in range(2_000)]
    lines[7] = b'{"external_user_id": 7}'
    users_file.write_bytes(b"\n".join(lines) + b"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAZE_")}
    env["PYTHONASYNCIODEBUG"] = "1"
    with faulty(seed=5) as sim:
        args = ["send", "--campaign-id", "weekly", "--recipients", str(users_file)]
        if key_from == "flag":
            args += ["--api-key", KEY, "--base-url", sim.base_url]
        else:
            env |= {"BRAZE_API_KEY": KEY, "BRAZE_REST_URL": sim.base_url}
        command = [sys.executable, "-c", CLI, *args]
        runs = [  # the second run resumes from the journal
            subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            for _ in range(2)
        ]
    first, second = runs
    assert first.returncode == 1, first.stderr
    assert "DEBUG" in first.stderr and "rejected" in first.stderr  # it did log, it did fail
    assert "Traceback" not in first.stderr + second.stderr
    for run in runs:
        assert_clean(run.stdout, "the command's stdout")
        assert_clean(run.stderr, "the command's stderr")
    assert_clean((tmp_path / "users.jsonl.journal").read_text(), "the journal")
    failures = (tmp_path / "users.jsonl.failures.jsonl").read_text()
    assert '"_outcome":"rejected"' in failures
    assert_clean(failures, "the failures file")


def test_a_redis_url_password_is_in_no_repr() -> None:
    """RateLimits shows its Redis URL without the password (nor the user name)."""
    limits = RateLimits(redis_url=f"redis://app:{PASSWORD}@cache.internal:6379/0")
    assert_clean(repr(limits) + str(limits), "the RateLimits repr")
    assert "redis://***@cache.internal:6379/0" in repr(limits)


def test_an_unparsable_redis_url_leaks_no_password() -> None:
    """A Redis URL that Python cannot parse (a host with a character NFKC turns into '/'):
    RateLimits shows it as <unparsable URL>, and the limiter refuses it with a ValueError that
    says why without the password (before, urlsplit's message quoted the URL's netloc,
    password included, and the chain kept it)."""
    limits = RateLimits(redis_url=f"redis://app:{PASSWORD}@cache\u2100:6379/0")
    assert "<unparsable URL>" in repr(limits)
    with pytest.raises(ValueError, match="not a usable Redis URL.*NFKC") as caught:
        RateLimiter(limits)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    shown = "".join(traceback.format_exception(caught.value))
    for text in (str(caught.value), repr(caught.value), shown):
        assert_clean(text, "the error of an unparsable Redis URL")


async def send_failure(braze: BrazeClient) -> BrazeError:
    """The error a send through *braze* raises, caught in a frame holding no password."""
    try:
        await braze.trigger_campaign("c", recipients=[Recipient(external_user_id="u")])
    except BrazeError as exc:
        return exc
    raise AssertionError("the send did not fail")


async def test_redis_failures_never_carry_the_redis_password(
    tmp_path: Path, every_log: Records
) -> None:
    """A password-protected Redis that dies, then a wrong password: the never-sent errors,
    their causes, their tracebacks (frame locals included) and every log record hold
    neither password."""
    sim = BrazeSimulator(KEY)

    def fleet(url: str) -> BrazeClient:
        limits = RateLimits(
            redis_url=url, workspace="secret", redis_timeout=0.25, redis_retry_for=0.3
        )
        return BrazeClient(
            api_key=KEY, base_url="https://b.example", transport=sim.transport(), rate_limits=limits
        )

    errors: list[BrazeError] = []
    with _redis_server.redis_process(tmp_path, password=PASSWORD) as server:
        async with fleet(server.url) as braze:
            await braze.trigger_campaign("c", recipients=[Recipient(external_user_id="ok")])
            server.kill()
            errors.append(await send_failure(braze))
        server.restart()
        async with fleet(server.url.replace(PASSWORD, WRONG)) as braze:
            errors.append(await send_failure(braze))
    assert all(isinstance(error, BrazeConnectionError) for error in errors), errors
    assert "Redis has failed" in str(errors[0].__cause__)
    assert "AuthenticationError" in str(errors[1].__cause__)  # at once: not retried
    for error in errors:
        for text in exception_texts(error):
            assert_clean(text, "a Redis failure")
    assert check_all(every_log.texts()) > 0
