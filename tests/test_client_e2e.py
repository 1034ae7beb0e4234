"""BrazeClient end to end against the simulator over real loopback HTTP."""

from __future__ import annotations

import pytest

from braze_async import (
    Attachment,
    BrazeAuthenticationError,
    BrazeClient,
    BrazeServerError,
    BrazeUnknownOutcomeError,
    Campaign,
    Canvas,
    Recipient,
    RetryPolicy,
    UserAlias,
)
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio


def client(sim: BrazeSimulator, **kwargs: object) -> BrazeClient:
    return BrazeClient(api_key=sim.api_key, base_url=sim.base_url, **kwargs)  # type: ignore[arg-type]


async def test_every_send_endpoint_is_accepted_by_the_simulator() -> None:
    """What the client builds from every documented field passes the simulator's rules."""
    async with BrazeSimulator() as sim, client(sim) as braze:
        r = await braze.send(
            Campaign(
                "c",
                send_id="s1",
                trigger_properties={"brand": "x"},
                attachments=[Attachment("invoice", "https://example.com/invoice.pdf")],
            ),
            recipients=[
                Recipient(
                    external_user_id="u1",
                    trigger_properties={"coupon": "SAVE20"},
                    send_to_existing_only=False,
                    attributes={
                        "first_name": "Ada",
                        "subscription_groups": [
                            {"subscription_group_id": "g", "subscription_state": "subscribed"}
                        ],
                    },
                ),
                Recipient(user_alias=UserAlias("n", "l")),
                Recipient(email="a@example.com", prioritization=["identified"]),
            ],
        )
        assert r.dispatch_id
        await braze.send(Campaign("c", trigger_properties={"a": 1}), broadcast=True)
        await braze.send(
            Campaign("c"),
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
        )
        await braze.send(
            Canvas("cv", canvas_entry_properties={"a": 1}),
            recipients=[Recipient(external_user_id="u2", trigger_properties={"b": 2})],
        )
        t = await braze.send_transactional(
            "t", Recipient(external_user_id="u3"), external_send_id="order-1"
        )
        assert t.send_id
        assert sim.stats.accepted == 5
        assert sim.stats.rejected_400 == 0


async def test_wrong_key_is_an_authentication_error_with_brazes_message() -> None:
    """A key the server refuses raises BrazeAuthenticationError, not retried."""
    async with BrazeSimulator(api_key="right") as sim:
        async with BrazeClient(api_key="wrong", base_url=sim.base_url) as braze:
            with pytest.raises(BrazeAuthenticationError) as info:
                await braze.send(Campaign("c"), broadcast=True)
        assert info.value.status_code == 401
        assert "wrong" not in str(info.value)
        assert sim.stats.unauthorized == 1


async def test_5xx_faults_are_retried_until_delivered_once() -> None:
    """With every other answer a 5xx, retries get each request through exactly once."""
    async with BrazeSimulator(fault_5xx=0.5, seed=3) as sim:
        async with client(sim, retry=RetryPolicy(attempts=10, backoff_initial=0.001)) as braze:
            for i in range(20):
                await braze.send(Campaign("c"), recipients=[Recipient(external_user_id=f"u{i}")])
        assert sim.stats.faults_5xx > 0
        assert set(sim.delivered_counts().values()) == {1}
        assert len(sim.delivered_counts()) == 20


async def test_5xx_that_never_ends_surfaces_as_server_error() -> None:
    """Past the attempts, a 5xx is a BrazeServerError and nothing was delivered."""
    async with BrazeSimulator(fault_5xx=1.0, seed=1) as sim:
        async with client(sim, retry=RetryPolicy(attempts=2, backoff_initial=0.001)) as braze:
            with pytest.raises(BrazeServerError):
                await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
        assert sim.delivered_counts() == {}


async def test_connection_dropped_after_processing_is_unknown_and_not_resent() -> None:
    """The ambiguous case on real sockets: delivered once, reported unknown, never resent."""
    async with BrazeSimulator(drop_after=1.0, seed=1) as sim, client(sim) as braze:
        with pytest.raises(BrazeUnknownOutcomeError):
            await braze.send(Campaign("c"), recipients=[Recipient(external_user_id="u")])
        assert sim.delivered_counts() == {"external_user_id:u": 1}
        assert sim.stats.requests == 1


async def test_dropped_transactional_send_is_retried_and_deduplicated() -> None:
    """With external_send_id the ambiguous drop is retried and Braze's dedup keeps it to one
    message."""
    async with BrazeSimulator(drop_after=0.5, seed=4) as sim:
        async with client(sim, retry=RetryPolicy(attempts=10, backoff_initial=0.001)) as braze:
            for i in range(10):
                t = await braze.send_transactional(
                    "receipt", Recipient(external_user_id=f"u{i}"), external_send_id=f"order-{i}"
                )
                assert t.send_id
        assert sim.stats.drops_after > 0
        assert sim.stats.deduplicated > 0
        assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(10)}
