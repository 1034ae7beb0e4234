"""Braze's own examples, quoted from its pages: accepted, and identical on the wire.

Each test names the page it quotes (paths under ``_docs/_api/`` of the public repository
braze-inc/braze-docs). An example request is posted as the page prints it to the simulator
over loopback HTTP (accepted), and built with the client's models, whose JSON must be the
example's. Where the page prints a placeholder (``""`` for an object, ``YOUR_...``) or a
template (a recipient listing every identifier, under the comment "Requests must specify
only one"), the test fills it in and says how. Where the pages contradict themselves, the
simulator accepts the example as printed and the client sends the strict reading; the test
names the one value that differs.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest

from braze_async import (
    AndroidPush,
    ApplePush,
    Attachment,
    BrazeAPIError,
    BrazeAuthenticationError,
    BrazeBadRequestError,
    BrazeClient,
    BrazeNotFoundError,
    BrazePermissionError,
    BrazeRateLimitError,
    BrazeServerError,
    BrazeUnknownOutcomeError,
    BrazeValidationError,
    Campaign,
    Canvas,
    EmailMessage,
    ErrorDetail,
    Messages,
    Recipient,
    RetryPolicy,
    UserAlias,
    parse_transactional_postback,
)
from braze_async._messages import MessagesSendRequest
from braze_async._models import (
    CampaignTriggerRequest,
    CanvasTriggerRequest,
    TransactionalSendRequest,
)
from braze_async._wire import dumps
from braze_async.simulator import BrazeSimulator
from braze_async.testing import FakeClock

#: A whole SMS object (sms_object.md: subscription_group_id, body and app_id are required).
SMS_X: dict[str, Any] = {"subscription_group_id": "g", "body": "x", "app_id": "a"}

pytestmark = pytest.mark.anyio

CAMPAIGNS = "/campaigns/trigger/send"
CANVAS = "/canvas/trigger/send"
MESSAGES = "/messages/send"

# The Connected Audience object of the campaign, Canvas and /messages/send examples.
AUDIENCE: dict[str, Any] = {
    "AND": [
        {
            "custom_attribute": {
                "custom_attribute_name": "eye_color",
                "comparison": "equals",
                "value": "blue",
            }
        },
        {
            "custom_attribute": {
                "custom_attribute_name": "favorite_foods",
                "comparison": "includes_value",
                "value": "pizza",
            }
        },
        {
            "OR": [
                {
                    "custom_attribute": {
                        "custom_attribute_name": "last_purchase_time",
                        "comparison": "less_than_x_days_ago",
                        "value": 2,
                    }
                },
                {"push_subscription_status": {"comparison": "is", "value": "opted_in"}},
            ]
        },
        {"email_subscription_status": {"comparison": "is_not", "value": "subscribed"}},
        {"last_used_app": {"comparison": "after", "value": "2019-07-22T13:17:55+0000"}},
    ]
}
# objects_filters/trigger_properties_object.md, "Object body".
TRIGGER_PROPERTIES: dict[str, Any] = {
    "product_name": "shoes",
    "product_price": 79.99,
    "details": {"color": "red", "size": {"numerical": 10, "country": "US"}},
    "related_skus": ["123", "456", "789"],
}
# objects_filters/context_object.md (and canvas_entry_properties_object.md), "Object body".
CONTEXT: dict[str, Any] = {"product_name": "shoes", "product_price": 79.99}
ALIAS = {"alias_name": "example_name", "alias_label": "example_label"}


def wire(request: object) -> Any:
    return orjson.loads(dumps(request))


@pytest.fixture
async def sim() -> AsyncIterator[BrazeSimulator]:
    async with BrazeSimulator() as simulator:
        yield simulator


async def post(sim: BrazeSimulator, path: str, body: dict[str, Any]) -> httpx.Response:
    """The body as the page prints it, over loopback HTTP, with the documented headers."""
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        return await http.post(
            path,
            content=orjson.dumps(body),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {sim.api_key}",
            },
        )


def braze(sim: BrazeSimulator) -> BrazeClient:
    return BrazeClient(api_key=sim.api_key, base_url=sim.base_url)


# -- example requests ---------------------------------------------------------------------------


def campaign_example() -> dict[str, Any]:
    """endpoints/messaging/send_messages/post_send_triggered_campaigns.md, "Example request",
    filled in: both ``"trigger_properties": ""`` placeholders take objects (the request's the
    trigger properties object's example, the recipient's recipient_object.md's), and the
    template recipient, which lists ``user_alias`` and ``external_user_id`` under "Requests
    must specify only one", becomes one recipient per identifier."""
    recipient_fields = {
        "trigger_properties": {"name": "Beth Test 1"},
        "send_to_existing_only": True,
        "attributes": {"first_name": "Alex"},
    }
    return {
        "campaign_id": "campaign_identifier",
        "send_id": "send_identifier",
        "trigger_properties": TRIGGER_PROPERTIES,
        "broadcast": False,
        "audience": AUDIENCE,
        "recipients": [
            {"user_alias": ALIAS, **recipient_fields},
            {"external_user_id": "external_user_identifier", **recipient_fields},
        ],
        "attachments": [
            {"file_name": "YourFileName", "url": "https://exampleurl.com/YourFileName.pdf"}
        ],
    }


async def test_the_campaign_example_is_accepted_and_identical_on_the_wire(
    sim: BrazeSimulator,
) -> None:
    """post_send_triggered_campaigns.md's example request (filled in, see above)."""
    example = campaign_example()
    assert (await post(sim, CAMPAIGNS, example)).status_code == 201
    recipient_fields: dict[str, Any] = {
        "trigger_properties": {"name": "Beth Test 1"},
        "send_to_existing_only": True,
        "attributes": {"first_name": "Alex"},
    }
    request = CampaignTriggerRequest(
        campaign_id="campaign_identifier",
        send_id="send_identifier",
        trigger_properties=TRIGGER_PROPERTIES,
        broadcast=False,
        audience=AUDIENCE,
        recipients=[
            Recipient(user_alias=UserAlias("example_name", "example_label"), **recipient_fields),
            Recipient(external_user_id="external_user_identifier", **recipient_fields),
        ],
        attachments=[Attachment("YourFileName", "https://exampleurl.com/YourFileName.pdf")],
    )
    assert wire(request) == example
    async with braze(sim) as client:
        await client._post("/campaigns/trigger/send", request)
    assert sim.stats.accepted == 2 and sim.stats.rejected_400 == 0


async def test_the_canvas_example_is_accepted_and_identical_on_the_wire(
    sim: BrazeSimulator,
) -> None:
    """endpoints/messaging/send_messages/post_send_triggered_canvases.md, "Example request":
    ``context`` at the request level (the template recipient becomes one per identifier);
    given under its older name, ``canvas_entry_properties``, it is sent as ``context``."""
    recipient_fields: dict[str, Any] = {
        "send_to_existing_only": True,
        "attributes": {"first_name": "Alex"},
    }
    example: dict[str, Any] = {
        "canvas_id": "canvas_identifier",
        "context": CONTEXT,
        "broadcast": False,
        "audience": AUDIENCE,
        "recipients": [
            {"user_alias": ALIAS, **recipient_fields},
            {"external_user_id": "user_identifier", **recipient_fields},
        ],
    }
    assert (await post(sim, CANVAS, example)).status_code == 201
    recipients = [
        Recipient(user_alias=UserAlias("example_name", "example_label"), **recipient_fields),
        Recipient(external_user_id="user_identifier", **recipient_fields),
    ]
    for name in ("context", "canvas_entry_properties"):
        request = CanvasTriggerRequest(
            canvas_id="canvas_identifier",
            broadcast=False,
            audience=AUDIENCE,
            recipients=recipients,
            **{name: CONTEXT},
        )
        assert wire(request) == example
    async with braze(sim) as client:
        await client.send(
            Canvas("canvas_identifier", context=CONTEXT),
            broadcast=False,
            audience=AUDIENCE,
            recipients=recipients,
        )
    assert sim.stats.rejected_400 == 0


async def test_the_older_canvas_example_is_accepted(sim: BrazeSimulator) -> None:
    """The older Canvas page's body names the object ``canvas_entry_properties``
    (objects_filters/canvas_entry_properties_object.md: ``"canvas_entry_properties":
    {"product_name" : "shoes", "product_price" : 79.99}``): still accepted."""
    older: dict[str, Any] = {
        "canvas_id": "canvas_identifier",
        "canvas_entry_properties": CONTEXT,
        "recipients": [{"external_user_id": "u", "canvas_entry_properties": {"k": 1}}],
    }
    assert (await post(sim, CANVAS, older)).status_code == 201
    assert sim.delivered()[0].data == older["recipients"][0]


async def test_the_transactional_example_is_accepted_and_identical_on_the_wire(
    sim: BrazeSimulator,
) -> None:
    """endpoints/messaging/send_messages/post_send_transactional_message.md, "Example
    request", its placeholders filled (``YOUR_BASE64_COMPATIBLE_ID`` and the others); the
    answer has the page's shape, ``dispatch_id``, ``status`` and ``metadata``."""
    properties = {"example_string_property": "a string", "example_integer_property": 42}
    example = {
        "external_send_id": "b3JkZXItMTIzNA==",
        "trigger_properties": {
            "example_string_property": "a string",
            "example_integer_property": 42,
        },
        "recipient": {"external_user_id": "user-1"},
    }
    raw = await post(sim, "/transactional/v1/campaigns/receipt/send", example)
    assert raw.status_code == 201
    assert set(raw.json()) == {"dispatch_id", "status", "metadata"}
    request = TransactionalSendRequest(
        campaign_id="receipt",
        recipient=Recipient(external_user_id="user-1"),
        external_send_id="b3JkZXItMTIzNA==",
        trigger_properties=properties,
    )
    assert wire(request) == example
    async with braze(sim) as client:
        answer = await client.send_transactional(
            "receipt",
            Recipient(external_user_id="user-1"),
            external_send_id="b3JkZXItMTIzNA==",
            trigger_properties=properties,
        )
    assert answer.dispatch_id == answer.send_id == raw.json()["dispatch_id"]  # deduplicated
    assert answer.status == "queued"
    assert answer.metadata["external_send_id"] == "b3JkZXItMTIzNA=="


async def test_the_apple_push_example_of_messages_send(sim: BrazeSimulator) -> None:
    """objects_filters/messaging/apple_object.md, "Example" (a whole /messages/send body).

    It sends ``"override_frequency_capping": "false"``, a string where the /messages/send
    page says boolean: the simulator accepts it as printed, the client sends ``false``.
    """
    example: dict[str, Any] = {
        "broadcast": False,
        "external_user_ids": ["PushTest12"],
        "campaign_id": "9c2fefcd-9115-3932-f771-c7f43d18d6b6",
        "override_frequency_capping": "false",
        "recipient_subscription_state": "all",
        "messages": {
            "apple_push": {
                "alert": {"title": "Hello!", "body": "Message here"},
                "message_variation_id": "iosPush-640",
            }
        },
    }
    assert (await post(sim, MESSAGES, example)).status_code == 201
    apple_push = ApplePush(
        alert={"title": "Hello!", "body": "Message here"}, message_variation_id="iosPush-640"
    )
    strict = {**example, "override_frequency_capping": False}
    request = MessagesSendRequest(
        broadcast=False,
        external_user_ids=["PushTest12"],
        campaign_id="9c2fefcd-9115-3932-f771-c7f43d18d6b6",
        override_frequency_capping=False,
        recipient_subscription_state="all",
        messages=Messages(apple_push=apple_push),
    )
    assert wire(request) == strict
    async with braze(sim) as client:
        response = await client.send(
            Messages(
                apple_push=apple_push,
                campaign_id="9c2fefcd-9115-3932-f771-c7f43d18d6b6",
                override_frequency_capping=False,
                recipient_subscription_state="all",
            ),
            recipients=[Recipient(external_user_id="PushTest12")],
            broadcast=False,
        )
    assert response.dispatch_id
    assert [d.recipient for d in sim.delivered()] == ["external_user_id:PushTest12"] * 2


async def test_the_messages_send_example_filled_in(sim: BrazeSimulator) -> None:
    """endpoints/messaging/send_messages/post_send_messages.md, "Example request".

    The page prints a template: ``"broadcast": "false"``, ``"external_user_ids":
    "external_user_identifiers"``, one alias object for the array, and each channel as a
    string naming its object. Filled in with the documented types, and each channel with a
    small message of its object's page, it is accepted and the client writes it as is. The
    example has a ``campaign_id``, so each message names its ``message_variation_id`` (a field
    of each messaging object's page): errors.md refuses a campaign ID without one ("400 Message
    Variant Unspecified").
    """
    example: dict[str, Any] = {
        "broadcast": False,
        "external_user_ids": ["external_user_identifiers"],
        "user_aliases": [ALIAS],
        "segment_id": "segment_identifier",
        "audience": AUDIENCE,
        "campaign_id": "campaign_identifier",
        "send_id": "send_identifier",
        "override_frequency_capping": False,
        "recipient_subscription_state": "all",
        "messages": {
            "android_push": {"alert": "Hi", "title": "Hello", "message_variation_id": "v-a"},
            "apple_push": {"alert": "Hi", "message_variation_id": "v-i"},
            "content_card": {
                "type": "CLASSIC",
                "title": "Hello",
                "description": "Hi",
                "message_variation_id": "v-c",
                "time_to_live": 86400,
            },
            "email": {
                "app_id": "app",
                "from": "Shop <shop@example.com>",
                "body": "<p>Hi</p>",
                "message_variation_id": "v-e",
            },
            "kindle_push": {"alert": "Hi", "title": "Hello", "message_variation_id": "v-k"},
            "web_push": {"alert": "Hi", "title": "Hello", "message_variation_id": "v-w"},
        },
    }
    assert (await post(sim, MESSAGES, example)).status_code == 201
    channels = example["messages"]
    messages = Messages(
        android_push=AndroidPush(alert="Hi", title="Hello", message_variation_id="v-a"),
        apple_push=ApplePush(alert="Hi", message_variation_id="v-i"),
        content_card=channels["content_card"],
        email=EmailMessage(
            app_id="app",
            from_="Shop <shop@example.com>",
            body="<p>Hi</p>",
            message_variation_id="v-e",
        ),
        kindle_push=channels["kindle_push"],
        web_push=channels["web_push"],
    )
    request = MessagesSendRequest(
        broadcast=False,
        external_user_ids=["external_user_identifiers"],
        user_aliases=[UserAlias("example_name", "example_label")],
        segment_id="segment_identifier",
        audience=AUDIENCE,
        campaign_id="campaign_identifier",
        send_id="send_identifier",
        override_frequency_capping=False,
        recipient_subscription_state="all",
        messages=messages,
    )
    assert wire(request) == example
    async with braze(sim) as client:
        await client._post("/messages/send", request)
    assert sim.stats.rejected_400 == 0


EMAIL_WITH_ATTACHMENT: dict[str, Any] = {
    "external_user_ids": ["YOUR_EXTERNAL_USER_ID"],
    "messages": {
        "email": {
            "app_id": "YOUR_APP_ID",
            "attachments": [
                {"file_name": "YourFileName", "url": "https://exampleurl.com/YourFileName.pdf"}
            ],
        }
    },
}
EMAIL_WITH_BASIC_AUTH: dict[str, Any] = {
    "external_user_ids": ["recipient_user_id"],
    "messages": {
        "email": {
            "app_id": "153e8a29-fd6d-4f77-ade7-1a4ca08d457a",
            "subject": "Basis auth attachment test",
            "from": "mail <mail@e.company.com>",
            "body": "my attachment test",
            "attachments": [
                {
                    "file_name": "checkout_receipt.pdf",
                    "url": "https://fileserver.company.com/user123-checkout_receipt.pdf",
                    "basic_auth_credential": "company_basic_auth_credential_name",
                }
            ],
        }
    },
}


@pytest.mark.parametrize(
    ("example", "field", "strict"),
    [
        pytest.param(
            EMAIL_WITH_ATTACHMENT,
            "messages.email.from",
            {"from": "Shop <shop@example.com>", "body": "<p>Your file</p>"},
            id="with-attachment",
        ),
        pytest.param(
            EMAIL_WITH_BASIC_AUTH,
            "messages.email.attachments[0].file_name",
            {"attachments": [{**EMAIL_WITH_BASIC_AUTH["messages"]["email"]["attachments"][0],
                              "file_name": "checkout_receipt"}]},
            id="with-basic-auth-credential",
        ),
    ],
)  # fmt: skip
async def test_the_email_object_examples_meet_both_readings(
    sim: BrazeSimulator, example: dict[str, Any], field: str, strict: dict[str, Any]
) -> None:
    """objects_filters/messaging/email_object.md, "Example email object with attachment" and
    "Authentication for email file attachments": the simulator accepts them as printed; the
    client keeps to the object's strict reading (``from`` required; ``file_name`` "excluding
    the extension") and refuses them as a mapping, naming the field, before the network; the
    example mended to that reading goes on the wire as it is."""
    assert (await post(sim, MESSAGES, example)).status_code == 201
    email = copy.deepcopy(example["messages"]["email"])
    with pytest.raises(BrazeValidationError) as info:
        Messages(email=email)
    assert info.value.field == field
    mended = {**email, **strict}
    request = MessagesSendRequest(
        external_user_ids=example["external_user_ids"], messages=Messages(email=mended)
    )
    assert wire(request) == {**example, "messages": {"email": mended}}
    async with braze(sim) as client:
        await client._post("/messages/send", request)
    assert sim.stats.rejected_400 == 0


def test_the_typed_email_object_keeps_to_the_strict_reading() -> None:
    """email_object.md says ``from`` is required and ``body`` is "required unless
    email_template_id is given", while its first example has neither: the typed object
    refuses that before the network, as the mapping form above does."""
    with pytest.raises(BrazeValidationError) as info:
        EmailMessage(app_id="YOUR_APP_ID", from_="")
    assert info.value.field == "messages.email.from"
    with pytest.raises(BrazeValidationError, match="required unless email_template_id"):
        EmailMessage(app_id="a", from_="Shop <s@example.com>")
    assert EmailMessage(app_id="a", from_="Shop <s@example.com>", email_template_id="t")


async def test_the_recipient_object_dedupe_example(sim: BrazeSimulator) -> None:
    """objects_filters/recipient_object.md, "Recipient object deduping": one user twice in a
    request is allowed (Braze dedupes it); the client writes it as printed."""
    example = {
        "campaign_id": "#####",
        "recipients": [
            {"external_user_id": "userid1", "trigger_properties": {"name": "Beth Test 1"}},
            {"external_user_id": "userid1", "trigger_properties": {"name": "Beth Test 2"}},
        ],
    }
    assert (await post(sim, CAMPAIGNS, example)).status_code == 201
    request = CampaignTriggerRequest(
        campaign_id="#####",
        recipients=[
            Recipient(external_user_id="userid1", trigger_properties={"name": "Beth Test 1"}),
            Recipient(external_user_id="userid1", trigger_properties={"name": "Beth Test 2"}),
        ],
    )
    assert wire(request) == example


async def test_the_prioritization_example_and_rule(sim: BrazeSimulator) -> None:
    """endpoints/user_data/post_user_identify.md: the example's ``"prioritization":
    ["unidentified", "most_recently_updated"]`` is accepted; "only one of identified and
    unidentified may exist in the prioritization array at a time" is checked by both."""
    recipient = Recipient(
        email="john.smith@braze.com", prioritization=["unidentified", "most_recently_updated"]
    )
    async with braze(sim) as client:
        await client.send(Campaign("c"), recipients=[recipient])
    assert sim.delivered()[0].data == {
        "email": "john.smith@braze.com",
        "prioritization": ["unidentified", "most_recently_updated"],
    }
    with pytest.raises(BrazeValidationError, match="only one of 'identified' and 'unidentified'"):
        Recipient(email="a@example.com", prioritization=["identified", "unidentified"])
    both = {
        "campaign_id": "c",
        "recipients": [{"email": "a@b.co", "prioritization": ["identified", "unidentified"]}],
    }
    refused = await post(sim, CAMPAIGNS, both)
    assert refused.json()["errors"][0]["code"] == "invalid_prioritization"


async def test_a_number_as_external_user_id_is_accepted_and_never_sent(
    sim: BrazeSimulator,
) -> None:
    """The pages say string; braze_ruby's recorded exchange
    (spec/fixtures/responses/campaigns/trigger_send/sends_an_email.yml) sent
    ``{"campaign_id":"d8b73da7-...","recipients":[{"external_user_id":12345,
    "trigger_properties":{"first_name":"John"}}]}`` and Braze answered 201. The simulator
    accepts both readings; the client takes strings only."""
    recorded = {
        "campaign_id": "d8b73da7-0b7c-fc72-1d80-e59c7f20f0d3",
        "recipients": [{"external_user_id": 12345, "trigger_properties": {"first_name": "John"}}],
    }
    assert (await post(sim, CAMPAIGNS, recorded)).status_code == 201
    assert sim.delivered()[0].recipient == "external_user_id:12345"
    with pytest.raises(BrazeValidationError, match="must be a string"):
        Recipient(external_user_id=12345)  # type: ignore[arg-type]


async def test_broadcast_is_strict_on_the_wire_and_both_readings_are_accepted(
    sim: BrazeSimulator,
) -> None:
    """post_send_triggered_campaigns.md: "broadcast ... must be set to true if recipients is
    omitted", and "if not provided and broadcast is not set to false, message sends to the
    entire segment". The simulator accepts a send with neither (the second reading); the
    client never implies the whole segment, and sends ``broadcast: true`` with an audience."""
    assert (await post(sim, CAMPAIGNS, {"campaign_id": "c"})).status_code == 201
    with pytest.raises(BrazeValidationError, match="explicitly True"):
        CampaignTriggerRequest(campaign_id="c")
    assert wire(CampaignTriggerRequest(campaign_id="c", audience=AUDIENCE)) == {
        "campaign_id": "c",
        "broadcast": True,
        "audience": AUDIENCE,
    }
    with pytest.raises(BrazeValidationError, match="must be true"):
        CampaignTriggerRequest(campaign_id="c", audience=AUDIENCE, broadcast=False)


# -- answers ----------------------------------------------------------------------------------


def answering(*responses: httpx.Response) -> BrazeClient:
    """A client whose requests are answered from a script (the last answer repeats)."""
    script = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return script.pop(0) if len(script) > 1 else script[0]

    return BrazeClient(
        api_key="k",
        instance="iad-01",
        transport=httpx.MockTransport(handler),
        rate_limits=None,
        retry=RetryPolicy(attempts=1, rate_limited_attempts=1),
        clock=FakeClock(),  # retry waits take no time
    )


async def test_every_success_shape_of_the_errors_page(caplog: pytest.LogCaptureFixture) -> None:
    """errors.md, "Server responses" and "Responses for tracked send IDs", and the Canvas
    page's "Example success response": each is a success; non-fatal errors and the notice are
    logged at WARNING."""
    shapes = [
        {"message": "success"},
        {"message": "success", "errors": ["<minor error message>"]},
        {"message": "success", "send_id": "example_send_id"},
        {
            "notice": "The Canvas is paused. Resume the Canvas to ensure trigger requests "
            "will take effect.",
            "dispatch_id": "example_dispatch_id",
            "message": "success",
        },
    ]
    caplog.set_level(logging.WARNING, logger="braze_async")
    async with answering(*(httpx.Response(201, json=s) for s in shapes)) as client:
        bare, minor, tracked, paused = [
            await client.send(Campaign("c"), broadcast=True) for _ in shapes
        ]
    assert (bare.dispatch_id, bare.message, bare.will_send) == (None, "success", True)
    assert minor.errors == (ErrorDetail(code="", message="<minor error message>"),)
    assert tracked.send_id == "example_send_id"
    assert paused.dispatch_id == "example_dispatch_id" and not paused.will_send
    assert paused.notice is not None and paused.notice.startswith("The Canvas is paused.")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("<minor error message>" in w for w in warnings)
    assert any("The Canvas is paused" in w for w in warnings)


# errors.md, "Fatal errors": every row, and the exception it becomes. "All of the following
# error codes indicate that no messages will be sent."
FATAL_ERRORS = [
    ("5XX Internal Server Error", 500, BrazeServerError),
    ("400 Bad Request", 400, BrazeBadRequestError),
    ("400 No Recipients", 400, BrazeBadRequestError),
    ("400 Invalid Campaign ID", 400, BrazeBadRequestError),
    ("400 Message Variant Unspecified", 400, BrazeBadRequestError),
    ("400 Invalid Message Variant", 400, BrazeBadRequestError),
    ("400 Mismatched Message Type", 400, BrazeBadRequestError),
    ("400 Invalid Extra Push Payload", 400, BrazeBadRequestError),
    ("400 Max Input Length Exceeded", 400, BrazeBadRequestError),
    ("400 The max number of external_ids and aliases per request was exceeded", 400,
     BrazeBadRequestError),
    ("400 The max number of ids per request was exceeded", 400, BrazeBadRequestError),
    ("400 No message to send", 400, BrazeBadRequestError),
    ("400 Slideup Message Length Exceeded", 400, BrazeBadRequestError),
    ("400 Apple Push Length Exceeded", 400, BrazeBadRequestError),
    ("400 Android Push Length Exceeded", 400, BrazeBadRequestError),
    ("400 Bad Request (cannot parse send_at)", 400, BrazeBadRequestError),
    ("400 Bad Request (in_local_time, time has passed)", 400, BrazeBadRequestError),
    ("401 Unauthorized", 401, BrazeAuthenticationError),
    ("403 Forbidden", 403, BrazePermissionError),
    ("403 Access Denied", 403, BrazePermissionError),
    ("404 Not Found", 404, BrazeNotFoundError),
    ("415 Unsupported Media Type", 415, BrazeAPIError),
    ("429 Rate Limited", 429, BrazeRateLimitError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "status", "error"), [pytest.param(*row, id=row[0]) for row in FATAL_ERRORS]
)
async def test_each_fatal_error_of_the_errors_page(
    row: str, status: int, error: type[Exception]
) -> None:
    """errors.md, "Fatal errors": the row's status raises its exception, carrying Braze's
    message and the status."""
    body = {"message": row.split(" ", 1)[1], "errors": [{"code": "x", "message": row}]}
    async with answering(httpx.Response(status, json=body)) as client:
        with pytest.raises(error) as info:
            await client.send(Campaign("c"), broadcast=True)
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert row.split(" ", 1)[1] in str(info.value)


# errors.md, "Errors": the 5XX class, "we recommend you retry your request with exponential
# backoff", and what each gateway status says about the request: a 502 "is a failure before
# it reaches the destination server" (not processed: retried like a 500 or 503); a 504 "indicates
# a server didn't receive a response from another server upstream" (it may have been
# processed: unknown, not retried unless duplicates are acceptable).
SERVER_ERRORS = [
    pytest.param(500, 4, BrazeServerError, id="500"),
    pytest.param(502, 4, BrazeServerError, id="502-failed-before-reaching-braze"),
    pytest.param(503, 4, BrazeServerError, id="503-reached-braze-not-completed"),
    pytest.param(504, 1, BrazeUnknownOutcomeError, id="504-no-answer-from-upstream"),
]


@pytest.mark.parametrize(("status", "attempts", "error"), SERVER_ERRORS)
async def test_each_5xx_of_the_errors_page_is_retried_or_unknown_as_the_page_says(
    status: int, attempts: int, error: type[Exception]
) -> None:
    """A 5xx that was not processed is retried with backoff (all the policy's 4 attempts);
    a 504 is reported unknown after one."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(status, json={"message": "x"})

    client = BrazeClient(
        api_key="k",
        instance="iad-01",
        transport=httpx.MockTransport(handler),
        rate_limits=None,
        retry=RetryPolicy(attempts=4),
        clock=FakeClock(),  # retry waits take no time
    )
    async with client:
        with pytest.raises(error):
            await client.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
    assert len(requests) == attempts


_FIFTY = [f"u{i}" for i in range(50)]
_SMS = Messages(sms=SMS_X)
# errors.md rows whose cause is in the request, and the request that causes it.
FORESEEABLE: list[tuple[str, Callable[[], object], str]] = [
    ("400 No Recipients", lambda: CampaignTriggerRequest(campaign_id="c"), "broadcast"),
    (
        "400 The max number of external_ids and aliases per request was exceeded",
        lambda: MessagesSendRequest(
            external_user_ids=_FIFTY, user_aliases=[UserAlias("n", "l")], messages=_SMS
        ),
        "external_user_ids",
    ),
    (
        "400 The max number of ids per request was exceeded",
        lambda: CampaignTriggerRequest(
            campaign_id="c", recipients=[Recipient(external_user_id=f"u{i}") for i in range(51)]
        ),
        "recipients",
    ),
    ("400 No message to send", lambda: Messages(), "messages"),
    (
        "400 Message Variant Unspecified",
        lambda: Messages(sms=SMS_X, campaign_id="c"),
        "message_variation_id",
    ),
    (
        "400 Invalid Extra Push Payload",
        lambda: ApplePush(alert="a", extra=[1]),  # type: ignore[arg-type]
        "messages.apple_push.extra",
    ),
    (
        "400 Apple Push Length Exceeded",
        lambda: ApplePush(alert="x" * 1913),
        "messages.apple_push",
    ),
    (
        "400 Android Push Length Exceeded",
        lambda: AndroidPush(alert="x" * 4001, title="t"),
        "messages.android_push",
    ),
]


@pytest.mark.parametrize(
    ("row", "build", "field"), [pytest.param(*case, id=case[0]) for case in FORESEEABLE]
)
def test_the_fatal_errors_the_client_can_see_coming_are_refused_before_the_network(
    row: str, build: Callable[[], object], field: str
) -> None:
    """errors.md rows whose cause is in the request: the models refuse it first, naming the
    field."""
    with pytest.raises(BrazeValidationError) as info:
        build()
    assert info.value.field == field


# errors.md, "Fatal errors": "400 Message Variant Unspecified | You provide a campaign ID but
# no message variation ID." The variation is each message's (objects_filters/messaging/: "used
# when providing a campaign_id to specify which message variation this message should be
# tracked under"), or the request's own ``message_variation_id``.
VARIANT_UNSPECIFIED: list[tuple[Callable[[], object], str]] = [
    (lambda: Messages(email=EmailMessage(app_id="a", from_="S <s@x.io>", body="b"),
                      campaign_id="c"), "message_variation_id"),
    (lambda: MessagesSendRequest(segment_id="s", campaign_id="c", messages=_SMS),
     "message_variation_id"),
    (lambda: Messages(apple_push=ApplePush(alert="a", message_variation_id="v"),
                      sms=SMS_X, campaign_id="c"), "messages.sms.message_variation_id"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("build", "field"),
    [
        pytest.param(*case, id=name)
        for case, name in zip(
            VARIANT_UNSPECIFIED, ["messages", "request", "one-message"], strict=True
        )
    ],
)
def test_a_campaign_id_without_a_message_variation_is_refused_before_the_network(
    build: Callable[[], object], field: str
) -> None:
    """A tracking campaign_id needs the variation its stats go under: refused, naming the
    field and the errors page's row."""
    with pytest.raises(BrazeValidationError) as info:
        build()
    assert info.value.field == field
    assert "Message Variant Unspecified" in info.value.rule and "errors.md" in info.value.rule


def test_a_campaign_id_with_its_message_variation_is_accepted() -> None:
    """The variation given for the request, or in every message (typed or a mapping)."""
    Messages(sms=SMS_X, campaign_id="c", message_variation_id="v")
    Messages(
        apple_push=ApplePush(alert="a", message_variation_id="v"),
        sms={**SMS_X, "message_variation_id": "w"},
        campaign_id="c",
    )
    Messages(sms=SMS_X)  # no campaign: no variation needed


_SIM_SMS = {"subscription_group_id": "g", "body": "Hi", "app_id": "app"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"messages": {"sms": _SIM_SMS}}, 400, id="no-variation"),
        pytest.param(
            {"message_variation_id": "v", "messages": {"sms": _SIM_SMS}}, 201, id="request-level"
        ),
        pytest.param(
            {"messages": {"sms": {**_SIM_SMS, "message_variation_id": "v"}}}, 201, id="in-message"
        ),
    ],
)
async def test_the_simulator_refuses_a_campaign_id_without_a_message_variation(
    sim: BrazeSimulator, body: dict[str, Any], status: int
) -> None:
    """The simulator answers Braze's 400 "Message Variant Unspecified", shaped as the errors
    page shows (``message`` and ``errors``), and accepts the variation where it is given."""
    answer = await post(
        sim, "/messages/send", {"campaign_id": "c", "external_user_ids": ["u1"], **body}
    )
    assert answer.status_code == status, answer.text
    if status == 400:
        assert "Message Variant Unspecified" in answer.json()["message"]
        assert answer.json()["errors"][0]["code"] == "message_variant_unspecified"


