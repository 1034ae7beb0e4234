"""OpenTelemetry, natively: a client span per HTTP request to Braze, and the client's metrics.

Only with the optional ``opentelemetry-api`` package (``pip install 'braze-async[otel]'``):
:func:`open_telemetry` returns ``None`` when it is absent, and nothing here runs. When the
application configured no SDK, the API's own no-op tracer and meter take the calls.

Each attempt becomes one span of kind CLIENT from the tracer ``braze_async``, named and
attributed as OpenTelemetry's HTTP client conventions say (``POST /campaigns/trigger/send``;
``http.request.method``, ``url.full``, ``url.template``, ``server.address``,
``server.port``, ``http.response.status_code``, ``error.type``,
``http.request.resend_count``), plus ours: ``braze.endpoint``, ``braze.bucket``,
``braze.recipients``, ``braze.attempt``, ``braze.limiter.wait`` (seconds) and
``braze.outcome`` (``success``, ``retry``, ``failed`` or ``unknown``). A retried call is
several sibling spans under the caller's span, as the conventions draw resends.

The span is recorded when the attempt's outcome is decided, with the times it started and
ended: no span stays open across an await, so a cancelled call leaves none half-open (and
records none for the attempt it cancelled).

Metrics, from the meter ``braze_async``:

=================================  =========  ==================================================
instrument                         unit       one measurement per
=================================  =========  ==================================================
``http.client.request.duration``   s          attempt, with its status or ``error.type``: the
                                              conventions' histogram, whose count counts requests
``braze.client.rate_limited``      {request}  429 answer
``braze.client.retries``           {retry}    retry decided, with the failure's ``error.type``
``braze.client.unknown_outcomes``  {call}     call whose outcome is unknown
``braze.client.limiter.wait``      s          admission by the rate limiter (0 when no wait)
=================================  =========  ==================================================

Attributes on metrics are few-valued: ``url.template`` (never the campaign id in a path),
``braze.bucket``, ``http.response.status_code`` or ``error.type`` (and on the duration, the
conventions' ``http.request.method`` and ``server.*``). Nothing recorded here
carries the API key: it is in no URL, and error types are class names or status codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

__all__ = ["Telemetry", "open_telemetry"]

#: The conventions' advice for ``http.client.request.duration``.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


class Telemetry:
    """Records attempts and limiter waits on a tracer and a meter (see the module docstring).

    :param base_url: the REST endpoint, for ``url.full`` and ``server.*``.
    :param tracer_provider: where spans go; the global provider by default.
    :param meter_provider: where metrics go; the global provider by default.
    """

    def __init__(
        self,
        base_url: str,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        from opentelemetry import metrics, trace

        self._kind = trace.SpanKind.CLIENT
        self._error = trace.Status(trace.StatusCode.ERROR)
        self._tracer = trace.get_tracer("braze_async", __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter("braze_async", __version__, meter_provider=meter_provider)
        self._duration = _histogram(
            meter,
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests.",
            buckets=_DURATION_BUCKETS,
        )
        self._rate_limited = meter.create_counter(
            "braze.client.rate_limited", unit="{request}", description="429 answers from Braze."
        )
        self._retries = meter.create_counter(
            "braze.client.retries", unit="{retry}", description="Retries decided."
        )
        self._unknown = meter.create_counter(
            "braze.client.unknown_outcomes",
            unit="{call}",
            description="Calls whose outcome is unknown: Braze may or may not have sent them.",
        )
        self._wait = _histogram(
            meter,
            "braze.client.limiter.wait",
            unit="s",
            description="Time a request waited for the client-side rate limiter.",
            buckets=(0, 0.01, 0.1, 0.5, 1, 5, 10, 60, 300, 3600),
        )
        self._base_url = base_url
        parts = urlsplit(base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self._server: dict[str, Any] = {
            "http.request.method": "POST",
            "server.address": parts.hostname or "",
            "server.port": port,
        }

    def limiter_waited(self, bucket: str, seconds: float) -> None:
        """One admission by the rate limiter, after *seconds* in line."""
        self._wait.record(seconds, {"braze.bucket": bucket})

    def attempt(
        self,
        *,
        endpoint: str,
        template: str,
        bucket: str | None,
        recipients: int,
        attempt: int,
        waited: float,
        status: int | None,
        error_type: str | None,
        outcome: str,
        delay: float | None,
        started_ns: int,
        ended_ns: int,
    ) -> None:
        """One attempt, now that its outcome is decided: its span and its measurements.

        :param error_type: the status code (as text) of an error answer, or the class name
            of what came instead of an answer; None for a success.
        :param outcome: ``success``, ``retry``, ``failed`` or ``unknown``.
        :param delay: for a retry, the seconds until it.
        """
        # Our counters carry what tells requests apart; the conventions' histogram and the
        # span also name the server. (The SDK spends about 12 us on each measurement and
        # 35 us on a span: see benchmarks/bench_telemetry.py; a counter of requests would
        # repeat the histogram's count.)
        ours: dict[str, Any] = {"url.template": template}
        if bucket is not None:
            ours["braze.bucket"] = bucket
        if status is not None:
            ours["http.response.status_code"] = status
        if error_type is not None:
            ours["error.type"] = error_type
        metric = {**self._server, **ours}
        span: dict[str, Any] = {
            **metric,
            "url.full": self._base_url + endpoint,
            "braze.endpoint": endpoint,
            "braze.recipients": recipients,
            "braze.attempt": attempt,
            "braze.limiter.wait": waited,
            "braze.outcome": outcome,
        }
        if attempt > 1:
            span["http.request.resend_count"] = attempt - 1
        if delay is not None:
            span["braze.retry.delay"] = delay
        recorded = self._tracer.start_span(
            f"POST {template}", kind=self._kind, attributes=span, start_time=started_ns
        )
        if error_type is not None and recorded.is_recording():
            recorded.set_status(self._error)
        recorded.end(end_time=ended_ns)
        self._duration.record((ended_ns - started_ns) / 1e9, metric)
        if status == 429:
            self._rate_limited.add(1, ours)
        if outcome == "retry":
            self._retries.add(1, ours)
        elif outcome == "unknown":
            self._unknown.add(1, ours)


def open_telemetry(
    base_url: str,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Telemetry | None:
    """A :class:`Telemetry`, or None when ``opentelemetry-api`` is not installed."""
    try:
        return Telemetry(base_url, tracer_provider=tracer_provider, meter_provider=meter_provider)
    except ImportError:
        return None


def _histogram(
    meter: Any, name: str, *, unit: str, description: str, buckets: Sequence[float]
) -> Any:
    """A histogram with advised bucket boundaries where the API takes them (1.28 and later;
    ``opentelemetry-api`` 1.27, the floor, has no such argument)."""
    try:
        return meter.create_histogram(
            name,
            unit=unit,
            description=description,
            explicit_bucket_boundaries_advisory=buckets,
        )
    except TypeError:
        return meter.create_histogram(name, unit=unit, description=description)
