"""The models validate themselves and the converter writes exactly Braze's JSON."""

from __future__ import annotations

import datetime
import math
from types import MappingProxyType
from typing import Any

import orjson
import pytest

from braze_async import (
    Attachment,
    BrazeValidationError,
    Recipient,
    UserAlias,
    parse_transactional_postback,
)
from braze_async._models import (
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    TransactionalSendRequest,
)
from braze_async._wire import (
    converter,
    dumps,
    structure_send_response,
    structure_transactional_response,
)


def wire(request: object) -> Any:
    return orjson.loads(dumps(request))


def test_unset_fields_are_omitted_never_null() -> None:
    """A minimal request carries only the keys that were given."""
    body = wire(
        CampaignTriggerRequest(campaign_id="c", recipients=[Recipient(external_user_id="u")])
    )
    assert body == {"campaign_id": "c", "recipients": [{"external_user_id": "u"}]}


def test_every_campaign_field_reaches_the_wire() -> None:
    """Each documented field of /campaigns/trigger/send is written under its own key."""
    request = CampaignTriggerRequest(
        campaign_id="c",
        send_id="s",
        trigger_properties={"brand": "x"},
        audience={
            "AND": [
                {"custom_attribute": {"custom_attribute_name": "eye_color", "comparison": "exists"}}
            ]
        },
        recipients=[
            Recipient(
                external_user_id="u1",
                trigger_properties={"coupon": "SAVE20"},
                send_to_existing_only=False,
                attributes={
                    "first_name": "Alex",
                    "subscription_groups": [
                        {"subscription_group_id": "g", "subscription_state": "subscribed"}
                    ],
                },
            ),
            Recipient(user_alias=UserAlias("n", "l")),
            Recipient(
                email="a@example.com", prioritization=["identified", "most_recently_updated"]
            ),
        ],
        attachments=[Attachment("invoice", "https://example.com/invoice.pdf")],
    )
    assert wire(request) == {
        "campaign_id": "c",
        "send_id": "s",
        "trigger_properties": {"brand": "x"},
        "audience": {
            "AND": [
                {"custom_attribute": {"custom_attribute_name": "eye_color", "comparison": "exists"}}
            ]
        },
        "recipients": [
            {
                "external_user_id": "u1",
                "trigger_properties": {"coupon": "SAVE20"},
                "send_to_existing_only": False,
                "attributes": {
                    "first_name": "Alex",
                    "subscription_groups": [
                        {"subscription_group_id": "g", "subscription_state": "subscribed"}
                    ],
                },
            },
            {"user_alias": {"alias_name": "n", "alias_label": "l"}},
            {"email": "a@example.com", "prioritization": ["identified", "most_recently_updated"]},
        ],
        "attachments": [{"file_name": "invoice", "url": "https://example.com/invoice.pdf"}],
    }


def test_broadcast_is_written_when_given() -> None:
    """broadcast=True goes on the wire as a JSON boolean."""
    assert wire(CampaignTriggerRequest(campaign_id="c", broadcast=True)) == {
        "campaign_id": "c",
        "broadcast": True,
    }


def test_canvas_requests_carry_context() -> None:
    """For Canvas, request-level and per-recipient properties are sent as ``context``, the
    current name (post_send_triggered_canvases.md); ``canvas_entry_properties`` is accepted
    as its older name, and the two together are refused."""
    expected = {
        "canvas_id": "cv",
        "context": {"a": 1},
        "recipients": [{"external_user_id": "u", "context": {"b": 2}}],
    }
    recipients = [Recipient(external_user_id="u", trigger_properties={"b": 2})]
    for name in ("context", "canvas_entry_properties"):
        named: dict[str, Any] = {name: {"a": 1}}
        request = CanvasTriggerRequest(canvas_id="cv", recipients=recipients, **named)
        assert wire(request) == expected
        assert request.context == request.canvas_entry_properties == {"a": 1}
    with pytest.raises(BrazeValidationError, match="older name of context"):
        CanvasTriggerRequest(
            canvas_id="cv", recipients=recipients, context={}, canvas_entry_properties={}
        )


