"""OpenTelemetry: a CLIENT span per request to Braze, and the client's metrics.

Read with the OpenTelemetry SDK's in-memory span exporter and metric reader, given to the
client's ``OpenTelemetry`` consumer as its providers (the global ones can be set only once per
process).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, LogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from braze_async import (
    BrazeClient,
    BrazeError,
    BrazeEvent,
    BrazeUnknownOutcomeError,
    Campaign,
    OpenTelemetry,
    Rate,
    RateLimits,
    Recipient,
    RetryPolicy,
)
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(backoff_initial=0.001, backoff_max=0.002)
TWO = [Recipient(external_user_id="u1"), Recipient(external_user_id="u2")]
OK = {"dispatch_id": "d1", "message": "success"}


class Otel:
    """An SDK tracer and meter provider that keep everything in memory."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def client(self, **kwargs: Any) -> BrazeClient:
        """A client recording on these providers, after the hook given as ``on_event``."""
        recorder = OpenTelemetry(self.tracer_provider, self.meter_provider)
        hook = kwargs.pop("on_event", None)
        return BrazeClient(on_event=[recorder] if hook is None else [hook, recorder], **kwargs)

    def finished(self) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if s.name.startswith("POST")]

    def points(self, name: str) -> list[tuple[dict[str, Any], float]]:
        """(attributes, value) of each data point of metric *name* (a histogram's count)."""
        data = self.reader.get_metrics_data()
        found: list[tuple[dict[str, Any], float]] = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for p in metric.data.data_points:
                            value = getattr(p, "value", None)
                            count = value if value is not None else getattr(p, "count", 0)
                            found.append((dict(p.attributes or {}), count))
        return found


@pytest.fixture
def otel() -> Iterator[Otel]:
    o = Otel()
    yield o
    o.tracer_provider.shutdown()
    o.meter_provider.shutdown()