# -- transactional postbacks ------------------------------------------------------------------

# post_send_transactional_message.md, "Transactional HTTP event postback", "Example postback"
# (the include http_event_postback.md): one event per status.
POSTBACKS: list[dict[str, Any]] = [
    {
        "dispatch_id": "acf471119f7449d579e8089032003ded",
        "status": "sent",
        "metadata": {
            "received_at": "2020-08-31T18:58:41.000+00:00",
            "enqueued_at": "2020-08-31T18:58:41.000+00:00",
            "executed_at": "2020-08-31T18:58:41.000+00:00",
            "sent_at": "2020-08-31T18:58:42.000+00:00",
            "campaign_api_id": "417220e4-5a2a-b634-7f7d-9ec891532368",
            "external_send_id": "34a2ceb3cf6184132f3d816e9984269a",
        },
    },
    {
        "dispatch_id": "acf471119f7449d579e8089032003ded",
        "status": "processed",
        "metadata": {
            "processed_at": "2020-08-31T18:58:42.000+00:00",
            "campaign_api_id": "417220e4-5a2a-b634-7f7d-9ec891532368",
            "external_send_id": "34a2ceb3cf6184132f3d816e9984269a",
        },
    },
    {
        "dispatch_id": "acf471119f7449d579e8089032003ded",
        "status": "aborted",
        "metadata": {
            "reason": "User not emailable",
            "aborted_at": "2020-08-31T19:04:51.000+00:00",
            "campaign_api_id": "417220e4-5a2a-b634-7f7d-9ec891532368",
            "external_send_id": "34a2ceb3cf6184132f3d816e9984269a",
        },
    },
    {
        "dispatch_id": "acf471119f7449d579e8089032003ded",
        "status": "delivered",
        "metadata": {
            "delivered_at": "2020-08-31T18:27:32.000+00:00",
            "campaign_api_id": "417220e4-5a2a-b634-7f7d-9ec891532368",
            "external_send_id": "34a2ceb3cf6184132f3d816e9984269a",
        },
    },
    {
        "dispatch_id": "acf471119f7449d579e8089032003ded",
        "status": "bounced",
        "metadata": {
            "bounced_at": "2020-08-31T18:58:43.000+00:00",
            "reason": "550 5.1.1 The email account that you tried to reach does not exist",
            "campaign_api_id": "417220e4-5a2a-b634-7f7d-9ec891532368",
            "external_send_id": "34a2ceb3cf6184132f3d816e9984269a",
        },
    },
]


