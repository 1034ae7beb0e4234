"""Braze's documented request rules for the send endpoints, read from Braze's pages.

Each ``check_*`` function takes a parsed JSON body and either returns an :class:`Accepted`
(what would be delivered) or raises :class:`RuleError` with the error code the simulator
answers in ``{"message": ..., "errors": [{"code": ..., "message": ...}]}``.

Every rule names the page it comes from: paths under ``_docs/_api/`` of the public repository
``braze-inc/braze-docs``. This module must not import the client: it is an independent
reading of Braze's pages, so a bug in the client's own validation cannot hide behind it.

Two kinds of strictness:

* Unknown fields and ``null`` values are refused even where Braze might ignore them: no page
  documents them, and a client that sends them has a bug.
* Where the pages contradict themselves, both readings are accepted (a client must send the
  stricter one; see the client's models). So: an ``external_user_id`` may be a number (the
  pages say string; a recorded Braze answer to one is a 201, see ``_external_id_key``);
  a trigger send without ``recipients`` and without ``broadcast`` goes to the whole segment
  (one line reads "must be set to true if recipients is omitted", another "if not provided
  and broadcast is not set to false, message sends to the entire segment"); "50 KB" is read
  as 50 KiB; ``override_frequency_capping`` may be ``"true"``/``"false"`` (the Apple push
  page's example sends the string); a Canvas takes ``context`` or its older names.

Codes, by kind of fault: ``unknown_field``, ``null_value``, ``invalid_<field>`` (wrong type,
empty, too large or a broken rule involving that field), ``invalid_recipients`` (the list,
or a recipient without exactly one identifier), ``invalid_broadcast`` (targeting rules).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

import orjson

from ._audience_rules import check_audience_object
from ._channel_rules import check_channel_object
from ._iso import iso_time as iso_time  # re-exported: _activities.py reads it here
from ._message_rules import MAX_CARD_SECONDS, check_attachment_list

__all__ = [
    "CAMPAIGNS",
    "CANVAS",
    "MESSAGES",
    "SCHEDULED_BROADCASTS",
    "SCHEDULE_CAMPAIGNS",
    "SCHEDULE_CANVAS",
    "SCHEDULE_MESSAGES",
    "SCHEDULE_SENDS",
    "TRANSACTIONAL",
    "Accepted",
    "RuleError",
    "ScheduleSpec",
    "check_campaign",
    "check_canvas",
    "check_end_time",
    "check_messages",
    "check_schedule",
    "check_schedule_create",
    "check_schedule_delete",
    "check_schedule_update",
    "check_transactional",
]

CAMPAIGNS = "/campaigns/trigger/send"
CANVAS = "/canvas/trigger/send"
MESSAGES = "/messages/send"
TRANSACTIONAL = "/transactional/v1/campaigns/{campaign_id}/send"

#: Users per request on the send endpoints: "up to 50 specific external_ids"
#: (api_limits.md, "Batching Messaging endpoint requests"); errors.md: "The max number of
#: external_ids and aliases per request was exceeded".
MAX_RECIPIENTS = 50
#: "The context object has a maximum size limit of 50 KB" (objects_filters/context_object.md;
#: the same for trigger_properties_object.md and canvas_entry_properties_object.md), read as
#: 50 KiB of JSON: the lenient one of the two readings of a KB.
MAX_PROPERTIES_BYTES = 50 * 1024
#: identifier_types.md, "Send identifier": "The identifier must be all ASCII characters and
#: at most 64 characters long."
MAX_SEND_ID_CHARS = 64
#: objects_filters/user_alias_object.md: ``alias_name`` (and ``alias_label``) "must be 236
#: bytes or less", counted here in UTF-8 as the body carries them.
MAX_ALIAS_BYTES = 236

JSONObject = dict[str, Any]
Recipient = tuple[str, JSONObject]

# endpoints/messaging/send_messages/post_send_triggered_campaigns.md, "Request body".
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
#: The Canvas personalization object under its names: ``context`` (the current Canvas page,
#: objects_filters/context_object.md), ``canvas_entry_properties`` (older pages, still
#: "backwards compatible") and ``trigger_properties`` (the oldest Canvas pages).
_CANVAS_PROPERTIES = ("context", "canvas_entry_properties", "trigger_properties")
# endpoints/messaging/send_messages/post_send_triggered_canvases.md, "Request body".
_CANVAS_KEYS = frozenset({"canvas_id", "broadcast", "audience", "recipients", *_CANVAS_PROPERTIES})
# endpoints/messaging/send_messages/post_send_messages.md, "Request body".
_MESSAGES_KEYS = frozenset(
    {
        "external_user_ids",
        "user_aliases",
        "segment_id",
        "audience",
        "broadcast",
        "campaign_id",
        "message_variation_id",
        "send_id",
        "messages",
        "override_frequency_capping",
        "recipient_subscription_state",
    }
)
#: The channels of ``messages`` (post_send_messages.md; objects_filters/messaging/).
_CHANNELS = frozenset(
    {
        "android_push",
        "apple_push",
        "content_card",
        "email",
        "kindle_push",
        "web_push",
        "webhook",
        "whats_app",
        "sms",
    }
)
# endpoints/messaging/send_messages/post_send_transactional_message.md, "Request body".
_TRANSACTIONAL_KEYS = frozenset({"external_send_id", "trigger_properties", "recipient"})
# objects_filters/recipient_object.md, "Object body".
_RECIPIENT_KEYS = frozenset(
    {
        "external_user_id",
        "user_alias",
        "braze_id",
        "email",
        "prioritization",
        "send_to_existing_only",
        "attributes",
    }
)
_CAMPAIGN_RECIPIENT_KEYS = _RECIPIENT_KEYS | {"trigger_properties"}
_CANVAS_RECIPIENT_KEYS = _RECIPIENT_KEYS | set(_CANVAS_PROPERTIES)
# The transactional page's recipient ("external_user_id or user_alias", "attributes"), and
# send_to_existing_only, which its older version documents.
_TRANSACTIONAL_RECIPIENT_KEYS = frozenset(
    {"external_user_id", "user_alias", "send_to_existing_only", "attributes"}
)
# objects_filters/user_alias_object.md.
_ALIAS_KEYS = frozenset({"alias_name", "alias_label"})
# post_send_triggered_campaigns.md, "attachments".
# post_send_messages.md, "recipient_subscription_state".
_SUBSCRIPTION_STATES = frozenset({"opted_in", "subscribed", "all"})
# endpoints/user_data/post_user_identify.md, "Identifying users by email".
_PRIORITIZATION = frozenset(
    {"identified", "unidentified", "most_recently_updated", "least_recently_updated"}
)
# post_send_transactional_message.md: "Validated against the following regex:
# /^[a-zA-Z0-9-_+\/=]+$/" (no length limit is documented).
_EXTERNAL_SEND_ID = re.compile(r"[A-Za-z0-9\-_+/=]+")


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


def one_per_user(accepted: Accepted) -> Accepted:
    """*accepted* with each user messaged once: objects_filters/recipient_object.md,
    "Recipient object deduping": a recipient named twice in one request "will be deduped,
    meaning identical users will be removed, leaving one". The page does not say which one
    is left; the simulator keeps the last occurrence's properties, at the first one's place.
    """
    recipients = accepted.recipients
    if len(recipients) < 2:
        return accepted
    unique = dict(recipients)
    if len(unique) == len(recipients):
        return accepted
    return accepted._replace(recipients=list(unique.items()))


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


def check_send_id(body: JSONObject) -> str | None:
    """The request's ``send_id``, if any: a non-empty ASCII string of at most 64 characters
    (:data:`MAX_SEND_ID_CHARS`)."""
    if "send_id" not in body:
        return None
    send_id = _non_empty_string(body["send_id"], "invalid_send_id", "send_id")
    if not send_id.isascii() or len(send_id) > MAX_SEND_ID_CHARS:
        raise RuleError(
            "invalid_send_id",
            f"send_id must be ASCII and at most {MAX_SEND_ID_CHARS} characters long",
        )
    return send_id


def _alias_part(alias: JSONObject, key: str, where: str) -> str:
    text = _non_empty_string(alias.get(key), "invalid_user_alias", f"{where}.{key}")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_ALIAS_BYTES:
        raise RuleError(
            "invalid_user_alias", f"{where}.{key} must be at most {MAX_ALIAS_BYTES} bytes"
        )
    return text


def _optional_object(obj: JSONObject, key: str, where: str = "") -> None:
    value = obj.get(key)
    if value is not None and type(value) is not dict:
        raise RuleError(f"invalid_{key}", f"{where}{key} must be an object")


def _properties(obj: JSONObject, key: str, where: str, small: bool) -> None:
    """A personalization object: an object of at most 50 KB (see MAX_PROPERTIES_BYTES).

    ``small``: the whole request is too small for any object in it to be over the limit.
    """
    _optional_object(obj, key, where)
    if small or key not in obj:
        return
    size = len(orjson.dumps(obj[key]))
    if size > MAX_PROPERTIES_BYTES:
        raise RuleError(f"invalid_{key}", f"{where}{key} is {size} bytes; the limit is 50 KB")


def _one_canvas_properties(obj: JSONObject, where: str, small: bool) -> None:
    given = [key for key in _CANVAS_PROPERTIES if key in obj]
    if len(given) > 1:
        raise RuleError(
            "invalid_context",
            f"{where}{given[0]} and {given[1]} name the same object (context); give one",
        )
    if given:
        _properties(obj, given[0], where, small)


def _alias_key(alias: object, where: str) -> str:
    """A user alias object (objects_filters/user_alias_object.md)."""
    if type(alias) is not dict:
        raise RuleError("invalid_user_alias", f"{where} must be an object")
    _check_keys(alias, _ALIAS_KEYS, f"{where}.")
    name = _alias_part(alias, "alias_name", where)
    label = _alias_part(alias, "alias_label", where)
    return f"user_alias:{name}/{label}"


def _external_id_key(value: object, what: str) -> str:
    """A non-empty string, or an integer.

    The pages say string, but Braze answered 201 to ``{"external_user_id": 12345}`` in
    recorded exchanges (the VCR cassettes of the public braze_ruby gem:
    spec/fixtures/responses/campaigns/trigger_send/sends_an_email.yml,
    canvas/trigger_send/sends_a_canvas.yml, and ``"external_user_ids": [1]`` in
    send_messages/with_success/responds_with_201_created.yml): both readings are accepted.
    """
    if type(value) is int:
        return f"external_user_id:{value}"
    return "external_user_id:" + _non_empty_string(value, "invalid_external_user_id", what)


def _check_email(email: object, where: str) -> str:
    if type(email) is not str:
        raise RuleError("invalid_email", f"{where}email must be a string")
    local, at, domain = email.rpartition("@")
    if not (at and local and domain):
        raise RuleError("invalid_email", f"{where}email must be an email address")
    return email


def _check_attributes(recipient: JSONObject, where: str) -> None:
    """objects_filters/user_attributes_object.md: an object; subscription_groups an array."""
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
    """``send_to_existing_only``: a boolean; on trigger sends ``false`` needs attributes and
    is "not supported for user aliases" (post_send_triggered_campaigns.md)."""
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
    """Exactly one identifier; its key.

    objects_filters/recipient_object.md: "one of external_user_id, user_alias, braze_id, or
    email ... Requests must specify only one"; the transactional page: "a single user either
    by external_user_id or user_alias".
    """
    external_id = recipient.get("external_user_id")
    alias = recipient.get("user_alias")
    braze_id = None if transactional else recipient.get("braze_id")
    email = None if transactional else recipient.get("email")
    given = (
        (external_id is not None)
        + (alias is not None)
        + (braze_id is not None)
        + (email is not None)
    )
    if given != 1:
        if transactional:
            code, choices = "invalid_recipient", "external_user_id or user_alias"
        else:
            code, choices = "invalid_recipients", "external_user_id, user_alias, braze_id or email"
        raise RuleError(code, f"{where[:-1]} must have exactly one of {choices}")
    if external_id is not None:
        return _external_id_key(external_id, f"{where}external_user_id")
    if alias is not None:
        return _alias_key(alias, f"{where}user_alias")
    if braze_id is not None:
        return "braze_id:" + _non_empty_string(braze_id, "invalid_braze_id", f"{where}braze_id")
    return "email:" + _check_email(email, where)


def _check_prioritization(recipient: JSONObject, where: str) -> None:
    """Required with, and only with, ``email`` (the campaign and Canvas pages); its values
    and "only one of identified / unidentified" (endpoints/user_data/post_user_identify.md)."""
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
        or any(type(item) is not str or item not in _PRIORITIZATION for item in value)
    ):
        raise RuleError(
            "invalid_prioritization",
            f"{where}prioritization must be a non-empty array of "
            f"{', '.join(sorted(_PRIORITIZATION))} when email is used",
        )
    if "identified" in value and "unidentified" in value:
        raise RuleError(
            "invalid_prioritization",
            f"{where}prioritization may hold only one of identified and unidentified",
        )


# -- targeting shared by the send endpoints ------------------------------------------------


def _check_audience(body: JSONObject) -> None:
    """objects_filters/connected_audience.md: a Connected Audience object (its rules are in
    ``_audience_rules.py``)."""
    if "audience" in body:
        try:
            check_audience_object(body["audience"])
        except ValueError as error:
            raise RuleError("invalid_audience", str(error)) from None


def _audience_target(body: JSONObject) -> Recipient:
    """The pseudo-recipient recorded for a send without explicit recipients."""
    if "segment_id" in body:
        return "segment:" + body["segment_id"], {"segment_id": body["segment_id"]}
    if "audience" in body:
        return "audience", {"audience": body["audience"]}
    return "broadcast", {}


def _check_targeting(
    body: JSONObject, *, has_recipients: bool, what: str, segment_by_default: bool = True
) -> None:
    """``broadcast`` (the campaign, Canvas and /messages/send pages).

    "If broadcast is set to true, a recipients list cannot be included", nor attachments
    (post_send_triggered_campaigns.md). Without recipients, ``broadcast`` omitted reads as the
    whole segment on the trigger pages (``segment_by_default``, see the module docstring);
    ``false`` without recipients is refused, with an audience or a segment too.
    """
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
    elif broadcast is False and not has_recipients:
        # Both readings agree here: broadcast "must be set to true if recipients is omitted",
        # and the segment default holds only if "broadcast is not set to false"
        # (post_send_triggered_campaigns.md); an audience or segment_id narrows a broadcast,
        # it does not replace one.
        raise RuleError("invalid_broadcast", f"broadcast must be true when no {what} are given")
    elif (
        not has_recipients
        and "audience" not in body
        and "segment_id" not in body
        and not segment_by_default
    ):
        raise RuleError(
            "invalid_broadcast",
            f"broadcast must be true when neither {what} nor audience is given",
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
    recipients: list[Any], allowed: frozenset[str], *, canvas: bool, small: bool
) -> list[Recipient]:
    """The recipients objects (objects_filters/recipient_object.md)."""
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
            if canvas:
                _one_canvas_properties(recipient, where, small)
            else:
                _properties(recipient, "trigger_properties", where, small)
        elif "email" in recipient:
            _check_prioritization(recipient, where)
        append((key, recipient))
    return checked


def _check_attachments(body: JSONObject) -> None:
    """post_send_triggered_campaigns.md: ``attachments``, objects of ``file_name`` and ``url``
    (and ``basic_auth_credential``, email_object.md), each as the email object's page reads
    an attachment (:func:`check_attachment_list`)."""
    attachments = body.get("attachments")
    if attachments is None:
        return
    try:
        check_attachment_list(attachments, "attachments", "post_send_triggered_campaigns.md")
    except ValueError as error:
        raise RuleError("invalid_attachments", str(error)) from None


def _targets(
    endpoint: str,
    body: JSONObject,
    recipients: list[Any] | None,
    allowed: frozenset[str],
    small: bool,
) -> tuple[list[Recipient], int]:
    if recipients is None:
        return [_audience_target(body)], 0
    checked = _check_trigger_recipients(recipients, allowed, canvas=endpoint == CANVAS, small=small)
    return checked, len(checked)


# -- the endpoints ----------------------------------------------------------------------------


def check_campaign(body: JSONObject, size: int = 0) -> Accepted:
    """``POST /campaigns/trigger/send`` (post_send_triggered_campaigns.md).

    ``size``: the length of the raw body, when known (a small body needs no measuring).
    """
    small = 0 < size <= MAX_PROPERTIES_BYTES // 2
    _check_keys(body, _CAMPAIGN_KEYS, "")
    campaign_id = _non_empty_string(body.get("campaign_id"), "invalid_campaign_id", "campaign_id")
    check_send_id(body)
    _properties(body, "trigger_properties", "", small)
    recipients = _recipient_list(body)
    _check_targeting(body, has_recipients=recipients is not None, what="recipients")
    _check_attachments(body)
    targets, explicit = _targets(CAMPAIGNS, body, recipients, _CAMPAIGN_RECIPIENT_KEYS, small)
    return Accepted(CAMPAIGNS, campaign_id, None, targets, explicit)


def check_canvas(body: JSONObject, size: int = 0) -> Accepted:
    """``POST /canvas/trigger/send`` (post_send_triggered_canvases.md)."""
    small = 0 < size <= MAX_PROPERTIES_BYTES // 2
    _check_keys(body, _CANVAS_KEYS, "")
    canvas_id = _non_empty_string(body.get("canvas_id"), "invalid_canvas_id", "canvas_id")
    _one_canvas_properties(body, "", small)
    recipients = _recipient_list(body)
    _check_targeting(body, has_recipients=recipients is not None, what="recipients")
    targets, explicit = _targets(CANVAS, body, recipients, _CANVAS_RECIPIENT_KEYS, small)
    return Accepted(CANVAS, None, canvas_id, targets, explicit)


def _id_list(body: JSONObject, key: str) -> list[Any] | None:
    values = body.get(key)
    if values is None:
        return None
    if type(values) is not list or not values:
        raise RuleError("invalid_recipients", f"{key} must be a non-empty array")
    return values


def _check_messages_object(messages: object) -> None:
    """``messages``: at least one channel (errors.md: "No message to send"), each an object
    (objects_filters/messaging/)."""
    if type(messages) is not dict or not messages:
        raise RuleError("invalid_messages", "messages must be a non-empty object")
    _check_keys(messages, _CHANNELS, "messages.")
    for channel, message in messages.items():
        if type(message) is not dict:
            raise RuleError("invalid_messages", "every entry of messages must be an object")
        try:
            check_channel_object(channel, message)
        except ValueError as error:
            raise RuleError(f"invalid_{channel}", str(error)) from None


def _names_a_variation(body: JSONObject) -> bool:
    """Whether a ``/messages/send`` body names a message variation. Two readings are accepted:
    errors.md ("Message Variant Unspecified": "a campaign ID but no message variation ID")
    asks for one somewhere, and each messaging object's page (objects_filters/messaging/) gives
    every message its own (the client sends it with every message, the strict reading). A
    request-level ``message_variation_id`` also counts (post_schedule_messages.md does not
    list it: a schedule create refuses it, see :func:`check_schedule_create`)."""
    if "message_variation_id" in body:
        return True
    messages = body.get("messages")
    return isinstance(messages, dict) and any(
        isinstance(message, dict) and "message_variation_id" in message
        for message in messages.values()
    )


def _check_send_options(body: JSONObject) -> None:
    """The request-level options of ``/messages/send`` (post_send_messages.md)."""
    capping = body.get("override_frequency_capping")
    # Two readings: post_send_messages.md's parameter table says "Optional | Boolean", its own
    # request example (and apple_object.md's) sends "override_frequency_capping": "false".
    # Both are accepted; the client sends the boolean.
    if capping is not None and type(capping) is not bool and capping not in ("true", "false"):
        raise RuleError(
            "invalid_override_frequency_capping", "override_frequency_capping must be a boolean"
        )
    state = body.get("recipient_subscription_state")
    if state is not None and state not in _SUBSCRIPTION_STATES:
        raise RuleError(
            "invalid_recipient_subscription_state",
            "recipient_subscription_state must be one of all, opted_in, subscribed",
        )


def check_messages(body: JSONObject, size: int = 0) -> Accepted:
    """``POST /messages/send`` (post_send_messages.md): the targeting part and ``messages``."""
    _check_keys(body, _MESSAGES_KEYS, "")
    campaign_id = body.get("campaign_id")
    if campaign_id is not None:
        _non_empty_string(campaign_id, "invalid_campaign_id", "campaign_id")
    check_send_id(body)
    if "message_variation_id" in body:
        _non_empty_string(
            body["message_variation_id"], "invalid_message_variation_id", "message_variation_id"
        )
    if "segment_id" in body:
        _non_empty_string(body["segment_id"], "invalid_segment_id", "segment_id")
    _check_messages_object(body.get("messages"))
    if campaign_id is not None and not _names_a_variation(body):
        # errors.md, "Fatal errors": "400 Message Variant Unspecified | You provide a campaign
        # ID but no message variation ID."
        raise RuleError(
            "message_variant_unspecified",
            "Message Variant Unspecified: campaign_id is given but no message_variation_id",
        )
    _check_send_options(body)
    external_ids = _id_list(body, "external_user_ids")
    aliases = _id_list(body, "user_aliases")
    named = len(external_ids or ()) + len(aliases or ())
    if named > MAX_RECIPIENTS:
        raise RuleError(
            "invalid_recipients",
            f"external_user_ids and user_aliases must name at most {MAX_RECIPIENTS} users "
            f"together, got {named}",
        )
    # "broadcast ... must be set to true if no external_user_ids or aliases are provided".
    _check_targeting(
        body,
        has_recipients=bool(named),
        what="external_user_ids or user_aliases",
        segment_by_default=False,
    )
    if not named and "segment_id" not in body and "audience" not in body:
        # And broadcast: true alone names no one: "You will need to include at least one of
        # 'segment_id', 'external_user_ids', and 'audience'" (post_send_messages.md).
        raise RuleError(
            "invalid_broadcast",
            "broadcast: true needs a segment_id or an audience on /messages/send",
        )
    targets: list[Recipient] = []
    for index, external_id in enumerate(external_ids or ()):
        key = _external_id_key(external_id, f"external_user_ids[{index}]")
        targets.append((key, {"external_user_id": external_id}))
    for index, alias in enumerate(aliases or ()):
        targets.append((_alias_key(alias, f"user_aliases[{index}]"), {"user_alias": alias}))
    explicit = len(targets)
    if not targets:
        targets.append(_audience_target(body))
    return Accepted(MESSAGES, campaign_id, None, targets, explicit)


def check_transactional(campaign_id: str, body: JSONObject, size: int = 0) -> Accepted:
    """``POST /transactional/v1/campaigns/{campaign_id}/send``: one recipient
    (post_send_transactional_message.md)."""
    small = 0 < size <= MAX_PROPERTIES_BYTES // 2
    _check_keys(body, _TRANSACTIONAL_KEYS, "")
    external_send_id = body.get("external_send_id")
    if external_send_id is not None and (
        type(external_send_id) is not str or not _EXTERNAL_SEND_ID.fullmatch(external_send_id)
    ):
        raise RuleError(
            "invalid_external_send_id",
            "external_send_id must be Base64-compatible: characters of [a-zA-Z0-9-_+/=]",
        )
    _properties(body, "trigger_properties", "", small)
    recipient = body.get("recipient")
    if type(recipient) is not dict:
        raise RuleError("invalid_recipient", "recipient must be an object")
    where = "recipient."
    _check_keys(recipient, _TRANSACTIONAL_RECIPIENT_KEYS, where)
    key = _identify(recipient, where, transactional=True)
    if "external_user_id" in recipient:
        _non_empty_string(
            recipient["external_user_id"], "invalid_external_user_id", f"{where}external_user_id"
        )
    _check_send_to_existing_only(recipient, where, strict=False)
    _check_attributes(recipient, where)
    return Accepted(TRANSACTIONAL, campaign_id, None, [(key, recipient)], 1, external_send_id)


# -- scheduled sends (endpoints/messaging/schedule_messages/) --------------------------------

SCHEDULE_CAMPAIGNS = "/campaigns/trigger/schedule"
SCHEDULE_CANVAS = "/canvas/trigger/schedule"
SCHEDULE_MESSAGES = "/messages/schedule"
SCHEDULED_BROADCASTS = "/messages/scheduled_broadcasts"
#: The send each kind of schedule mirrors ("the parameters for the campaign and Canvas
#: schedule creation endpoints mirror those of the sending endpoint and add the schedule
#: parameter", objects_filters/schedule_object.md).
SCHEDULE_SENDS = {
    SCHEDULE_CAMPAIGNS: CAMPAIGNS,
    SCHEDULE_CANVAS: CANVAS,
    SCHEDULE_MESSAGES: MESSAGES,
}
# objects_filters/schedule_object.md, "Object body".
_SCHEDULE_KEYS = frozenset({"time", "in_local_time", "at_optimal_time"})
#: UTC offsets run from -12:00 to +14:00: a wall-clock time has passed "in all time zones"
#: 12 hours after it passed in UTC, and "in any time zone" 14 hours before.
LATEST_ZONE = dt.timedelta(hours=12)
EARLIEST_ZONE = dt.timedelta(hours=14)


class ScheduleSpec(NamedTuple):
    """A valid schedule object."""

    #: ``time`` as sent.
    text: str
    #: For local or optimal time: the wall-clock time (naive), read in each user's zone;
    #: otherwise the instant (aware, UTC).
    time: dt.datetime
    in_local_time: bool
    at_optimal_time: bool

    @property
    def local(self) -> bool:
        return self.in_local_time or self.at_optimal_time

    def last_moment(self) -> dt.datetime:
        """The latest instant it names: the time, or a wall-clock time at UTC-12."""
        if self.local:
            return self.time.replace(tzinfo=dt.timezone.utc) + LATEST_ZONE
        return self.time

    def passed_everywhere(self, now: dt.datetime) -> bool:
        return self.last_moment() <= now

    def passed_somewhere(self, now: dt.datetime) -> bool:
        if self.local:
            return self.time.replace(tzinfo=dt.timezone.utc) - EARLIEST_ZONE <= now
        return self.time <= now


def check_card_expiry(messages: object, sent_at: dt.datetime) -> None:
    """A ``messages`` object's Content Card expiring more than 30 days after *sent_at* (the
    latest moment the send may leave): content_cards_object.md, ``expire_at``: "a maximum
    expiration time exists of 30 days"; "Currently, Braze supports a maximum expiration time
    of 30 days." The pages do not say in which zone a time without an offset (or one with
    ``expire_in_local_time``, "expire in users' local time") is read: the simulator reads it
    where it comes first (UTC+14), so it refuses only what is past 30 days in every reading
    (the client reads it at UTC-12, the strict reading). An ``expire_at`` in the past is not
    documented as refused. The shapes were checked before (clock-free)."""
    card = messages.get("content_card") if isinstance(messages, dict) else None
    if not isinstance(card, dict) or not isinstance(card.get("expire_at"), str):
        return
    text = card["expire_at"]
    earliest = iso_time(text)
    if earliest.tzinfo is None or card.get("expire_in_local_time") is True:
        wall = earliest.replace(tzinfo=dt.timezone.utc) - EARLIEST_ZONE
        earliest = wall if earliest.tzinfo is None else min(wall, earliest)
    if earliest > sent_at + dt.timedelta(seconds=MAX_CARD_SECONDS):
        raise RuleError(
            "invalid_content_card",
            f"messages.content_card.expire_at {text} is more than 30 days after the send "
            f"({sent_at.isoformat()}): the maximum expiration time (content_cards_object.md)",
        )


def check_schedule(value: object, now: dt.datetime) -> ScheduleSpec:
    """The schedule object (objects_filters/schedule_object.md): ``time`` required, an ISO
    8601 string "in UTC"; with local or optimal time "do not provide time zone designators"
    (the update pages' examples do: both readings are accepted, the wall-clock part is read).
    "If you set in_local_time to be true, you get an error response if the time parameter has
    passed in all time zones"; a UTC time in the past is refused too (the pages are silent:
    nothing could be sent at that time). Both flags at once are accepted (the
    post_schedule_messages.md example sends both) and read as optimal time."""
    if type(value) is not dict:
        raise RuleError("invalid_schedule", "schedule must be an object")
    _check_keys(value, _SCHEDULE_KEYS, "schedule.")
    text = _non_empty_string(value.get("time"), "invalid_schedule", "schedule.time")
    flags = []
    for key in ("in_local_time", "at_optimal_time"):
        flag = value.get(key, False)
        if type(flag) is not bool:
            raise RuleError("invalid_schedule", f"schedule.{key} must be a boolean")
        flags.append(flag)
    try:
        time = iso_time(text)
    except ValueError:
        raise RuleError("invalid_schedule", "schedule.time must be an ISO 8601 time") from None
    in_local_time, at_optimal_time = flags
    if in_local_time or at_optimal_time:
        time = time.replace(tzinfo=None)
    elif time.tzinfo is None:
        time = time.replace(tzinfo=dt.timezone.utc)
    else:
        time = time.astimezone(dt.timezone.utc)
    spec = ScheduleSpec(text, time, in_local_time, at_optimal_time)
    if spec.passed_everywhere(now):
        where = " in all time zones" if spec.local else ""
        raise RuleError("invalid_schedule", f"schedule.time has passed{where}")
    return spec


def check_schedule_create(
    endpoint: str, body: JSONObject, size: int, now: dt.datetime
) -> tuple[Accepted, ScheduleSpec]:
    """A create: the send body of the endpoint's send page plus ``schedule``
    (post_schedule_triggered_campaigns.md, post_schedule_triggered_canvases.md,
    post_schedule_messages.md). The campaign page has no ``attachments``; the messages page
    names frequency capping ``override_messaging_limits`` and has no
    ``message_variation_id``."""
    send = dict(body)
    if "schedule" not in send:
        raise RuleError("invalid_schedule", "schedule is required")
    spec = check_schedule(send.pop("schedule"), now)
    refused = {"attachments"} if endpoint == SCHEDULE_CAMPAIGNS else set()
    if endpoint == SCHEDULE_MESSAGES:
        refused = {"override_frequency_capping", "message_variation_id"}
    for key in sorted(refused & set(send)):
        raise RuleError("unknown_field", f"{key} is not a known field")
    if endpoint == SCHEDULE_MESSAGES and "override_messaging_limits" in send:
        send["override_frequency_capping"] = send.pop("override_messaging_limits")
    accepted = _CHECK_SEND[SCHEDULE_SENDS[endpoint]](send, size)
    if endpoint == SCHEDULE_MESSAGES:
        check_card_expiry(send.get("messages"), spec.last_moment())
    return accepted._replace(endpoint=f"{endpoint}/create"), spec


def _target_id(endpoint: str, body: JSONObject) -> str | None:
    """The campaign or Canvas id an update or delete names (required on their pages)."""
    key = {SCHEDULE_CAMPAIGNS: "campaign_id", SCHEDULE_CANVAS: "canvas_id"}.get(endpoint)
    if key is None:
        return None
    return _non_empty_string(body.get(key), f"invalid_{key}", key)


def check_schedule_update(
    endpoint: str, body: JSONObject, now: dt.datetime
) -> tuple[str | None, str, ScheduleSpec | None, JSONObject | None]:
    """``(campaign or Canvas id, schedule_id, schedule, messages)`` of an update. A campaign's
    or Canvas's takes ``schedule`` (required); ``/messages/schedule/update`` takes
    ``schedule``, ``messages`` or both, "at least one of those two keys"
    (post_update_scheduled_*.md)."""
    allowed = {"schedule_id", "schedule"}
    allowed |= {"messages"} if endpoint == SCHEDULE_MESSAGES else set()
    allowed |= {"campaign_id"} if endpoint == SCHEDULE_CAMPAIGNS else set()
    allowed |= {"canvas_id"} if endpoint == SCHEDULE_CANVAS else set()
    _check_keys(body, frozenset(allowed), "")
    target_id = _target_id(endpoint, body)
    schedule_id = _non_empty_string(body.get("schedule_id"), "invalid_schedule_id", "schedule_id")
    if "schedule" not in body and "messages" not in body:
        required = "schedule or messages" if endpoint == SCHEDULE_MESSAGES else "schedule"
        raise RuleError("invalid_schedule", f"{required} is required")
    spec = check_schedule(body["schedule"], now) if "schedule" in body else None
    messages = body.get("messages")
    if messages is not None:
        _check_messages_object(messages)
    return target_id, schedule_id, spec, messages


def check_schedule_delete(endpoint: str, body: JSONObject) -> tuple[str | None, str]:
    """``(campaign or Canvas id, schedule_id)`` of a delete (post_delete_scheduled_*.md)."""
    allowed = {"schedule_id"}
    allowed |= {"campaign_id"} if endpoint == SCHEDULE_CAMPAIGNS else set()
    allowed |= {"canvas_id"} if endpoint == SCHEDULE_CANVAS else set()
    _check_keys(body, frozenset(allowed), "")
    target_id = _target_id(endpoint, body)
    schedule_id = _non_empty_string(body.get("schedule_id"), "invalid_schedule_id", "schedule_id")
    return target_id, schedule_id


def check_end_time(query: dict[str, list[str]]) -> dt.datetime:
    """``end_time`` of ``GET /messages/scheduled_broadcasts`` (get_messages_scheduled.md):
    required, ISO 8601, "treated as midnight in UTC time by the API": the end is midnight
    UTC of its date."""
    values = query.get("end_time")
    if not values:
        raise RuleError("invalid_end_time", "end_time is required")
    try:
        end = iso_time(values[0])
    except ValueError:
        raise RuleError("invalid_end_time", "end_time must be an ISO 8601 time") from None
    return dt.datetime.combine(end.date(), dt.time(), tzinfo=dt.timezone.utc)


_CHECK_SEND = {CAMPAIGNS: check_campaign, CANVAS: check_canvas, MESSAGES: check_messages}
