"""The simulator's one reader of ISO 8601 times (the pages' requests and messaging objects)."""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["iso_time"]

#: An ISO 8601 offset written without its colon (``+0000``), or ``Z``.
_BARE_OFFSET = re.compile(r"(?:[Zz]|([+-]\d\d)(\d\d))$")


def iso_time(text: str) -> dt.datetime:
    """An ISO 8601 time, its offset also written ``Z`` or ``+0000`` (the pages' examples use
    both; Python 3.10's ``fromisoformat`` takes neither). Raises ``ValueError``."""
    match = _BARE_OFFSET.search(text)
    if match is not None:
        offset = "+00:00" if match.group(1) is None else f"{match.group(1)}:{match.group(2)}"
        text = text[: match.start()] + offset
    return dt.datetime.fromisoformat(text)
