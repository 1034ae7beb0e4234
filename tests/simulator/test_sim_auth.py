"""The API key: ``Authorization: Bearer <key>`` or 401, and the key is never echoed."""

from __future__ import annotations

import httpx
import pytest
from simulator_support import CAMPAIGNS, KEY, TRANSACTIONAL, campaign

from braze_async.simulator import BrazeSimulator

pytest_plugins = ["simulator_fixtures"]
pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer wrong-key"}, id="wrong-key"),
        pytest.param({"Authorization": KEY}, id="no-scheme"),
        pytest.param({"Authorization": f"Basic {KEY}"}, id="basic-scheme"),
        pytest.param({"Authorization": f"Bearer  {KEY}"}, id="two-spaces"),
        pytest.param({"Authorization": "Bearer "}, id="empty-key"),
    ],
)
@pytest.mark.parametrize("path", [CAMPAIGNS, TRANSACTIONAL])
async def test_without_the_key_is_401(
    sim: BrazeSimulator, path: str, headers: dict[str, str]
) -> None:
    """A missing or wrong key is answered 401, nothing is delivered or counted."""
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b") as http:
        body = campaign() if path == CAMPAIGNS else {"recipient": {"external_user_id": "u"}}
        response = await http.post(path, json=body, headers=headers)
    assert response.status_code == 401
    answer = response.json()
    assert answer["errors"][0]["code"] == "unauthorized"
    assert KEY not in response.text
    assert "wrong-key" not in response.text
    assert sim.stats.unauthorized == 1
    assert sim.delivered() == []
    assert sim.stats.accepted == 0


async def test_401_does_not_spend_budget(sim: BrazeSimulator) -> None:
    """Unauthenticated requests are not counted by the rate limit."""
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b") as http:
        response = await http.post(CAMPAIGNS, json=campaign())
    assert response.headers["X-RateLimit-Remaining"] == "50"


async def test_lowercase_header_name_is_accepted(sim: BrazeSimulator) -> None:
    """Header names are case-insensitive (HTTP/2 sends them lowercased)."""
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://b") as http:
        response = await http.post(
            CAMPAIGNS, json=campaign(), headers={"authorization": f"Bearer {KEY}"}
        )
    assert response.status_code == 201


def test_core_accepts_plain_lowercase_dict(sim: BrazeSimulator) -> None:
    """The core takes any mapping; a plain dict with lower-case names works too."""
    reply = sim._core.handle(
        "POST",
        CAMPAIGNS,
        {"authorization": f"Bearer {KEY}", "content-type": "application/json"},
        b'{"campaign_id": "c", "broadcast": true}',
    )
    assert reply.status == 201
