"""Checks shared by the models (is a value something Braze accepts as JSON?) and by the
client's settings (a number of seconds, a count, a flag: of the right type, finite, in range).

Kept apart from the models so the rules read in one place. Every failure raises
:class:`~braze_async.BrazeValidationError` naming the field (a dotted path) and the rule.
"""

from __future__ import annotations

import datetime
import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from ._errors import BrazeValidationError

#: Deepest nesting we accept in a properties object; Braze's own parser and orjson stop well
#: before Python's recursion limit, and no real personalization payload is this deep.
MAX_DEPTH = 32

#: The size limit of a personalization object: "a maximum size limit of 50 KB"
#: (objects_filters/trigger_properties_object.md, context_object.md and
#: canvas_entry_properties_object.md), measured on its JSON as Braze receives it. The pages
#: do not say whether a KB is 1,000 or 1,024 bytes: we keep to the stricter reading.
MAX_PROPERTIES_BYTES = 50_000


def json_default(value: Any) -> Any:
    """orjson's ``default=``: writes the Mapping types that are not dicts (MappingProxyType...)."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def check_str(value: object, field: str, *, allow_empty: bool = False) -> str:
    """Return *value* if it is a string Braze accepts, else raise."""
    if type(value) is not str:
        raise BrazeValidationError(field, f"must be a string, not {type(value).__name__}")
    if not value and not allow_empty:
        raise BrazeValidationError(field, "must not be empty")
    if not value.isascii():
        _check_utf8(value, field)
    return value


#: identifier_types.md, "Send identifier": "The identifier must be all ASCII characters and
#: at most 64 characters long."
MAX_SEND_ID_CHARS = 64

#: objects_filters/user_alias_object.md: ``alias_name`` and ``alias_label`` are non-empty and
#: "236 bytes or less", counted in UTF-8 as they travel.
MAX_ALIAS_BYTES = 236


def check_send_id(value: object, field: str = "send_id") -> str:
    """Return *value* if it is a send identifier Braze accepts (ASCII, at most 64
    characters), else raise."""
    send_id = check_str(value, field)
    if not send_id.isascii() or len(send_id) > MAX_SEND_ID_CHARS:
        raise BrazeValidationError(
            field,
            f"must be ASCII and at most {MAX_SEND_ID_CHARS} characters, got "
            f"{len(send_id)} characters (identifier_types.md, 'Send identifier')",
        )
    return send_id


def check_alias_part(value: object, field: str) -> str:
    """Return *value* if it is an ``alias_name`` or ``alias_label`` Braze accepts (a
    non-empty string of at most 236 bytes of UTF-8), else raise."""
    text = check_str(value, field)
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    if size > MAX_ALIAS_BYTES:
        raise BrazeValidationError(
            field,
            f"must be at most {MAX_ALIAS_BYTES} bytes of UTF-8, got {size} "
            "(objects_filters/user_alias_object.md)",
        )
    return text


def _check_utf8(value: str, field: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BrazeValidationError(
            field, "must be valid unicode text (lone surrogates cannot be sent as JSON)"
        ) from None


def check_properties(value: object, field: str) -> Mapping[str, Any]:
    """Check that *value* is a JSON object Braze can take as personalization properties.

    Values may be strings, ints, finite floats, booleans, None, lists, nested objects, and
    ``datetime``/``date`` (sent as ISO 8601). NaN and Infinity are refused: they are not JSON.
    """
    if type(value) is not dict and not isinstance(value, Mapping):
        raise BrazeValidationError(
            field, f"must be an object (a mapping), not {type(value).__name__}"
        )
    check_object(value, field, 1)
    return value


def check_personalization(value: object, field: str) -> Mapping[str, Any]:
    """:func:`check_properties`, then Braze's 50 KB limit (:data:`MAX_PROPERTIES_BYTES`).

    For ``trigger_properties``, ``context`` and ``canvas_entry_properties``, at the request
    level and on a recipient.
    """
    checked = check_properties(value, field)
    check_json_size(checked, field)
    return checked


def check_json_size(value: Mapping[str, Any], field: str) -> None:
    """Raise when the JSON of a (checked) properties object is over 50 KB."""
    size = len(orjson.dumps(value, default=json_default))
    if size > MAX_PROPERTIES_BYTES:
        raise BrazeValidationError(
            field,
            f"is {size:,} bytes of JSON; Braze allows at most 50 KB ({MAX_PROPERTIES_BYTES:,})",
        )


def check_object(value: Mapping[Any, Any], field: str, depth: int) -> None:
    """Walk a properties object (*depth* 1 at the top); the hot path of validation."""
    if depth > MAX_DEPTH:
        raise BrazeValidationError(field, f"nests deeper than {MAX_DEPTH} levels")
    for key, item in value.items():
        if type(key) is not str:
            raise BrazeValidationError(field, f"keys must be strings, not {type(key).__name__}")
        if not key.isascii():  # whatever the value: a lone surrogate in a key is not JSON
            _check_utf8(key, field)
        kind = type(item)
        # Fast path for the common flat {"name": "value"} payloads.
        if kind is str:
            if not item.isascii():
                _check_utf8(item, f"{field}.{key}")
        elif kind is int:
            if not INT_MIN <= item <= INT_MAX:
                raise BrazeValidationError(
                    f"{field}.{key}", "must be an integer that fits in 64 bits"
                )
        elif kind is bool or item is None:
            pass
        else:
            _check_value(item, f"{field}.{key}", depth)


#: orjson, like most JSON stacks, refuses integers beyond 64 bits.
INT_MIN, INT_MAX = -(2**63), 2**64 - 1


def _check_value(item: object, path: str, depth: int) -> None:
    if isinstance(item, str):
        if not item.isascii():
            _check_utf8(item, path)
    elif isinstance(item, bool) or item is None:
        pass
    elif isinstance(item, int):
        if not INT_MIN <= item <= INT_MAX:
            raise BrazeValidationError(path, "must be an integer that fits in 64 bits")
    elif isinstance(item, float):
        if not math.isfinite(item):
            raise BrazeValidationError(
                path, "must be a finite number (NaN and Infinity are not JSON)"
            )
    elif isinstance(item, Mapping):
        check_object(item, path, depth + 1)
    elif isinstance(item, (list, tuple)):
        if depth + 1 > MAX_DEPTH:
            raise BrazeValidationError(path, f"nests deeper than {MAX_DEPTH} levels")
        for index, element in enumerate(item):
            _check_value(element, f"{path}[{index}]", depth + 1)
    elif isinstance(item, (datetime.datetime, datetime.date)):
        pass
    else:
        raise BrazeValidationError(
            path,
            "must be JSON-serializable (str, int, float, bool, None, list, object or "
            f"datetime), not {type(item).__name__}",
        )


# -- the client's settings: a value read from the environment arrives as text ("90") --------


def check_seconds(value: object, field: str, *, zero: bool = False) -> float:
    """*value* if it is a finite number of seconds > 0 (>= 0 with *zero*), else raise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BrazeValidationError(field, f"must be a finite number of seconds, not {value!r}")
    if value < 0 or (value == 0 and not zero):
        raise BrazeValidationError(field, f"must be {'>= 0' if zero else '> 0'}, not {value!r}")
    return value


