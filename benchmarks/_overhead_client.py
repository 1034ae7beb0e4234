"""One client under test, in its own process: N 50-recipient sends at concurrency C.

``python -m benchmarks._overhead_client CLIENT URL CONCURRENCY REQUESTS`` prints one JSON
line: ``{"cpu": seconds of process CPU, "wall": seconds, "requests": n}``. Process CPU time
is the figure: on a shared, noisy machine it is steadier than wall time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from braze_async import Campaign

RECIPIENTS = 50
CAMPAIGN = "bench-campaign"


def plain_body() -> dict[str, Any]:
    return {
        "campaign_id": CAMPAIGN,
        "recipients": [
            {"external_user_id": f"user-{i}", "trigger_properties": {"coupon": "SAVE20"}}
            for i in range(RECIPIENTS)
        ],
    }


async def run_async(send: Callable[[], Awaitable[None]], concurrency: int, requests: int) -> None:
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await send()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def httpx_loop(url: str, concurrency: int, requests: int, transport: str) -> None:
    import httpx

    headers = {"Authorization": "Bearer bench-key", "Content-Type": "application/json"}
    if transport == "aiohttp":
        from braze_async import AiohttpTransport

        client = httpx.AsyncClient(
            base_url=url,
            headers=headers,
            transport=AiohttpTransport(limits=httpx.Limits(max_connections=64)),
        )
    else:
        client = httpx.AsyncClient(
            base_url=url, headers=headers, limits=httpx.Limits(max_connections=64)
        )

    async def send() -> None:
        response = await client.post(
            "/campaigns/trigger/send", content=json.dumps(plain_body()).encode()
        )
        response.raise_for_status()
        response.json()["dispatch_id"]

    async with client:
        await run_async(send, concurrency, requests)


async def aiohttp_loop(url: str, concurrency: int, requests: int) -> None:
    import aiohttp

    headers = {"Authorization": "Bearer bench-key", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(url, headers=headers, connector=connector) as session:

        async def send() -> None:
            async with session.post(
                "/campaigns/trigger/send", data=json.dumps(plain_body()).encode()
            ) as response:
                response.raise_for_status()
                (await response.json())["dispatch_id"]

        await run_async(send, concurrency, requests)


async def braze_async_loop(
    url: str, concurrency: int, requests: int, *, limiter: bool = True, hooks: bool = False
) -> None:
    from braze_async import BrazeClient, BrazeEvent, Rate, RateLimits, Recipient

    # The limiter is on (its bookkeeping is part of the cost) but never has to wait.
    limits = (
        RateLimits(external_id=Rate(10**9, 3600.0), audience=Rate(10**9, 60.0)) if limiter else None
    )
    seen: list[int] = [0]

    def count(event: BrazeEvent) -> None:
        seen[0] += 1

    async with BrazeClient(
        api_key="bench-key", base_url=url, rate_limits=limits, on_event=count if hooks else None
    ) as braze:

        async def send() -> None:
            recipients = [
                Recipient(external_user_id=f"user-{i}", trigger_properties={"coupon": "SAVE20"})
                for i in range(RECIPIENTS)
            ]
            response = await braze.send(Campaign(CAMPAIGN), recipients=recipients)
            assert response.dispatch_id

        await run_async(send, concurrency, requests)


def edx_threads(url: str, concurrency: int, requests: int) -> None:
    from braze.client import BrazeClient  # edx-braze-client

    per_thread = [requests // concurrency] * concurrency
    per_thread[0] += requests - sum(per_thread)

    def work(n: int) -> None:
        client = BrazeClient("bench-key", url, "bench-app")
        for _ in range(n):
            body = plain_body()
            client.send_campaign_message(body["campaign_id"], recipients=body["recipients"])

    threads = [threading.Thread(target=work, args=(n,)) for n in per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def without_opentelemetry() -> None:
    """Make ``import opentelemetry`` fail in this process, as if it were not installed."""
    sys.modules["opentelemetry"] = None  # type: ignore[assignment]


_sdk_installed = False


def with_opentelemetry_sdk() -> None:
    """The SDK as an application would set it up: spans batched to an exporter (one that
    drops them: exporting is the exporter's cost, not ours) and metrics aggregated."""
    global _sdk_installed
    if _sdk_installed:
        return
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    _sdk_installed = True


def otel_absent(url: str, concurrency: int, requests: int) -> None:
    without_opentelemetry()
    asyncio.run(braze_async_loop(url, concurrency, requests))


def otel_sdk(url: str, concurrency: int, requests: int) -> None:
    with_opentelemetry_sdk()
    asyncio.run(braze_async_loop(url, concurrency, requests))


CLIENTS = {
    "httpx-default": lambda u, c, n: asyncio.run(httpx_loop(u, c, n, "default")),
    "httpx-aiohttp": lambda u, c, n: asyncio.run(httpx_loop(u, c, n, "aiohttp")),
    "aiohttp-raw": lambda u, c, n: asyncio.run(aiohttp_loop(u, c, n)),
    "braze_async": lambda u, c, n: asyncio.run(braze_async_loop(u, c, n)),
    "braze_async-nolimit": lambda u, c, n: asyncio.run(braze_async_loop(u, c, n, limiter=False)),
    # OpenTelemetry and hooks (bench_telemetry): "braze_async" itself has the API, no SDK.
    "braze_async-otel-absent": otel_absent,
    "braze_async-otel-sdk": otel_sdk,
    "braze_async-hooks": lambda u, c, n: asyncio.run(braze_async_loop(u, c, n, hooks=True)),
    "edx-braze-client": edx_threads,
}


def main() -> None:
    name, url, concurrency, requests = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    run = CLIENTS[name]
    run(
        url, concurrency, max(concurrency, requests // 10)
    )  # warm-up: imports, pools, JIT-free caches
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run(url, concurrency, requests)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(json.dumps({"cpu": cpu, "wall": wall, "requests": requests}))


if __name__ == "__main__":
    main()
