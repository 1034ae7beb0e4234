"""The engine of the channel rules: a page's object written once as a :class:`_Shape` (its
fields, their kinds and bounds, and the rules that tie fields together), checked by
:func:`check_shape`; the bases of the typed objects (:class:`_Checked`, :class:`_Part`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeAlias

import attrs
import orjson

from .._errors import BrazeValidationError
from .._models import WIRE_KEY
from .._validate import check_properties, check_str, is_iso_time, json_default

Properties: TypeAlias = Mapping[str, Any]
Rule: TypeAlias = Callable[[Mapping[str, Any], str], None]


@attrs.frozen
class _Field:
    kind: str  # str, bool, int, number, object, time, choice, strings, list, shape, str|shape
    required: bool = False
    choices: tuple[str, ...] = ()
    shape: _Shape | None = None
    #: The range of an int or a number: (lowest, highest or None).
    bounds: tuple[float, float | None] | None = None


@attrs.frozen
class _Shape:
    """The JSON object of one page: its fields, and the rules that tie fields together."""

    page: str
    fields: Mapping[str, _Field]
    rules: tuple[Rule, ...] = ()


def _check_field(spec: _Field, value: object, field: str, page: str) -> None:
    kind = spec.kind
    if kind == "str|shape" and not isinstance(value, str):
        kind = "shape"
    if kind in ("str", "str|shape"):
        check_str(value, field)
    elif kind in ("bool", "int", "number"):
        if type(value) not in _TYPES[kind]:
            raise BrazeValidationError(field, f"must be {_KIND_NAMES[kind]} ({page})")
        if spec.bounds is not None:
            _check_bounds(spec.bounds, value, field, page)
    elif kind == "object":
        check_properties(value, field)
    elif kind == "time":
        if not is_iso_time(value):
            raise BrazeValidationError(field, f"must be an ISO 8601 date string ({page})")
    elif kind == "choice":
        if type(value) is not str or value not in spec.choices:
            raise BrazeValidationError(field, f"must be one of {', '.join(spec.choices)} ({page})")
    elif kind in ("list", "strings"):
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise BrazeValidationError(field, f"must be an array ({page})")
        for index, item in enumerate(value):
            if spec.shape is None:
                check_str(item, f"{field}[{index}]")
            else:
                check_shape(spec.shape, item, f"{field}[{index}]")
    else:
        assert spec.shape is not None
        check_shape(spec.shape, value, field)


_TYPES = {"bool": (bool,), "int": (int,), "number": (int, float)}
_KIND_NAMES = {"bool": "a boolean", "int": "an integer", "number": "a number"}


def _check_bounds(bounds: tuple[float, float | None], value: Any, field: str, page: str) -> None:
    low, high = bounds
    if high is None and value < low:
        raise BrazeValidationError(field, f"must be at least {low} ({page})")
    if high is not None and not low <= value <= high:
        raise BrazeValidationError(field, f"must be {low} to {high:,} ({page})")


def check_shape(shape: _Shape, value: object, where: str) -> Mapping[str, Any]:
    """Raise unless *value* is an object of *shape* (a field set to None counts as unset)."""
    if not isinstance(value, Mapping):
        raise BrazeValidationError(where, f"must be an object ({shape.page})")
    for key, spec in shape.fields.items():
        item = value.get(key)
        if item is None:
            if spec.required:
                raise BrazeValidationError(f"{where}.{key}", f"is required ({shape.page})")
            continue
        _check_field(spec, item, f"{where}.{key}", shape.page)
    for rule in shape.rules:
        rule(value, where)
    return value


def _f(
    kind: str,
    *choices: str,
    required: bool = False,
    shape: _Shape | None = None,
    bounds: tuple[float, float | None] | None = None,
) -> _Field:
    return _Field(kind, required, choices, shape, bounds)


def _json_size(value: object) -> int:
    """The bytes of *value* as JSON on the wire (compact, UTF-8)."""
    return len(orjson.dumps(value, default=json_default))


REQ = True
_STR, _BOOL, _INT, _OBJ, _TIME = (_f(k) for k in ("str", "bool", "int", "object", "time"))
_REQUIRED_STR = _f("str", required=REQ)


def _body(value: object) -> Any:
    """The JSON of a typed object (unset fields left out), for its checks."""
    cls = type(value)
    if attrs.has(cls):
        return {
            a.metadata.get(WIRE_KEY, a.name): _body(getattr(value, a.name))
            for a in attrs.fields(cls)
            if getattr(value, a.name) is not None
        }
    if isinstance(value, (list, tuple)):
        return [_body(item) for item in value]
    return value


class _Checked:
    """A typed object that checks its body against its shape on creation."""

    __slots__ = ()
    #: Its key in ``messages``.
    _channel: ClassVar[str]
    #: Its page's rules.
    _shape: ClassVar[_Shape]

    def __attrs_post_init__(self) -> None:
        check_shape(self._shape, _body(self), f"messages.{self._channel}")


class _Part:
    """A typed object inside a channel's object (a button, an alert...): it checks its own
    fields on creation; the channel's object checks the rules that tie it to the rest."""

    __slots__ = ()
    _shape: ClassVar[_Shape]
    _where: ClassVar[str]

    def __attrs_post_init__(self) -> None:
        check_shape(self._shape, _body(self), self._where)