@pytest.mark.parametrize("postback", [pytest.param(p, id=str(p["status"])) for p in POSTBACKS])
def test_each_example_postback_is_read_in_full(postback: dict[str, Any]) -> None:
    """The current postback shape: ``dispatch_id``, a lowercase ``status``, ``metadata``."""
    event = parse_transactional_postback(orjson.dumps(postback))
    assert event.dispatch_id == event.send_id == "acf471119f7449d579e8089032003ded"
    assert event.status == event.current_status == postback["status"]
    assert event.external_send_id == "34a2ceb3cf6184132f3d816e9984269a"
    assert event.metadata == postback["metadata"]
    assert event.extra == {}


@pytest.mark.parametrize(
    ("older", "current"),
    [
        ("Sent", "sent"),
        ("Aborted", "aborted"),
        ("Email Delivered", "delivered"),
        ("Email Bounced", "bounced"),
    ],
)
def test_the_older_postbacks_still_parse(older: str, current: str) -> None:
    """The page the project started from (the older transactional page's "Example
    Postback": ``{"send_id", "status", "external_send_id"}`` and its capitalized statuses)."""
    event = parse_transactional_postback(
        {"send_id": "guid", "status": older, "external_send_id": "order-1"}
    )
    assert (event.dispatch_id, event.status, event.current_status) == ("guid", older, current)
    assert event.external_send_id == "order-1"


@pytest.mark.parametrize(
    ("sms", "status"),
    [
        pytest.param(_SIM_SMS, 400, id="no-variation"),
        pytest.param({**_SIM_SMS, "message_variation_id": "v"}, 201, id="in-message"),
    ],
)
async def test_a_scheduled_campaign_id_needs_its_message_variation_too(
    sim: BrazeSimulator, sms: dict[str, Any], status: int
) -> None:
    """post_schedule_messages.md has no request-level message_variation_id (refused), and
    errors.md refuses a campaign ID without a variation: the simulator takes it in the
    message, where each messaging object's page puts it."""
    body = {
        "campaign_id": "c",
        "external_user_ids": ["u1"],
        "messages": {"sms": sms},
        "schedule": {"time": "2099-01-01T00:00:00Z"},
    }
    answer = await post(sim, "/messages/schedule/create", body)
    assert answer.status_code == status, answer.text
    if status == 400:
        assert "Message Variant Unspecified" in answer.json()["message"]
