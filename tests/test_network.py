"""Network settings end to end: a real proxy on loopback (CONNECT tunnels to an HTTPS Braze,
forwarding to a plain one), proxies from the environment, and the keep-alive expiry."""

from __future__ import annotations

import asyncio
import traceback

import httpx
import pytest
from _proxy import Proxy, TlsFront

from braze_async import (
    AiohttpTransport,
    BrazeClient,
    BrazeConnectionError,
    BrazeError,
    BrazeValidationError,
    Campaign,
    Recipient,
    RetryPolicy,
)
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

ONE = [Recipient(external_user_id="u1")]


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def test_proxy_forwards_requests_to_a_plain_http_braze() -> None:
    """AiohttpTransport(proxy=...) sends every request through the proxy."""
    async with BrazeSimulator() as sim, Proxy() as proxy:
        async with BrazeClient(
            api_key=sim.api_key, base_url=sim.base_url, transport=AiohttpTransport(proxy=proxy.url)
        ) as braze:
            r = await braze.send(Campaign("c"), recipients=ONE)
        assert r.dispatch_id
        assert proxy.forwarded == [f"POST {sim.base_url}/campaigns/trigger/send"]
        assert sim.delivered_counts() == {"external_user_id:u1": 1}


async def test_https_goes_through_the_proxy_in_a_connect_tunnel() -> None:
    """An https:// Braze is reached through a CONNECT tunnel: TLS end to end, the proxy
    sees only the target's name."""
    async with BrazeSimulator() as sim, TlsFront(port_of(sim.base_url)) as tls, Proxy() as proxy:
        transport = AiohttpTransport(verify=tls.client_context(), proxy=proxy.url)
        async with BrazeClient(api_key=sim.api_key, base_url=tls.url, transport=transport) as b:
            for i in range(3):
                await b.send(Campaign("c"), recipients=[Recipient(external_user_id=f"u{i}")])
        assert proxy.tunnels == [f"localhost:{tls.port}"]  # one tunnel, kept alive
        assert proxy.forwarded == []
        assert len(sim.delivered_counts()) == 3


async def test_trust_env_reads_https_proxy_and_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """trust_env=True takes HTTPS_PROXY for https:// requests; NO_PROXY exempts a host."""
    async with BrazeSimulator() as sim, TlsFront(port_of(sim.base_url)) as tls, Proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        transport = AiohttpTransport(verify=tls.client_context(), trust_env=True)
        async with BrazeClient(api_key=sim.api_key, base_url=tls.url, transport=transport) as b:
            await b.send(Campaign("c"), recipients=ONE)
        assert proxy.tunnels == [f"localhost:{tls.port}"]

        monkeypatch.setenv("NO_PROXY", "localhost")
        transport = AiohttpTransport(verify=tls.client_context(), trust_env=True)
        async with BrazeClient(api_key=sim.api_key, base_url=tls.url, transport=transport) as b:
            await b.send(Campaign("c"), recipients=ONE)
        assert proxy.tunnels == [f"localhost:{tls.port}"]  # not one more: bypassed
        assert sim.stats.accepted == 2


async def test_trust_env_on_the_client_reads_http_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """BrazeClient(trust_env=True) gives the environment's proxy to the transport it makes;
    without it the environment is ignored."""
    async with BrazeSimulator() as sim, Proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze:
            await braze.send(Campaign("c"), recipients=ONE)
        assert proxy.connections == 0
        async with BrazeClient(
            api_key=sim.api_key, base_url=sim.base_url, transport=AiohttpTransport(trust_env=True)
        ) as braze:
            await braze.send(Campaign("c"), recipients=ONE)
        assert len(proxy.forwarded) == 1


async def test_a_proxy_that_refuses_the_tunnel_means_never_sent() -> None:
    """A CONNECT the proxy refuses (407) is a connection error: nothing reached Braze, and
    it is retried like any never-sent request."""
    async with BrazeSimulator() as sim, TlsFront(port_of(sim.base_url)) as tls:
        async with Proxy(refuse=True) as proxy:
            transport = AiohttpTransport(verify=tls.client_context(), proxy=proxy.url)
            braze = BrazeClient(
                api_key=sim.api_key,
                base_url=tls.url,
                transport=transport,
                retry=RetryPolicy(backoff_initial=0.001),
            )
            async with braze:
                with pytest.raises(BrazeConnectionError) as info:
                    await braze.send(Campaign("c"), recipients=ONE)
        assert info.value.attempts == 4
        assert len(proxy.tunnels) == 4
        assert sim.stats.requests == 0
        assert sim.api_key not in str(info.value)


#: What a send says when the connect timeout ran out: never sent, and why.
NO_CONNECTION = "could not reach Braze: ConnectTimeout: no connection made within 0.2 s"


def never_answering_client(
    transport: AiohttpTransport | httpx.AsyncBaseTransport, attempts: int = 1
) -> BrazeClient:
    """A client of an HTTPS Braze (nothing real is reached) with a connect timeout of 0.2 s,
    an attempt timeout of 0.3 s and *attempts* attempts, retried at once."""
    return BrazeClient(
        api_key="sk-connect-timeout",
        instance="iad-01",
        transport=transport,
        timeout=httpx.Timeout(5.0, connect=0.2),
        attempt_timeout=0.3,
        retry=RetryPolicy(attempts=attempts, backoff_initial=0.001, backoff_max=0.002),
    )


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_proxy_that_never_answers_connect_times_out_as_never_sent(transport: str) -> None:
    """The proxy takes the TCP connection and never answers the CONNECT: the connect timeout
    ends the wait, and the send fails as never sent (a BrazeConnectionError, retried: each
    attempt opened a tunnel). Before, through aiohttp the send waited for ever (still waiting
    after 20 s with timeout=2, attempt_timeout=3), and so did a bulk job's stop; through
    httpx the CONNECT counted as the request's start: an unknown outcome after the read
    timeout."""
    async with Proxy(silent=True) as proxy:
        sender: AiohttpTransport | httpx.AsyncBaseTransport = (
            AiohttpTransport(proxy=proxy.url)
            if transport == "aiohttp"
            else httpx.AsyncHTTPTransport(proxy=proxy.url)
        )
        async with never_answering_client(sender, 2) as braze:
            with pytest.raises(BrazeConnectionError, match=NO_CONNECTION) as info:
                await asyncio.wait_for(braze.send(Campaign("c"), recipients=ONE), 10)
        assert info.value.attempts == 2
        assert proxy.tunnels == ["rest.iad-01.braze.com:443"] * 2
        for _ in range(2):  # the client closed each connection it gave up on
            await asyncio.wait_for(proxy.hung_up.get(), 5)


