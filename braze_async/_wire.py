"""The wire format: one cattrs converter that owns every JSON key braze_async sends or reads.

cattrs generates every hook from the attrs fields of the models, so a documented Braze field
is one attribute in :mod:`braze_async._models`: its JSON key is its name, and where the wire
differs the attribute's metadata says how (:data:`~braze_async._models.NOT_IN_BODY`,
:data:`~braze_async._models.CANVAS_KEY`, :data:`~braze_async._models.ALSO_AT`,
:data:`~braze_async._models.REST_OF_BODY`, :data:`~braze_async._models.WIRE_KEY`). No key is
spelled here, but in the hot case.

Writing requests: unset fields (``None``) are omitted, never sent as ``null``; properties go
to orjson as they are (the models checked them); in a Canvas request each recipient's fields
take their Canvas keys; a ``/messages/send`` channel given as a mapping goes as it is.

Reading answers: unknown keys are tolerated, and so are missing keys and values of the wrong
type, each read as the field's empty value (the rules by type are :data:`_LENIENT`).

The hot case: a :class:`Recipient` with an external id and maybe properties, 50 per request
and millions per bulk job, is written by hand; two attribute tests beat the generated hook's
seven, which costs ~5 us more per request (``benchmarks/bench_serialization.py``).
``tests/test_wire.py`` proves it writes exactly what the generated hook writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
import cattrs
import orjson
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._channels import (
    AndroidConversation,
    AndroidConversationMessage,
    AndroidConversationPerson,
    AndroidPushButton,
    AppleAlert,
    ApplePushButton,
    ContentCard,
    KindlePush,
    WebPush,
    WebPushButton,
    WhatsApp,
)
from ._errors import BrazeValidationError, ErrorDetail
from ._messages import (
    AndroidPush,
    ApplePush,
    EmailMessage,
    Messages,
    MessagesSendRequest,
    SmsMessage,
    WebhookMessage,
)
from ._models import (
    ALSO_AT,
    CANVAS_KEY,
    NOT_IN_BODY,
    REST_OF_BODY,
    WIRE_KEY,
    Attachment,
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    Properties,
    Recipient,
    SendResponse,
    TransactionalEvent,
    TransactionalResponse,
    TransactionalSendRequest,
    UserAlias,
)
from ._validate import json_default

__all__ = [
    "canvas_recipient_fields",
    "converter",
    "dumps",
    "json_default",
    "parse_transactional_postback",
    "read_errors",
    "recipient_fields",
    "structure_send_response",
    "structure_transactional_response",
]

T = TypeVar("T", bound=attrs.AttrsInstance)

#: The converter. Import it; never use cattrs' global one.
converter = cattrs.Converter(omit_if_default=True)


# -- writing requests --------------------------------------------------------------------

# Properties are free-form JSON the models have checked: orjson writes them as they are, so
# cattrs must not walk (and copy) them.
converter.register_unstructure_hook_func(lambda t: t == Properties, identity)


def _write_hook(cl: type[T], **overrides: Any) -> Callable[[T], dict[str, Any]]:
    """cattrs' generated hook for ``cl``: unset fields omitted, outside-the-body ones left out,
    keys that are not attribute names renamed."""
    for a in attrs.fields(cl):
        if a.metadata.get(NOT_IN_BODY):
            overrides.setdefault(a.name, override(omit=True))
        elif WIRE_KEY in a.metadata:
            overrides.setdefault(a.name, override(rename=a.metadata[WIRE_KEY]))
    return make_dict_unstructure_fn(cl, converter, _cattrs_omit_if_default=True, **overrides)


def _canvas_keys(cl: type[attrs.AttrsInstance]) -> dict[str, Any]:
    """The renames of ``cl``'s fields inside a Canvas request."""
    return {
        a.name: override(rename=a.metadata[CANVAS_KEY])
        for a in attrs.fields(cl)
        if CANVAS_KEY in a.metadata
    }


def _recipient_hook(
    general: Callable[[Recipient], dict[str, Any]], properties_key: str
) -> Callable[[Recipient], dict[str, Any]]:
    """``general`` with the hot case (an external id, maybe properties) written by hand."""

    def unstructure_recipient(r: Recipient) -> dict[str, Any]:
        # An external id excludes user_alias, email and prioritization (the model refuses
        # them together), so two more tests make the hot case.
        if (
            r.attributes is None
            and r.send_to_existing_only is None
            and r.external_user_id is not None
        ):
            if r.trigger_properties is None:
                return {"external_user_id": r.external_user_id}
            return {"external_user_id": r.external_user_id, properties_key: r.trigger_properties}
        return general(r)

    return unstructure_recipient


def _list_of(
    hook: Callable[[Recipient], dict[str, Any]],
) -> Callable[[Sequence[Recipient]], list[dict[str, Any]]]:
    # A comprehension: cattrs' list(generator) costs 0.7 us more per 50 recipients (measured).
    def unstructure_recipients(recipients: Sequence[Recipient]) -> list[dict[str, Any]]:
        return [hook(r) for r in recipients]

    return unstructure_recipients


