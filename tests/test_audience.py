"""The connected audience object (objects_filters/connected_audience.md): the builder writes
the page's shapes, a raw mapping is held to the same rules, and a send carries either."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from braze_async import (
    Audience,
    BrazeClient,
    BrazeValidationError,
    Campaign,
    Canvas,
    EmailMessage,
    Messages,
    Recipient,
)
from braze_async._wire import dumps
from braze_async.audience import (
    CustomAttribute,
    EmailSubscription,
    Filter,
    LastUsedApp,
    PushSubscription,
    check_audience,
)
from braze_async.simulator import BrazeSimulator

pytestmark = pytest.mark.anyio

EYES = {
    "custom_attribute": {
        "custom_attribute_name": "eye_color",
        "comparison": "equals",
        "value": "blue",
    }
}
FOODS = {
    "custom_attribute": {
        "custom_attribute_name": "favorite_foods",
        "comparison": "includes_value",
        "value": "pizza",
    }
}
PURCHASE = {
    "custom_attribute": {
        "custom_attribute_name": "last_purchase_time",
        "comparison": "less_than_x_days_ago",
        "value": 2,
    }
}


def test_the_builder_writes_the_pages_examples() -> None:
    """The page's three custom attribute examples, its subscription and last-used-app bodies,
    and its multiple filter example (AND holding an OR), as the builder writes them."""
    eyes = CustomAttribute("eye_color").equals("blue")
    foods = CustomAttribute("favorite_foods").includes_value("pizza")
    purchase = CustomAttribute("last_purchase_time").less_than_x_days_ago(2)
    assert [eyes.body, foods.body, purchase.body] == [EYES, FOODS, PURCHASE]
    assert PushSubscription.is_("opted_in").body == {
        "push_subscription_status": {"comparison": "is", "value": "opted_in"}
    }
    assert EmailSubscription.is_not("unsubscribed").body == {
        "email_subscription_status": {"comparison": "is_not", "value": "unsubscribed"}
    }
    when = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert LastUsedApp.before(when).body == {
        "last_used_app": {"comparison": "before", "value": "2025-01-02T03:04:05+00:00"}
    }
    audience = Audience.all_of(
        eyes, Audience.any_of(foods, purchase), PushSubscription.is_("subscribed")
    )
    assert audience.body == {
        "AND": [
            EYES,
            {"OR": [FOODS, PURCHASE]},
            {"push_subscription_status": {"comparison": "is", "value": "subscribed"}},
        ]
    }
    assert Audience.of(eyes).body == EYES
    assert CustomAttribute("vip").exists().body == {
        "custom_attribute": {"custom_attribute_name": "vip", "comparison": "exists"}
    }


@pytest.mark.parametrize(
    ("build", "field", "rule"),
    [
        pytest.param(lambda: CustomAttribute(""), "custom_attribute_name", "empty", id="no-name"),
        pytest.param(
            lambda: CustomAttribute("n").greater_than("3"),  # type: ignore[arg-type]
            "custom_attribute.value",
            "a number",
            id="gt-string",
        ),
        pytest.param(
            lambda: CustomAttribute("n").greater_than(True),
            "custom_attribute.value",
            "a number",
            id="gt-bool",
        ),
        pytest.param(
            lambda: CustomAttribute("n").matches_regex(1),  # type: ignore[arg-type]
            "custom_attribute.value",
            "a string",
            id="regex-number",
        ),
        pytest.param(
            lambda: CustomAttribute("n").does_not_equal("x"),  # type: ignore[arg-type]
            "custom_attribute.value",
            "a boolean",
            id="does-not-equal-string",
        ),
        pytest.param(
            lambda: CustomAttribute("n").not_equal(False),
            "custom_attribute.value",
            "a string or a number",
            id="not-equal-bool",
        ),
        pytest.param(
            lambda: CustomAttribute("n").after("yesterday"),
            "custom_attribute.value",
            "ISO 8601",
            id="after-not-iso",
        ),
        pytest.param(
            lambda: CustomAttribute("n").before(dt.datetime(2025, 1, 1)),
            "custom_attribute.value",
            "timezone-aware",
            id="naive",
        ),
        pytest.param(
            lambda: CustomAttribute("n").less_than(float("nan")),
            "custom_attribute.value",
            "a number",
            id="nan",
        ),
        pytest.param(
            lambda: PushSubscription.is_("maybe"),  # type: ignore[arg-type]
            "push_subscription_status.value",
            "opted_in, subscribed, unsubscribed",
            id="push-value",
        ),
        pytest.param(
            lambda: LastUsedApp.after("soon"),
            "last_used_app.value",
            "ISO 8601",
            id="last-used-not-iso",
        ),
        pytest.param(lambda: Audience.all_of(), "audience.AND", "at least one", id="empty-and"),
        pytest.param(
            lambda: Audience.any_of(EYES),  # type: ignore[arg-type]
            "audience.OR[0]",
            "a filter or an Audience",
            id="raw-part",
        ),
    ],
)
def test_the_builder_refuses_what_the_page_does_not_allow(
    build: Any, field: str, rule: str
) -> None:
    """A comparison with a value of a type its row does not list, a subscription value off
    the list, a date that is not ISO 8601: refused, naming the field."""
    with pytest.raises(BrazeValidationError) as caught:
        build()
    assert caught.value.field.endswith(field) and rule in caught.value.rule


def ca(comparison: str, **value: Any) -> dict[str, Any]:
    return {"custom_attribute": {"custom_attribute_name": "a", "comparison": comparison, **value}}


@pytest.mark.parametrize(
    ("audience", "field", "rule"),
    [
        pytest.param([EYES], "audience", "an object", id="list"),
        pytest.param({"AND": [EYES], "OR": [EYES]}, "audience", "exactly one key", id="two-keys"),
        pytest.param({"AND": EYES}, "audience.AND", "an array", id="and-not-array"),
        pytest.param({"OR": []}, "audience.OR", "at least one", id="or-empty"),
        pytest.param(
            ca("exists", value={"a": 1}),
            "audience.custom_attribute.value",
            "a string, a number or a boolean",
            id="exists-object-value",
        ),
        pytest.param(
            ca("does_not_exist", value=None),
            "audience.custom_attribute.value",
            "a string, a number or a boolean",
            id="does-not-exist-null-value",
        ),
        pytest.param(
            {"AND": [{"x": 1}]}, "audience.AND[0].x", "is not a filter", id="unknown-filter"
        ),
        pytest.param(
            {"AND": [EYES, {"OR": [ca("equals")]}]},
            "audience.AND[1].OR[0].custom_attribute.value",
            "required",
            id="nested-no-value",
        ),
        pytest.param(
            ca("contains", value="x"),
            "audience.custom_attribute.comparison",
            "one of equals",
            id="unknown-comparison",
        ),
        pytest.param(
            ca("less_than_x_days_ago", value="2"),
            "audience.custom_attribute.value",
            "a number",
            id="days-string",
        ),
        pytest.param(
            ca("after", value=20250101),
            "audience.custom_attribute.value",
            "ISO 8601",
            id="after-number",
        ),
        pytest.param(
            ca("exists", op="x"), "audience.custom_attribute.op", "not a field", id="extra-key"
        ),
        pytest.param(
            {"custom_attribute": {"comparison": "exists"}},
            "audience.custom_attribute.custom_attribute_name",
            "string",
            id="no-name",
        ),
        pytest.param(
            {"email_subscription_status": {"comparison": "equals", "value": "opted_in"}},
            "audience.email_subscription_status.comparison",
            "is, is_not",
            id="email-comparison",
        ),
        pytest.param(
            {"last_used_app": {"comparison": "is", "value": "2025-01-01T00:00:00Z"}},
            "audience.last_used_app.comparison",
            "after, before",
            id="last-used-comparison",
        ),
    ],
)
def test_a_raw_mapping_is_held_to_the_same_rules(audience: Any, field: str, rule: str) -> None:
    """check_audience refuses each shape the page does not define, naming the path to it; the
    request models refuse it the same way, before any network."""
    for check in (
        lambda: check_audience(audience),
        lambda: Campaign("c").request(audience=audience),
        lambda: Messages(email=EMAIL).request(audience=audience),
    ):
        with pytest.raises(BrazeValidationError) as caught:
            check()
        assert caught.value.field == field and rule in caught.value.rule


def test_a_raw_mapping_the_page_allows_passes() -> None:
    """Every comparison of the table with a value of its type, and exists without a value."""
    good = [
        ca("equals", value=True),
        ca("not_equal", value=3.5),
        ca("does_not_match_regex", value="^a"),
        ca("does_not_include_value", value=4),
        ca("greater_than_x_days_in_the_future", value=1),
        ca("before", value="2025-01-01T00:00:00Z"),
        ca("does_not_exist"),
        {"last_used_app": {"comparison": "after", "value": "2025-01-01T00:00:00+01:00"}},
    ]
    assert check_audience({"OR": good}) == {"OR": good}


EMAIL = EmailMessage(app_id="app", from_="Shop <shop@example.com>", body="<p>Hi</p>")


def test_every_target_takes_an_audience_and_sends_its_body() -> None:
    """Campaign, Canvas and Messages requests carry the Audience's body as ``audience``."""
    audience = Audience.all_of(CustomAttribute("eye_color").equals("blue"))
    for target in (Campaign("c"), Canvas("v"), Messages(email=EMAIL)):
        body = orjson.loads(dumps(target.request(audience=audience)))
        assert body["audience"] == {"AND": [EYES]} and body["broadcast"] is True
    with_recipients = Campaign("c").request([Recipient(external_user_id="u")], audience=audience)
    assert orjson.loads(dumps(with_recipients))["audience"] == {"AND": [EYES]}


def test_audiences_compare_by_content() -> None:
    """Two audiences built alike are equal and hash alike (a batching key can hold one)."""
    one = Audience.any_of(Filter(EYES), EmailSubscription.is_("opted_in"))
    two = Audience.any_of(
        CustomAttribute("eye_color").equals("blue"), EmailSubscription.is_("opted_in")
    )
    assert one == two and hash(one) == hash(two)


async def test_send_to_a_built_audience_through_the_simulator() -> None:
    """A built audience reaches the simulator as the page's object, one audience delivery."""
    audience = Audience.all_of(
        CustomAttribute("eye_color").equals("blue"),
        Audience.any_of(
            PushSubscription.is_("opted_in"), LastUsedApp.after("2025-01-01T00:00:00Z")
        ),
    )
    async with BrazeSimulator() as sim:
        async with BrazeClient(api_key=sim.api_key, base_url=sim.base_url) as braze:
            await braze.send(Campaign("sale"), audience=audience)
            await braze.send(Messages(email=EMAIL), audience=dict(audience.body))
        assert [d.recipient for d in sim.delivered()] == ["audience", "audience"]
        assert [d.data["audience"] for d in sim.delivered()] == [audience.body] * 2
        assert sim.stats.rejected_400 == 0
