"""The client's settings, checked where they are given.

A setting of the wrong type (a timeout read from the environment as text, a transport that
is not one) is refused when the client is made, with a
:class:`~braze_async.BrazeValidationError` naming it, not by each request later, where it
could turn a request that never left into an unknown outcome.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from typing import Final

import httpx

from ._batching import Batching
from ._clock import Clock
from ._errors import BrazeValidationError
from ._events import EventHook
from ._limits import PRIORITIES, Priority, RateLimiter, RateLimits
from ._retry import RetryPolicy
from ._validate import check_count

__all__ = ["KEEP", "Keep", "api_key_of", "check_priority", "check_settings", "hooks_of"]


class Keep(enum.Enum):
    """``with_options``' "not given": keep the setting as it is (None turns a bound off)."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


def check_priority(priority: object) -> Priority:
    """*priority*, one of the rate limiter's two lanes; else a validation error."""
    for lane in PRIORITIES:
        if priority == lane:
            return lane
    raise BrazeValidationError("priority", "must be 'interactive' or 'bulk'")


def api_key_of(api_key: str | None) -> str:
    """The key given, or ``$BRAZE_API_KEY``; it travels in a header, so a blank one, or one
    with CR, LF or NUL (that could split the header), is refused at once."""
    if api_key is None:
        api_key = os.environ.get("BRAZE_API_KEY")
    if not isinstance(api_key, str) or not api_key.strip():
        raise BrazeValidationError("api_key", "is required (pass api_key= or set BRAZE_API_KEY)")
    if any(c in api_key for c in "\r\n\x00"):
        raise BrazeValidationError("api_key", "must not contain control characters")
    return api_key


def check_settings(
    retry: object,
    rate_limits: object,
    transport: object,
    max_response_bytes: object,
    batching: object,
    clock: object,
) -> None:
    """The client's settings of the right type (the timeouts are checked by ``Timeouts``):
    one read from the environment as text is refused here, not by each request later."""
    kinds: tuple[tuple[str, object, tuple[type, ...]], ...] = (
        ("retry", retry, (RetryPolicy, type(None))),
        ("rate_limits", rate_limits, (RateLimits, RateLimiter, type(None))),
        ("transport", transport, (httpx.AsyncBaseTransport, httpx.AsyncClient, type(None))),
        ("batching", batching, (Batching,)),
        ("clock", clock, (Clock, type(None))),
    )
    for name, value, types in kinds:
        if not isinstance(value, types):
            expected = " or ".join("None" if t is type(None) else t.__name__ for t in types)
            raise BrazeValidationError(name, f"must be {expected}, not {type(value).__name__}")
    check_count(max_response_bytes, "max_response_bytes")


def hooks_of(on_event: object) -> tuple[EventHook, ...]:
    """``on_event`` as a tuple of hooks: one callable, a sequence of them, or None."""
    if on_event is None:
        return ()
    if callable(on_event):
        return (on_event,)
    if (
        isinstance(on_event, Sequence)
        and not isinstance(on_event, str | bytes)
        and all(callable(hook) for hook in on_event)
    ):
        return tuple(on_event)
    raise BrazeValidationError("on_event", "must be a callable or a sequence of callables")
