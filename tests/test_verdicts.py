"""The client and the simulator give the same verdict on the same generated request.

Both read Braze's pages on their own (the simulator never imports the client), so each is an
oracle for the other: generated bodies for ``/campaigns/trigger/send`` (identifiers of varied
lengths and charsets, ``send_id``, connected audience objects valid and broken, ``broadcast``)
go through the public API (``Campaign(...)``, ``target.request(...)``) and, as JSON, to an
in-process simulator. The client accepts ⇒ the simulator answers 201 to the body the client
sends; the client refuses ⇒ the simulator answers 400 to the body as generated, except where
the pages contradict each other and the simulator accepts both readings (listed in
:func:`lenient_reading`, each with the pages that disagree).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from braze_async import BrazeValidationError, Campaign, Messages, Recipient, UserAlias
from braze_async._wire import dumps
from braze_async.simulator import BrazeSimulator

KEY = "sk-verdicts-0123456789"
#: Deterministic: the same examples on every run (the project keeps no hypothesis database).
VERDICTS = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- strategies ---------------------------------------------------------------------------------

#: Text JSON can carry (lone surrogates are not JSON: test_hostile_input.py covers them).
CHARS = st.characters(exclude_categories=["Cs"])
ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


def repeated(low: int, high: int, chars: list[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda n, c: c * n, st.integers(low, high), st.sampled_from(chars))


#: Short and long, ASCII and not: around the 64-character send_id and 236-byte alias limits.
texts = st.one_of(
    st.text(ASCII, min_size=1, max_size=8),
    st.text(CHARS, max_size=8),
    repeated(0, 70, ["s", "é", "😀"]),
    repeated(110, 240, ["a", "é", "😀"]),
)
send_ids = st.one_of(
    st.text(ASCII, min_size=1, max_size=20), st.text(ASCII, min_size=1, max_size=64), texts
)
named_users = st.one_of(
    st.fixed_dictionaries({"external_user_id": texts}),
    st.fixed_dictionaries({"user_alias": st.tuples(texts, texts)}),
)
recipient_specs = named_users | st.fixed_dictionaries({"braze_id": texts})

#: ISO 8601 times right and wrong.
TIMES = [
    "2019-07-22T13:17:55+0000",
    "2025-01-01T00:00:00Z",
    "2025-01-01T00:00:00.123+01:00",
    "2025-01-01 10:30",
    "2025-01-01",
    "2025-02-30T00:00:00Z",
    "2025-01-01T25:00:00Z",
    "2025-01-01t00:00:00Z",
    "20250101T000000Z",
    "yesterday",
    "",
]
times = st.sampled_from(TIMES)
#: Values of every JSON kind.
values = st.one_of(
    times,
    st.text(CHARS, max_size=4),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.just([1]),
    st.just({"a": 1}),
)
#: Each comparison of the page with the kind of value it takes, so that many filters are
#: valid; a random value makes the rest.
strings, numbers = st.text(CHARS, max_size=4), st.integers(-5, 5) | st.floats(-9, 9)
scalars = strings | numbers | st.booleans()
FITTING = {
    "equals": scalars,
    "not_equal": strings | numbers,
    "does_not_equal": st.booleans(),
    "matches_regex": strings,
    "does_not_match_regex": strings,
    "includes_value": scalars,
    "does_not_include_value": scalars,
    "greater_than": numbers,
    "greater_than_or_equal_to": numbers,
    "less_than": numbers,
    "less_than_or_equal_to": numbers,
    "less_than_x_days_ago": numbers,
    "greater_than_x_days_ago": numbers,
    "less_than_x_days_in_the_future": numbers,
    "greater_than_x_days_in_the_future": numbers,
    "after": times,
    "before": times,
    # No value needed; one given is still "(String, Numeric, Boolean)".
    "exists": st.sampled_from(["<none>", "<none>", None, {"a": 1}, [1], "x", 2]),
    "does_not_exist": st.sampled_from(["<none>", "<none>", None, {"a": 1}, [1], "x", 2]),
    "is": values,
    "contains": values,
}


@st.composite
def custom_attributes(draw: st.DrawFn) -> dict[str, Any]:
    comparison = draw(st.sampled_from(sorted(FITTING)))
    body: dict[str, Any] = {
        "custom_attribute_name": draw(st.sampled_from(["eye_color"] * 4 + ["", 7])),
        "comparison": comparison,
    }
    value = draw(st.one_of(FITTING[comparison], values, st.just("<none>")))
    if value != "<none>":
        body["value"] = value
    return draw(
        st.sampled_from(
            [
                body,
                {k: v for k, v in body.items() if k != "comparison"},
                {**body, "extra": 1},
            ]
        )
        if draw(st.integers(0, 9)) == 0
        else st.just(body)
    )


subscriptions = st.fixed_dictionaries(
    {
        "comparison": st.sampled_from(["is", "is_not", "is", "equals"]),
        "value": st.sampled_from(["opted_in", "subscribed", "unsubscribed", "all", True]),
    }
)
last_used = st.fixed_dictionaries(
    {"comparison": st.sampled_from(["after", "before", "after", "is"]), "value": times | values}
)
filters = st.one_of(
    st.builds(lambda body: {"custom_attribute": body}, custom_attributes()),
    st.builds(lambda body: {"custom_attribute": body}, custom_attributes()),
    st.builds(lambda body: {"push_subscription_status": body}, subscriptions),
    st.builds(lambda body: {"email_subscription_status": body}, subscriptions),
    st.builds(lambda body: {"last_used_app": body}, last_used),
    st.sampled_from([{"segment": {"id": "s"}}, {}, [], "everyone"]),
)


@st.composite
def audiences(draw: st.DrawFn, depth: int = 0) -> Any:
    """A connected audience object: mostly well formed, at times broken in one place."""
    shape = draw(st.integers(0, 9)) if depth < 2 else 0
    if shape <= 5:
        return draw(filters)
    if shape <= 8:
        parts = draw(st.lists(audiences(depth + 1), min_size=1, max_size=3))
        return {draw(st.sampled_from(["AND", "OR"])): parts}
    return draw(
        st.sampled_from(
            [{"AND": []}, {"OR": {"AND": []}}, {"AND": [], "OR": []}, {"and": [{"x": 1}]}]
        )
    )


#: The /messages/send tracking fields: a variation with its campaign, or neither, mostly.
TRACKING_CHOICES = [
    {},
    {},
    {"campaign_id": "c", "message_variation_id": "v"},
    {"campaign_id": "c", "message_variation_id": "v"},
    {"campaign_id": "c", "message_variation_id": "v"},
    {"campaign_id": "c"},
    {"message_variation_id": "v"},
    {"campaign_id": "", "message_variation_id": "v"},
    {"campaign_id": "c", "message_variation_id": ""},
]


@st.composite
def requests(draw: st.DrawFn, messages: bool = False) -> dict[str, Any]:
    """A campaign send (or, with *messages*, a ``/messages/send`` with a segment and its
    tracking fields): recipients, or an audience, or neither, with or without broadcast."""
    if messages:
        spec: dict[str, Any] = dict(draw(st.sampled_from(TRACKING_CHOICES)))
        if draw(st.integers(0, 2)) == 0:
            spec["segment_id"] = draw(st.sampled_from(["s", "s", ""]))
        people = named_users  # /messages/send names users by external id or alias only
    else:
        spec = {"campaign_id": draw(st.sampled_from(["c"] * 6 + ["", "camp-é"]))}
        people = recipient_specs
    if draw(st.booleans()):
        spec["send_id"] = draw(send_ids)
    if draw(st.integers(0, 2)) == 0:
        spec["recipients"] = draw(st.lists(people, max_size=3))
    if draw(st.integers(0, 2)) > 0:
        spec["audience"] = draw(audiences())
    broadcast = draw(st.sampled_from([None, True, True, False]))
    if broadcast is not None:
        spec["broadcast"] = broadcast
    return spec


# -- the two verdicts ---------------------------------------------------------------------------


def raw_recipient(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A generated recipient as JSON (an alias as the user alias object)."""
    if "user_alias" in spec:
        name, label = spec["user_alias"]
        return {"user_alias": {"alias_name": name, "alias_label": label}}
    return dict(spec)