def test_transactional_body_keeps_campaign_id_out() -> None:
    """The transactional campaign id travels in the URL; the body has the documented keys."""
    request = TransactionalSendRequest(
        campaign_id="t",
        recipient=Recipient(external_user_id="u"),
        external_send_id="order-42",
        trigger_properties={"total": 9.5},
    )
    assert wire(request) == {
        "recipient": {"external_user_id": "u"},
        "external_send_id": "order-42",
        "trigger_properties": {"total": 9.5},
    }


def test_properties_accept_datetimes_and_mapping_types() -> None:
    """Datetimes become ISO 8601 strings; read-only mappings serialize as objects."""
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    r = Recipient(external_user_id="u", trigger_properties=MappingProxyType({"at": when}))
    body = wire(CampaignTriggerRequest(campaign_id="c", recipients=[r]))
    assert body["recipients"][0]["trigger_properties"] == {"at": "2026-01-02T03:04:05+00:00"}


def test_converter_unstructures_models() -> None:
    """The one converter is the public way to see a model's wire form."""
    assert converter.unstructure(Recipient(user_alias=UserAlias("n", "l"))) == {
        "user_alias": {"alias_name": "n", "alias_label": "l"}
    }


RECIPIENT_RULES = [
    pytest.param({}, "recipient", "exactly one identifier", id="no-identifier"),
    pytest.param(
        {"external_user_id": "u", "email": "a@b.co", "prioritization": ["identified"]},
        "recipient",
        "exactly one identifier",
        id="two-identifiers",
    ),
    pytest.param({"external_user_id": ""}, "recipient.external_user_id", "empty", id="empty-id"),
    pytest.param({"external_user_id": 7}, "recipient.external_user_id", "string", id="int-id"),
    pytest.param(
        {"email": "a@b.co"}, "recipient.prioritization", "required", id="email-needs-prio"
    ),
    pytest.param(
        {"email": "not-an-email", "prioritization": ["identified"]},
        "recipient.email",
        "email address",
        id="bad-email",
    ),
    pytest.param(
        {"email": "a@b.co", "prioritization": ["whoever"]},
        "recipient.prioritization",
        "values must be among",
        id="bad-prioritization",
    ),
    pytest.param(
        {"external_user_id": "u", "prioritization": ["identified"]},
        "recipient.prioritization",
        "only allowed with an email",
        id="prio-without-email",
    ),
    pytest.param(
        {"external_user_id": "u", "send_to_existing_only": False},
        "recipient.send_to_existing_only",
        "requires an attributes object",
        id="create-needs-attributes",
    ),
    pytest.param(
        {
            "user_alias": UserAlias("n", "l"),
            "send_to_existing_only": False,
            "attributes": {"a": 1},
        },
        "recipient.send_to_existing_only",
        "user alias",
        id="alias-cannot-create",
    ),
    pytest.param(
        {"external_user_id": "u", "trigger_properties": {"x": math.nan}},
        "recipient.trigger_properties.x",
        "finite",
        id="nan-property",
    ),
    pytest.param(
        {"external_user_id": "u", "trigger_properties": {"x": [1, {"y": math.inf}]}},
        "recipient.trigger_properties.x[1].y",
        "finite",
        id="nested-infinity",
    ),
    pytest.param(
        {"external_user_id": "u", "trigger_properties": {"x": object()}},
        "recipient.trigger_properties.x",
        "JSON-serializable",
        id="object-property",
    ),
    pytest.param(
        {"external_user_id": "u", "trigger_properties": {1: "x"}},
        "recipient.trigger_properties",
        "keys must be strings",
        id="int-key",
    ),
    pytest.param(
        {"external_user_id": "u", "trigger_properties": "coupon"},
        "recipient.trigger_properties",
        "must be an object",
        id="string-properties",
    ),
    pytest.param(
        {"external_user_id": "u", "trigger_properties": {"x": "\ud800"}},
        "recipient.trigger_properties.x",
        "unicode",
        id="lone-surrogate",
    ),
    pytest.param(
        {"external_user_id": "u", "trigger_properties": {"x": 2**70}},
        "recipient.trigger_properties.x",
        "64 bits",
        id="huge-int",
    ),
    pytest.param(
        {
            "external_user_id": "u",
            "attributes": {"subscription_groups": [{"subscription_group_id": "g"}]},
        },
        "recipient.attributes.subscription_groups[0].subscription_state",
        "subscribed",
        id="subscription-state",
    ),
]


