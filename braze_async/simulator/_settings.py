"""Checks of the simulator's own settings, shared by the Python API and the command line.

Each returns the value (normalised) or raises a ValueError naming the setting.
"""

from __future__ import annotations

import math

__all__ = ["api_key", "port", "probability", "seconds"]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def probability(name: str, value: float) -> float:
    """A probability between 0 and 1."""
    if not _is_number(value) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")
    return float(value)


def seconds(name: str, value: float, *, positive: bool = False) -> float:
    """A finite duration, > 0 when ``positive``, else >= 0."""
    if not _is_number(value) or not math.isfinite(value) or value < 0 or (positive and not value):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number of seconds {bound}, got {value!r}")
    return float(value)


def port(value: int) -> int:
    """A TCP port number, 0 meaning any free port."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise ValueError(f"port must be an integer between 0 and 65535, got {value!r}")
    return value


def api_key(value: str) -> str:
    """A non-empty key without whitespace (it travels in a header). Never echoed."""
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise ValueError("api_key must be a non-empty string without whitespace")
    return value
