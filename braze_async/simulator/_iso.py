"""The simulator's one reader of ISO 8601 times (requests, messaging objects, the connected
audience object).

The pages write ISO 8601 in its extended form: ``2019-07-22T13:17:55+0000``, ``...Z``,
``...+00:00``, a date alone (connected_audience.md, apple_object.md, content_cards_object.md,
post_schedule_*.md). The simulator reads that form, by its own grammar rather than Python's
``fromisoformat`` (which takes more forms on 3.11+ than on 3.10, and neither ``Z`` nor
``+0000`` on 3.10), so it answers alike on every Python.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["is_iso_time", "iso_time"]

#: A date, or a date and a time with optional seconds, fraction and offset (``Z``, ``+00:00``,
#: ``+0000``, ``+00``); ``T`` or a space between them.
_ISO_8601 = re.compile(
    r"(?P<date>\d{4}-\d\d-\d\d)"
    r"(?:[T ](?P<hour>\d\d):(?P<minute>\d\d)(?::(?P<second>\d\d)(?:[.,](?P<fraction>\d+))?)?"
    r"(?P<zone>[Zz]|(?P<sign>[+-])(?P<zh>\d\d)(?::?(?P<zm>\d\d))?)?)?"
)


def iso_time(text: str) -> dt.datetime:
    """The time *text* names (aware when it has an offset). Raises ``ValueError`` for another
    form, or a day, time of day or offset that does not exist."""
    match = _ISO_8601.fullmatch(text)
    if match is None:
        raise ValueError(f"not an ISO 8601 time: {text!r}")
    day = dt.date.fromisoformat(match["date"])  # ValueError on 30 February
    zone = None
    if match["zone"] is not None:
        hours, minutes = int(match["zh"] or 0), int(match["zm"] or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(f"no such offset: {text!r}")
        sign = -1 if match["sign"] == "-" else 1
        zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    micro = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    return dt.datetime.combine(
        day,
        dt.time(int(match["hour"] or 0), int(match["minute"] or 0), int(match["second"] or 0)),
        zone,
    ).replace(microsecond=micro)


def is_iso_time(value: object) -> bool:
    """Whether *value* is a string :func:`iso_time` reads."""
    if not isinstance(value, str):
        return False
    try:
        iso_time(value)
    except ValueError:
        return False
    return True
