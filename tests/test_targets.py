"""Send targets as values, and the one verb family that sends them: ``send``, ``send_one``,
``send_bulk`` (with the 0.x names kept one release behind a warning)."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import attrs
import httpx
import orjson
import pytest

import braze_async
from braze_async import (
    Attachment,
    BrazeClient,
    BrazeValidationError,
    Campaign,
    Canvas,
    EmailMessage,
    Messages,
    Recipient,
    SmsMessage,
    UserAlias,
)
from braze_async._targets import canonical
from braze_async.simulator import BrazeSimulator

#: A whole SMS object (sms_object.md: subscription_group_id, body and app_id are required).
SMS_X: dict[str, Any] = {"subscription_group_id": "g", "body": "x", "app_id": "a"}

pytestmark = pytest.mark.anyio

EMAIL = EmailMessage(app_id="app", from_="Shop <shop@example.com>", body="<p>Hi</p>")
#: EMAIL tracked under a variation of campaign "t" (errors.md: "Message Variant Unspecified").
EMAIL_T = attrs.evolve(EMAIL, message_variation_id="t-email")
U1 = Recipient(external_user_id="u1")


class Recorder:
    """A MockTransport handler that keeps each request's path and JSON body."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.url.path, orjson.loads(request.content)))
        return httpx.Response(201, json={"dispatch_id": "d", "message": "success"})


def client(rec: Recorder, **kwargs: Any) -> BrazeClient:
    return BrazeClient(api_key="k", instance="iad-01", transport=httpx.MockTransport(rec), **kwargs)


# -- targets are values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        pytest.param(lambda: Campaign(""), "campaign_id", id="empty-campaign-id"),
        pytest.param(
            lambda: Campaign(7),  # type: ignore[arg-type]
            "campaign_id",
            id="campaign-id-not-str",
        ),
        pytest.param(
            lambda: Campaign("c", trigger_properties={"x": float("nan")}),
            "trigger_properties",
            id="nan-property",
        ),
        pytest.param(lambda: Campaign("c", send_id=""), "send_id", id="empty-send-id"),
        pytest.param(
            lambda: Campaign("c", attachments=["f.pdf"]),  # type: ignore[list-item]
            "attachments",
            id="attachment",
        ),
        pytest.param(lambda: Canvas(""), "canvas_id", id="empty-canvas-id"),
        pytest.param(
            lambda: Canvas("cv", context={"a": 1}, canvas_entry_properties={"a": 1}),
            "canvas_entry_properties",
            id="context-twice",
        ),
        pytest.param(lambda: Messages(), "messages", id="no-channel"),
        pytest.param(
            lambda: Messages(sms=SMS_X, message_variation_id=""),
            "message_variation_id",
            id="empty-variation",
        ),
        pytest.param(
            lambda: Messages(
                sms=SMS_X,
                recipient_subscription_state="maybe",  # type: ignore[arg-type]
            ),
            "recipient_subscription_state",
            id="subscription-state",
        ),
    ],
)
def test_a_target_is_validated_when_created(make: Any, field: str) -> None:
    """A bad target raises BrazeValidationError naming the field, before any client exists."""
    with pytest.raises(BrazeValidationError) as info:
        make()
    assert info.value.field.startswith(field)


def test_targets_are_frozen_and_compare_by_what_goes_on_the_wire() -> None:
    """Equal payloads (key order aside) make equal, equally hashed targets; a target cannot
    be changed after it was checked; ``canvas_entry_properties`` is ``context``."""
    a = Campaign("w", trigger_properties={"a": 1, "b": [1, 2]})
    b = Campaign("w", trigger_properties={"b": [1, 2], "a": 1})
    assert a == b and hash(a) == hash(b) and {a, b} == {a}
    assert a != Campaign("w", trigger_properties={"a": 2, "b": [1, 2]})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.campaign_id = "x"  # type: ignore[misc]
    assert Canvas("cv", canvas_entry_properties={"p": 1}) == Canvas("cv", context={"p": 1})
    assert canonical(a) == canonical(b)


