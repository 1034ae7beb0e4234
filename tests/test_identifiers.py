"""Braze's identifier rules, refused before the network and accepted at their limits.

identifier_types.md, "Send identifier": "The identifier must be all ASCII characters and at
most 64 characters long." objects_filters/user_alias_object.md: ``alias_name`` and
``alias_label`` are non-empty strings of at most 236 bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from braze_async import (
    BrazeClient,
    BrazeValidationError,
    Campaign,
    EmailMessage,
    Messages,
    Recipient,
    UserAlias,
)
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

BAD_SEND_IDS = [
    pytest.param("envoi-é", "ASCII", id="not-ascii"),
    pytest.param("s" * 65, "64", id="65-characters"),
]


def client(sim: BrazeSimulator) -> BrazeClient:
    return BrazeClient(api_key=sim.api_key, base_url=sim.base_url)


def email() -> EmailMessage:
    return EmailMessage(app_id="a", from_="Shop <shop@example.com>", body="Hi")


SEND_ID_TARGETS: list[Callable[[str], object]] = [
    lambda send_id: Campaign("c", send_id=send_id),
    lambda send_id: Messages(email=email(), send_id=send_id),
]


@pytest.mark.parametrize("make", SEND_ID_TARGETS, ids=["campaign", "messages"])
@pytest.mark.parametrize(("send_id", "rule"), BAD_SEND_IDS)
async def test_a_bad_send_id_is_refused_before_the_network(
    make: Callable[[str], object], send_id: str, rule: str
) -> None:
    """A send_id Braze refuses names the field, the rule and the page; nothing is sent."""
    async with BrazeSimulator() as sim, client(sim):
        with pytest.raises(BrazeValidationError, match=rule) as caught:
            make(send_id)
        assert caught.value.field == "send_id"
        assert "identifier_types.md" in caught.value.rule
        assert sim.stats.requests == 0


async def test_send_ids_at_the_limit_are_sent() -> None:
    """64 ASCII characters is a send_id Braze (and the simulator) accepts."""
    send_id = "s" * 64
    async with BrazeSimulator() as sim, client(sim) as braze:
        await braze.send(Campaign("c", send_id=send_id), broadcast=True)
        await braze.send(
            Messages(email=email(), send_id=send_id),
            recipients=[Recipient(external_user_id="u")],
        )
        assert sim.stats.accepted == 2


@pytest.mark.parametrize(
    ("name", "label", "field"),
    [
        pytest.param("n" * 237, "l", "user_alias.alias_name", id="name-237-bytes"),
        pytest.param("é" * 119, "l", "user_alias.alias_name", id="name-238-bytes-119-chars"),
        pytest.param("n", "l" * 237, "user_alias.alias_label", id="label-237-bytes"),
        pytest.param("n", "é" * 119, "user_alias.alias_label", id="label-238-bytes-119-chars"),
    ],
)
def test_a_long_alias_is_refused(name: str, label: str, field: str) -> None:
    """alias_name and alias_label hold at most 236 bytes of UTF-8, not 236 characters."""
    with pytest.raises(BrazeValidationError, match="236 bytes") as caught:
        UserAlias(name, label)
    assert caught.value.field == field
    assert "user_alias_object.md" in caught.value.rule


async def test_aliases_at_the_limit_are_sent() -> None:
    """236 bytes (here 118 two-byte characters) is an alias Braze and the simulator accept."""
    alias = UserAlias("é" * 118, "l" * 236)
    async with BrazeSimulator() as sim, client(sim) as braze:
        await braze.send(Campaign("c"), recipients=[Recipient(user_alias=alias)])
        assert len(sim.delivered_to(user_alias=("é" * 118, "l" * 236))) == 1
