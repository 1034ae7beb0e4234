"""The simulator's public value types: rates, delivery records and counters."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, TypeAlias

import attrs

from ._settings import seconds

__all__ = ["Delivery", "RateSpec", "SimulatorRate", "SimulatorStats"]


def _check_limit(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"rate limit must be an integer >= 1, got {value!r}")


def _check_period(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    seconds("rate period", value, positive=True)


@attrs.frozen
class SimulatorRate:
    """A server-side limit: at most ``limit`` counted requests per ``period`` seconds.

    >>> SimulatorRate.parse("250000/3600")
    SimulatorRate(limit=250000, period=3600.0)
    """

    #: Requests counted per window.
    limit: int = attrs.field(validator=_check_limit)
    #: Window length in seconds.
    period: float = attrs.field(converter=float, validator=_check_period)

    @classmethod
    def parse(cls, spec: RateSpec) -> SimulatorRate:
        """Build a rate from a :class:`SimulatorRate`, a ``(limit, period)`` tuple or ``"N/P"``.

        :raises ValueError: when the spec is malformed or out of range.
        """
        if isinstance(spec, SimulatorRate):
            return spec
        if isinstance(spec, str):
            limit_text, sep, period_text = spec.partition("/")
            if not sep:
                raise ValueError(f"rate must look like 'LIMIT/SECONDS', got {spec!r}")
            try:
                limit, period = int(limit_text), float(period_text)
            except ValueError:
                raise ValueError(f"rate must look like 'LIMIT/SECONDS', got {spec!r}") from None
            return cls(limit, period)
        if isinstance(spec, tuple) and len(spec) == 2:
            return cls(spec[0], spec[1])
        raise ValueError(f"rate must be (limit, period) or 'LIMIT/SECONDS', got {spec!r}")

    def __str__(self) -> str:
        return f"{self.limit}/{self.period:g}"


#: What the simulator accepts wherever a rate is configured.
RateSpec: TypeAlias = SimulatorRate | tuple[int, float] | str


@attrs.frozen
class Delivery:
    """One recipient the simulator accepted: what Braze would have messaged.

    Audience sends (segment, Connected Audience, broadcast) have no recipients; they are
    recorded once with ``recipient`` ``"broadcast"``, ``"audience"`` or ``"segment:<id>"``.
    A scheduled send is recorded when it is delivered, with its ``schedule_id`` and
    ``sent_at``; its ``endpoint`` is the create's (``/campaigns/trigger/schedule/create``).
    """

    #: Canonical endpoint path, e.g. ``"/campaigns/trigger/send"``; the transactional one is
    #: ``"/transactional/v1/campaigns/{campaign_id}/send"`` whichever path version was used.
    endpoint: str
    #: The campaign the send targeted (campaigns, transactional, and /messages/send if given).
    campaign_id: str | None
    #: The Canvas the send targeted (``/canvas/trigger/send`` only).
    canvas_id: str | None
    #: The ``dispatch_id`` answered for the request.
    dispatch_id: str
    #: ``external_user_id:u1``, ``user_alias:name/label`` or ``email:x@y``.
    recipient: str
    #: The recipient object as received (parsed again from the recorded request body).
    data: dict[str, Any]
    #: The schedule it was delivered by (a scheduled send), else None.
    schedule_id: str | None = attrs.field(default=None, kw_only=True)
    #: When a scheduled send was delivered to it (UTC, the simulator's clock), else None.
    sent_at: dt.datetime | None = attrs.field(default=None, kw_only=True)


@attrs.define
class SimulatorStats:
    """Counters of everything the simulator answered since it started or was reset."""

    #: Every HTTP request received, whatever became of it.
    requests: int = 0
    #: Requests answered with success (deduplicated transactional sends and notices included).
    accepted: int = 0
    #: Requests refused as malformed: 400 (invalid JSON or a broken rule) or 415 (a body not
    #: declared ``application/json``).
    rejected_400: int = 0
    #: Requests refused with 401 (missing or wrong API key).
    unauthorized: int = 0
    #: Requests refused with 429 because a rate-limit window was full.
    rate_limited: int = 0
    #: 429 answers injected by ``fault_429``.
    injected_429: int = 0
    #: 500/503 answers injected by ``fault_5xx``.
    faults_5xx: int = 0
    #: Connections closed before the request was processed (``drop_before``).
    drops_before: int = 0
    #: Connections closed after the request was processed (``drop_after``).
    drops_after: int = 0
    #: Transactional sends whose ``external_send_id`` was seen within the dedup window.
    deduplicated: int = 0
    #: Canvas sends answered with a ``notice`` (a paused or archived Canvas; nothing
    #: delivered); counted in ``accepted`` too.
    notices: int = 0
    #: Histogram: number of recipients in an accepted request -> how many such requests.
    recipients_per_request: Counter[int] = attrs.field(factory=Counter)

    def summary(self) -> str:
        """One line, ``name=value`` for every counter (the histogram excluded)."""
        return " ".join(
            f"{field.name}={getattr(self, field.name)}"
            for field in attrs.fields(SimulatorStats)
            if field.name != "recipients_per_request"
        )
