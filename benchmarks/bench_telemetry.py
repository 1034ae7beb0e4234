"""What seeing the client costs: OpenTelemetry absent, present without an SDK, with the SDK
recording every span and metric; and a hook on every event.

End to end, as ``bench_overhead`` does: 50-recipient sends against the minimal server, each
client in its own process, process CPU time (the SDK's export thread included), the modes
interleaved and each the best of several runs (noise only adds). The baseline is the client
in a process where ``import opentelemetry`` fails, measured in the same run.

In process, the part that is OpenTelemetry's: what recording one attempt (its span and its
measurements) costs, through the API with no SDK and through the SDK, against the
baseline's CPU per request.
"""

from __future__ import annotations

import time
from typing import Any

from ._common import Row, echo_server, python_module, run_json, standalone

SECTION = "Telemetry cost (CPU per request with OpenTelemetry and hooks)"
HOW_TO_READ = (
    "client process CPU per 50-recipient request at 16 concurrent, best of interleaved runs, "
    "against the client without opentelemetry installed (the SDK rows include its batching "
    "thread); then the in-process cost of recording one attempt, as a share of a request."
)
PLOTS: tuple[str, ...] = ()
CONCURRENCY = 16
BASELINE = "braze_async-otel-absent"
MODES = {
    BASELINE: "opentelemetry not installed (baseline)",
    "braze_async": "opentelemetry-api, no SDK configured",
    "braze_async-otel-sdk": "OpenTelemetry SDK: every span and metric recorded",
    "braze_async-hooks": "an on_event hook on every event",
}
#: The goal for each mode, as a ratio to the baseline: the API without an SDK and a hook
#: should cost next to nothing. The SDK's own cost is what its span and measurements take
#: (see the in-process rows); its goal is the one bench_overhead sets for the client alone.
TARGETS = {"braze_async": 1.1, "braze_async-hooks": 1.1}
#: Braze's ceiling: 250,000 requests an hour.
CEILING_PER_SECOND = 250_000 / 3600


def end_to_end(url: str, requests: int, rounds: int) -> dict[str, float]:
    """Microseconds of client CPU per request for each mode: the best of *rounds* runs,
    the modes interleaved so that a noisy minute spreads over all of them."""
    best = dict.fromkeys(MODES, float("inf"))
    for _ in range(rounds):
        for mode in MODES:
            result = run_json(
                python_module(
                    "benchmarks._overhead_client", mode, url, str(CONCURRENCY), str(requests)
                )
            )
            best[mode] = min(best[mode], result["cpu"] / result["requests"] * 1e6)
    return best


def per_attempt(n: int) -> dict[str, float]:
    """Microseconds of CPU to record one attempt (span and measurements), per provider: what
    the ``OpenTelemetry`` consumer does with the attempt's start and its end (the events are
    built once, outside the loop: their cost is the client's, in the end-to-end rows)."""
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.trace import NoOpTracerProvider

    from braze_async import OpenTelemetry
    from braze_async.events import AttemptStarted, RequestSucceeded

    class Drop(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            del spans
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Drop()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    recorders = {
        "no SDK": OpenTelemetry(NoOpTracerProvider(), NoOpMeterProvider()),
        "SDK": OpenTelemetry(tracer_provider, meter_provider),
    }
    request: dict[str, Any] = {
        "endpoint": "/campaigns/trigger/send",
        "attempt": 1,
        "recipients": 50,
        "bucket": "external_id",
        "base_url": "https://rest.iad-01.braze.com",
    }
    started = AttemptStarted(**request, waited=0.0, time_ns=time.time_ns())
    ended = RequestSucceeded(**request, status=201, started=started)
    cost: dict[str, float] = {}
    for name, record in recorders.items():
        begun = time.process_time()
        for _ in range(n):
            record(started)
            record(ended)
        tracer_provider.force_flush()
        cost[name] = (time.process_time() - begun) / n * 1e6
    tracer_provider.shutdown()
    meter_provider.shutdown()
    return cost


def run(quick: bool) -> list[Row]:
    requests = 600 if quick else 3000
    with echo_server() as url:
        cost = end_to_end(url, requests, rounds=2 if quick else 5)
    base = cost[BASELINE]
    rows: list[Row] = []
    for mode, label in MODES.items():
        target = TARGETS.get(mode)
        compared = mode != BASELINE
        rows.append(
            Row(
                SECTION,
                f"{label}, c={CONCURRENCY}",
                cost[mode],
                "us/request",
                "opentelemetry absent" if compared else "",
                cost[mode] / base if compared else None,
                "" if target is None else f"<= {target}x",
                None if target is None else cost[mode] / base <= target,
                note=f"{cost[mode] - base:+,.0f} us/request" if compared else "",
            )
        )
    share = cost["braze_async-otel-sdk"] * 1e-6 * CEILING_PER_SECOND
    rows.append(
        Row(
            SECTION,
            "share of one core to keep pace with 250,000 requests/hour, SDK recording",
            share * 100,
            "%",
            "one core",
            share,
            "< 4%",
            share < 0.04,
            note=f"12.5M recipients/hour, at c={CONCURRENCY}",
        )
    )
    for name, us in per_attempt(2000 if quick else 20000).items():
        rows.append(
            Row(
                SECTION,
                f"recording one attempt in process, {name}",
                us,
                "us/attempt",
                "a request without opentelemetry",
                us / base,
                note="its span and its measurements",
            )
        )
    return rows


if __name__ == "__main__":
    standalone(run)