async def test_each_request_is_a_client_span_named_by_the_http_conventions(otel: Otel) -> None:
    """One send: one CLIENT span ``POST /campaigns/trigger/send``, the conventions' HTTP
    attributes and ours, child of the caller's span."""
    async with (
        BrazeSimulator() as sim,
        otel.client(api_key=sim.api_key, base_url=sim.base_url) as b,
    ):
        url = sim.base_url
        tracer = otel.tracer_provider.get_tracer("app")
        with tracer.start_as_current_span("handler") as parent:
            await b.send(Campaign("c"), recipients=TWO)
    (span,) = otel.finished()
    assert span.name == "POST /campaigns/trigger/send"
    assert span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "braze_async"
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    port = int(url.rsplit(":", 1)[1])
    assert dict(span.attributes or {}) == {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "server.port": port,
        "url.full": f"{url}/campaigns/trigger/send",
        "url.template": "/campaigns/trigger/send",
        "http.response.status_code": 201,
        "braze.endpoint": "/campaigns/trigger/send",
        "braze.bucket": "external_id",
        "braze.recipients": 2,
        "braze.attempt": 1,
        "braze.limiter.wait": 0.0,
        "braze.outcome": "success",
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.start_time is not None and span.end_time is not None
    assert span.end_time > span.start_time


async def test_a_retried_call_is_sibling_spans_with_the_resend_count(otel: Otel) -> None:
    """503 then 201: two spans; the first is an error with error.type and the retry's delay,
    the second carries http.request.resend_count=1."""
    replies = iter([httpx.Response(503), httpx.Response(201, json=OK)])
    transport = httpx.MockTransport(lambda r: next(replies))
    async with otel.client(
        api_key="k", instance="iad-01", transport=transport, retry=FAST
    ) as braze:
        await braze.send(Campaign("c"), recipients=TWO)
    first, second = otel.finished()
    a: dict[str, Any] = dict(first.attributes or {})
    b: dict[str, Any] = dict(second.attributes or {})
    assert (a["http.response.status_code"], a["error.type"], a["braze.outcome"]) == (
        503,
        "503",
        "retry",
    )
    assert 0 <= a["braze.retry.delay"] <= 0.001
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in a
    assert (b["braze.attempt"], b["http.request.resend_count"], b["braze.outcome"]) == (
        2,
        1,
        "success",
    )
    assert a["server.address"] == "rest.iad-01.braze.com" and a["server.port"] == 443
    assert [p for p, _ in otel.points("braze.client.retries")] == [
        {
            "url.template": "/campaigns/trigger/send",
            "braze.bucket": "external_id",
            "http.response.status_code": 503,
            "error.type": "503",
        }
    ]


async def test_an_unknown_outcome_is_an_error_span_and_counted(otel: Otel) -> None:
    """A lost answer: error.type names what came instead (MaybeProcessed), outcome unknown."""
    async with (
        BrazeSimulator(drop_after=1.0, seed=1) as sim,
        otel.client(api_key=sim.api_key, base_url=sim.base_url) as braze,
    ):
        with pytest.raises(BrazeUnknownOutcomeError):
            await braze.send(Campaign("c"), recipients=TWO)
    (span,) = otel.finished()
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "MaybeProcessed"
    assert attributes["braze.outcome"] == "unknown"
    assert "http.response.status_code" not in attributes
    assert [v for _, v in otel.points("braze.client.unknown_outcomes")] == [1]


async def test_transactional_spans_and_metrics_name_the_route_not_the_id(otel: Otel) -> None:
    """The campaign id is in url.full only: span names and metric attributes use the
    template, so they stay few."""
    async with (
        BrazeSimulator() as sim,
        otel.client(api_key=sim.api_key, base_url=sim.base_url) as b,
    ):
        url = sim.base_url
        for campaign in ("t1", "t2"):
            await b.send_transactional(campaign, Recipient(external_user_id="u"))
    spans = otel.finished()
    assert {s.name for s in spans} == {"POST /transactional/v1/campaigns/{campaign_id}/send"}
    assert [dict(s.attributes or {})["url.full"] for s in spans] == [
        f"{url}/transactional/v1/campaigns/t1/send",
        f"{url}/transactional/v1/campaigns/t2/send",
    ]
    ((attributes, count),) = otel.points("http.client.request.duration")
    assert attributes["url.template"] == "/transactional/v1/campaigns/{campaign_id}/send"
    assert "braze.bucket" not in attributes
    assert count == 2


async def test_429s_requests_and_limiter_waits_are_measured(otel: Otel) -> None:
    """Counters and histograms: requests by status (the duration's count), 429 answers,
    limiter waits."""
    clock = FakeClock()  # a full window stays full, a wait lasts what it says
    async with (
        BrazeSimulator(external_id_rate="1/60", clock=clock) as sim,
        otel.client(
            api_key=sim.api_key, base_url=sim.base_url, rate_limits=None, clock=clock
        ) as braze,
    ):
        await braze.send(Campaign("c"), recipients=TWO)
        await braze.send(Campaign("c"), recipients=TWO)  # a 429, then after 60 s a 201
    async with BrazeSimulator() as sim:
        limits = RateLimits(external_id=Rate(1, 0.2))
        async with otel.client(
            api_key=sim.api_key, base_url=sim.base_url, rate_limits=limits, clock=clock
        ) as braze:
            await braze.send(Campaign("c"), recipients=TWO)
            await braze.send(Campaign("c"), recipients=TWO)  # waits 0.2 s in the limiter
    requests: dict[int, float] = {}
    for p, v in otel.points("http.client.request.duration"):  # per status and simulator
        requests[p["http.response.status_code"]] = (
            requests.get(p["http.response.status_code"], 0) + v
        )
    assert requests[429] == 1
    assert requests[201] == 4
    assert [v for _, v in otel.points("braze.client.rate_limited")] == [requests[429]]
    ((attributes, admissions),) = otel.points("braze.client.limiter.wait")
    assert attributes == {"braze.bucket": "external_id"}
    assert admissions == 2
    waited = [dict(s.attributes or {})["braze.limiter.wait"] for s in otel.finished()][-2:]
    assert waited[0] == 0.0 and waited[1] == pytest.approx(0.2)


async def test_without_an_sdk_the_api_is_a_no_op() -> None:
    """opentelemetry-api with no SDK configured: the global providers are the API's
    proxies, sends work, nothing is recorded."""
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
    async with (
        BrazeSimulator() as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze,
    ):
        r = await braze.send(Campaign("c"), recipients=TWO)
    assert r.dispatch_id


def run_python(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_without_the_package_nothing_of_it_runs() -> None:
    """opentelemetry absent: the client works and has no telemetry; importing braze_async
    never imports opentelemetry, even when it is installed (the client does, when made)."""
    absent = run_python(
        "import sys; sys.modules['opentelemetry'] = None\n"
        "import asyncio, httpx\n"
        "from braze_async import BrazeClient, Campaign, Recipient\n"
        "async def main():\n"
        "    t = httpx.MockTransport(lambda r: httpx.Response(201,"
        " json={'dispatch_id': 'd', 'message': 'success'}))\n"
        "    async with BrazeClient(api_key='k', instance='iad-01', transport=t) as b:\n"
        "        r = await b.send(Campaign('c'), recipients=[Recipient(external_user_id='u')])\n"
        "        print(r.dispatch_id, [c for c in b._path.events.consumers"
        " if type(c).__name__ == 'OpenTelemetry'] or None)\n"
        "asyncio.run(main())\n"
    )
    assert absent.split() == ["d", "None"]
    lazy = run_python(
        "import sys\n"
        "import braze_async\n"
        "print('opentelemetry' in sys.modules)\n"
        "braze_async.BrazeClient(api_key='k', instance='iad-01')\n"
        "print('opentelemetry.trace' in sys.modules)\n"
    )
    assert lazy.split() == ["False", "True"]


async def test_the_key_reaches_no_log_event_span_or_metric(
    otel: Otel, caplog: pytest.LogCaptureFixture
) -> None:
    """A hostile server echoes the key in headers and bodies; with every logger at DEBUG, a
    hook keeping every event and the SDK recording, the key is nowhere."""
    token = secrets.token_hex(12)
    key = f"sk-OTELCHECK-{token}"
    caplog.set_level(logging.DEBUG)
    replies = iter(
        [
            httpx.Response(503, headers={"x-echo": key}, text=f"bad {key}"),
            httpx.Response(400, headers={"x-echo": f"Bearer {key}"}, json={"message": key}),
        ]
    )
    seen: list[BrazeEvent] = []
    transport = httpx.MockTransport(lambda r: next(replies))
    async with otel.client(
        api_key=key, instance="iad-01", transport=transport, retry=FAST, on_event=seen.append
    ) as braze:
        with pytest.raises(BrazeError) as info:
            await braze.send(Campaign("c"), recipients=TWO)
    texts = [r.getMessage() for r in caplog.records]
    texts += [repr(vars(r)) for r in caplog.records]
    texts += [repr(e) for e in seen]
    texts += [repr(dict(getattr(e, "headers", {}))) for e in seen]
    texts += [repr(dict(s.attributes or {})) + repr(s.events) for s in otel.finished()]
    texts += [repr(otel.reader.get_metrics_data())]
    texts += [str(info.value), repr(getattr(info.value, "headers", None))]
    assert len(seen) == 6
    assert info.value.headers["x-echo"] == "Bearer ***"  # type: ignore[attr-defined]
    for text in texts:
        assert token not in text


async def test_one_consumer_serves_clients_of_two_workspaces(otel: Otel) -> None:
    """An OpenTelemetry given to two clients names each one's server: the events say where."""
    ok = httpx.MockTransport(lambda r: httpx.Response(201, json=OK))
    for instance in ("iad-01", "fra-02"):
        async with otel.client(api_key="k", instance=instance, transport=ok) as braze:
            await braze.send(Campaign("c"), recipients=TWO)
    assert [dict(s.attributes or {})["url.full"] for s in otel.finished()] == [
        "https://rest.iad-01.braze.com/campaigns/trigger/send",
        "https://rest.fra-02.braze.eu/campaigns/trigger/send",
    ]
    servers = {p["server.address"] for p, _ in otel.points("http.client.request.duration")}
    assert servers == {"rest.iad-01.braze.com", "rest.fra-02.braze.eu"}


def test_a_given_consumer_replaces_the_default_one() -> None:
    """Given an OpenTelemetry, a client adds none on the global providers; given none, it
    adds one, last; the log's consumer is always first."""
    from braze_async._logs import log_event

    mine = OpenTelemetry()
    hook = print
    given = BrazeClient(api_key="k", instance="iad-01", on_event=[mine, hook])
    assert given._path.events.consumers == (log_event, mine, hook)
    default = BrazeClient(api_key="k", instance="iad-01", on_event=hook)
    (first, second, third) = default._path.events.consumers
    assert (first, second) == (log_event, hook)
    assert isinstance(third, OpenTelemetry) and third is not mine


def test_without_the_package_the_consumer_says_what_to_install() -> None:
    """OpenTelemetry() without opentelemetry-api: an ImportError naming the extra."""
    out = run_python(
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from braze_async import OpenTelemetry\n"
        "try:\n"
        "    OpenTelemetry()\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    assert "pip install 'braze-async[otel]'" in out


class Broken(SpanProcessor):
    """An SDK span processor that raises where it is called: at a span's start or end."""

    def __init__(self, where: str) -> None:
        self.where = where

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        if self.where == "start":
            raise RuntimeError("processor broke on_start")

    def on_end(self, span: ReadableSpan) -> None:
        if self.where == "end":
            raise RuntimeError("processor broke on_end")


@pytest.mark.parametrize("where", ["start", "end"])
async def test_a_telemetry_processor_that_raises_never_changes_a_send(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A span processor that raises (at span start or end): sends succeed, a bulk job of 100
    reports 100 sent, none unknown, and the failure is logged once (before, the processor's
    RuntimeError came out of every successful send, and the bulk job called its 100 recipients
    unknown)."""
    provider = TracerProvider()
    provider.add_span_processor(Broken(where))
    recorder = OpenTelemetry(provider, MeterProvider())
    async with (
        BrazeSimulator() as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url, on_event=recorder) as braze,
    ):
        for _ in range(2):
            response = await asyncio.wait_for(braze.send(Campaign("c"), recipients=TWO), 10)
            assert response.dispatch_id
        users = (Recipient(external_user_id=f"u{i}") for i in range(100))
        report = await asyncio.wait_for(braze.send_bulk(Campaign("c"), users), 10)
    assert (report.sent, report.unknown, report.failed) == (100, 0, 0)
    failures = [r for r in caplog.records if getattr(r, "event", "") == "hook_failed"]
    assert len(failures) == 1 and "OpenTelemetry" in failures[0].getMessage()
    provider.shutdown()


class BrokenLogs(LogRecordProcessor):
    """An SDK log record processor that raises on every record (OpenTelemetry's
    ``LoggingHandler`` lets it out of the ``logger.warning`` call)."""

    def on_emit(self, log_record: Any) -> None:
        raise RuntimeError("log processor broke")

    def emit(self, log_data: Any) -> None:  # its name in opentelemetry-sdk before 1.35
        raise RuntimeError("log processor broke")

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


async def test_a_log_processor_that_raises_never_changes_a_send() -> None:
    """OpenTelemetry's ``LoggingHandler`` on the ``braze_async`` logger, with a processor that
    raises: every record we log raises out of the logging call. Sends (with a non-fatal
    error, which logs a warning, and a span processor that raises too) still succeed, and a
    bulk job reports its 100 recipients sent, none unknown (before, the RuntimeError came out
    of the send)."""
    logs = LoggerProvider()
    logs.add_log_record_processor(BrokenLogs())
    with warnings.catch_warnings():  # deprecated in 1.39 for the instrumentation's, alike
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(level=logging.DEBUG, logger_provider=logs)
    braze_logger = logging.getLogger("braze_async")
    level = braze_logger.level
    braze_logger.addHandler(handler)
    braze_logger.setLevel(logging.DEBUG)
    provider = TracerProvider()
    provider.add_span_processor(Broken("end"))
    recorder = OpenTelemetry(provider, MeterProvider())
    try:
        async with (
            BrazeSimulator() as sim,
            BrazeClient(api_key=sim.api_key, base_url=sim.base_url, on_event=recorder) as braze,
        ):
            response = await asyncio.wait_for(braze.send(Campaign("c"), recipients=TWO), 10)
            assert response.dispatch_id
            users = (Recipient(external_user_id=f"u{i}") for i in range(100))
            report = await asyncio.wait_for(braze.send_bulk(Campaign("c"), users), 10)
        assert (report.sent, report.unknown, report.failed) == (100, 0, 0)
    finally:
        braze_logger.removeHandler(handler)
        braze_logger.setLevel(level)
        provider.shutdown()
        logs.shutdown()


# Global providers are process-wide state: this runs in a fresh interpreter. Events are
# counted as they are made (see test_event_stream.py).
ON_THE_GLOBAL_PROVIDERS = """
from collections import Counter
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from braze_async import OpenTelemetry
from braze_async._events import Events
from braze_async._http import Answer
from braze_async.events import AttemptStarted, RequestSucceeded

made = Counter()
for kind in (AttemptStarted, RequestSucceeded):
    def counting(self, *a, _init=kind.__init__, **kw):
        made[type(self).__name__] += 1
        _init(self, *a, **kw)
    kind.__init__ = counting

def a_success(events):
    t = events.trace("/campaigns/trigger/send", "external_id", 2)
    t.admitted(0.0); t.started(); t.answered(Answer(201, {}, b"{}")); t.succeeded(())

events = Events([OpenTelemetry()])
a_success(events)
print(sorted(made.items()))
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
a_success(events)
print(sorted(made.items()), [s.name for s in exporter.get_finished_spans()])
"""


def test_on_unset_global_providers_opentelemetry_takes_nothing_until_one_is_set() -> None:
    """The API's placeholders record nothing: no event is made for them; once the
    application sets an SDK, even after the client was made, the next call's span is."""
    assert run_python(ON_THE_GLOBAL_PROVIDERS).splitlines() == [
        "[]",
        "[('AttemptStarted', 1), ('RequestSucceeded', 1)] ['POST /campaigns/trigger/send']",
    ]
