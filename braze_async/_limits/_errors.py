"""What an acquisition raises when the rate limiter does not admit it; nothing was sent.

::

    LimiterError                  root of the three
     ├── LimiterUnavailable       nothing can be admitted now: the Redis engine stayed away
     │    │                       longer than ``RateLimits.redis_retry_for``
     │    └── LimiterClosed       the limiter is closed, or its user (a client) is closing
     │                            and the acquisition would have had to wait
     └── WaitTooLong              the budget frees later than the caller agreed to wait

Messages never carry a Redis URL or its password (see :mod:`braze_async._redact`).
"""

from __future__ import annotations

__all__ = ["LimiterClosed", "LimiterError", "LimiterUnavailable", "WaitTooLong"]


class LimiterError(Exception):
    """The rate limiter did not admit a request; nothing was sent for it."""


class LimiterUnavailable(LimiterError):
    """Nothing can be admitted now (e.g. Redis stayed unreachable past its retry bound)."""


class LimiterClosed(LimiterUnavailable, RuntimeError):
    """The limiter is closed, or its caller gave up waiting (``give_up``: a closing client, a
    stopped job) and the acquisition would have waited."""


class WaitTooLong(LimiterError):
    """The budget would free later than the caller's ``max_wait``.

    :param wait: seconds until the budget frees, when known (``None``: every slot is held by
        a request in flight, so nobody can tell).
    :param max_wait: the caller's bound, in seconds.
    """

    def __init__(self, wait: float | None, max_wait: float) -> None:
        when = "no slot freed" if wait is None else f"the budget frees in {wait:.1f} s"
        super().__init__(f"{when}; the caller waits {max_wait:g} s at most")
        #: Seconds until the budget frees, when known.
        self.wait = wait
        #: The caller's bound, in seconds.
        self.max_wait = max_wait