def check_count(value: object, field: str, *, minimum: int = 1) -> int:
    """*value* if it is an integer (not a bool) >= *minimum*, else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BrazeValidationError(field, f"must be an integer, not {value!r}")
    if value < minimum:
        raise BrazeValidationError(field, f"must be at least {minimum}, not {value!r}")
    return value


def check_flag(value: object, field: str) -> bool:
    """*value* if it is True or False (``"false"`` is not), else raise."""
    if not isinstance(value, bool):
        raise BrazeValidationError(field, f"must be True or False, not {value!r}")
    return value


#: The extremes of the world's time zones: a wall-clock time comes first at UTC+14:00 and
#: last at UTC-12:00 (schedule_object.md's "passed in all time zones").
EARLIEST_ZONE = dt.timedelta(hours=14)
LATEST_ZONE = dt.timedelta(hours=12)


def first_instant(wall: dt.datetime) -> dt.datetime:
    """The earliest instant the wall-clock time *wall* names in any zone (its offset, if
    any, left out): at UTC+14:00."""
    return wall.replace(tzinfo=dt.timezone.utc) - EARLIEST_ZONE


def last_instant(wall: dt.datetime) -> dt.datetime:
    """The latest instant the wall-clock time *wall* names in any zone: at UTC-12:00."""
    return wall.replace(tzinfo=dt.timezone.utc) + LATEST_ZONE


#: An ISO 8601 date, or date and time, as Braze's pages write them: ``2019-07-22T13:17:55+0000``,
#: ``...Z``, ``...+00:00``, ``...+01``, fractions of a second (``.`` or ``,``), a space for the
#: ``T``, or a date alone. Read by this grammar rather than by ``fromisoformat``, which takes
#: more forms on Python 3.11+ than on 3.10: a time valid on one Python is valid on all.
_ISO_8601 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    r"(?P<offset>[Zz]|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?)?"
)


def iso_time(text: str) -> dt.datetime:
    """The time *text* writes in ISO 8601 (see :data:`_ISO_8601`): aware when it names an
    offset, naive when not. Raises ``ValueError`` for any other text, or a day, hour or
    offset that does not exist."""
    match = _ISO_8601.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an ISO 8601 time")
    try:
        day = dt.date.fromisoformat(match["date"])
        fraction = (match["fraction"] or "")[:6].ljust(6, "0")
        tz = None
        if match["offset"] is not None:
            minutes = int(match["om"] or 0)
            if minutes > 59:
                raise ValueError("no such offset")
            size = dt.timedelta(hours=int(match["oh"] or 0), minutes=minutes)
            tz = dt.timezone(-size if match["sign"] == "-" else size)
        return dt.datetime(
            day.year,
            day.month,
            day.day,
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int(fraction),
            tz,
        )
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time: no such day, hour or offset") from None


def is_iso_time(value: object) -> bool:
    """Whether *value* is a string :func:`iso_time` reads."""
    if type(value) is not str:
        return False
    try:
        iso_time(value)
    except ValueError:
        return False
    return True
