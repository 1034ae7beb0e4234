"""Braze's documented request rules for the send endpoints, checked strictly.

Each ``check_*`` function takes a parsed JSON body and either returns an :class:`Accepted`
(what would be delivered) or raises :class:`RuleError` with the error code the simulator
answers in ``{"message": ..., "errors": [{"code": ..., "message": ...}]}``.

Strictness is deliberate: unknown fields and ``null`` values are refused even where Braze
might ignore them, because our client never sends either, so every refusal is a client bug.
This module must not import the client: it is an independent reading of Braze's pages.

Codes, by kind of fault: ``unknown_field``, ``null_value``, ``invalid_<field>`` (wrong type,
empty, out of range or a broken rule involving that field), ``invalid_recipients`` (the list,
or a recipient without exactly one identifier), ``invalid_broadcast`` (targeting rules).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

__all__ = [
    "CAMPAIGNS",
    "CANVAS",
    "MESSAGES",
    "TRANSACTIONAL",
    "Accepted",
    "RuleError",
    "check_campaign",
    "check_canvas",
    "check_messages",
    "check_transactional",
]

CAMPAIGNS = "/campaigns/trigger/send"
CANVAS = "/canvas/trigger/send"
MESSAGES = "/messages/send"
TRANSACTIONAL = "/transactional/v1/campaigns/{campaign_id}/send"

#: Recipients per request on the trigger endpoints.
MAX_RECIPIENTS = 50

JSONObject = dict[str, Any]
Recipient = tuple[str, JSONObject]

_CAMPAIGN_KEYS = frozenset(
    {
        "campaign_id",
        "send_id",
        "trigger_properties",
        "broadcast",
        "audience",
        "recipients",
        "attachments",
    }
)
_CANVAS_KEYS = frozenset(
    {
        "canvas_id",
        "canvas_entry_properties",
        "trigger_properties",
        "broadcast",
        "audience",
        "recipients",
    }
)
_MESSAGES_KEYS = frozenset(
    {
        "external_user_ids",
        "user_aliases",
        "segment_id",
        "audience",
        "broadcast",
        "campaign_id",
        "send_id",
        "messages",
        "override_frequency_capping",
        "recipient_subscription_state",
    }
)
_TRANSACTIONAL_KEYS = frozenset({"external_send_id", "trigger_properties", "recipient"})
_RECIPIENT_KEYS = frozenset(
    {
        "external_user_id",
        "user_alias",
        "email",
        "prioritization",
        "send_to_existing_only",
        "attributes",
    }
)
_CAMPAIGN_RECIPIENT_KEYS = _RECIPIENT_KEYS | {"trigger_properties"}
_CANVAS_RECIPIENT_KEYS = _RECIPIENT_KEYS | {"canvas_entry_properties", "trigger_properties"}
_TRANSACTIONAL_RECIPIENT_KEYS = frozenset(
    {"external_user_id", "user_alias", "send_to_existing_only", "attributes"}
)
_ALIAS_KEYS = frozenset({"alias_name", "alias_label"})
_ATTACHMENT_KEYS = frozenset({"file_name", "url"})
_SUBSCRIPTION_STATES = frozenset({"opted_in", "subscribed", "all"})
_EXTERNAL_SEND_ID = re.compile(r"[A-Za-z0-9\-_+/=]{1,64}")


class RuleError(Exception):
    """A request broke a rule: answered 400 with ``code`` and ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        #: Braze-style error code, e.g. ``"invalid_recipients"``.
        self.code = code
        #: Human-readable explanation, naming the offending field.
        self.message = message


class Accepted(NamedTuple):
    """What a valid request asks Braze to deliver."""

    #: One of the endpoint constants of this module.
    endpoint: str
    campaign_id: str | None
    canvas_id: str | None
    #: ``(recipient key, recipient object)``; for audience sends one pseudo-recipient.
    recipients: list[Recipient]
    #: Number of explicit recipients (0 for audience sends), for the histogram.
    explicit: int
    #: Transactional deduplication key, when given.
    external_send_id: str | None = None


# -- small checks ---------------------------------------------------------------------------


def _check_keys(obj: JSONObject, allowed: frozenset[str], where: str) -> None:
    """Refuse unknown keys and ``null`` values in one object."""
    if not allowed.issuperset(obj):
        unknown = sorted(set(obj) - allowed)
        raise RuleError("unknown_field", f"{where}{unknown[0]} is not a known field")
    if None in obj.values():
        key = next(k for k, v in obj.items() if v is None)
        raise RuleError("null_value", f"{where}{key} must not be null")


