"""OpenTelemetry, natively: a client span per HTTP request to Braze, and the client's metrics.

:class:`OpenTelemetry` is a consumer of a client's events (see :mod:`._events`), like any
``on_event`` hook: it needs the optional ``opentelemetry-api`` package (``pip install
'braze-async[otel]'``). A client given none adds one on the global providers when the package
is installed (:func:`with_opentelemetry`); without it, nothing here runs. On the global
providers, while the application has set none, it takes no event (the API's placeholders
would drop what it records), from the first call after one is set, every one it records.

Each attempt becomes one span of kind CLIENT from the tracer ``braze_async``, named and
attributed as OpenTelemetry's HTTP client conventions say (``POST /campaigns/trigger/send``;
``http.request.method``, ``url.full``, ``url.template``, ``server.address``,
``server.port``, ``http.response.status_code``, ``error.type``,
``http.request.resend_count``), plus ours: ``braze.endpoint``, ``braze.bucket``,
``braze.recipients``, ``braze.attempt``, ``braze.limiter.wait`` (seconds) and
``braze.outcome`` (``success``, ``retry``, ``failed`` or ``unknown``). A retried call is
several sibling spans under the caller's span, as the conventions draw resends.

The span is recorded at the event that ends the attempt (a retry, or the call's end), with the
times it started (its ``AttemptStarted``, which that event carries) and ended: no span stays
open across an await, so a cancelled call leaves none half-open (and records none for the
attempt it cancelled), and the consumer keeps no state between events.

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

from collections.abc import Callable, Sequence
from time import time_ns
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._events import (
    AttemptStarted,
    BrazeEvent,
    EventHook,
    OutcomeUnknown,
    PlainSuccess,
    RequestFailed,
    RequestSucceeded,
    RetryScheduled,
    Takes,
)
from ._urls import route_template
from ._version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

__all__ = ["OpenTelemetry", "with_opentelemetry"]

#: The conventions' advice for ``http.client.request.duration``.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


#: What it records: the limiter's wait when an attempt starts, the attempt when it ends.
_TAKES = frozenset(
    {AttemptStarted, RetryScheduled, OutcomeUnknown, RequestFailed, RequestSucceeded, PlainSuccess}
)


def _provider_set() -> Callable[[], bool] | None:
    """A test of whether a global provider, tracer or meter, is set now; None when this
    version of the API cannot tell (one is then taken as set).

    Until one is, the API's placeholders (``ProxyTracerProvider`` and its meter twin) take
    the spans and measurements, and drop them; the instruments made on them are bound to the
    provider set later. The test reads the globals the placeholders read themselves, not
    ``get_tracer_provider()``: that looks up the environment on every call (0.5 us each).
    """
    from opentelemetry import trace
    from opentelemetry.metrics import _internal as metrics

    if not hasattr(trace, "_TRACER_PROVIDER") or not hasattr(metrics, "_METER_PROVIDER"):
        return None
    return lambda: trace._TRACER_PROVIDER is not None or metrics._METER_PROVIDER is not None


class OpenTelemetry:
    """Spans and metrics for each request, a consumer of the client's events: give it among
    the hooks (see the module docstring, or ``docs/logging.md``)::

        braze = BrazeClient(api_key=key, instance="iad-01",
                            on_event=OpenTelemetry(tracer_provider=provider))

    A client given no ``OpenTelemetry`` has one on the global providers when
    ``opentelemetry-api`` is installed. One instance may serve several clients.

    :param tracer_provider: where spans go; the global provider by default.
    :param meter_provider: where metrics go; the global provider by default.
    :raises ImportError: ``opentelemetry-api`` is not installed.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError as exc:
            raise ImportError(
                "OpenTelemetry needs the opentelemetry-api package: pip install 'braze-async[otel]'"
            ) from exc

        #: On the global providers, whether one is set now (the placeholders record
        #: nothing); None when providers are given.
        self._provider_set = (
            _provider_set() if tracer_provider is None and meter_provider is None else None
        )
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
        #: The conventions' server attributes of each base URL seen (a client has one).
        self._servers: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return "OpenTelemetry()"

    def _takes(self, kind: type[BrazeEvent]) -> Takes:
        """The start of an attempt (its limiter wait) and the events that end one: neither an
        answer nor a limiter wait is made for it (see _events.Selective); and, on the global
        providers, none until the application sets one."""
        if kind not in _TAKES:
            return False
        return True if self._provider_set is None else self._provider_set

    def __call__(self, event: BrazeEvent) -> None:
        """Record what *event* tells: a limiter admission, or the end of an attempt."""
        if isinstance(event, AttemptStarted):
            if event.waited is not None and event.bucket is not None:
                self._wait.record(event.waited, {"braze.bucket": event.bucket})
        elif isinstance(event, RequestSucceeded):
            if event.started is not None:
                self._attempt(event, event.started, event.status, None, "success", None)
        elif isinstance(event, RetryScheduled):
            if event.started is not None:
                why = event.no_answer.kind if event.no_answer else str(event.status)
                self._attempt(event, event.started, event.status, why, "retry", event.delay)
        elif isinstance(event, (OutcomeUnknown, RequestFailed)) and event.started is not None:
            status = event.status
            if event.no_answer is not None:
                why = event.no_answer.kind
            elif status is not None and status >= 400:
                why = str(status)
            else:  # a 2xx that could not be read
                why = type(event.error).__name__
            outcome = "unknown" if isinstance(event, OutcomeUnknown) else "failed"
            self._attempt(event, event.started, status, why, outcome, None)

    def _attempt(
        self,
        event: BrazeEvent,
        started: AttemptStarted,
        status: int | None,
        error_type: str | None,
        outcome: str,
        delay: float | None,
    ) -> None:
        """One attempt, now that its outcome is decided: its span and its measurements.

        :param error_type: the status code (as text) of an error answer, or the class name
            of what came instead of an answer; None for a success.
        :param outcome: ``success``, ``retry``, ``failed`` or ``unknown``.
        :param delay: for a retry, the seconds until it.
        """
        ended_ns = time_ns()
        template = route_template(event.endpoint)
        # Our counters carry what tells requests apart; the conventions' histogram and the
        # span also name the server. (The SDK spends about 12 us on each measurement and
        # 35 us on a span: see benchmarks/bench_telemetry.py; a counter of requests would
        # repeat the histogram's count.)
        ours: dict[str, Any] = {"url.template": template}
        if event.bucket is not None:
            ours["braze.bucket"] = event.bucket
        if status is not None:
            ours["http.response.status_code"] = status
        if error_type is not None:
            ours["error.type"] = error_type
        metric = {**self._server(event.base_url), **ours}
        attempt = event.attempt
        span: dict[str, Any] = {
            **metric,
            "url.full": event.base_url + event.endpoint,
            "braze.endpoint": event.endpoint,
            "braze.recipients": event.recipients,
            "braze.attempt": attempt,
            "braze.limiter.wait": started.waited or 0.0,
            "braze.outcome": outcome,
        }
        if attempt > 1:
            span["http.request.resend_count"] = attempt - 1
        if delay is not None:
            span["braze.retry.delay"] = delay
        recorded = self._tracer.start_span(
            f"POST {template}", kind=self._kind, attributes=span, start_time=started.time_ns
        )
        if error_type is not None and recorded.is_recording():
            recorded.set_status(self._error)
        recorded.end(end_time=ended_ns)
        self._duration.record((ended_ns - started.time_ns) / 1e9, metric)
        if status == 429:
            self._rate_limited.add(1, ours)
        if outcome == "retry":
            self._retries.add(1, ours)
        elif outcome == "unknown":
            self._unknown.add(1, ours)

    def _server(self, base_url: str) -> dict[str, Any]:
        """The conventions' method and server attributes for requests to *base_url*."""
        server = self._servers.get(base_url)
        if server is None:
            parts = urlsplit(base_url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            server = self._servers[base_url] = {
                "http.request.method": "POST",
                "server.address": parts.hostname or "",
                "server.port": port,
            }
        return server


def with_opentelemetry(hooks: Sequence[EventHook]) -> tuple[EventHook, ...]:
    """*hooks*, and after them an :class:`OpenTelemetry` on the global providers when none is
    among them and ``opentelemetry-api`` is installed."""
    if any(isinstance(hook, OpenTelemetry) for hook in hooks):
        return tuple(hooks)
    try:
        return (*hooks, OpenTelemetry())
    except ImportError:
        return tuple(hooks)


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