@pytest.mark.parametrize(("kwargs", "field", "rule"), RECIPIENT_RULES)
def test_recipient_rules(kwargs: dict[str, Any], field: str, rule: str) -> None:
    """A recipient that breaks a rule is refused at creation, naming field and rule."""
    with pytest.raises(BrazeValidationError) as info:
        Recipient(**kwargs)
    assert info.value.field == field
    assert rule in info.value.rule
    assert isinstance(info.value, ValueError)


def test_deep_nesting_is_refused_not_crashed() -> None:
    """Properties nested thousands deep raise a validation error, not RecursionError."""
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(5000):
        node["n"] = {}
        node = node["n"]
    with pytest.raises(BrazeValidationError, match="nests deeper"):
        Recipient(external_user_id="u", trigger_properties=deep)


def u(i: int) -> Recipient:
    return Recipient(external_user_id=f"u{i}")


REQUEST_RULES = [
    pytest.param({"campaign_id": ""}, "campaign_id", "empty", id="empty-campaign"),
    pytest.param({"campaign_id": "c"}, "broadcast", "explicitly True", id="implicit-segment"),
    pytest.param(
        {"campaign_id": "c", "broadcast": False}, "broadcast", "explicitly", id="broadcast-false"
    ),
    pytest.param(
        {"campaign_id": "c", "recipients": [u(i) for i in range(51)]},
        "recipients",
        "at most 50",
        id="51-recipients",
    ),
    pytest.param({"campaign_id": "c", "recipients": []}, "recipients", "empty", id="no-recipients"),
    pytest.param(
        {"campaign_id": "c", "broadcast": True, "recipients": [u(1)]},
        "broadcast",
        "recipients",
        id="broadcast-with-recipients",
    ),
    pytest.param(
        {
            "campaign_id": "c",
            "broadcast": True,
            "attachments": [Attachment("f", "https://x/f.pdf")],
        },
        "broadcast",
        "attachments",
        id="broadcast-with-attachments",
    ),
    pytest.param(
        {"campaign_id": "c", "recipients": [{"external_user_id": "u"}]},
        "recipients[0]",
        "must be a Recipient",
        id="dict-recipient",
    ),
    pytest.param(
        {"campaign_id": "c", "broadcast": True, "trigger_properties": {"x": math.nan}},
        "trigger_properties.x",
        "finite",
        id="nan-request-property",
    ),
    pytest.param({"campaign_id": "c", "audience": {}}, "audience", "empty", id="empty-audience"),
]


@pytest.mark.parametrize(("kwargs", "field", "rule"), REQUEST_RULES)
def test_campaign_request_rules(kwargs: dict[str, Any], field: str, rule: str) -> None:
    """A campaign request that breaks a rule is refused before anything is sent."""
    with pytest.raises(BrazeValidationError) as info:
        CampaignTriggerRequest(**kwargs)
    assert info.value.field == field
    assert rule in info.value.rule


def test_attachment_rules() -> None:
    """Attachments need a file name and an http(s) URL."""
    with pytest.raises(BrazeValidationError, match=r"attachments.file_name: must not be empty"):
        Attachment("", "https://x/f.pdf")
    with pytest.raises(BrazeValidationError, match=r"attachments.url: must be an http\(s\) URL"):
        Attachment("f", "ftp://x/f.pdf")


def test_transactional_rules() -> None:
    """Transactional sends take no email recipient and a well-formed external_send_id."""
    with pytest.raises(BrazeValidationError, match="recipient.email"):
        TransactionalSendRequest(
            campaign_id="t", recipient=Recipient(email="a@b.co", prioritization=["identified"])
        )
    with pytest.raises(BrazeValidationError, match="external_send_id"):
        TransactionalSendRequest(
            campaign_id="t", recipient=Recipient(external_user_id="u"), external_send_id="a b"
        )