def recipients_of(spec: Mapping[str, Any]) -> list[Recipient] | None:
    """The generated recipients as the public API builds them (raises where it refuses)."""
    if "recipients" not in spec:
        return None
    return [
        Recipient(user_alias=UserAlias(*r["user_alias"])) if "user_alias" in r else Recipient(**r)
        for r in spec["recipients"]
    ]


def client_body(spec: Mapping[str, Any]) -> bytes:
    """The body the client sends for *spec*, built through the public API; raises
    :class:`BrazeValidationError` where the client refuses it."""
    target = Campaign(spec["campaign_id"], send_id=spec.get("send_id"))
    request = target.request(
        recipients_of(spec), audience=spec.get("audience"), broadcast=spec.get("broadcast")
    )
    return dumps(request)


def raw_body(spec: Mapping[str, Any]) -> bytes:
    body = dict(spec)
    if "recipients" in body:
        body["recipients"] = [raw_recipient(r) for r in body["recipients"]]
    return orjson.dumps(body)


#: The one message of every generated /messages/send.
WEBHOOK = {"url": "https://example.com/hook", "request_method": "POST"}
TRACKING = ("campaign_id", "message_variation_id", "send_id")


def client_messages_body(spec: Mapping[str, Any]) -> bytes:
    """As :func:`client_body`, for ``/messages/send``."""
    target = Messages(webhook=WEBHOOK, **{k: spec[k] for k in TRACKING if k in spec})
    request = target.request(
        recipients_of(spec),
        audience=spec.get("audience"),
        broadcast=spec.get("broadcast"),
        segment_id=spec.get("segment_id"),
    )
    return dumps(request)


