"""Every documented request rule: valid sends are accepted, each broken rule has its code.

The rules are Braze's pages' (paths under ``_docs/_api/`` of braze-inc/braze-docs); where
the pages contradict themselves both readings are accepted (see ``_rules.py``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from simulator_support import CAMPAIGNS, CANVAS, MESSAGES, MSG, TRANSACTIONAL, campaign

pytest_plugins = ["simulator_fixtures"]
pytestmark = pytest.mark.anyio

ALIAS = {"alias_name": "n", "alias_label": "l"}
EMAIL = {"email": "a@b.co", "prioritization": ["identified"]}


def custom(name: str, comparison: str, *value: Any) -> dict[str, Any]:
    """A custom attribute filter (objects_filters/connected_audience.md)."""
    body = {"custom_attribute_name": name, "comparison": comparison}
    return {"custom_attribute": {**body, **({"value": value[0]} if value else {})}}


BLUE = custom("eye_color", "equals", "blue")


def canvas(**extra: Any) -> dict[str, Any]:
    return {"canvas_id": "canv-1", "recipients": [{"external_user_id": "u0"}], **extra}


def messages(**extra: Any) -> dict[str, Any]:
    return {"external_user_ids": ["u0"], "messages": MSG, **extra}


def tx(**extra: Any) -> dict[str, Any]:
    return {"recipient": {"external_user_id": "u0"}, **extra}


def with_recipient(body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**body, "recipients": [fields]}


VALID = [
    pytest.param(CAMPAIGNS, campaign(), id="campaign-external-id"),
    pytest.param(CAMPAIGNS, campaign(50), id="campaign-50-recipients"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), user_alias=ALIAS), id="campaign-alias"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), **EMAIL), id="campaign-email"),
    pytest.param(
        CAMPAIGNS,
        with_recipient(
            campaign(),
            external_user_id="u",
            send_to_existing_only=False,
            attributes={"first_name": "A", "subscription_groups": [{"subscription_group_id": "g"}]},
            trigger_properties={"k": None},
        ),
        id="campaign-create-user-with-attributes",
    ),
    pytest.param(
        CAMPAIGNS,
        with_recipient(campaign(), user_alias=ALIAS, send_to_existing_only=True),
        id="campaign-alias-existing-only-true",
    ),
    pytest.param(
        CAMPAIGNS,
        campaign(send_id="s1", trigger_properties={"a": 1}, broadcast=False),
        id="campaign-send-id-and-properties",
    ),
    pytest.param(
        CAMPAIGNS,
        campaign(attachments=[{"file_name": "f", "url": "https://x/f.pdf"}]),
        id="campaign-attachments",
    ),
    pytest.param(CAMPAIGNS, {"campaign_id": "c", "broadcast": True}, id="campaign-broadcast"),
    pytest.param(CAMPAIGNS, {"campaign_id": "c", "audience": BLUE}, id="campaign-audience"),
    pytest.param(CAMPAIGNS, campaign(audience=BLUE), id="campaign-audience-recipients"),
    pytest.param(
        CAMPAIGNS,
        {
            "campaign_id": "c",
            "audience": {
                "AND": [
                    BLUE,
                    {
                        "OR": [
                            {"push_subscription_status": {"comparison": "is", "value": "opted_in"}},
                            {
                                "last_used_app": {
                                    "comparison": "after",
                                    "value": "2019-07-22T13:17:55+0000",
                                }
                            },
                        ]
                    },
                    custom("last_purchase_time", "less_than_x_days_ago", 2),
                    custom("favorite_foods", "includes_value", "pizza"),
                    custom("vip", "exists"),
                ]
            },
        },
        id="campaign-audience-nested",
    ),
    pytest.param(CANVAS, canvas(), id="canvas-external-id"),
    pytest.param(
        CANVAS,
        with_recipient(canvas(), external_user_id="u", canvas_entry_properties={"a": 1}),
        id="canvas-recipient-entry-properties",
    ),
    pytest.param(
        CANVAS,
        with_recipient(canvas(), external_user_id="u", trigger_properties={"a": 1}),
        id="canvas-recipient-legacy-trigger-properties",
    ),
    pytest.param(CANVAS, canvas(canvas_entry_properties={"a": 1}), id="canvas-entry-properties"),
    pytest.param(CANVAS, canvas(trigger_properties={"a": 1}), id="canvas-legacy-properties"),
    pytest.param(CANVAS, {"canvas_id": "c", "broadcast": True}, id="canvas-broadcast"),
    pytest.param(MESSAGES, messages(), id="messages-external-ids"),
    pytest.param(
        MESSAGES,
        messages(
            external_user_ids=["u"] * 49,
            user_aliases=[ALIAS],
            campaign_id="c",
            message_variation_id="v",
            send_id="s",
        ),
        id="messages-ids-aliases-campaign",
    ),
    # -- both readings of the pages (see _rules.py) --
    pytest.param(
        CAMPAIGNS,
        with_recipient(campaign(), external_user_id=12345),
        id="external-id-number-as-recorded",
    ),
    pytest.param(MESSAGES, messages(external_user_ids=[1]), id="messages-external-id-number"),
    pytest.param(CAMPAIGNS, {"campaign_id": "c"}, id="no-broadcast-is-the-whole-segment"),
    pytest.param(CANVAS, {"canvas_id": "c"}, id="canvas-no-broadcast-is-the-whole-segment"),
    pytest.param(
        MESSAGES,
        messages(override_frequency_capping="false"),
        id="messages-frequency-capping-string",
    ),
    pytest.param(
        CAMPAIGNS, campaign(trigger_properties={"x": "y" * 51_000}), id="trigger-properties-50-kib"
    ),
    # -- identifiers and names of the current pages --
    pytest.param(CAMPAIGNS, with_recipient(campaign(), braze_id="b1"), id="campaign-braze-id"),
    pytest.param(
        CANVAS,
        with_recipient(canvas(), braze_id="b1", context={"a": 1}),
        id="canvas-braze-id-context",
    ),
    pytest.param(CANVAS, canvas(context={"a": 1}), id="canvas-context"),
    pytest.param(TRANSACTIONAL, tx(external_send_id="a" * 200), id="transactional-long-send-id"),
    pytest.param(
        MESSAGES,
        {"segment_id": "seg", "messages": MSG, "override_frequency_capping": True},
        id="messages-segment",
    ),
    pytest.param(
        MESSAGES,
        {
            "broadcast": True,
            "segment_id": "seg",
            "messages": MSG,
            "recipient_subscription_state": "all",
        },
        id="messages-broadcast",
    ),
    pytest.param(TRANSACTIONAL, tx(), id="transactional-external-id"),
    pytest.param(
        TRANSACTIONAL,
        {
            "recipient": {"user_alias": ALIAS},
            "external_send_id": "aZ9-_+/=",
            "trigger_properties": {},
        },
        id="transactional-alias-and-send-id",
    ),
    pytest.param(
        TRANSACTIONAL,
        tx(recipient={"external_user_id": "u", "send_to_existing_only": False}),
        id="transactional-create-user-without-attributes",
    ),
    pytest.param("/v2/transactional/campaigns/tx-1/send", tx(), id="transactional-legacy-path"),
    pytest.param("/v2/transactional/campaigns/tx-1/send/", tx(), id="transactional-trailing-slash"),
]


@pytest.mark.parametrize(("path", "body"), VALID)
async def test_valid_send_is_accepted(client: httpx.AsyncClient, path: str, body: Any) -> None:
    """A request following every rule is answered 201 with a fresh id: ``message`` success
    (errors.md), or the transactional shape (post_send_transactional_message.md)."""
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    if "transactional" in path:
        assert answer["status"] == "queued" and isinstance(answer["metadata"], dict)
    else:
        assert answer["message"] == "success"
    identifier = answer["dispatch_id"]
    assert len(identifier) == 32
    int(identifier, 16)


INVALID = [
    # -- top level, campaigns
    pytest.param(CAMPAIGNS, {"recipients": [{"external_user_id": "u"}]}, "invalid_campaign_id",
                 id="campaign-id-missing"),
    pytest.param(CAMPAIGNS, campaign(campaign_id=""), "invalid_campaign_id",
                 id="campaign-id-empty"),
    pytest.param(CAMPAIGNS, campaign(campaign_id=7), "invalid_campaign_id",
                 id="campaign-id-number"),
    pytest.param(CAMPAIGNS, campaign(api_key="k"), "unknown_field", id="unknown-top-field"),
    pytest.param(CAMPAIGNS, campaign(send_id=None), "null_value", id="null-top-field"),
    pytest.param(CAMPAIGNS, campaign(send_id=""), "invalid_send_id", id="send-id-empty"),
    pytest.param(CAMPAIGNS, campaign(trigger_properties=[]), "invalid_trigger_properties",
                 id="trigger-properties-array"),
    pytest.param(CAMPAIGNS, campaign(trigger_properties=""), "invalid_trigger_properties",
                 id="trigger-properties-string"),
    # -- the recipients array
    pytest.param(CAMPAIGNS, campaign(recipients={}), "invalid_recipients", id="recipients-object"),
    pytest.param(CAMPAIGNS, campaign(recipients=[]), "invalid_recipients", id="recipients-empty"),
    pytest.param(CAMPAIGNS, campaign(51), "invalid_recipients", id="recipients-51"),
    pytest.param(CAMPAIGNS, campaign(recipients=["u1"]), "invalid_recipients",
                 id="recipient-not-object"),
    # -- one recipient
    pytest.param(CAMPAIGNS, with_recipient(campaign(), trigger_properties={}),
                 "invalid_recipients", id="recipient-no-identifier"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), external_user_id="u", user_alias=ALIAS),
                 "invalid_recipients", id="recipient-two-identifiers"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), external_user_id="u", **EMAIL),
                 "invalid_recipients", id="recipient-id-and-email"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), external_user_id=""),
                 "invalid_external_user_id", id="external-id-empty"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), external_user_id=1.5),
                 "invalid_external_user_id", id="external-id-float"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), external_user_id=True),
                 "invalid_external_user_id", id="external-id-boolean"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), braze_id=""), "invalid_braze_id",
                 id="braze-id-empty"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), braze_id="b", external_user_id="u"),
                 "invalid_recipients", id="braze-id-and-external-id"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), user_alias="n/l"), "invalid_user_alias",
                 id="alias-string"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), user_alias={"alias_name": "n"}),
                 "invalid_user_alias", id="alias-no-label"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), user_alias={**ALIAS, "alias_name": ""}),
                 "invalid_user_alias", id="alias-empty-name"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), user_alias={**ALIAS, "x": "y"}),
                 "unknown_field", id="alias-unknown-field"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), email="ab.co", prioritization=["a"]),
                 "invalid_email", id="email-without-at"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), email=["a@b"], prioritization=["a"]),
                 "invalid_email", id="email-not-string"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), email="a@b.co"), "invalid_prioritization",
                 id="email-without-prioritization"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), email="a@b.co", prioritization=[]),
                 "invalid_prioritization", id="prioritization-empty"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), email="a@b.co", prioritization=[1]),
                 "invalid_prioritization", id="prioritization-not-strings"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), email="a@b.co", prioritization=["x"]),
                 "invalid_prioritization", id="prioritization-undocumented-value"),
    pytest.param(CAMPAIGNS,
                 with_recipient(campaign(), email="a@b.co",
                                prioritization=["identified", "unidentified"]),
                 "invalid_prioritization", id="prioritization-identified-and-unidentified"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), external_user_id="u", prioritization=["a"]),
                 "invalid_prioritization", id="prioritization-without-email"),
    pytest.param(CAMPAIGNS,
                 with_recipient(campaign(), external_user_id="u", send_to_existing_only="no"),
                 "invalid_send_to_existing_only", id="existing-only-not-boolean"),
    pytest.param(CAMPAIGNS,
                 with_recipient(campaign(), external_user_id="u", send_to_existing_only=False),
                 "invalid_send_to_existing_only", id="existing-only-false-without-attributes"),
    pytest.param(CAMPAIGNS,
                 with_recipient(campaign(), user_alias=ALIAS, send_to_existing_only=False,
                                attributes={"a": 1}),
                 "invalid_send_to_existing_only", id="existing-only-false-with-alias"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), external_user_id="u", attributes=[]),
                 "invalid_attributes", id="attributes-array"),
    pytest.param(CAMPAIGNS,
                 with_recipient(campaign(), external_user_id="u",
                                attributes={"subscription_groups": {"id": "g"}}),
                 "invalid_attributes", id="subscription-groups-object"),
    pytest.param(CAMPAIGNS,
                 with_recipient(campaign(), external_user_id="u", trigger_properties=[1]),
                 "invalid_trigger_properties", id="recipient-trigger-properties-array"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), external_user_id="u", extra=1),
                 "unknown_field", id="recipient-unknown-field"),
    pytest.param(CAMPAIGNS, with_recipient(campaign(), external_user_id="u", attributes=None),
                 "null_value", id="recipient-null-field"),
    pytest.param(CAMPAIGNS,
                 with_recipient(campaign(), external_user_id="u", canvas_entry_properties={}),
                 "unknown_field", id="campaign-recipient-canvas-entry-properties"),
    # -- targeting
    pytest.param(CAMPAIGNS, campaign(broadcast="true"), "invalid_broadcast",
                 id="broadcast-string"),
    pytest.param(CAMPAIGNS, campaign(broadcast=True), "invalid_broadcast",
                 id="broadcast-with-recipients"),
    pytest.param(CAMPAIGNS,
                 {"campaign_id": "c", "broadcast": True,
                  "attachments": [{"file_name": "f", "url": "u"}]},
                 "invalid_broadcast", id="broadcast-with-attachments"),
    pytest.param(CAMPAIGNS, campaign(trigger_properties={"x": "y" * 52_000}),
                 "invalid_trigger_properties", id="trigger-properties-over-50-kib"),
    pytest.param(CAMPAIGNS,
                 with_recipient(campaign(), external_user_id="u",
                                trigger_properties={"x": "y" * 52_000}),
                 "invalid_trigger_properties", id="recipient-trigger-properties-over-50-kib"),
    pytest.param(CAMPAIGNS, {"campaign_id": "c", "broadcast": False}, "invalid_broadcast",
                 id="broadcast-false-no-target"),
    pytest.param(CAMPAIGNS, {"campaign_id": "c", "broadcast": False, "audience": BLUE},
                 "invalid_broadcast", id="broadcast-false-audience-no-recipients"),
    pytest.param(MESSAGES, {"segment_id": "s", "broadcast": False,
                            "messages": MSG},
                 "invalid_broadcast", id="broadcast-false-segment"),
    pytest.param(CAMPAIGNS, {"campaign_id": "c", "audience": []}, "invalid_audience",
                 id="audience-array"),
    pytest.param(CAMPAIGNS, {"campaign_id": "c", "audience": {}}, "invalid_audience",
                 id="audience-empty"),
    *(
        pytest.param(CAMPAIGNS, {"campaign_id": "c", "audience": audience}, "invalid_audience",
                     id=f"audience-{name}")
        for name, audience in [
            ("and-empty", {"AND": []}),
            ("or-object", {"OR": BLUE}),
            ("two-keys", {**BLUE, "last_used_app": {"comparison": "after",
                                                   "value": "2020-01-01T00:00:00Z"}}),
            ("unknown-filter", {"segment": {"id": "s"}}),
            ("unknown-comparison", custom("eye_color", "contains", "b")),
            ("greater-than-string", custom("age", "greater_than", "3")),
            ("days-ago-string", custom("t", "less_than_x_days_ago", "2")),
            ("after-not-iso", custom("t", "after", "yesterday")),
            ("after-bad-date", custom("t", "after", "2020-02-30T00:00:00Z")),
            ("regex-number", custom("name", "matches_regex", 1)),
            ("does-not-equal-string", custom("vip", "does_not_equal", "yes")),
            ("value-missing", custom("eye_color", "equals")),
            ("exists-object-value", custom("vip", "exists", {"a": 1})),
            ("name-empty", custom("", "exists")),
            ("filter-extra-field", {"custom_attribute": {**BLUE["custom_attribute"], "x": 1}}),
            ("push-bad-value", {"push_subscription_status": {"comparison": "is",
                                                             "value": "yes"}}),
            ("email-bad-comparison", {"email_subscription_status": {"comparison": "equals",
                                                                    "value": "opted_in"}}),
            ("last-used-app-number", {"last_used_app": {"comparison": "after", "value": 1}}),
            ("nested-invalid", {"AND": [BLUE, {"OR": [custom("a", "before", 3)]}]}),
        ]
    ),
    # -- attachments
    pytest.param(CAMPAIGNS, campaign(attachments={}), "invalid_attachments",
                 id="attachments-object"),
    pytest.param(CAMPAIGNS, campaign(attachments=["f.pdf"]), "invalid_attachments",
                 id="attachment-string"),
    pytest.param(CAMPAIGNS, campaign(attachments=[{"file_name": "f"}]), "invalid_attachments",
                 id="attachment-no-url"),
    pytest.param(CAMPAIGNS, campaign(attachments=[{"file_name": "", "url": "u"}]),
                 "invalid_attachments", id="attachment-empty-name"),
    pytest.param(CAMPAIGNS, campaign(attachments=[{"file_name": "f", "url": "u", "x": 1}]),
                 "invalid_attachments", id="attachment-unknown-field"),
    # -- canvas
    pytest.param(CANVAS, {"recipients": [{"external_user_id": "u"}]}, "invalid_canvas_id",
                 id="canvas-id-missing"),
    pytest.param(CANVAS, canvas(campaign_id="c"), "unknown_field", id="canvas-campaign-id"),
    pytest.param(CANVAS, canvas(send_id="s"), "unknown_field", id="canvas-send-id"),
    pytest.param(CANVAS, canvas(attachments=[]), "unknown_field", id="canvas-attachments"),
    pytest.param(CANVAS, canvas(canvas_entry_properties=[]), "invalid_canvas_entry_properties",
                 id="canvas-entry-properties-array"),
    pytest.param(CANVAS, canvas(canvas_entry_properties={}, trigger_properties={}),
                 "invalid_context", id="canvas-both-property-names"),
    pytest.param(CANVAS, canvas(context={}, canvas_entry_properties={}),
                 "invalid_context", id="canvas-context-and-older-name"),
    pytest.param(CANVAS,
                 with_recipient(canvas(), external_user_id="u", canvas_entry_properties={},
                                trigger_properties={}),
                 "invalid_context", id="canvas-recipient-both-property-names"),
    pytest.param(CANVAS, canvas(context=[]), "invalid_context", id="canvas-context-array"),
    pytest.param(CANVAS, canvas(context={"x": "y" * 52_000}), "invalid_context",
                 id="canvas-context-over-50-kib"),
    pytest.param(CANVAS,
                 with_recipient(canvas(), external_user_id="u", context={"x": "y" * 52_000}),
                 "invalid_context", id="canvas-recipient-context-over-50-kib"),
    pytest.param(CANVAS,
                 with_recipient(canvas(), external_user_id="u", canvas_entry_properties="x"),
                 "invalid_canvas_entry_properties", id="canvas-recipient-properties-string"),
    pytest.param(CANVAS, canvas(recipients=[{"external_user_id": "u"}] * 51),
                 "invalid_recipients", id="canvas-recipients-51"),
    pytest.param(CANVAS, {"canvas_id": "c", "broadcast": False}, "invalid_broadcast",
                 id="canvas-broadcast-false-no-target"),
    # -- /messages/send
    pytest.param(MESSAGES, {"external_user_ids": ["u"]}, "invalid_messages", id="messages-missing"),
    pytest.param(MESSAGES, messages(messages={}), "invalid_messages", id="messages-empty"),
    pytest.param(MESSAGES, messages(messages={"sms": "hi"}), "invalid_messages",
                 id="messages-entry-string"),
    pytest.param(MESSAGES, messages(external_user_ids=["u"] * 51), "invalid_recipients",
                 id="messages-51-external-ids"),
    pytest.param(MESSAGES, messages(external_user_ids=["u"] * 50, user_aliases=[ALIAS]),
                 "invalid_recipients", id="messages-51-ids-and-aliases"),
    pytest.param(MESSAGES, messages(messages={"fax": {}}), "unknown_field",
                 id="messages-unknown-channel"),
    pytest.param(MESSAGES, messages(external_user_ids=[]), "invalid_recipients",
                 id="messages-external-ids-empty"),
    pytest.param(MESSAGES, messages(external_user_ids=[""]), "invalid_external_user_id",
                 id="messages-external-id-empty"),
    pytest.param(MESSAGES, messages(user_aliases=[{"alias_name": "n"}]), "invalid_user_alias",
                 id="messages-alias-no-label"),
    pytest.param(MESSAGES, messages(segment_id=""), "invalid_segment_id", id="segment-id-empty"),
    pytest.param(MESSAGES, messages(campaign_id=""), "invalid_campaign_id",
                 id="messages-campaign-id-empty"),
    pytest.param(MESSAGES, messages(broadcast=True), "invalid_broadcast",
                 id="messages-broadcast-with-ids"),
    pytest.param(MESSAGES, {"messages": MSG}, "invalid_broadcast",
                 id="messages-no-target"),
    pytest.param(MESSAGES, {"broadcast": True, "messages": MSG}, "invalid_broadcast",
                 id="messages-broadcast-no-target"),
    pytest.param(MESSAGES, messages(recipients=[]), "unknown_field", id="messages-recipients"),
    pytest.param(MESSAGES, messages(recipient_subscription_state="maybe"),
                 "invalid_recipient_subscription_state", id="messages-subscription-state"),
    pytest.param(MESSAGES, messages(override_frequency_capping="yes"),
                 "invalid_override_frequency_capping", id="messages-frequency-capping"),
    # -- transactional
    pytest.param(TRANSACTIONAL, {}, "invalid_recipient", id="tx-recipient-missing"),
    pytest.param(TRANSACTIONAL, tx(recipient=[{"external_user_id": "u"}]), "invalid_recipient",
                 id="tx-recipient-array"),
    pytest.param(TRANSACTIONAL, tx(recipient={"external_user_id": "u", "user_alias": ALIAS}),
                 "invalid_recipient", id="tx-two-identifiers"),
    pytest.param(TRANSACTIONAL, tx(recipient={"send_to_existing_only": True}),
                 "invalid_recipient", id="tx-no-identifier"),
    pytest.param(TRANSACTIONAL, tx(recipient={"email": "a@b.co"}), "unknown_field",
                 id="tx-email"),
    pytest.param(TRANSACTIONAL, tx(recipients=[{"external_user_id": "u"}]), "unknown_field",
                 id="tx-recipients-array"),
    pytest.param(TRANSACTIONAL, tx(external_send_id="a b"), "invalid_external_send_id",
                 id="tx-send-id-space"),
    pytest.param(TRANSACTIONAL, tx(recipient={"braze_id": "b"}), "unknown_field",
                 id="tx-braze-id"),
    pytest.param(TRANSACTIONAL, tx(recipient={"external_user_id": 5}),
                 "invalid_external_user_id", id="tx-external-id-number"),
    pytest.param(TRANSACTIONAL, tx(trigger_properties={"x": "y" * 52_000}),
                 "invalid_trigger_properties", id="tx-trigger-properties-over-50-kib"),
    pytest.param(TRANSACTIONAL, tx(external_send_id=""), "invalid_external_send_id",
                 id="tx-send-id-empty"),
    pytest.param(TRANSACTIONAL, tx(external_send_id=5), "invalid_external_send_id",
                 id="tx-send-id-number"),
    pytest.param(TRANSACTIONAL, tx(trigger_properties=[]), "invalid_trigger_properties",
                 id="tx-trigger-properties-array"),
    pytest.param(TRANSACTIONAL, tx(external_send_id=None), "null_value", id="tx-null"),
    pytest.param(TRANSACTIONAL,
                 tx(recipient={"external_user_id": "u", "send_to_existing_only": 0}),
                 "invalid_send_to_existing_only", id="tx-existing-only-number"),
    pytest.param(TRANSACTIONAL, tx(recipient={"external_user_id": "u", "attributes": "a"}),
                 "invalid_attributes", id="tx-attributes-string"),
    pytest.param(TRANSACTIONAL, tx(recipient={"external_user_id": "u", "prioritization": []}),
                 "unknown_field", id="tx-prioritization"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "code"), INVALID)
async def test_broken_rule_is_refused(
    client: httpx.AsyncClient, sim: Any, path: str, body: Any, code: str
) -> None:
    """A request breaking one rule is answered 400 with Braze's error shape and its code."""
    response = await client.post(path, json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert set(answer) == {"message", "errors"}
    assert isinstance(answer["message"], str)
    assert answer["message"]
    [error] = answer["errors"]
    assert error["code"] == code, error
    assert error["message"]
    assert sim.delivered() == []
    assert sim.stats.rejected_400 == 1


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{", id="truncated"),
        pytest.param(b'{"campaign_id": NaN}', id="nan"),
        pytest.param(b'{"campaign_id": "c", "x": Infinity}', id="infinity"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'"text"', id="string"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
async def test_body_must_be_a_json_object(client: httpx.AsyncClient, content: bytes) -> None:
    """Anything but a strict JSON object (NaN and Infinity included) is invalid_json."""
    response = await client.post(
        CAMPAIGNS, content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_json"


async def test_content_type_must_be_json(client: httpx.AsyncClient) -> None:
    """A JSON body sent with another Content-Type is refused (415): Braze documents the
    header."""
    response = await client.post(
        CAMPAIGNS, content=b'{"campaign_id": "c"}', headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["code"] == "invalid_content_type"


async def test_charset_parameter_is_accepted(client: httpx.AsyncClient) -> None:
    """``application/json; charset=utf-8`` is still JSON."""
    response = await client.post(
        CAMPAIGNS,
        content=b'{"campaign_id": "c", "broadcast": true}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("POST", "/campaigns/trigger/sendx", 404, id="unknown-path"),
        pytest.param("POST", "/transactional/v1/campaigns//send", 404, id="empty-campaign-id"),
        pytest.param("POST", "/transactional/v1/campaigns/a/b/send", 404, id="slash-in-id"),
        pytest.param("GET", CAMPAIGNS, 405, id="get"),
        pytest.param("PUT", TRANSACTIONAL, 405, id="put-transactional"),
    ],
)
async def test_unknown_route(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    """Unknown paths are 404 and other methods 405, in Braze's error shape."""
    response = await client.request(method, path, json={})
    assert response.status_code == status
    assert response.json()["errors"][0]["code"] in {"not_found", "method_not_allowed"}