def test_each_target_knows_its_endpoint_and_its_bucket() -> None:
    """Named recipients spend the recipients budget; an audience or a segment the broadcast
    budget (api_limits.md), whatever the target."""
    for target, path in (
        (Campaign("c"), "/campaigns/trigger/send"),
        (Canvas("cv"), "/canvas/trigger/send"),
        (Messages(email=EMAIL), "/messages/send"),
    ):
        assert target.path == path
        assert not target.request([U1]).targets_audience
        assert target.request(
            audience={
                "AND": [
                    {
                        "custom_attribute": {
                            "custom_attribute_name": "eye_color",
                            "comparison": "exists",
                        }
                    }
                ]
            }
        ).targets_audience
        whole = {"segment_id": "s"} if isinstance(target, Messages) else {"broadcast": True}
        assert target.request(**whole).targets_audience


def test_the_journal_names_a_target_as_the_first_journal_format_did() -> None:
    """Journals written before targets were values resume: the canonical JSON of each kind
    is the one SendTarget wrote (fields added since are written only when set)."""
    assert canonical(Campaign("w", send_id="s", trigger_properties={"a": 1})) == (
        b'["campaign","w","s",{"a":1}]'
    )
    assert canonical(Canvas("cv", context={"a": 1})) == b'["canvas","cv",null,{"a":1}]'
    sms = {"body": "hi", "app_id": "a", "message_variation_id": "v", "subscription_group_id": "g"}
    assert canonical(Messages(sms=sms, campaign_id="c")) == (
        b'["messages","c",null,{"sms":{"app_id":"a","body":"hi","message_variation_id":"v",'
        b'"subscription_group_id":"g"}},null,null]'
    )


# -- one verb family, end to end --------------------------------------------------------------


async def test_send_puts_each_target_on_its_endpoint() -> None:
    """send(target, ...) is one request: the target's request-level fields, the recipients
    the target's way (external_user_ids and user_aliases for /messages/send), and the
    tracking fields of Messages at request level, not inside ``messages``."""
    rec = Recorder()
    async with client(rec) as braze:
        await braze.send(
            Campaign(
                "c",
                trigger_properties={"a": 1},
                send_id="s",
                attachments=[Attachment("f", "https://x.io/f.pdf")],
            ),
            recipients=[U1],
        )
        await braze.send(Canvas("cv", canvas_entry_properties={"p": 1}), broadcast=True)
        await braze.send(
            Messages(
                email=EMAIL,
                campaign_id="tracked",
                message_variation_id="variant-a",
                send_id="s2",
                override_frequency_capping=True,
                recipient_subscription_state="all",
            ),
            recipients=[U1, Recipient(user_alias=UserAlias("n", "l"))],
        )
        sms = SmsMessage(subscription_group_id="g", body="b", app_id="a")
        await braze.send(Messages(sms=sms), segment_id="seg")
    (p1, campaign), (p2, canvas), (p3, messages), (p4, segment) = rec.sent
    assert (p1, p2, p3, p4) == ("/campaigns/trigger/send", "/canvas/trigger/send") + (
        "/messages/send",
    ) * 2
    assert campaign == {
        "campaign_id": "c",
        "send_id": "s",
        "trigger_properties": {"a": 1},
        "recipients": [{"external_user_id": "u1"}],
        "attachments": [{"file_name": "f", "url": "https://x.io/f.pdf"}],
    }
    assert canvas == {"canvas_id": "cv", "context": {"p": 1}, "broadcast": True}
    assert set(messages["messages"]) == {"email"}
    assert messages["external_user_ids"] == ["u1"]
    assert messages["user_aliases"] == [{"alias_name": "n", "alias_label": "l"}]
    assert (messages["campaign_id"], messages["message_variation_id"]) == ("tracked", "variant-a")
    assert (messages["send_id"], messages["override_frequency_capping"]) == ("s2", True)
    assert messages["recipient_subscription_state"] == "all"
    assert segment["segment_id"] == "seg" and segment["broadcast"] is True


