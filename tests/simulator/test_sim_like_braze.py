"""The simulator behaves as Braze's pages say, whatever the client does.

Identifiers (identifier_types.md, objects_filters/user_alias_object.md), recipient
deduplication (objects_filters/recipient_object.md), the body's type and syntax (errors.md)
and the default rate-limit windows (api_limits.md).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from simulator_support import AUTH, CAMPAIGNS, CANVAS, KEY, MESSAGES, FakeClock, campaign

from braze_async.simulator import BrazeSimulator

pytest_plugins = ["simulator_fixtures"]
pytestmark = pytest.mark.anyio

SEND_ID_CREATE = "/sends/id/create"


def messages(**extra: Any) -> dict[str, Any]:
    return {"external_user_ids": ["u0"], "messages": {"email": {"app_id": "a"}}, **extra}


def alias_send(name: str, label: str) -> dict[str, Any]:
    alias = {"alias_name": name, "alias_label": label}
    return {"campaign_id": "c", "recipients": [{"user_alias": alias}]}


SEND_ID_PATHS = [
    pytest.param(CAMPAIGNS, campaign, id="campaign"),
    pytest.param(MESSAGES, messages, id="messages"),
    pytest.param(SEND_ID_CREATE, lambda **extra: {"campaign_id": "c", **extra}, id="create"),
]


@pytest.mark.parametrize(("path", "body"), SEND_ID_PATHS)
@pytest.mark.parametrize("send_id", ["envoi-é", "s" * 65], ids=["not-ascii", "65-characters"])
async def test_a_bad_send_id_is_refused(
    client: httpx.AsyncClient, path: str, body: Any, send_id: str
) -> None:
    """identifier_types.md: a send_id is all ASCII and at most 64 characters."""
    response = await client.post(path, json=body(send_id=send_id))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_send_id"


@pytest.mark.parametrize(("path", "body"), SEND_ID_PATHS)
async def test_a_send_id_of_64_characters_is_accepted(
    client: httpx.AsyncClient, path: str, body: Any
) -> None:
    """64 ASCII characters is the longest send_id."""
    response = await client.post(path, json=body(send_id="s" * 64))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("name", "label"),
    [
        pytest.param("n" * 237, "l", id="name-237-bytes"),
        pytest.param("é" * 119, "l", id="name-238-bytes"),
        pytest.param("n", "l" * 237, id="label-237-bytes"),
        pytest.param("n", "é" * 119, id="label-238-bytes"),
    ],
)
async def test_a_long_alias_is_refused(client: httpx.AsyncClient, name: str, label: str) -> None:
    """user_alias_object.md: alias_name and alias_label hold at most 236 bytes."""
    response = await client.post(CAMPAIGNS, json=alias_send(name, label))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_user_alias"


async def test_an_alias_of_236_bytes_is_accepted(client: httpx.AsyncClient) -> None:
    """236 bytes, counted in UTF-8 (118 two-byte characters), is the longest alias."""
    response = await client.post(CAMPAIGNS, json=alias_send("é" * 118, "l" * 236))
    assert response.status_code == 201, response.text


# -- a repeated recipient gets one message -----------------------------------------------------


async def test_a_repeated_recipient_gets_one_message_with_the_last_properties(
    sim: BrazeSimulator, client: httpx.AsyncClient
) -> None:
    """recipient_object.md, "Recipient object deduping": the page's own example."""
    body = {
        "campaign_id": "c",
        "recipients": [
            {"external_user_id": "userid1", "trigger_properties": {"name": "Beth Test 1"}},
            {"external_user_id": "other"},
            {"external_user_id": "userid1", "trigger_properties": {"name": "Beth Test 2"}},
        ],
    }
    assert (await client.post(CAMPAIGNS, json=body)).status_code == 201
    [delivery] = sim.delivered_to(external_user_id="userid1")
    assert delivery.data["trigger_properties"] == {"name": "Beth Test 2"}
    assert len(sim.delivered()) == 2


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        pytest.param(
            CANVAS,
            {
                "canvas_id": "cv",
                "recipients": [
                    {"user_alias": {"alias_name": "n", "alias_label": "l"}},
                    {"user_alias": {"alias_name": "n", "alias_label": "l"}},
                ],
            },
            1,
            id="canvas-alias",
        ),
        pytest.param(
            MESSAGES, messages(external_user_ids=["u0", "u1", "u0"]), 2, id="messages-ids"
        ),
    ],
)
async def test_repeated_recipients_are_deduplicated_on_every_send(
    sim: BrazeSimulator, client: httpx.AsyncClient, path: str, body: Any, expected: int
) -> None:
    """The same user named twice in one request is messaged once, whatever the endpoint."""
    assert (await client.post(path, json=body)).status_code == 201
    assert len(sim.delivered()) == expected


# -- the body's type and syntax (errors.md) ----------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_a_wrong_content_type_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    """A body that is not declared JSON is an unsupported media type, shaped as a fatal error:
    ``{"message": <fatal error message>, "errors": [...]}``."""
    response = await client.post(
        CAMPAIGNS, content=b'{"campaign_id": "c"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 415
    answer = response.json()
    assert answer["message"] == "Unsupported Media Type"
    assert answer["errors"][0]["code"] == "invalid_content_type"


async def test_unreadable_json_is_a_400_bad_request(client: httpx.AsyncClient) -> None:
    """errors.md: "400 Bad Request: Bad syntax", shaped as a fatal error."""
    response = await client.post(
        CAMPAIGNS, content=b'{"campaign_id": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["message"] == "Bad Request"
    assert answer["errors"][0]["code"] == "invalid_json"


# -- budgets reset on the clock's minute and hour by default (api_limits.md) -------------------


def http(sim: BrazeSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=sim.transport(), base_url="http://b", headers=AUTH)


@pytest.mark.parametrize(
    ("bucket", "limit", "period", "body"),
    [
        pytest.param("audience", 250, 60, {"campaign_id": "c", "broadcast": True}, id="minute"),
        pytest.param("external_id", 250_000, 3600, campaign(), id="hour"),
    ],
)
async def test_default_budgets_reset_on_the_clock(
    bucket: Any, limit: int, period: int, body: Any
) -> None:
    """By default the 250 a minute and 250,000 an hour come back on the clock's minute and
    hour, as api_limits.md's "per hour" and "per minute" read; not a full period after."""
    start = 1_700_000_010.0  # 30 s past a minute and 810 s past an hour
    clock = FakeClock(wall=start)
    sim = BrazeSimulator(KEY, clock=clock)
    assert sim.consume_budget(bucket, limit) == limit
    async with http(sim) as client:
        refused = await client.post(CAMPAIGNS, json=body)
        assert refused.status_code == 429
        boundary = (start // period + 1) * period
        assert int(refused.headers["X-RateLimit-Reset"]) == boundary
        clock.advance(boundary - start)
        admitted = await client.post(CAMPAIGNS, json=body)
        assert admitted.status_code == 201, admitted.text