converter.register_unstructure_hook(UserAlias, _write_hook(UserAlias))
converter.register_unstructure_hook(Attachment, _write_hook(Attachment))

#: cattrs' generated hook for a :class:`Recipient` in a campaign or transactional request
#: (the converter's own hook is this one plus the hand-written hot case).
recipient_fields = _write_hook(Recipient)
#: cattrs' generated hook for a :class:`Recipient` in a Canvas request.
canvas_recipient_fields = _write_hook(Recipient, **_canvas_keys(Recipient))

_unstructure_recipient = _recipient_hook(recipient_fields, "trigger_properties")
converter.register_unstructure_hook(Recipient, _unstructure_recipient)
converter.register_unstructure_hook_func(
    lambda t: t == Sequence[Recipient], _list_of(_unstructure_recipient)
)
converter.register_unstructure_hook(CampaignTriggerRequest, _write_hook(CampaignTriggerRequest))
converter.register_unstructure_hook(TransactionalSendRequest, _write_hook(TransactionalSendRequest))
_unstructure_canvas_recipient = _recipient_hook(
    canvas_recipient_fields, attrs.fields(Recipient).trigger_properties.metadata[CANVAS_KEY]
)
converter.register_unstructure_hook(
    CanvasTriggerRequest,
    _write_hook(
        CanvasTriggerRequest,
        recipients=override(unstruct_hook=_list_of(_unstructure_canvas_recipient)),
    ),
)


# /messages/send: the typed channel objects, and the container that also takes mappings.
for _message_class in (
    AndroidConversation,
    AndroidConversationMessage,
    AndroidConversationPerson,
    AndroidPush,
    AndroidPushButton,
    AppleAlert,
    ApplePush,
    ApplePushButton,
    ContentCard,
    EmailMessage,
    KindlePush,
    SmsMessage,
    WebPush,
    WebPushButton,
    WebhookMessage,
):
    converter.register_unstructure_hook(_message_class, _write_hook(_message_class))
# whats_app: its message object's type decides its shape (and a list's nesting).
converter.register_unstructure_hook(WhatsApp, WhatsApp.wire)


def _typed_or_mapping(value: Any) -> Any:
    """A channel of ``messages``: a mapping goes as it is, a typed object through its hook."""
    return value if isinstance(value, Mapping) else converter.unstructure(value)


converter.register_unstructure_hook(
    Messages,
    _write_hook(
        Messages,
        **{
            a.name: override(unstruct_hook=_typed_or_mapping)
            for a in attrs.fields(Messages)
            if not a.metadata.get(NOT_IN_BODY)  # the send's tracking fields: request level
        },
    ),
)
converter.register_unstructure_hook(MessagesSendRequest, _write_hook(MessagesSendRequest))


def dumps(request: object) -> bytes:
    """Serialize a request model to the JSON bytes Braze receives."""
    unstructure: Callable[[Any], Any] = converter.unstructure
    try:
        return orjson.dumps(unstructure(request), default=json_default)
    except TypeError as exc:  # pragma: no cover - the models validate before this point
        raise BrazeValidationError(
            type(request).__name__, f"cannot be sent as JSON: {exc}"
        ) from exc


# -- reading Braze's answers -------------------------------------------------------------


def read_errors(value: Any) -> tuple[ErrorDetail, ...]:
    """Braze's ``errors``: a list of {code, message} objects, or of plain strings."""
    if not isinstance(value, list):
        return ()
    out = []
    for item in value:
        if isinstance(item, Mapping):
            out.append(
                ErrorDetail(
                    code=str(item.get("code") or ""), message=str(item.get("message") or "")
                )
            )
        else:
            out.append(ErrorDetail(code="", message=str(item)))
    return tuple(out)


def _optional_str(value: Any, _: Any) -> str | None:
    return value if isinstance(value, str) else None


def _text(value: Any, _: Any) -> str:
    return str(value or "")


def _as_is(value: Any, _: Any) -> Any:
    return value


def _errors(value: Any, _: Any) -> tuple[ErrorDetail, ...]:
    return read_errors(value)


