"""``/messages/send``: messages defined in the request, sent alone, batched or in bulk.

endpoints/messaging/send_messages/post_send_messages.md and the messaging objects of
objects_filters/messaging/. Every rule is checked before the network; what the client builds,
the simulator (an independent reading of the pages) accepts over loopback HTTP.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

from braze_async import (
    AndroidPush,
    ApplePush,
    BrazeClient,
    BrazeValidationError,
    EmailMessage,
    Messages,
    Recipient,
    SmsMessage,
    UserAlias,
    WebhookMessage,
)
from braze_async._messages import MessagesSendRequest
from braze_async._readers import InputRow
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

EMAIL = EmailMessage(app_id="app", from_="Shop <shop@example.com>", body="<p>Hi</p>")
SMS = {"sms": SmsMessage(subscription_group_id="g", body="Hi", app_id="app")}


def client(sim: BrazeSimulator) -> BrazeClient:
    return BrazeClient(api_key=sim.api_key, base_url=sim.base_url)


async def test_send_messages_to_ids_and_aliases_and_to_a_segment() -> None:
    """Named users are delivered one by one; a segment send is one broadcast."""
    async with BrazeSimulator() as sim, client(sim) as braze:
        named = await braze.send(
            Messages(
                email=EMAIL,
                webhook=WebhookMessage(url="https://example.com/h", request_method="POST"),
                campaign_id="tracked",
                message_variation_id="tracked-a",
                recipient_subscription_state="opted_in",
            ),
            recipients=[
                Recipient(external_user_id="u1"),
                Recipient(external_user_id="u2"),
                Recipient(user_alias=UserAlias("n", "l")),
            ],
        )
        segment = await braze.send(Messages.of(SMS), segment_id="seg-1")
    assert named.dispatch_id and segment.dispatch_id
    assert [d.recipient for d in sim.delivered()] == [
        "external_user_id:u1",
        "external_user_id:u2",
        "user_alias:n/l",
        "segment:seg-1",
    ]
    assert sim.delivered()[0].campaign_id == "tracked"
    assert sim.stats.rejected_400 == 0


async def test_bulk_send_batches_messages_by_50_and_rejects_what_it_cannot_carry() -> None:
    """bulk_send(messages=...) puts up to 50 users a request in external_user_ids and
    user_aliases; a recipient /messages/send cannot name (an email) or with per-recipient
    fields is rejected, alone."""
    recipients: list[Recipient | InputRow] = [
        Recipient(external_user_id=f"u{i}") for i in range(100)
    ]
    recipients += [Recipient(user_alias=UserAlias(f"a{i}", "crm")) for i in range(20)]
    recipients.append(Recipient(email="e@example.com", prioritization=["identified"]))
    recipients.append(
        InputRow(line=7, recipient=Recipient(external_user_id="p", attributes={"a": 1}))
    )
    async with BrazeSimulator() as sim, client(sim) as braze:
        report = await braze.send_bulk(
            attrs.evolve(
                Messages.of({"email": EMAIL}), campaign_id="c", message_variation_id="c-a"
            ),
            recipients,
        )
    assert (report.sent, report.rejected, report.requests) == (120, 2, 3)
    assert sorted(sim.stats.recipients_per_request.elements()) == [20, 50, 50]
    email, attributes = report.details
    assert "external_user_id or user_alias" in email.reason and email.data is not None
    assert attributes.line == 7 and "recipient.attributes" in attributes.reason
    assert len(sim.delivered_counts()) == 120


async def test_send_to_user_batches_messages() -> None:
    """Concurrent send_to_user calls with the same messages share one request."""
    async with BrazeSimulator() as sim, client(sim) as braze:
        results = await asyncio.gather(
            *(
                braze.send_one(Messages.of({"email": EMAIL}), Recipient(external_user_id=f"u{i}"))
                for i in range(10)
            )
        )
        with pytest.raises(BrazeValidationError, match="/messages/send has no per-recipient"):
            await braze.send_one(
                Messages.of({"email": EMAIL}),
                Recipient(external_user_id="u", trigger_properties={"a": 1}),
            )
    assert {r.batch_size for r in results} == {10}
    assert sim.stats.requests == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"canvas_id": "cv"}, "canvas_id", id="canvas-id"),
        pytest.param({"trigger_properties": {}}, "trigger_properties", id="trigger-properties"),
        pytest.param({"context": {}}, "context", id="context"),
        pytest.param({"recipient_subscription_state": "x"}, "recipient_subscription_state",
                     id="subscription-state"),
        pytest.param({"override_frequency_capping": "no"}, "override_frequency_capping",
                     id="frequency-capping"),
    ],
)  # fmt: skip
async def test_bulk_send_of_messages_refuses_fields_of_other_sends(
    kwargs: dict[str, Any], field: str
) -> None:
    """A field /messages/send does not have is refused before anything is read or sent, by
    the deprecated 0.x keywords too (the targets refuse them by type)."""
    async with BrazeClient(api_key="k", base_url="http://127.0.0.1:9") as braze:
        with (
            pytest.warns(DeprecationWarning, match="bulk_send"),
            pytest.raises(BrazeValidationError) as info,
        ):
            await braze.bulk_send([], messages={"email": EMAIL}, **kwargs)
    assert info.value.field == field


async def test_messages_flags_need_messages() -> None:
    """override_frequency_capping and recipient_subscription_state are /messages/send's."""
    async with BrazeClient(api_key="k", base_url="http://127.0.0.1:9") as braze:
        with (
            pytest.warns(DeprecationWarning, match="bulk_send"),
            pytest.raises(BrazeValidationError, match="is for /messages/send"),
        ):
            await braze.bulk_send([], campaign_id="c", override_frequency_capping=True)


