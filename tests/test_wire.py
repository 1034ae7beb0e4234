"""The converter writes Braze's JSON byte for byte, and reads any answer without failing."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from braze_async import (
    ApplePush,
    Attachment,
    EmailMessage,
    ErrorDetail,
    Messages,
    Recipient,
    SendResponse,
    TransactionalResponse,
    UserAlias,
)
from braze_async._messages import MessagesSendRequest
from braze_async._models import (
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    TransactionalSendRequest,
)
from braze_async._wire import (
    canvas_recipient_fields,
    converter,
    dumps,
    recipient_fields,
    structure_send_response,
    structure_transactional_response,
)

#: A whole SMS object (sms_object.md: subscription_group_id, body and app_id are required).
SMS_X: dict[str, Any] = {"subscription_group_id": "g", "body": "x", "app_id": "a"}

WIRE_BYTES = [
    pytest.param(
        CampaignTriggerRequest(
            campaign_id="c",
            trigger_properties={"brand": "x"},
            recipients=[
                Recipient(external_user_id="u1", trigger_properties={"coupon": "SAVE20", "n": 1}),
                Recipient(external_user_id="u2"),
            ],
        ),
        b'{"campaign_id":"c","trigger_properties":{"brand":"x"},"recipients":'
        b'[{"external_user_id":"u1","trigger_properties":{"coupon":"SAVE20","n":1}},'
        b'{"external_user_id":"u2"}]}',
        id="campaign-hot-case",
    ),
    pytest.param(
        CampaignTriggerRequest(
            campaign_id="c",
            send_id="s",
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
            recipients=[
                Recipient(
                    external_user_id="u1",
                    trigger_properties={"coupon": "SAVE20"},
                    send_to_existing_only=False,
                    attributes={"first_name": "Alex"},
                ),
                Recipient(user_alias=UserAlias("n", "l"), send_to_existing_only=True),
                Recipient(email="a@example.com", prioritization=("identified",)),
            ],
            attachments=[Attachment("invoice", "https://example.com/invoice.pdf")],
        ),
        b'{"campaign_id":"c","send_id":"s","audience":{"AND":[{"custom_attribute":'
        b'{"custom_attribute_name":"eye_color","comparison":"exists"}}]},"recipients":[{"external_user_id":"u1",'
        b'"trigger_properties":{"coupon":"SAVE20"},"send_to_existing_only":false,'
        b'"attributes":{"first_name":"Alex"}},{"user_alias":{"alias_name":"n",'
        b'"alias_label":"l"},"send_to_existing_only":true},{"email":"a@example.com",'
        b'"prioritization":["identified"]}],"attachments":[{"file_name":"invoice",'
        b'"url":"https://example.com/invoice.pdf"}]}',
        id="campaign-every-field",
    ),
    pytest.param(
        CampaignTriggerRequest(campaign_id="c", broadcast=True),
        b'{"campaign_id":"c","broadcast":true}',
        id="campaign-broadcast",
    ),
    pytest.param(
        CanvasTriggerRequest(
            canvas_id="cv",
            canvas_entry_properties={"a": 1},
            recipients=[
                Recipient(external_user_id="u", trigger_properties={"b": 2}),
                Recipient(
                    user_alias=UserAlias("n", "l"),
                    trigger_properties={"c": 3},
                    attributes={"d": 4},
                ),
            ],
        ),
        b'{"canvas_id":"cv","context":{"a":1},"recipients":'
        b'[{"external_user_id":"u","context":{"b":2}},'
        b'{"user_alias":{"alias_name":"n","alias_label":"l"},'
        b'"context":{"c":3},"attributes":{"d":4}}]}',
        id="canvas",
    ),
    pytest.param(
        CanvasTriggerRequest(
            canvas_id="cv",
            audience={
                "OR": [{"push_subscription_status": {"comparison": "is", "value": "opted_in"}}]
            },
        ),
        b'{"canvas_id":"cv","broadcast":true,"audience":{"OR":[{"push_subscription_status":'
        b'{"comparison":"is","value":"opted_in"}}]}}',
        id="canvas-audience-is-a-broadcast",
    ),
    pytest.param(
        CampaignTriggerRequest(
            campaign_id="c", recipients=[Recipient(braze_id="b1", trigger_properties={"k": 1})]
        ),
        b'{"campaign_id":"c","recipients":[{"braze_id":"b1","trigger_properties":{"k":1}}]}',
        id="campaign-braze-id",
    ),
    pytest.param(
        MessagesSendRequest(
            external_user_ids=["u1"],
            user_aliases=[UserAlias("n", "l")],
            campaign_id="c",
            message_variation_id="v",
            recipient_subscription_state="all",
            messages=Messages(
                email=EmailMessage(app_id="a", from_="Shop <s@example.com>", body="<p>Hi</p>"),
                apple_push=ApplePush(content_available=True),
                web_push={"alert": "hi", "title": "t"},
            ),
        ),
        b'{"messages":{"apple_push":{"content-available":true},"email":{"app_id":"a",'
        b'"from":"Shop <s@example.com>","body":"<p>Hi</p>"},"web_push":{"alert":"hi",'
        b'"title":"t"}},"external_user_ids":["u1"],"user_aliases":[{"alias_name":"n",'
        b'"alias_label":"l"}],"campaign_id":"c","message_variation_id":"v",'
        b'"recipient_subscription_state":"all"}',
        id="messages",
    ),
    pytest.param(
        MessagesSendRequest(segment_id="s", messages=Messages(sms=SMS_X)),
        b'{"messages":{"sms":{"subscription_group_id":"g","body":"x","app_id":"a"}},'
        b'"broadcast":true,"segment_id":"s"}',
        id="messages-segment-is-a-broadcast",
    ),
    pytest.param(
        TransactionalSendRequest(
            campaign_id="t",
            recipient=Recipient(user_alias=UserAlias("n", "l")),
            external_send_id="order-42",
            trigger_properties={"total": 9.5},
        ),
        b'{"recipient":{"user_alias":{"alias_name":"n","alias_label":"l"}},'
        b'"external_send_id":"order-42","trigger_properties":{"total":9.5}}',
        id="transactional",
    ),
]


@pytest.mark.parametrize(("request_", "expected"), WIRE_BYTES)
def test_requests_are_written_byte_for_byte(request_: object, expected: bytes) -> None:
    """Keys in declaration order, unset ones left out, no whitespace."""
    assert dumps(request_) == expected


# Every field of Recipient, each set and unset, with each identifier kind; the model
# refuses the invalid combinations and hypothesis draws again.
json_scalars = st.one_of(st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=5))
properties = st.dictionaries(st.text(max_size=5), json_scalars, max_size=3)
RECIPIENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "external_user_id": st.text(min_size=1, max_size=8),
    "user_alias": st.builds(UserAlias, st.text(min_size=1, max_size=4), st.just("crm")),
    "braze_id": st.text(min_size=1, max_size=8),
    "email": st.just("a@example.com"),
    "prioritization": st.lists(
        st.sampled_from(["identified", "unidentified", "most_recently_updated"]), min_size=1
    ),
    "trigger_properties": properties,
    "send_to_existing_only": st.booleans(),
    "attributes": properties,
}


@st.composite
def recipients(draw: st.DrawFn) -> Recipient:
    kind = draw(st.sampled_from(["external_user_id", "user_alias", "braze_id", "email"]))
    kwargs = {kind: draw(RECIPIENT_FIELDS[kind])}
    if kind == "email":
        kwargs["prioritization"] = draw(RECIPIENT_FIELDS["prioritization"])
    for name in ("trigger_properties", "send_to_existing_only", "attributes"):
        if draw(st.booleans()):
            kwargs[name] = draw(RECIPIENT_FIELDS[name])
    try:
        return Recipient(**kwargs)
    except ValueError:
        reject()


def test_the_recipient_strategy_covers_every_field() -> None:
    """A field added to Recipient must be added to the strategy below (and to the hot case)."""
    assert {a.name for a in attrs.fields(Recipient)} == set(RECIPIENT_FIELDS)


@given(recipients())
def test_hand_written_recipient_hook_matches_the_generated_one(recipient: Recipient) -> None:
    """The hot case is only faster: same keys, same order, same values, campaign and Canvas."""
    written = converter.unstructure(recipient)
    assert list(written.items()) == list(recipient_fields(recipient).items())
    in_canvas = converter.unstructure(CanvasTriggerRequest(canvas_id="c", recipients=[recipient]))
    canvas_written = in_canvas["recipients"][0]
    assert list(canvas_written.items()) == list(canvas_recipient_fields(recipient).items())


def test_answers_with_missing_keys_or_wrong_types_read_as_empty() -> None:
    """Nothing Braze sends makes reading fail; the HTTP status is never taken from the body."""
    assert structure_send_response({}, 202) == SendResponse(
        dispatch_id=None, message="", status_code=202
    )
    odd = {"dispatch_id": 5, "message": None, "errors": "x", "status_code": "x", "new": [1]}
    assert structure_send_response(odd) == SendResponse(dispatch_id=None, message="")
    assert structure_transactional_response(
        {"send_id": "", "dispatch_id": "d", "status": 1, "errors": [{"code": 7}]}
    ) == TransactionalResponse(dispatch_id="d", errors=(ErrorDetail(code="7", message=""),))
    assert converter.structure({"message": "queued"}, SendResponse).queued
    odd_notice = {"message": "success", "notice": 3, "send_id": ["s"]}
    assert structure_send_response(odd_notice) == SendResponse(dispatch_id=None, message="success")
    assert structure_transactional_response({"dispatch_id": "d", "metadata": [1]}).metadata == {}
