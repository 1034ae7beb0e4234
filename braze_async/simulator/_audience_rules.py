"""The connected audience object as Braze's page defines it, read again for the simulator.

Page: ``_docs/_api/objects_filters/connected_audience.md`` of braze-inc/braze-docs. Like
``_rules.py``, this module must not import the client: it is a second, independent reading
of the page, so the client's own audience checks cannot hide a bug behind it.

What the page says, and how it is read here:

* "composed of either a single connected audience filter or several connected audience
  filters in a logical expression using either ``AND`` or ``OR`` operators": an object of one
  key, a filter or ``AND``/``OR`` whose value is an array (the example writes ``[...]``) of
  audience objects, nested at will; "several" filters: an empty array is no expression.
* The filters are ``custom_attribute``, ``push_subscription_status``,
  ``email_subscription_status`` and ``last_used_app``, each with the fields its "Filter body"
  shows, and no others.
* A custom attribute filter's ``comparison`` is one of the table "Allowed comparisons by data
  type"; its ``value`` is "(String, Numeric, Boolean)", of the data type the comparison is
  allowed for (``greater_than`` is a Numeric comparison, so its value is a number; the
  ``x_days`` comparisons count days, a number, as the example's ``"value": 2``); the caveats:
  no value needed with ``exists``/``does_not_exist``, an "ISO 8601 datetime string" with
  ``before``/``after``, a string with ``matches_regex``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._iso import is_iso_time

__all__ = ["check_audience_object"]

_STRING, _NUMBER, _BOOLEAN, _TIME = "a string", "a number", "a boolean", "an ISO 8601 datetime"
#: The table "Allowed comparisons by data type", turned round: each comparison and the value
#: types of the attribute types that allow it.
_BY_TYPE = {
    "String": (
        ("equals", "not_equal", "matches_regex", "does_not_match_regex"),
        (_STRING,),
    ),
    # An array attribute's comparisons take one element of the array.
    "Array": (("includes_value", "does_not_include_value"), (_STRING, _NUMBER, _BOOLEAN)),
    "Numeric": (
        (
            "equals",
            "not_equal",
            "greater_than",
            "greater_than_or_equal_to",
            "less_than",
            "less_than_or_equal_to",
        ),
        (_NUMBER,),
    ),
    "Boolean": (("equals", "does_not_equal"), (_BOOLEAN,)),
    "Time (days)": (
        (
            "less_than_x_days_ago",
            "greater_than_x_days_ago",
            "less_than_x_days_in_the_future",
            "greater_than_x_days_in_the_future",
        ),
        (_NUMBER,),
    ),
    "Time": (("after", "before"), (_TIME,)),
}
_VALUE_TYPES: dict[str, tuple[str, ...]] = {"exists": (), "does_not_exist": ()}
for _comparisons, _kinds in _BY_TYPE.values():
    for _comparison in _comparisons:
        _VALUE_TYPES[_comparison] = _VALUE_TYPES.get(_comparison, ()) + _kinds

_SUBSCRIPTION = {
    "comparison": ("is", "is_not"),
    "value": ("opted_in", "subscribed", "unsubscribed"),
}


def _fail(where: str, rule: str) -> ValueError:
    return ValueError(f"{where} {rule} (connected_audience.md)")


#: Each kind of value as JSON carries it (orjson reads integers and finite floats only).
_KINDS: dict[str, Callable[[object], bool]] = {
    _STRING: lambda value: isinstance(value, str),
    _BOOLEAN: lambda value: value is True or value is False,
    _NUMBER: lambda value: (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ),
    _TIME: is_iso_time,
}


def _is_kind(kind: str, value: object) -> bool:
    return _KINDS[kind](value)


def _fields(value: object, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise _fail(where, "must be an object")
    for key in value:
        if key not in allowed:
            raise _fail(f"{where}.{key}", f"is not a field of this filter ({', '.join(allowed)})")
    return value


def _choice(body: dict[str, Any], key: str, choices: tuple[str, ...], where: str) -> str:
    value = body.get(key)
    if type(value) is not str or value not in choices:
        raise _fail(f"{where}.{key}", f"must be one of {', '.join(choices)}")
    return value


def _custom_attribute(value: object, where: str) -> None:
    body = _fields(value, ("custom_attribute_name", "comparison", "value"), where)
    name = body.get("custom_attribute_name")
    if type(name) is not str or not name:
        raise _fail(f"{where}.custom_attribute_name", "must be a non-empty string")
    comparison = _choice(body, "comparison", tuple(_VALUE_TYPES), where)
    kinds = _VALUE_TYPES[comparison]
    if not kinds:
        # "The value is not required when using the exists or does_not_exist comparisons";
        # one given is still "(String, Numeric, Boolean)", the filter body's types.
        if "value" in body and not any(
            _is_kind(kind, body["value"]) for kind in (_STRING, _NUMBER, _BOOLEAN)
        ):
            raise _fail(f"{where}.value", "must be a string, a number or a boolean")
        return
    if "value" not in body:
        raise _fail(f"{where}.value", f"is required with {comparison}")
    if not any(_is_kind(kind, body["value"]) for kind in kinds):
        raise _fail(f"{where}.value", f"must be {' or '.join(kinds)} with {comparison}")


def _subscription(value: object, where: str) -> None:
    body = _fields(value, ("comparison", "value"), where)
    for key, choices in _SUBSCRIPTION.items():
        _choice(body, key, choices, where)


def _last_used_app(value: object, where: str) -> None:
    body = _fields(value, ("comparison", "value"), where)
    _choice(body, "comparison", ("after", "before"), where)
    if not is_iso_time(body.get("value")):
        raise _fail(f"{where}.value", f"must be {_TIME} string")


_CHECKS = {
    "custom_attribute": _custom_attribute,
    "push_subscription_status": _subscription,
    "email_subscription_status": _subscription,
    "last_used_app": _last_used_app,
}


def check_audience_object(value: object, where: str = "audience") -> None:
    """Raise ``ValueError`` naming the field and the rule unless *value* is a connected audience
    object: one filter, or ``{"AND": [...]}`` / ``{"OR": [...]}`` of audience objects."""
    if type(value) is not dict or len(value) != 1:
        raise _fail(where, "must be an object of exactly one filter, or of AND or OR")
    ((key, inner),) = value.items()
    if key in ("AND", "OR"):
        if type(inner) is not list or not inner:
            raise _fail(f"{where}.{key}", "must be a non-empty array of audience objects")
        for index, item in enumerate(inner):
            check_audience_object(item, f"{where}.{key}[{index}]")
        return
    check = _CHECKS.get(key)
    if check is None:
        raise _fail(f"{where}.{key}", f"is not a filter ({', '.join(_CHECKS)}, AND or OR)")
    check(inner, f"{where}.{key}")