REQUEST_RULES = [
    pytest.param({}, "external_user_ids", "or user_aliases, segment_id or audience",
                 id="no-target"),
    pytest.param({"external_user_ids": []}, "external_user_ids", "empty", id="ids-empty"),
    pytest.param({"external_user_ids": "u1"}, "external_user_ids", "list", id="ids-string"),
    pytest.param({"external_user_ids": [""]}, "external_user_ids[0]", "empty", id="id-empty"),
    pytest.param({"user_aliases": [{"alias_name": "n"}]}, "user_aliases[0]", "UserAlias",
                 id="alias-mapping"),
    pytest.param({"external_user_ids": ["u"], "broadcast": True}, "broadcast",
                 "cannot be combined", id="broadcast-with-ids"),
    pytest.param({"segment_id": "s", "broadcast": False}, "broadcast", "must be true",
                 id="segment-broadcast-false"),
    pytest.param({"broadcast": True}, "external_user_ids", "segment_id or audience",
                 id="broadcast-alone"),
    pytest.param({"segment_id": ""}, "segment_id", "empty", id="segment-empty"),
    pytest.param({"segment_id": "s", "campaign_id": ""}, "campaign_id", "empty",
                 id="campaign-id-empty"),
    pytest.param({"segment_id": "s", "audience": {}}, "audience", "empty", id="audience-empty"),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "field", "rule"), REQUEST_RULES)
def test_messages_send_request_rules(kwargs: dict[str, Any], field: str, rule: str) -> None:
    """post_send_messages.md's rules (and errors.md's 50-user cap), before the network."""
    with pytest.raises(BrazeValidationError) as info:
        MessagesSendRequest(messages=Messages.of(SMS), **kwargs)
    assert info.value.field == field
    assert rule in info.value.rule


CHANNEL_RULES = [
    # objects_filters/messaging/email_object.md
    pytest.param(lambda: EmailMessage(app_id="", from_="S <s@x.io>", body="b"),
                 "messages.email.app_id", id="email-app-id"),
    pytest.param(lambda: EmailMessage(app_id="a", from_="s@x.io", body="b"),
                 "messages.email.from", id="email-from-format"),
    pytest.param(lambda: EmailMessage(app_id="a", from_="S <s@x.io>", body="b", reply_to="x"),
                 "messages.email.reply_to", id="email-reply-to"),
    pytest.param(lambda: EmailMessage(app_id="a", from_="S <s@x.io>", body="b",
                                      attachments=[{"file_name": "f"}]),  # type: ignore[list-item]
                 "messages.email.attachments[0]", id="email-attachment"),
    # objects_filters/messaging/apple_object.md
    pytest.param(lambda: ApplePush(), "messages.apple_push.alert", id="apple-no-alert"),
    pytest.param(lambda: ApplePush(alert="a", extra={"aps": 1}), "messages.apple_push.extra",
                 id="apple-extra-aps"),
    pytest.param(lambda: ApplePush(alert="a", asset_url="https://x/i.png"),
                 "messages.apple_push.asset_file_type", id="apple-asset-without-type"),
    pytest.param(lambda: ApplePush(alert="a", interruption_level="loud"),  # type: ignore[arg-type]
                 "messages.apple_push.interruption_level", id="apple-interruption-level"),
    pytest.param(lambda: ApplePush(alert="a", relevance_score=1.5),
                 "messages.apple_push.relevance_score", id="apple-relevance-score"),
    pytest.param(lambda: ApplePush(alert="a", apns_priority=11),
                 "messages.apple_push.apns_priority", id="apple-apns-priority"),
    # objects_filters/messaging/android_object.md
    pytest.param(lambda: AndroidPush(alert="a"), "messages.android_push.title",
                 id="android-title"),
    pytest.param(lambda: AndroidPush(send_to_sync=True, alert="a"),
                 "messages.android_push.alert", id="android-sync-with-alert"),
    pytest.param(lambda: AndroidPush(alert="a", title="t", time_to_live=2_419_201),
                 "messages.android_push.time_to_live", id="android-time-to-live"),
    pytest.param(lambda: AndroidPush(alert="a", title="t", android_priority="urgent"),  # type: ignore[arg-type]
                 "messages.android_push.android_priority", id="android-priority"),
    # objects_filters/messaging/sms_object.md and webhook_object.md
    pytest.param(lambda: SmsMessage(subscription_group_id="g", body="", app_id="a"),
                 "messages.sms.body", id="sms-body"),
    pytest.param(lambda: WebhookMessage(url="u", request_method="PATCH"),  # type: ignore[arg-type]
                 "messages.webhook.request_method", id="webhook-method"),
    pytest.param(lambda: Messages.of({"fax": {}}), "messages.fax", id="unknown-channel"),
    pytest.param(lambda: Messages(web_push="hi"),  # type: ignore[arg-type]
                 "messages.web_push", id="channel-not-an-object"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "field"), CHANNEL_RULES)
def test_channel_object_rules(build: Any, field: str) -> None:
    """Each typed channel object keeps its page's rules."""
    with pytest.raises(BrazeValidationError) as info:
        build()
    assert info.value.field == field


def test_silent_android_push_and_content_available_apple_push() -> None:
    """The documented exceptions to "alert is required"."""
    assert AndroidPush(send_to_sync=True).alert is None
    assert ApplePush(content_available=True).alert is None