def test_a_transactional_campaign_id_must_fit_in_a_url() -> None:
    """The campaign id travels in the URL path: up to 4,096 characters once URL-encoded (an
    "é" counts 6), refused beyond, naming the field, before any network call (httpx refused
    a 64 kB one on the way out, as a connection error)."""
    user = Recipient(external_user_id="u")
    TransactionalSendRequest(campaign_id="x" * 4_096, recipient=user)
    with pytest.raises(BrazeValidationError, match="campaign_id: is over 4,096 characters"):
        TransactionalSendRequest(campaign_id="x" * 4_097, recipient=user)
    with pytest.raises(BrazeValidationError, match="campaign_id"):
        TransactionalSendRequest(campaign_id="é" * 683, recipient=user)


def test_responses_tolerate_unknown_fields() -> None:
    """Unknown keys in Braze's answers are ignored; errors lists are parsed."""
    r = structure_send_response(
        {
            "dispatch_id": "d",
            "message": "success",
            "errors": [{"code": "c", "message": "m"}, "x"],
            "new_field": [1],
        },
        201,
    )
    assert r.dispatch_id == "d"
    assert [(e.code, e.message) for e in r.errors] == [("c", "m"), ("", "x")]
    t = structure_transactional_response({"dispatch_id": "s", "status": "queued", "z": 1}, 201)
    assert (t.send_id, t.status) == ("s", "queued")


def test_transactional_postback_parser() -> None:
    """Both postback shapes parse; garbage raises a validation error."""
    event = parse_transactional_postback(
        b'{"send_id": "s1", "status": "Sent", "external_send_id": "order-42", "x": 1}'
    )
    assert (event.send_id, event.status, event.external_send_id) == ("s1", "Sent", "order-42")
    assert event.extra == {"x": 1}
    newer = parse_transactional_postback(
        {"dispatch_id": "s2", "status": "Email Delivered", "metadata": {"external_send_id": "e"}}
    )
    assert (newer.send_id, newer.external_send_id) == ("s2", "e")
    with pytest.raises(BrazeValidationError, match="postback.dispatch_id"):
        parse_transactional_postback(b'{"status": "Sent"}')
    with pytest.raises(BrazeValidationError, match="not valid JSON"):
        parse_transactional_postback(b"<html>")


# -- the documented rules of the current pages --------------------------------------------------


def sized(total: int) -> dict[str, str]:
    """A properties object whose JSON is exactly ``total`` bytes (``{"x":"..."}``)."""
    return {"x": "y" * (total - len('{"x":""}'))}


def big_flat(total: int) -> dict[str, Any]:
    """Many short keys (past the hot path's shortcut) whose JSON is about ``total`` bytes."""
    return {f"k{i:05}": "v" * 90 for i in range(total // 100)}


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda p: Recipient(external_user_id="u", trigger_properties=p), id="hot-case"
        ),
        pytest.param(
            lambda p: Recipient(external_user_id="é", trigger_properties=p), id="general-walk"
        ),
        pytest.param(
            lambda p: Recipient(
                user_alias=UserAlias("n", "l"), trigger_properties=MappingProxyType(p)
            ),
            id="mapping-type",
        ),
        pytest.param(
            lambda p: CampaignTriggerRequest(campaign_id="c", broadcast=True, trigger_properties=p),
            id="campaign-request",
        ),
        pytest.param(
            lambda p: CanvasTriggerRequest(canvas_id="c", broadcast=True, context=p),
            id="canvas-context",
        ),
        pytest.param(
            lambda p: CanvasTriggerRequest(
                canvas_id="c", broadcast=True, canvas_entry_properties=p
            ),
            id="canvas-entry-properties",
        ),
        pytest.param(
            lambda p: TransactionalSendRequest(
                campaign_id="t", recipient=Recipient(external_user_id="u"), trigger_properties=p
            ),
            id="transactional",
        ),
    ],
)
def test_personalization_is_at_most_50_kb_of_json(build: Any) -> None:
    """objects_filters/trigger_properties_object.md, context_object.md and
    canvas_entry_properties_object.md: "a maximum size limit of 50 KB", measured on the JSON
    (the strict reading: 50,000 bytes), at the request level and on a recipient."""
    build(sized(50_000))
    with pytest.raises(BrazeValidationError) as info:
        build(sized(50_001))
    assert "50,001 bytes of JSON" in info.value.rule
    assert info.value.field.endswith(("trigger_properties", "context"))
    build(big_flat(49_000))
    with pytest.raises(BrazeValidationError, match="50 KB"):
        build(big_flat(60_000))