def raw_messages_body(spec: Mapping[str, Any]) -> bytes:
    """The generated ``/messages/send`` as JSON: recipients as ``external_user_ids`` and
    ``user_aliases`` (an empty list as an empty ``external_user_ids``)."""
    body = {k: v for k, v in spec.items() if k != "recipients"}
    body["messages"] = {"webhook": WEBHOOK}
    if "recipients" in spec:
        raw = [raw_recipient(r) for r in spec["recipients"]]
        ids = [r["external_user_id"] for r in raw if "external_user_id" in r]
        aliases = [r["user_alias"] for r in raw if "user_alias" in r]
        if ids or not aliases:
            body["external_user_ids"] = ids
        if aliases:
            body["user_aliases"] = aliases
    return orjson.dumps(body)


def lenient_reading(spec: Mapping[str, Any]) -> str | None:
    """Why the simulator may accept what the client refuses: a place where the pages
    contradict each other, the client sending the strict reading; None elsewhere."""
    if "recipients" not in spec and "broadcast" not in spec:
        # post_send_triggered_campaigns.md contradicts itself: broadcast "must be set to true
        # if recipients is omitted" (request body), and recipients "if not provided and
        # broadcast is not set to false, message will send to the entire segment".
        return "broadcast omitted without recipients"
    return None


def post(sim: BrazeSimulator, body: bytes, path: str = "/campaigns/trigger/send") -> httpx.Response:
    async def main() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=sim.transport(),
            base_url="http://braze.test",
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        ) as http:
            return await http.post(path, content=body)

    return asyncio.run(main())


SIM = BrazeSimulator(
    KEY,
    external_id_rate="100000000/60",
    audience_rate="100000000/60",
    per_audience_rate="100000000/60",
)


def same_verdict(
    path: str,
    spec: Mapping[str, Any],
    client: Callable[[Mapping[str, Any]], bytes],
    raw: Callable[[Mapping[str, Any]], bytes],
    lenient: str | None = None,
) -> None:
    """The client's body is a 201; a body the client refuses is a 400 (unless *lenient*
    names the pages' contradiction that lets the simulator take it)."""
    try:
        body = client(spec)
    except BrazeValidationError as exc:
        refusal: BrazeValidationError | None = exc
    else:
        refusal = None
    if refusal is None:
        event("client accepts")
        answer = post(SIM, body, path)
        assert answer.status_code == 201, (body, answer.text)
        return
    event(f"client refuses ({lenient or refusal.field})")
    if lenient is None:
        answer = post(SIM, raw(spec), path)
        assert answer.status_code == 400, (refusal, answer.text)
        assert answer.json()["errors"][0]["code"]


def exists_with(value: object) -> dict[str, Any]:
    """A campaign broadcast to users having ``vip``, with a ``value`` the page does not need."""
    vip = {"custom_attribute_name": "vip", "comparison": "exists", "value": value}
    return {"campaign_id": "c", "audience": {"custom_attribute": vip}, "broadcast": True}


@VERDICTS
@given(requests())
# Found by this test: the client sent these (value ignored with exists), the simulator refused
# them (the filter body's value is "(String, Numeric, Boolean)", connected_audience.md).
@example(exists_with({"a": 1}))
@example(exists_with(None))
def test_client_and_simulator_agree_on_campaign_sends(spec: dict[str, Any]) -> None:
    """Whatever the client refuses, the simulator refuses (bar the pages' contradictions);
    whatever the client sends, the simulator accepts."""
    same_verdict("/campaigns/trigger/send", spec, client_body, raw_body, lenient_reading(spec))


@VERDICTS
@given(requests(messages=True))
def test_client_and_simulator_agree_on_messages_sends(spec: dict[str, Any]) -> None:
    """The same for ``/messages/send``: the pages leave the client no stricter reading here
    (an omitted ``broadcast`` is no segment default on this page)."""
    same_verdict("/messages/send", spec, client_messages_body, raw_messages_body)