def _non_empty_string(value: object, code: str, what: str) -> str:
    if type(value) is not str or not value:
        raise RuleError(code, f"{what} must be a non-empty string")
    return value


def _optional_object(obj: JSONObject, key: str, where: str = "") -> None:
    value = obj.get(key)
    if value is not None and type(value) is not dict:
        raise RuleError(f"invalid_{key}", f"{where}{key} must be an object")


def _optional_bool(obj: JSONObject, key: str, where: str = "") -> None:
    value = obj.get(key)
    if value is not None and type(value) is not bool:
        raise RuleError(f"invalid_{key}", f"{where}{key} must be a boolean")


def _alias_key(alias: object, where: str) -> str:
    if type(alias) is not dict:
        raise RuleError("invalid_user_alias", f"{where} must be an object")
    _check_keys(alias, _ALIAS_KEYS, f"{where}.")
    name = _non_empty_string(alias.get("alias_name"), "invalid_user_alias", f"{where}.alias_name")
    label = _non_empty_string(
        alias.get("alias_label"), "invalid_user_alias", f"{where}.alias_label"
    )
    return f"user_alias:{name}/{label}"


def _check_email(email: object, where: str) -> str:
    if type(email) is not str:
        raise RuleError("invalid_email", f"{where}email must be a string")
    local, at, domain = email.rpartition("@")
    if not (at and local and domain):
        raise RuleError("invalid_email", f"{where}email must be an email address")
    return email


def _check_attributes(recipient: JSONObject, where: str) -> None:
    attributes = recipient.get("attributes")
    if attributes is None:
        return
    if type(attributes) is not dict:
        raise RuleError("invalid_attributes", f"{where}attributes must be an object")
    groups = attributes.get("subscription_groups")
    if "subscription_groups" in attributes and (
        type(groups) is not list or any(type(group) is not dict for group in groups)
    ):
        raise RuleError(
            "invalid_attributes",
            f"{where}attributes.subscription_groups must be an array of objects",
        )


def _check_send_to_existing_only(recipient: JSONObject, where: str, *, strict: bool) -> None:
    """``send_to_existing_only``: a boolean; on trigger sends ``false`` needs attributes."""
    value = recipient.get("send_to_existing_only")
    if value is None:
        return
    if type(value) is not bool:
        raise RuleError(
            "invalid_send_to_existing_only", f"{where}send_to_existing_only must be a boolean"
        )
    if strict and value is False:
        if "user_alias" in recipient:
            raise RuleError(
                "invalid_send_to_existing_only",
                f"{where}send_to_existing_only cannot be false for a user_alias",
            )
        if "attributes" not in recipient:
            raise RuleError(
                "invalid_send_to_existing_only",
                f"{where}send_to_existing_only false requires an attributes object",
            )


def _identify(recipient: JSONObject, where: str, *, transactional: bool = False) -> str:
    """Exactly one identifier (``email`` is not one for transactional sends); its key."""
    external_id = recipient.get("external_user_id")
    alias = recipient.get("user_alias")
    email = None if transactional else recipient.get("email")
    given = (external_id is not None) + (alias is not None) + (email is not None)
    if given != 1:
        if transactional:
            code, choices = "invalid_recipient", "external_user_id or user_alias"
        else:
            code, choices = "invalid_recipients", "external_user_id, user_alias or email"
        raise RuleError(code, f"{where[:-1]} must have exactly one of {choices}")
    if external_id is not None:
        return "external_user_id:" + _non_empty_string(
            external_id, "invalid_external_user_id", f"{where}external_user_id"
        )
    if alias is not None:
        return _alias_key(alias, f"{where}user_alias")
    return "email:" + _check_email(email, where)


def _check_prioritization(recipient: JSONObject, where: str) -> None:
    value = recipient.get("prioritization")
    if "email" not in recipient:
        if value is not None:
            raise RuleError(
                "invalid_prioritization", f"{where}prioritization is only allowed with email"
            )
        return
    if (
        type(value) is not list
        or not value
        or any(type(item) is not str or not item for item in value)
    ):
        raise RuleError(
            "invalid_prioritization",
            f"{where}prioritization must be a non-empty array of strings when email is used",
        )


# -- targeting shared by the trigger endpoints ---------------------------------------------


def _check_audience(body: JSONObject) -> None:
    audience = body.get("audience")
    if audience is not None and (type(audience) is not dict or not audience):
        raise RuleError(
            "invalid_audience", "audience must be a non-empty Connected Audience object"
        )