def test_the_hot_case_measures_what_it_cannot_bound() -> None:
    """A flat payload of short ASCII values skips the measure only while it is certainly
    small (16 keys of at most 256 characters); past that it is measured exactly."""
    Recipient(external_user_id="u", trigger_properties={f"k{i}": "v" * 256 for i in range(16)})
    escaped = {f"k{i}": "\x01" * 256 for i in range(16)}  # 6 bytes a character in JSON
    Recipient(external_user_id="u", trigger_properties=escaped)
    with pytest.raises(BrazeValidationError, match="50 KB"):
        Recipient(external_user_id="u", trigger_properties={"k": "\x01" * 9_000})


def test_braze_id_is_a_recipient_identifier_but_not_a_transactional_one() -> None:
    """objects_filters/recipient_object.md: "one of external_user_id, user_alias, braze_id,
    or email"; post_send_transactional_message.md: "external_user_id or user_alias"."""
    recipient = Recipient(braze_id="b1", trigger_properties={"k": 1})
    assert recipient.key == "braze_id:b1" and repr(recipient) == "Recipient(braze_id='b1', ...)"
    with pytest.raises(BrazeValidationError, match="exactly one identifier"):
        Recipient(braze_id="b1", external_user_id="u")
    with pytest.raises(BrazeValidationError, match="recipient.braze_id: must not be empty"):
        Recipient(braze_id="")
    with pytest.raises(BrazeValidationError) as info:
        TransactionalSendRequest(campaign_id="t", recipient=Recipient(braze_id="b1"))
    assert info.value.field == "recipient.braze_id"


def test_external_send_id_has_brazes_regex_and_no_length_cap() -> None:
    """post_send_transactional_message.md gives ``/^[a-zA-Z0-9-_+\\/=]+$/`` and no length:
    a 200-character id is sent (the 64-character cap came from no page)."""
    long_id = "A-_+/=9" * 30
    request = TransactionalSendRequest(
        campaign_id="t", recipient=Recipient(external_user_id="u"), external_send_id=long_id
    )
    assert wire(request)["external_send_id"] == long_id
    with pytest.raises(BrazeValidationError, match="Base64-compatible"):
        TransactionalSendRequest(
            campaign_id="t", recipient=Recipient(external_user_id="u"), external_send_id="a.b"
        )


def test_an_audience_send_without_recipients_carries_broadcast_true() -> None:
    """The campaign and Canvas pages: broadcast "must be set to true if recipients is
    omitted"; an audience send is written so, and broadcast=False there is refused."""
    campaign = CampaignTriggerRequest(
        campaign_id="c",
        audience={
            "AND": [
                {"custom_attribute": {"custom_attribute_name": "eye_color", "comparison": "exists"}}
            ]
        },
    )
    assert campaign.broadcast is True and campaign.targets_audience
    with pytest.raises(BrazeValidationError, match="attachments"):
        CampaignTriggerRequest(
            campaign_id="c",
            audience={
                "AND": [
                    {
                        "custom_attribute": {
                            "custom_attribute_name": "eye_color",
                            "comparison": "exists",
                        }
                    }
                ]
            },
            attachments=[Attachment("f", "https://x/f.pdf")],
        )
    with_recipients = CampaignTriggerRequest(
        campaign_id="c",
        audience={
            "AND": [
                {"custom_attribute": {"custom_attribute_name": "eye_color", "comparison": "exists"}}
            ]
        },
        recipients=[u(1)],
    )
    assert with_recipients.broadcast is None and not with_recipients.targets_audience
