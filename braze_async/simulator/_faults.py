"""Seeded fault injection: which request fails, how, and how long answers take.

Draws come from one ``random.Random(seed)`` in a fixed order per request (drop before,
5xx, 429, latency jitter, then drop after), and only for the faults that are configured, so
a given seed and configuration always fail the same requests.
"""

from __future__ import annotations

import enum
import random

from ._settings import probability, seconds

__all__ = ["Fault", "FaultPlan"]


class Fault(enum.Enum):
    """A fault decided before the request is processed."""

    DROP_BEFORE = "drop_before"
    SERVER_ERROR = "fault_5xx"
    TOO_MANY_REQUESTS = "fault_429"


class FaultPlan:
    """The configured fault probabilities and latency, and the random source deciding them."""

    __slots__ = (
        "_random",
        "drop_after",
        "drop_before",
        "fault_5xx",
        "fault_429",
        "latency",
        "latency_jitter",
    )

    def __init__(
        self,
        *,
        fault_5xx: float = 0.0,
        fault_429: float = 0.0,
        drop_before: float = 0.0,
        drop_after: float = 0.0,
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        seed: int | None = None,
    ) -> None:
        #: Probability of answering 500 or 503 without processing.
        self.fault_5xx = probability("fault_5xx", fault_5xx)
        #: Probability of answering 429 without processing.
        self.fault_429 = probability("fault_429", fault_429)
        #: Probability of closing the connection before processing.
        self.drop_before = probability("drop_before", drop_before)
        #: Probability of closing the connection after processing, without answering.
        self.drop_after = probability("drop_after", drop_after)
        #: Seconds to wait before every answer.
        self.latency = seconds("latency", latency)
        #: Up to this many seconds more, uniformly drawn, on top of ``latency``.
        self.latency_jitter = seconds("latency_jitter", latency_jitter)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        self._random = random.Random(seed)

    def before(self) -> Fault | None:
        """Decide the fault, if any, that stops this request before it is processed."""
        chance = self._random.random
        if self.drop_before and chance() < self.drop_before:
            return Fault.DROP_BEFORE
        if self.fault_5xx and chance() < self.fault_5xx:
            return Fault.SERVER_ERROR
        if self.fault_429 and chance() < self.fault_429:
            return Fault.TOO_MANY_REQUESTS
        return None

    def server_error_status(self) -> int:
        """500 or 503, evenly."""
        return self._random.choice((500, 503))

    def after(self) -> bool:
        """Whether to close the connection instead of answering a processed request."""
        return bool(self.drop_after) and self._random.random() < self.drop_after

    def delay(self) -> float:
        """Seconds to wait before answering this request."""
        if self.latency_jitter:
            return self.latency + self._random.uniform(0.0, self.latency_jitter)
        return self.latency