def _audience_target(body: JSONObject) -> Recipient:
    """The pseudo-recipient recorded for a send without explicit recipients."""
    if "segment_id" in body:
        return "segment:" + body["segment_id"], {"segment_id": body["segment_id"]}
    if "audience" in body:
        return "audience", {"audience": body["audience"]}
    return "broadcast", {}


def _check_targeting(body: JSONObject, *, has_recipients: bool, what: str) -> None:
    broadcast = body.get("broadcast")
    if broadcast is not None and type(broadcast) is not bool:
        raise RuleError("invalid_broadcast", "broadcast must be a boolean")
    _check_audience(body)
    if broadcast is True:
        if has_recipients:
            raise RuleError("invalid_broadcast", f"broadcast: true cannot be combined with {what}")
        if "attachments" in body:
            raise RuleError(
                "invalid_broadcast", "broadcast: true cannot be combined with attachments"
            )
    elif not has_recipients and "audience" not in body and "segment_id" not in body:
        raise RuleError(
            "invalid_broadcast", f"broadcast must be true when neither {what} nor audience is given"
        )


def _recipient_list(body: JSONObject) -> list[Any] | None:
    recipients = body.get("recipients")
    if recipients is None:
        return None
    if type(recipients) is not list or not recipients:
        raise RuleError("invalid_recipients", "recipients must be a non-empty array of objects")
    if len(recipients) > MAX_RECIPIENTS:
        raise RuleError(
            "invalid_recipients",
            f"recipients must contain at most {MAX_RECIPIENTS} objects, got {len(recipients)}",
        )
    return recipients


def _check_trigger_recipients(
    recipients: list[Any], allowed: frozenset[str], *, canvas: bool
) -> list[Recipient]:
    checked: list[Recipient] = []
    append = checked.append
    for index, recipient in enumerate(recipients):
        where = f"recipients[{index}]."
        if type(recipient) is not dict:
            raise RuleError("invalid_recipients", f"recipients[{index}] must be an object")
        _check_keys(recipient, allowed, where)
        key = _identify(recipient, where)
        if len(recipient) > 1:  # only the identifier: nothing else to check (the common case)
            _check_prioritization(recipient, where)
            _check_send_to_existing_only(recipient, where, strict=True)
            _check_attributes(recipient, where)
            _optional_object(recipient, "trigger_properties", where)
            if canvas:
                _optional_object(recipient, "canvas_entry_properties", where)
                if "canvas_entry_properties" in recipient and "trigger_properties" in recipient:
                    raise RuleError(
                        "invalid_canvas_entry_properties",
                        f"{where}canvas_entry_properties and its legacy name trigger_properties "
                        "cannot both be given",
                    )
        elif "email" in recipient:
            _check_prioritization(recipient, where)
        append((key, recipient))
    return checked


def _check_attachments(body: JSONObject) -> None:
    attachments = body.get("attachments")
    if attachments is None:
        return
    if type(attachments) is not list:
        raise RuleError("invalid_attachments", "attachments must be an array of objects")
    for index, attachment in enumerate(attachments):
        where = f"attachments[{index}]"
        if type(attachment) is not dict:
            raise RuleError("invalid_attachments", f"{where} must be an object")
        _check_keys(attachment, _ATTACHMENT_KEYS, f"{where}.")
        for key in ("file_name", "url"):
            _non_empty_string(attachment.get(key), "invalid_attachments", f"{where}.{key}")


def _targets(
    endpoint: str, body: JSONObject, recipients: list[Any] | None, allowed: frozenset[str]
) -> tuple[list[Recipient], int]:
    if recipients is None:
        return [_audience_target(body)], 0
    checked = _check_trigger_recipients(recipients, allowed, canvas=endpoint == CANVAS)
    return checked, len(checked)


# -- the endpoints ----------------------------------------------------------------------------


def check_campaign(body: JSONObject) -> Accepted:
    """``POST /campaigns/trigger/send``."""
    _check_keys(body, _CAMPAIGN_KEYS, "")
    campaign_id = _non_empty_string(body.get("campaign_id"), "invalid_campaign_id", "campaign_id")
    if "send_id" in body:
        _non_empty_string(body["send_id"], "invalid_send_id", "send_id")
    _optional_object(body, "trigger_properties")
    recipients = _recipient_list(body)
    _check_targeting(body, has_recipients=recipients is not None, what="recipients")
    _check_attachments(body)
    targets, explicit = _targets(CAMPAIGNS, body, recipients, _CAMPAIGN_RECIPIENT_KEYS)
    return Accepted(CAMPAIGNS, campaign_id, None, targets, explicit)