def _object(value: Any, _: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


#: How an answer's field of each type is read, whatever Braze put there (``None`` when the
#: key is missing). A field of another type needs its rule here first.
_LENIENT: dict[Any, Callable[[Any, Any], Any]] = {
    str | None: _optional_str,
    str: _text,
    tuple[ErrorDetail, ...]: _errors,
    Mapping[str, Any]: _object,
}


def _required_text(field: str) -> Callable[[Any, Any], str]:
    def structure_required(value: Any, _: Any) -> str:
        if not isinstance(value, str) or not value:
            raise BrazeValidationError(field, "is required")
        return value

    return structure_required


class _Body(dict[str, Any]):
    """An answer as the generated hooks read it: a missing key reads as ``null``.

    Braze leaves keys out; the lenient hooks then give the field its empty value.
    """

    def __missing__(self, key: str) -> None:
        return None


def _at(body: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _first_text(body: Mapping[str, Any], key: str, paths: tuple[tuple[str, ...], ...]) -> Any:
    """The first of ``body[key]`` and the values at ``paths`` that is a non-empty string.

    When none is, the last of them (which the field's hook then reads).
    """
    value = body[key]
    for path in paths:
        if isinstance(value, str) and value:
            return value
        value = _at(body, path)
    return value


def _answer_reader(cl: type[T], *, required_in: str | None = None) -> Callable[..., T]:
    """``read(data, **outside)``: ``cl`` from a decoded body plus the values sent beside it.

    Built on cattrs' generated structure hook, with each field's hook chosen by its type from
    :data:`_LENIENT`. With ``required_in``, a text field without a default must be a
    non-empty string, else :class:`BrazeValidationError` names ``{required_in}.{field}``.
    """
    attrs.resolve_types(cl)
    overrides: dict[str, Any] = {}  # name -> cattrs.gen.override(...)
    outside: list[str] = []
    alternates: list[tuple[str, tuple[tuple[str, ...], ...]]] = []
    rest: str | None = None
    read: set[str] = set()  # the keys some field reads, whole
    for a in attrs.fields(cl):
        if a.metadata.get(NOT_IN_BODY):
            outside.append(a.name)
            overrides[a.name] = override(struct_hook=_as_is)  # ours, typed already
            continue
        if a.metadata.get(REST_OF_BODY):
            rest = a.name
            overrides[a.name] = override(struct_hook=_as_is)
            continue
        read.add(a.name)
        paths: tuple[tuple[str, ...], ...] = a.metadata.get(ALSO_AT, ())
        if paths:
            alternates.append((a.name, paths))
            read.update(path[0] for path in paths if len(path) == 1)
        if required_in is not None and a.type is str and a.default is attrs.NOTHING:
            hook = _required_text(f"{required_in}.{a.name}")
        else:
            hook = _LENIENT[a.type]
        overrides[a.name] = override(struct_hook=hook)
    generated = make_dict_structure_fn(
        cl,
        converter,
        _cattrs_forbid_extra_keys=False,
        _cattrs_detailed_validation=False,
        **overrides,
    )

    def read_answer(data: Mapping[str, Any], **given: Any) -> T:
        body = _Body(data)
        for name, field_paths in alternates:
            body[name] = _first_text(body, name, field_paths)
        for name in outside:
            body.pop(name, None)  # a body key of that name is Braze's, not this value
        body.update(given)
        if rest is not None:
            body[rest] = {k: v for k, v in data.items() if k not in read}
        return generated(body, cl)

    return read_answer


_read_send_response = _answer_reader(SendResponse)
_read_transactional_response = _answer_reader(TransactionalResponse)
_read_postback = _answer_reader(TransactionalEvent, required_in="postback")


def structure_send_response(
    data: Mapping[str, Any], status_code: int = 201, headers: Mapping[str, str] | None = None
) -> SendResponse:
    """Build a :class:`SendResponse` from a decoded 2xx body (unknown keys ignored) and the
    answer's status and headers."""
    return _read_send_response(data, status_code=status_code, headers=headers or {})


def structure_transactional_response(
    data: Mapping[str, Any], status_code: int = 201, headers: Mapping[str, str] | None = None
) -> TransactionalResponse:
    """Build a :class:`TransactionalResponse`; older Braze answers name the id ``send_id``."""
    return _read_transactional_response(data, status_code=status_code, headers=headers or {})


def parse_transactional_postback(body: bytes | str | Mapping[str, Any]) -> TransactionalEvent:
    """Parse one Transactional Currents postback (the HTTP request Braze sends you).

    Accepts the raw body or the decoded JSON object. Understands both the current shape
    ``{"dispatch_id", "status", "metadata": {"external_send_id", ...}}`` and the older one,
    ``{"send_id", "status", "external_send_id"}``.

    >>> parse_transactional_postback(b'{"dispatch_id": "d1", "status": "sent"}').status
    'sent'

    Raises :class:`~braze_async.BrazeValidationError` when the body is not such an event.
    """
    if isinstance(body, (bytes, str)):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BrazeValidationError("postback", f"is not valid JSON: {exc}") from None
    else:
        data = body
    if not isinstance(data, Mapping):
        raise BrazeValidationError("postback", "must be a JSON object")
    return _read_postback(data)


converter.register_structure_hook(SendResponse, lambda d, _: structure_send_response(d))
converter.register_structure_hook(
    TransactionalResponse, lambda d, _: structure_transactional_response(d)
)
converter.register_structure_hook(TransactionalEvent, lambda d, _: parse_transactional_postback(d))
