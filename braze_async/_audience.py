"""The connected audience object: who a broadcast goes to (objects_filters/connected_audience.md).

An audience is one filter, or filters joined by ``AND`` / ``OR`` (each an array, nested at
will). :class:`Audience` builds one from typed filters that can only say what the page
allows; a raw mapping stays accepted, and :func:`check_audience` holds both to the same
rules::

    from braze_async import Audience
    from braze_async.audience import CustomAttribute, EmailSubscription

    audience = Audience.all_of(
        CustomAttribute("eye_color").equals("blue"),
        Audience.any_of(
            EmailSubscription.is_("opted_in"),
            CustomAttribute("favorite_foods").includes_value("pizza"),
        ),
    )
    await braze.send(Campaign("sale"), audience=audience)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

import attrs
import orjson

from ._errors import BrazeValidationError
from ._validate import check_str, is_iso_time

_PAGE = "connected_audience.md"

#: The custom attribute comparisons and the values each takes, from the page's table of
#: "Allowed comparisons by data type" (a comparison listed under several types takes the
#: values of each) and its caveats (``exists``/``does_not_exist``: no value; ``before``/
#: ``after``: an ISO 8601 datetime string; ``matches_regex``: a string).
_STRING, _NUMBER, _BOOLEAN, _TIME = "a string", "a number", "a boolean", "an ISO 8601 datetime"
_NO_VALUE = ()
CUSTOM_ATTRIBUTE_COMPARISONS: Mapping[str, tuple[str, ...]] = {
    "equals": (_STRING, _NUMBER, _BOOLEAN),
    "not_equal": (_STRING, _NUMBER),
    "does_not_equal": (_BOOLEAN,),
    "matches_regex": (_STRING,),
    "does_not_match_regex": (_STRING,),
    # Array attributes: the element sought, a String, Numeric or Boolean value.
    "includes_value": (_STRING, _NUMBER, _BOOLEAN),
    "does_not_include_value": (_STRING, _NUMBER, _BOOLEAN),
    "greater_than": (_NUMBER,),
    "greater_than_or_equal_to": (_NUMBER,),
    "less_than": (_NUMBER,),
    "less_than_or_equal_to": (_NUMBER,),
    "less_than_x_days_ago": (_NUMBER,),
    "greater_than_x_days_ago": (_NUMBER,),
    "less_than_x_days_in_the_future": (_NUMBER,),
    "greater_than_x_days_in_the_future": (_NUMBER,),
    "after": (_TIME,),
    "before": (_TIME,),
    "exists": _NO_VALUE,
    "does_not_exist": _NO_VALUE,
}
#: Push and email subscription filters: "Allowed comparisons: is, is_not; Allowed values:
#: opted_in, subscribed, unsubscribed".
SUBSCRIPTION_COMPARISONS = ("is", "is_not")
SUBSCRIPTION_VALUES = ("opted_in", "subscribed", "unsubscribed")
SubscriptionStatus = Literal["opted_in", "subscribed", "unsubscribed"]
#: The last used app filter: "Allowed comparisons: after, before", a datetime.
LAST_USED_APP_COMPARISONS = ("after", "before")
#: The filter kinds of the page, each the one key of its object.
FILTERS = (
    "custom_attribute",
    "push_subscription_status",
    "email_subscription_status",
    "last_used_app",
)
OPERATORS = ("AND", "OR")

Scalar: TypeAlias = "str | int | float | bool"
Number: TypeAlias = "int | float"
When: TypeAlias = "dt.datetime | str"


def _is(kind: str, value: object) -> bool:
    if kind == _STRING:
        return type(value) is str
    if kind == _BOOLEAN:
        return type(value) is bool
    if kind == _NUMBER:
        return type(value) in (int, float) and math.isfinite(value)  # type: ignore[arg-type]
    return is_iso_time(value)


def _check_keys(body: Mapping[str, Any], allowed: Sequence[str], field: str) -> None:
    for key in body:
        if key not in allowed:
            raise BrazeValidationError(
                f"{field}.{key}", f"is not a field of this filter ({_PAGE}: {', '.join(allowed)})"
            )


def _check_choice(body: Mapping[str, Any], key: str, choices: Sequence[str], field: str) -> Any:
    value = body.get(key)
    if value not in choices or type(value) is not str:
        raise BrazeValidationError(
            f"{field}.{key}", f"must be one of {', '.join(choices)} ({_PAGE}), not {value!r}"
        )
    return value


def _object(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BrazeValidationError(field, f"must be an object ({_PAGE})")
    return value


def _check_custom_attribute(value: object, field: str) -> None:
    body = _object(value, field)
    _check_keys(body, ("custom_attribute_name", "comparison", "value"), field)
    check_str(body.get("custom_attribute_name"), f"{field}.custom_attribute_name")
    comparison = _check_choice(body, "comparison", tuple(CUSTOM_ATTRIBUTE_COMPARISONS), field)
    kinds = CUSTOM_ATTRIBUTE_COMPARISONS[comparison]
    if not kinds:
        # "The value is not required when using the exists or does_not_exist comparisons";
        # one given is still "(String, Numeric, Boolean)", as the filter body says.
        if "value" in body and not any(_is(k, body["value"]) for k in (_STRING, _NUMBER, _BOOLEAN)):
            raise BrazeValidationError(
                f"{field}.value", f"must be a string, a number or a boolean if given ({_PAGE})"
            )
        return
    if "value" not in body:
        raise BrazeValidationError(f"{field}.value", f"is required with {comparison} ({_PAGE})")
    if not any(_is(kind, body["value"]) for kind in kinds):
        raise BrazeValidationError(
            f"{field}.value", f"must be {' or '.join(kinds)} with {comparison} ({_PAGE})"
        )


def _check_subscription(value: object, field: str) -> None:
    body = _object(value, field)
    _check_keys(body, ("comparison", "value"), field)
    _check_choice(body, "comparison", SUBSCRIPTION_COMPARISONS, field)
    _check_choice(body, "value", SUBSCRIPTION_VALUES, field)


def _check_last_used_app(value: object, field: str) -> None:
    body = _object(value, field)
    _check_keys(body, ("comparison", "value"), field)
    _check_choice(body, "comparison", LAST_USED_APP_COMPARISONS, field)
    if not is_iso_time(body.get("value")):
        raise BrazeValidationError(f"{field}.value", f"must be {_TIME} string ({_PAGE})")


_CHECKS = {
    "custom_attribute": _check_custom_attribute,
    "push_subscription_status": _check_subscription,
    "email_subscription_status": _check_subscription,
    "last_used_app": _check_last_used_app,
}


def check_audience(value: object, field: str = "audience") -> Mapping[str, Any]:
    """Raise :class:`~braze_async.BrazeValidationError` unless *value* is a connected audience
    object as connected_audience.md defines it: one filter (``custom_attribute``,
    ``push_subscription_status``, ``email_subscription_status``, ``last_used_app``) or
    ``{"AND": [...]}`` / ``{"OR": [...]}`` of audience objects."""
    body = _object(value, field)
    if len(body) != 1:
        raise BrazeValidationError(
            field,
            f"must hold exactly one key, a filter or AND/OR ({_PAGE}), not {len(body)}",
        )
    ((key, inner),) = body.items()
    if key in OPERATORS:
        if isinstance(inner, (str, bytes, Mapping)) or not isinstance(inner, Sequence):
            raise BrazeValidationError(f"{field}.{key}", f"must be an array ({_PAGE})")
        if not inner:
            raise BrazeValidationError(f"{field}.{key}", "must hold at least one filter")
        for index, item in enumerate(inner):
            check_audience(item, f"{field}.{key}[{index}]")
        return body
    check = _CHECKS.get(key)
    if check is None:
        raise BrazeValidationError(
            f"{field}.{key}",
            f"is not a filter ({_PAGE}: {', '.join(FILTERS)}, or AND/OR)",
        )
    check(inner, f"{field}.{key}")
    return body


def _canonical(value: Mapping[str, Any]) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@attrs.frozen(slots=True)
class Filter:
    """One connected audience filter, as a filter class's methods build it (the page's
    filter object; its wire form is :attr:`body`)."""

    #: ``{"custom_attribute": {...}}`` and so on.
    body: Mapping[str, Any] = attrs.field(eq=_canonical)

    def __attrs_post_init__(self) -> None:
        check_audience(self.body)


Part: TypeAlias = "Filter | Audience"


def _time(when: When, field: str) -> str:
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            raise BrazeValidationError(field, "must be a timezone-aware datetime")
        return when.isoformat()
    if not is_iso_time(when):
        raise BrazeValidationError(field, f"must be {_TIME} string ({_PAGE})")
    return when


@attrs.frozen(slots=True)
class CustomAttribute:
    """A custom attribute filter; each method is one comparison the page allows, with the
    value types its table gives::

        CustomAttribute("eye_color").equals("blue")
        CustomAttribute("last_purchase_time").less_than_x_days_ago(2)
    """

    #: ``custom_attribute_name``.
    name: str

    def __attrs_post_init__(self) -> None:
        check_str(self.name, "custom_attribute.custom_attribute_name")

    def _filter(self, comparison: str, *value: object) -> Filter:
        body: dict[str, Any] = {"custom_attribute_name": self.name, "comparison": comparison}
        if value:
            body["value"] = value[0]
        return Filter({"custom_attribute": body})

    def equals(self, value: Scalar) -> Filter:
        """String, Numeric or Boolean attributes."""
        return self._filter("equals", value)

    def not_equal(self, value: str | Number) -> Filter:
        """String or Numeric attributes."""
        return self._filter("not_equal", value)

    def does_not_equal(self, value: bool) -> Filter:
        """Boolean attributes."""
        return self._filter("does_not_equal", value)

    def matches_regex(self, pattern: str) -> Filter:
        """String attributes."""
        return self._filter("matches_regex", pattern)

    def does_not_match_regex(self, pattern: str) -> Filter:
        """String attributes."""
        return self._filter("does_not_match_regex", pattern)

    def includes_value(self, value: Scalar) -> Filter:
        """Array attributes."""
        return self._filter("includes_value", value)

    def does_not_include_value(self, value: Scalar) -> Filter:
        """Array attributes."""
        return self._filter("does_not_include_value", value)

    def greater_than(self, value: Number) -> Filter:
        """Numeric attributes."""
        return self._filter("greater_than", value)

    def greater_than_or_equal_to(self, value: Number) -> Filter:
        """Numeric attributes."""
        return self._filter("greater_than_or_equal_to", value)

    def less_than(self, value: Number) -> Filter:
        """Numeric attributes."""
        return self._filter("less_than", value)

    def less_than_or_equal_to(self, value: Number) -> Filter:
        """Numeric attributes."""
        return self._filter("less_than_or_equal_to", value)

    def less_than_x_days_ago(self, days: Number) -> Filter:
        """Time attributes."""
        return self._filter("less_than_x_days_ago", days)

    def greater_than_x_days_ago(self, days: Number) -> Filter:
        """Time attributes."""
        return self._filter("greater_than_x_days_ago", days)

    def less_than_x_days_in_the_future(self, days: Number) -> Filter:
        """Time attributes."""
        return self._filter("less_than_x_days_in_the_future", days)

    def greater_than_x_days_in_the_future(self, days: Number) -> Filter:
        """Time attributes."""
        return self._filter("greater_than_x_days_in_the_future", days)

    def after(self, when: When) -> Filter:
        """Time attributes: a timezone-aware datetime or an ISO 8601 string."""
        return self._filter("after", _time(when, "custom_attribute.value"))

    def before(self, when: When) -> Filter:
        """Time attributes: a timezone-aware datetime or an ISO 8601 string."""
        return self._filter("before", _time(when, "custom_attribute.value"))

    def exists(self) -> Filter:
        """Any attribute type; no value."""
        return self._filter("exists")

    def does_not_exist(self) -> Filter:
        """Any attribute type; no value."""
        return self._filter("does_not_exist")


class _Subscription:
    key: str = ""

    @classmethod
    def is_(cls, status: SubscriptionStatus) -> Filter:
        """Users whose subscription status is *status* (``comparison: "is"``)."""
        return Filter({cls.key: {"comparison": "is", "value": status}})

    @classmethod
    def is_not(cls, status: SubscriptionStatus) -> Filter:
        """Users whose subscription status is not *status*."""
        return Filter({cls.key: {"comparison": "is_not", "value": status}})


class PushSubscription(_Subscription):
    """The push subscription filter: ``PushSubscription.is_("opted_in")``."""

    key = "push_subscription_status"


class EmailSubscription(_Subscription):
    """The email subscription filter: ``EmailSubscription.is_not("unsubscribed")``."""

    key = "email_subscription_status"


class LastUsedApp:
    """The last used app filter: ``LastUsedApp.after(datetime(2025, 1, 1, tzinfo=UTC))``."""

    @staticmethod
    def after(when: When) -> Filter:
        """Users who last used the app after *when* (aware datetime or ISO 8601 string)."""
        return Filter(
            {"last_used_app": {"comparison": "after", "value": _time(when, "last_used_app.value")}}
        )

    @staticmethod
    def before(when: When) -> Filter:
        """Users who last used the app before *when*."""
        return Filter(
            {"last_used_app": {"comparison": "before", "value": _time(when, "last_used_app.value")}}
        )


def _body(part: object, field: str) -> Mapping[str, Any]:
    if isinstance(part, (Filter, Audience)):
        return part.body
    raise BrazeValidationError(field, f"must be a filter or an Audience, not {type(part).__name__}")


@attrs.frozen(slots=True)
class Audience:
    """A connected audience object (connected_audience.md): one filter, or filters joined by
    ``AND`` (:meth:`all_of`) or ``OR`` (:meth:`any_of`), nested at will. Give it as
    ``send(target, audience=...)``; the filters come from :mod:`braze_async.audience`."""

    #: The object Braze receives.
    body: Mapping[str, Any] = attrs.field(eq=_canonical)

    def __attrs_post_init__(self) -> None:
        check_audience(self.body)

    @classmethod
    def of(cls, part: Part) -> Audience:
        """An audience of one filter."""
        return cls(_body(part, "audience"))

    @classmethod
    def all_of(cls, *parts: Part) -> Audience:
        """Users matching every part (``{"AND": [...]}``)."""
        return cls({"AND": [_body(p, f"audience.AND[{i}]") for i, p in enumerate(parts)]})

    @classmethod
    def any_of(cls, *parts: Part) -> Audience:
        """Users matching at least one part (``{"OR": [...]}``)."""
        return cls({"OR": [_body(p, f"audience.OR[{i}]") for i, p in enumerate(parts)]})


def audience_body(audience: Audience | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The mapping a request carries for *audience*: an :class:`Audience`'s body, or the
    mapping given (checked by the request, as any audience)."""
    return audience.body if isinstance(audience, Audience) else audience
