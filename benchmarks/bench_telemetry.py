"""What seeing the client costs: OpenTelemetry absent, present without an SDK, with the SDK
recording every span and metric; and a hook on every event.

Same setup as ``bench_overhead``: 50-recipient sends against the minimal server, each client
in its own process, process CPU time (the SDK's export thread included). The baseline is the
client in a process where ``import opentelemetry`` fails, measured in the same run.
"""

from __future__ import annotations

from ._common import Row, echo_server, standalone
from .bench_overhead import measure

SECTION = "Telemetry cost (CPU per request with OpenTelemetry and hooks)"
HOW_TO_READ = (
    "client process CPU per 50-recipient request at 16 concurrent, best of two runs, against "
    "the client without opentelemetry installed; the SDK rows include its batching thread."
)
PLOTS: tuple[str, ...] = ()
CONCURRENCY = 16
MODES = {
    "braze_async-otel-absent": "opentelemetry not installed (baseline)",
    "braze_async": "opentelemetry-api, no SDK configured",
    "braze_async-otel-sdk": "OpenTelemetry SDK: every span and metric recorded",
    "braze_async-hooks": "an on_event hook on every event",
}
#: The goal for each mode, as a ratio to the baseline.
TARGETS = {"braze_async": 1.1, "braze_async-otel-sdk": 1.3, "braze_async-hooks": 1.1}


def run(quick: bool) -> list[Row]:
    requests = 600 if quick else 3000
    with echo_server() as url:
        cost = {mode: measure(url, mode, CONCURRENCY, requests) for mode in MODES}
    base = cost["braze_async-otel-absent"]
    rows: list[Row] = []
    for mode, label in MODES.items():
        target = TARGETS.get(mode)
        rows.append(
            Row(
                SECTION,
                f"{label}, c={CONCURRENCY}",
                cost[mode],
                "us/request",
                "" if target is None else "opentelemetry absent",
                None if target is None else cost[mode] / base,
                "" if target is None else f"<= {target}x",
                None if target is None else cost[mode] / base <= target,
                note=f"+{cost[mode] - base:,.0f} us/request" if target is not None else "",
            )
        )
    return rows


if __name__ == "__main__":
    standalone(run)