async def test_send_refuses_what_its_target_cannot_carry_before_the_network() -> None:
    """A segment_id for a campaign, a recipient /messages/send cannot name, a target that is
    not one: BrazeValidationError naming the field, and nothing sent."""
    rec = Recorder()
    async with client(rec) as braze:
        with pytest.raises(BrazeValidationError, match="segment_id"):
            await braze.send(Campaign("c"), segment_id="seg")
        with pytest.raises(BrazeValidationError, match="recipient"):
            await braze.send(Messages(email=EMAIL), recipients=[Recipient(braze_id="b")])
        with pytest.raises(BrazeValidationError, match="target"):
            await braze.send("campaign-id", recipients=[U1])  # type: ignore[arg-type]
        with pytest.raises(BrazeValidationError, match="broadcast"):
            await braze.send(Campaign("c"))  # the whole segment is never implied
    assert rec.sent == []


async def test_send_one_and_send_bulk_against_the_simulator() -> None:
    """send_one batches concurrent callers of one target; send_bulk sends any number, 50 a
    request; every recipient is delivered once."""
    async with (
        BrazeSimulator() as sim,
        BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze,
    ):
        welcome = Canvas("welcome", context={"plan": "pro"})
        results = await asyncio.gather(
            *(braze.send_one(welcome, Recipient(external_user_id=f"w{i}")) for i in range(60))
        )
        report = await braze.send_bulk(
            Messages(email=EMAIL, campaign_id="weekly", message_variation_id="weekly-a"),
            (Recipient(external_user_id=f"b{i}") for i in range(120)),
        )
    assert {r.dispatch_id for r in results} and sum(r.batch_size == 1 for r in results) < 60
    assert (report.sent, report.requests) == (120, 3)
    assert max(sim.delivered_counts().values()) == 1
    assert len(sim.delivered()) == 180


# -- the 0.x names ----------------------------------------------------------------------------


async def test_the_0x_send_methods_warn_and_send_the_same_request() -> None:
    """Each deprecated method warns, naming its replacement, and sends what the new verb
    sends."""
    old, new = Recorder(), Recorder()
    async with client(old) as braze:
        with pytest.warns(DeprecationWarning, match=r"trigger_campaign\(\).*send\(Campaign"):
            await braze.trigger_campaign("c", recipients=[U1], trigger_properties={"a": 1})
        with pytest.warns(DeprecationWarning, match=r"trigger_canvas\(\)"):
            await braze.trigger_canvas("cv", broadcast=True, context={"p": 1})
        with pytest.warns(DeprecationWarning, match=r"send_messages\(\)"):
            await braze.send_messages({"email": EMAIL_T}, external_user_ids=["u1"], campaign_id="t")
        with pytest.warns(DeprecationWarning, match=r"send_to_user\(\).*send_one"):
            await braze.send_to_user(U1, canvas_id="cv")
        with pytest.warns(DeprecationWarning, match=r"bulk_send\(\).*send_bulk"):
            await braze.bulk_send([U1], messages={"email": EMAIL_T}, campaign_id="t")
    async with client(new) as braze:
        await braze.send(Campaign("c", trigger_properties={"a": 1}), recipients=[U1])
        await braze.send(Canvas("cv", context={"p": 1}), broadcast=True)
        await braze.send(Messages(email=EMAIL_T, campaign_id="t"), recipients=[U1])
        await braze.send_one(Canvas("cv"), U1)
        await braze.send_bulk(Messages(email=EMAIL_T, campaign_id="t"), [U1])
    assert old.sent == new.sent


def test_the_names_that_left_the_public_api_warn() -> None:
    """``braze_async.converter``, the request classes and the event classes (now in
    ``braze_async.events``) still resolve, with a warning; they are not in ``__all__``."""
    for name in ("converter", "CampaignTriggerRequest", "MessagesSendRequest", "RetryScheduled"):
        with pytest.warns(DeprecationWarning, match=f"braze_async.{name} is deprecated"):
            assert getattr(braze_async, name) is not None
        assert name not in braze_async.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            braze_async.no_such_name  # noqa: B018