async def test_a_bulk_jobs_stop_ends_behind_a_proxy_that_never_answers() -> None:
    """A bulk job whose every connection waits on a CONNECT that never comes: its stop ends
    the job within the connect timeout, nothing counted sent or unknown (before, the job
    and its stop waited for ever)."""
    stop = asyncio.Event()
    users = [Recipient(external_user_id=f"u{i}") for i in range(200)]
    async with (
        Proxy(silent=True) as proxy,
        never_answering_client(AiohttpTransport(proxy=proxy.url), 5) as braze,
    ):
        job = asyncio.ensure_future(braze.send_bulk(Campaign("c"), users, stop=stop))
        await asyncio.wait_for(proxy.tunnelled.wait(), 10)  # the job waits on the proxy
        stop.set()
        report = await asyncio.wait_for(job, 10)
    assert report.interrupted
    assert report.sent == report.unknown == 0


async def test_a_resolver_that_never_answers_times_out_as_never_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS that never answers (the loop's getaddrinfo, which aiohttp's resolver calls, hangs):
    the connect timeout bounds it too, never sent (before, the send waited for ever)."""
    asked: list[str] = []

    async def never(host: str, *args: object, **kwargs: object) -> object:
        asked.append(host)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", never)
    async with never_answering_client(AiohttpTransport()) as braze:
        with pytest.raises(BrazeConnectionError, match=NO_CONNECTION) as info:
            await asyncio.wait_for(braze.send(Campaign("c"), recipients=ONE), 10)
    assert info.value.attempts == 1
    assert asked == ["rest.iad-01.braze.com"]


async def failure(braze: BrazeClient) -> BrazeError:
    """The error a send through *braze* raises, caught in a frame holding no password."""
    try:
        await braze.send(Campaign("c"), recipients=ONE)
    except BrazeError as exc:
        return exc
    raise AssertionError("the send did not fail")


@pytest.mark.parametrize("given", ["argument", "environment"])
async def test_a_proxy_password_is_in_no_error(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    """aiohttp quotes the proxy's URL when the proxy refuses: the error shows it as
    ``***@host``, and no message, repr, cause or traceback (locals included) holds the
    password, raw or percent-decoded."""
    password = "pr0xy-PASS%21word"
    async with (
        BrazeSimulator() as sim,
        TlsFront(port_of(sim.base_url)) as tls,
        Proxy(refuse=True) as proxy,
    ):
        url = proxy.url.replace("://", f"://user:{password}@")
        if given == "environment":
            monkeypatch.setenv("HTTPS_PROXY", url)
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
        transport = AiohttpTransport(
            verify=tls.client_context(),
            proxy=url if given == "argument" else None,
            trust_env=given == "environment",
        )
        async with BrazeClient(
            api_key=sim.api_key,
            base_url=tls.url,
            transport=transport,
            retry=RetryPolicy(attempts=1),
        ) as braze:
            error = await failure(braze)
    assert isinstance(error, BrazeConnectionError)
    assert "407" in str(error) and ":***@127.0.0.1" in str(error)
    shown = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    for text in (shown, str(error), repr(error), repr(error.__cause__)):
        assert "pr0xy-PASS" not in text


async def test_keepalive_expiry_drops_idle_connections() -> None:
    """An idle pooled connection older than keepalive_expiry is not reused: the next
    request opens a new one (a short expiry outlives no load balancer's idle timeout)."""
    async with BrazeSimulator() as sim, Proxy() as proxy:
        for expiry, connections in ((0.05, 2), (30.0, 1)):
            proxy.connections = 0
            braze = BrazeClient(
                api_key=sim.api_key,
                base_url=sim.base_url,
                transport=AiohttpTransport(
                    proxy=proxy.url, limits=httpx.Limits(keepalive_expiry=expiry)
                ),
            )
            async with braze:
                await braze.send(Campaign("c"), recipients=ONE)
                await asyncio.sleep(0.2)
                await braze.send(Campaign("c"), recipients=ONE)
            assert proxy.connections == connections, expiry


def test_pool_settings_are_checked_where_they_are_given() -> None:
    """A keep-alive expiry or pool size that is not a positive number is refused by the
    transport that would use it, naming the setting."""
    with pytest.raises(BrazeValidationError, match="keepalive_expiry"):
        AiohttpTransport(limits=httpx.Limits(keepalive_expiry=0))
    with pytest.raises(BrazeValidationError, match="max_connections"):
        AiohttpTransport(limits=httpx.Limits(max_connections=0))


def test_the_transport_repr_hides_proxy_credentials() -> None:
    """A proxy URL with a password never shows in the transport's repr."""
    transport = AiohttpTransport(proxy="http://user:s3cret@proxy:3128")
    assert "s3cret" not in repr(transport)
    assert "proxy" in repr(transport)
