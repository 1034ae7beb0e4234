"""The wire format: one cattrs converter that owns every JSON key braze_async sends or reads.

Unset fields (``None``) are omitted, never sent as ``null``. Unknown keys in Braze's answers
are tolerated. Request bodies are written with orjson; the unstructure hooks for the hot
types (:class:`Recipient` and the request bodies) are registered here by hand because they
run for every recipient, and a plain function beats the generated one there (measured in
``benchmarks/``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import cattrs
import orjson

from ._errors import BrazeValidationError, ErrorDetail
from ._models import (
    Attachment,
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    Recipient,
    SendResponse,
    TransactionalEvent,
    TransactionalResponse,
    TransactionalSendRequest,
    UserAlias,
)

__all__ = ["converter", "dumps", "parse_transactional_postback", "read_errors"]

#: The converter. Import it; never use cattrs' global one.
converter = cattrs.Converter(omit_if_default=True)


def _plain(value: Any) -> Any:
    # orjson's fallback for Mapping types that are not dicts (MappingProxyType, ...).
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _recipient_dict(r: Recipient, properties_key: str) -> dict[str, Any]:
    if r.attributes is None and r.send_to_existing_only is None and r.external_user_id is not None:
        # The hot case: an external id and maybe properties.
        if r.trigger_properties is None:
            return {"external_user_id": r.external_user_id}
        return {"external_user_id": r.external_user_id, properties_key: r.trigger_properties}
    out: dict[str, Any] = {}
    if r.external_user_id is not None:
        out["external_user_id"] = r.external_user_id
    elif r.user_alias is not None:
        out["user_alias"] = {
            "alias_name": r.user_alias.alias_name,
            "alias_label": r.user_alias.alias_label,
        }
    else:
        out["email"] = r.email
        out["prioritization"] = list(r.prioritization or ())
    if r.trigger_properties is not None:
        out[properties_key] = r.trigger_properties
    if r.send_to_existing_only is not None:
        out["send_to_existing_only"] = r.send_to_existing_only
    if r.attributes is not None:
        out["attributes"] = r.attributes
    return out


def _unstructure_recipient(r: Recipient) -> dict[str, Any]:
    return _recipient_dict(r, "trigger_properties")


def _unstructure_campaign(req: CampaignTriggerRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"campaign_id": req.campaign_id}
    if req.send_id is not None:
        out["send_id"] = req.send_id
    if req.trigger_properties is not None:
        out["trigger_properties"] = req.trigger_properties
    if req.broadcast is not None:
        out["broadcast"] = req.broadcast
    if req.audience is not None:
        out["audience"] = req.audience
    if req.recipients is not None:
        out["recipients"] = [_recipient_dict(r, "trigger_properties") for r in req.recipients]
    if req.attachments is not None:
        out["attachments"] = [{"file_name": a.file_name, "url": a.url} for a in req.attachments]
    return out


def _unstructure_canvas(req: CanvasTriggerRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"canvas_id": req.canvas_id}
    if req.canvas_entry_properties is not None:
        out["canvas_entry_properties"] = req.canvas_entry_properties
    if req.broadcast is not None:
        out["broadcast"] = req.broadcast
    if req.audience is not None:
        out["audience"] = req.audience
    if req.recipients is not None:
        # Canvas takes per-recipient properties as canvas_entry_properties.
        out["recipients"] = [_recipient_dict(r, "canvas_entry_properties") for r in req.recipients]
    return out


def _unstructure_transactional(req: TransactionalSendRequest) -> dict[str, Any]:
    # The campaign id travels in the URL, not the body.
    out: dict[str, Any] = {"recipient": _recipient_dict(req.recipient, "trigger_properties")}
    if req.external_send_id is not None:
        out["external_send_id"] = req.external_send_id
    if req.trigger_properties is not None:
        out["trigger_properties"] = req.trigger_properties
    return out


converter.register_unstructure_hook(Recipient, _unstructure_recipient)
converter.register_unstructure_hook(CampaignTriggerRequest, _unstructure_campaign)
converter.register_unstructure_hook(CanvasTriggerRequest, _unstructure_canvas)
converter.register_unstructure_hook(TransactionalSendRequest, _unstructure_transactional)
converter.register_unstructure_hook(
    UserAlias, lambda a: {"alias_name": a.alias_name, "alias_label": a.alias_label}
)
converter.register_unstructure_hook(Attachment, lambda a: {"file_name": a.file_name, "url": a.url})


def dumps(request: object) -> bytes:
    """Serialize a request model to the JSON bytes Braze receives."""
    unstructure: Callable[[Any], Any] = converter.unstructure
    try:
        return orjson.dumps(unstructure(request), default=_plain)
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


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def structure_send_response(data: Mapping[str, Any], status_code: int = 201) -> SendResponse:
    """Build a :class:`SendResponse` from a decoded 2xx body (unknown keys ignored)."""
    return SendResponse(
        dispatch_id=_optional_str(data.get("dispatch_id")),
        message=str(data.get("message") or ""),
        errors=read_errors(data.get("errors")),
        status_code=status_code,
    )


def structure_transactional_response(
    data: Mapping[str, Any], status_code: int = 201
) -> TransactionalResponse:
    """Build a :class:`TransactionalResponse`; newer Braze answers name the id ``dispatch_id``."""
    send_id = _optional_str(data.get("send_id")) or _optional_str(data.get("dispatch_id"))
    return TransactionalResponse(
        send_id=send_id,
        status=_optional_str(data.get("status")),
        message=str(data.get("message") or ""),
        errors=read_errors(data.get("errors")),
        status_code=status_code,
    )


def parse_transactional_postback(body: bytes | str | Mapping[str, Any]) -> TransactionalEvent:
    """Parse one Transactional Currents postback (the HTTP request Braze sends you).

    Accepts the raw body or the decoded JSON object. Understands both the documented shape
    ``{"send_id", "status", "external_send_id"}`` and the newer one that puts
    ``external_send_id`` under ``metadata`` and names the id ``dispatch_id``.

    >>> parse_transactional_postback(b'{"send_id": "s1", "status": "Sent"}').status
    'Sent'

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
    send_id = _optional_str(data.get("send_id")) or _optional_str(data.get("dispatch_id"))
    if not send_id:
        raise BrazeValidationError("postback.send_id", "is required")
    status = data.get("status")
    if not isinstance(status, str) or not status:
        raise BrazeValidationError("postback.status", "is required")
    metadata = data.get("metadata")
    external = _optional_str(data.get("external_send_id"))
    if external is None and isinstance(metadata, Mapping):
        external = _optional_str(metadata.get("external_send_id"))
    known = {"send_id", "dispatch_id", "status", "external_send_id"}
    return TransactionalEvent(
        send_id=send_id,
        status=status,
        external_send_id=external,
        extra={k: v for k, v in data.items() if k not in known},
    )


converter.register_structure_hook(SendResponse, lambda d, _: structure_send_response(d))
converter.register_structure_hook(
    TransactionalResponse, lambda d, _: structure_transactional_response(d)
)
converter.register_structure_hook(TransactionalEvent, lambda d, _: parse_transactional_postback(d))