def check_canvas(body: JSONObject) -> Accepted:
    """``POST /canvas/trigger/send``."""
    _check_keys(body, _CANVAS_KEYS, "")
    canvas_id = _non_empty_string(body.get("canvas_id"), "invalid_canvas_id", "canvas_id")
    _optional_object(body, "canvas_entry_properties")
    _optional_object(body, "trigger_properties")
    if "canvas_entry_properties" in body and "trigger_properties" in body:
        raise RuleError(
            "invalid_canvas_entry_properties",
            "canvas_entry_properties and its legacy name trigger_properties cannot both be given",
        )
    recipients = _recipient_list(body)
    _check_targeting(body, has_recipients=recipients is not None, what="recipients")
    targets, explicit = _targets(CANVAS, body, recipients, _CANVAS_RECIPIENT_KEYS)
    return Accepted(CANVAS, None, canvas_id, targets, explicit)


def _id_list(body: JSONObject, key: str) -> list[Any] | None:
    values = body.get(key)
    if values is None:
        return None
    if type(values) is not list or not values:
        raise RuleError("invalid_recipients", f"{key} must be a non-empty array")
    if len(values) > MAX_RECIPIENTS:
        raise RuleError(
            "invalid_recipients",
            f"{key} must contain at most {MAX_RECIPIENTS} entries, got {len(values)}",
        )
    return values


def check_messages(body: JSONObject) -> Accepted:
    """``POST /messages/send``: the targeting part and a ``messages`` object."""
    _check_keys(body, _MESSAGES_KEYS, "")
    campaign_id = body.get("campaign_id")
    if campaign_id is not None:
        _non_empty_string(campaign_id, "invalid_campaign_id", "campaign_id")
    if "send_id" in body:
        _non_empty_string(body["send_id"], "invalid_send_id", "send_id")
    if "segment_id" in body:
        _non_empty_string(body["segment_id"], "invalid_segment_id", "segment_id")
    messages = body.get("messages")
    if type(messages) is not dict or not messages:
        raise RuleError("invalid_messages", "messages must be a non-empty object")
    if any(type(message) is not dict for message in messages.values()):
        raise RuleError("invalid_messages", "every entry of messages must be an object")
    _optional_bool(body, "override_frequency_capping")
    state = body.get("recipient_subscription_state")
    if state is not None and state not in _SUBSCRIPTION_STATES:
        raise RuleError(
            "invalid_recipient_subscription_state",
            "recipient_subscription_state must be one of all, opted_in, subscribed",
        )
    external_ids = _id_list(body, "external_user_ids")
    aliases = _id_list(body, "user_aliases")
    _check_targeting(
        body,
        has_recipients=external_ids is not None or aliases is not None,
        what="external_user_ids or user_aliases",
    )
    targets: list[Recipient] = []
    for index, external_id in enumerate(external_ids or ()):
        _non_empty_string(external_id, "invalid_external_user_id", f"external_user_ids[{index}]")
        targets.append(("external_user_id:" + external_id, {"external_user_id": external_id}))
    for index, alias in enumerate(aliases or ()):
        targets.append((_alias_key(alias, f"user_aliases[{index}]"), {"user_alias": alias}))
    explicit = len(targets)
    if not targets:
        targets.append(_audience_target(body))
    return Accepted(MESSAGES, campaign_id, None, targets, explicit)


def check_transactional(campaign_id: str, body: JSONObject) -> Accepted:
    """``POST /transactional/v1/campaigns/{campaign_id}/send``: one recipient."""
    _check_keys(body, _TRANSACTIONAL_KEYS, "")
    external_send_id = body.get("external_send_id")
    if external_send_id is not None and (
        type(external_send_id) is not str or not _EXTERNAL_SEND_ID.fullmatch(external_send_id)
    ):
        raise RuleError(
            "invalid_external_send_id",
            "external_send_id must be 1 to 64 characters of [a-zA-Z0-9-_+/=]",
        )
    _optional_object(body, "trigger_properties")
    recipient = body.get("recipient")
    if type(recipient) is not dict:
        raise RuleError("invalid_recipient", "recipient must be an object")
    where = "recipient."
    _check_keys(recipient, _TRANSACTIONAL_RECIPIENT_KEYS, where)
    key = _identify(recipient, where, transactional=True)
    _check_send_to_existing_only(recipient, where, strict=False)
    _check_attributes(recipient, where)
    return Accepted(TRANSACTIONAL, campaign_id, None, [(key, recipient)], 1, external_send_id)
