"""Hostile input: whatever users hand us becomes a request Braze accepts, or a clear refusal.

Models and file readers are fed unicode (lone surrogates included), huge strings, deep
nesting, NaN and Infinity, wrong types, BOMs, CRLF, NULs and very long lines. Every input
must end as a valid request or a ``BrazeValidationError`` / rejected row with a reason, never
an unhandled exception; and whatever validates is sent through the simulator's in-process
transport (the independent oracle of Braze's rules), which must never answer 400.
``BRAZE_SOAK=1`` multiplies the number of examples.
"""

from __future__ import annotations

import asyncio
import csv
import datetime
import decimal
import io
import math
import os
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from braze_async import (
    BrazeClient,
    BrazeValidationError,
    Campaign,
    Canvas,
    InputRow,
    Recipient,
    RetryPolicy,
    UserAlias,
)
from braze_async._bulk import RecipientOutcome
from braze_async._models import CampaignTriggerRequest, CanvasTriggerRequest
from braze_async._readers import CSV_COLUMNS as READER_COLUMNS
from braze_async._readers import InputError, read_csv, read_jsonl, recipient_from_json
from braze_async.cli import main as cli_main
from braze_async.simulator import BrazeSimulator, ThreadedSimulator

SOAK = os.environ.get("BRAZE_SOAK") == "1"
FUZZ = settings(
    max_examples=2_000 if SOAK else 150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KEY = "sk-hostile-input-0123456789"

# -- strategies ---------------------------------------------------------------------------------

#: Every code point, lone surrogates included (hypothesis leaves those out by default).
ANY_CHAR = st.characters(exclude_categories=())
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "u\x001",
    "\ud800",
    "a\udfffb",
    "\ufeffu1",
    "\r\n",
    "e\u0301",
    "😀",
    "\u202eevil",
    "x" * 100_000,
    "é" * 50_000,
]
nasty_text = st.one_of(st.text(ANY_CHAR, max_size=12), st.sampled_from(NASTY_STRINGS))


class Opaque:
    """An object that is not JSON."""


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
    st.binary(max_size=4),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.decimals(allow_nan=True),
    st.builds(Opaque),
    st.builds(uuid.uuid4),
)


def nest(depth: int, leaf: object) -> object:
    value = leaf
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.sets(st.integers(), max_size=3),
        st.dictionaries(st.one_of(nasty_text, st.integers(), st.none()), children, max_size=4),
        st.dictionaries(nasty_text, children, max_size=3).map(MappingProxyType),
    ),
    max_leaves=12,
)
deep = st.builds(nest, st.integers(0, 80), scalars)
properties = st.one_of(
    st.none(),
    st.dictionaries(nasty_text, st.one_of(json_like, deep), max_size=5),
    st.dictionaries(nasty_text, st.text(max_size=8), max_size=3),  # the common, valid case
    json_like,
    deep.map(lambda value: {"deep": value}),
)
identifier = st.one_of(st.text(max_size=10), nasty_text, scalars)
#: Mostly valid identifiers (non-empty text), now and then anything.
plausible_id = st.one_of(
    st.text(min_size=1, max_size=10), st.text(ANY_CHAR, min_size=1, max_size=10), identifier
)
PRIORITIES = ["identified", "unidentified", "most_recently_updated", "least_recently_updated"]
prioritization = st.one_of(
    st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=3),
    st.none(),
    st.lists(st.one_of(nasty_text, scalars), max_size=2),
    nasty_text,
)
emails = st.one_of(
    st.emails(),
    st.builds(lambda a, b: f"{a}@{b}", plausible_id, plausible_id),
    nasty_text,
)


@st.composite
def aliases(draw: st.DrawFn) -> object:
    """A UserAlias when its parts are valid, else what the user passed (a dict, junk...)."""
    name, label = draw(plausible_id), draw(plausible_id)
    if draw(st.booleans()):
        return {"alias_name": name, "alias_label": label}
    try:
        return UserAlias(name, label)
    except BrazeValidationError as exc:
        assert_refusal(exc)
        return None


subscription_groups = st.builds(
    lambda groups: {"subscription_groups": groups},
    st.one_of(
        st.lists(
            st.fixed_dictionaries(
                {
                    "subscription_group_id": identifier,
                    "subscription_state": st.sampled_from(["subscribed", "unsubscribed", "maybe"]),
                }
            ),
            max_size=2,
        ),
        scalars,
    ),
)
#: JSON as Braze takes it, with hostile (but encodable) text: mostly valid properties.
plausible_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.sampled_from([t for t in NASTY_STRINGS if "\ud800" not in t and "\udfff" not in t]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
extras = {
    "trigger_properties": st.one_of(
        st.dictionaries(st.text(max_size=6), plausible_json, max_size=4), properties
    ),
    "send_to_existing_only": st.one_of(st.booleans(), st.booleans(), scalars),
    "attributes": st.one_of(
        st.dictionaries(st.text(max_size=6), plausible_json, min_size=1, max_size=3),
        properties,
        subscription_groups,
    ),
}
#: Recipient(**kwargs): one identifier and hostile extras (often valid), or anything at all.
recipient_kwargs = st.one_of(
    st.fixed_dictionaries({"external_user_id": plausible_id}, optional=extras),
    st.fixed_dictionaries({"external_user_id": st.text(min_size=1)}, optional=extras),
    st.fixed_dictionaries({"user_alias": aliases()}, optional=extras),
    st.fixed_dictionaries({"email": emails, "prioritization": prioritization}, optional=extras),
    st.fixed_dictionaries(
        {},
        optional={
            "external_user_id": identifier,
            "user_alias": aliases(),
            "email": emails,
            "prioritization": prioritization,
            **extras,
        },
    ),
)


# -- the oracle: the simulator in process ----------------------------------------------------


def oracle() -> BrazeSimulator:
    """A simulator whose budgets never get in the way (each example makes a few requests)."""
    return BrazeSimulator(KEY, external_id_rate="100000000/60", audience_rate="100000000/60")


def run_against(sim: BrazeSimulator, scenario: Callable[[BrazeClient], Awaitable[None]]) -> None:
    """Run ``scenario`` with a client on the simulator's in-process transport."""

    async def main() -> None:
        async with BrazeClient(
            api_key=KEY,
            base_url="https://braze.invalid",
            transport=sim.transport(),
            rate_limits=None,
            retry=RetryPolicy(attempts=1),
        ) as braze:
            await scenario(braze)

    asyncio.run(main())


def assert_refusal(exc: BrazeValidationError) -> None:
    """A refusal names a field and a rule, in a message that can be printed."""
    assert exc.field and exc.rule
    str(exc).encode("utf-8", "backslashreplace")


def build(kwargs: Mapping[str, Any]) -> Recipient | None:
    try:
        return Recipient(**kwargs)
    except BrazeValidationError as exc:
        assert_refusal(exc)
        return None


async def send_everywhere(braze: BrazeClient, recipients: Sequence[Recipient]) -> None:
    """Send ``recipients`` as a campaign and as a Canvas; both must be accepted."""
    for start in range(0, len(recipients), 50):
        chunk = list(recipients[start : start + 50])
        r = await braze.send(Campaign("hostile"), recipients=chunk)
        assert r.dispatch_id
        r = await braze.send(Canvas("hostile-canvas"), recipients=chunk)
        assert r.dispatch_id


# -- models ---------------------------------------------------------------------------------


@FUZZ
@given(kwargs=recipient_kwargs)
def test_any_recipient_is_refused_clearly_or_accepted_by_the_simulator(
    kwargs: dict[str, Any],
) -> None:
    """Recipient(**anything): a BrazeValidationError, or a recipient Braze's rules accept."""
    recipient = build(kwargs)
    if recipient is None:
        return
    sim = oracle()

    async def scenario(braze: BrazeClient) -> None:
        await send_everywhere(braze, [recipient])
        try:
            await braze.send_transactional("txn", recipient, external_send_id="x-1")
        except BrazeValidationError as exc:  # e.g. email recipients are not transactional
            assert_refusal(exc)

    run_against(sim, scenario)
    assert sim.stats.rejected_400 == 0


@FUZZ
@given(
    campaign_id=identifier,
    send_id=st.one_of(st.none(), identifier),
    request_properties=properties,
    audience=properties,
    broadcast=st.one_of(st.none(), st.booleans(), scalars),
    recipients=st.one_of(
        st.none(),
        st.lists(recipient_kwargs, max_size=3),
        st.lists(st.just({"external_user_id": "u"}), min_size=49, max_size=52),
        scalars,
    ),
    external_send_id=st.one_of(st.none(), identifier, st.text("abc-_+/=", max_size=70)),
)
def test_any_request_is_refused_clearly_or_accepted_by_the_simulator(
    campaign_id: Any,
    send_id: Any,
    request_properties: Any,
    audience: Any,
    broadcast: Any,
    recipients: Any,
    external_send_id: Any,
) -> None:
    """Campaign, Canvas and transactional requests of anything: refused, or Braze accepts them."""
    if isinstance(recipients, list):
        built = [build(k) for k in recipients]
        recipients = [r if r is not None else object() for r in built]
    requests: list[CampaignTriggerRequest | CanvasTriggerRequest] = []
    for make in (
        lambda: CampaignTriggerRequest(
            campaign_id=campaign_id,
            send_id=send_id,
            trigger_properties=request_properties,
            broadcast=broadcast,
            audience=audience,
            recipients=recipients,
        ),
        lambda: CanvasTriggerRequest(
            canvas_id=campaign_id,
            canvas_entry_properties=request_properties,
            broadcast=broadcast,
            audience=audience,
            recipients=recipients,
        ),
    ):
        try:
            requests.append(make())
        except BrazeValidationError as exc:
            assert_refusal(exc)
    first = recipients[0] if isinstance(recipients, list) and recipients else None
    sim = oracle()

    async def scenario(braze: BrazeClient) -> None:
        for request in requests:
            if isinstance(request, CampaignTriggerRequest):
                await braze._post("/campaigns/trigger/send", request)
            else:
                await braze._post("/canvas/trigger/send", request)
        if isinstance(first, Recipient):
            try:
                await braze.send_transactional(
                    campaign_id,
                    first,
                    external_send_id=external_send_id,
                    trigger_properties=request_properties,
                )
            except BrazeValidationError as exc:  # a 100 kB campaign id too: no valid URL
                assert_refusal(exc)

    run_against(sim, scenario)
    assert sim.stats.rejected_400 == 0


@pytest.mark.parametrize(
    "properties",
    [
        pytest.param({"price": math.nan}, id="nan"),
        pytest.param({"price": math.inf}, id="infinity"),
        pytest.param({"a": [1, {"b": -math.inf}]}, id="nested-infinity"),
        pytest.param({"\ud800": 1}, id="surrogate-key-number-value"),
        pytest.param({"a": {"\udfff": [1]}}, id="nested-surrogate-key"),
        pytest.param({"a": "\ud800"}, id="surrogate-value"),
        pytest.param({1: "one"}, id="int-key"),
        pytest.param({"n": 2**64}, id="int-beyond-64-bits"),
        pytest.param({"d": decimal.Decimal("1.5")}, id="decimal"),
        pytest.param({"t": datetime.time(1, 2)}, id="time"),
        pytest.param({"b": b"bytes"}, id="bytes"),
        pytest.param({"s": {1, 2}}, id="set"),
        pytest.param({"deep": nest(40, 1)}, id="too-deep-list"),
        pytest.param({"deep": nest(10_000, 1)}, id="very-deep"),
    ],
)
def test_properties_that_are_not_json_are_refused_when_the_recipient_is_made(
    properties: Any,
) -> None:
    """NaN, Infinity, lone surrogates (in keys too), non-JSON types, deep nesting: refused."""
    with pytest.raises(BrazeValidationError) as info:
        Recipient(external_user_id="u1", trigger_properties=properties)
    assert info.value.field.startswith("recipient.trigger_properties")


def test_huge_and_odd_but_valid_values_reach_the_simulator_intact() -> None:
    """NULs, RTL marks, emoji, combining marks and a 49 KB string travel unchanged (50 KB of
    JSON is Braze's limit: objects_filters/trigger_properties_object.md)."""
    odd = {
        "nul": "a\x00b",
        "rtl": "\u202eevil",
        "emoji": "😀",
        "combining": "e\u0301",
        "bom": "\ufeff",
        "crlf": "a\r\nb",
        "huge": "x" * 49_000,
        "big": 2**64 - 1,
        "small": -(2**63),
        "when": datetime.datetime(2024, 2, 29, 12, 0, tzinfo=datetime.timezone.utc),
        "proxy": MappingProxyType({"k": (1, 2)}),
        "deep": nest(30, "leaf"),
    }
    recipient = Recipient(external_user_id="\x00é😀", trigger_properties=odd)
    sim = oracle()

    async def scenario(braze: BrazeClient) -> None:
        await send_everywhere(braze, [recipient])

    run_against(sim, scenario)
    delivered = sim.delivered()[0]
    assert delivered.recipient == "external_user_id:\x00é😀"
    got = delivered.data["trigger_properties"]
    assert got["huge"] == odd["huge"] and got["nul"] == "a\x00b" and got["big"] == 2**64 - 1
    assert got["when"] == "2024-02-29T12:00:00+00:00" and got["proxy"] == {"k": [1, 2]}


# -- readers ----------------------------------------------------------------------------------


def good_line(i: int) -> dict[str, Any]:
    kinds: list[dict[str, Any]] = [
        {"external_user_id": f"u{i}", "trigger_properties": {"n": i, "s": "é😀\x00"}},
        {"user_alias": {"alias_name": f"a{i}", "alias_label": "crm"}},
        {"email": f"p{i}@example.com", "prioritization": ["identified"]},
        {"external_user_id": f"u{i}", "send_to_existing_only": False, "attributes": {"x": 1}},
    ]
    return kinds[i % len(kinds)]


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
recipient_keys = st.sampled_from(
    [
        "external_user_id",
        "user_alias",
        "email",
        "prioritization",
        "trigger_properties",
        "canvas_entry_properties",
        "send_to_existing_only",
        "attributes",
        "_line",
        "external_id",
    ]
)
json_objects = st.one_of(
    st.builds(good_line, st.integers(0, 1000)),
    st.dictionaries(recipient_keys, json_values, max_size=4),
    st.builds(
        lambda base, extra: {**base, **extra},
        st.builds(good_line, st.integers(0, 1000)),
        st.dictionaries(recipient_keys, json_values, max_size=2),
    ),
)


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    """A JSONL file: mostly objects, some garbage lines, with BOM / CRLF / NUL / long lines."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 9))
        if kind <= 5:
            lines.append(orjson.dumps(draw(json_objects)))
        elif kind == 6:
            lines.append(draw(st.binary(max_size=30)).replace(b"\n", b""))
        elif kind == 7:
            text = draw(st.text(ANY_CHAR, max_size=20)).replace("\n", "")
            lines.append(text.encode("utf-8", "surrogatepass"))
        elif kind == 8:
            lines.append(draw(st.sampled_from(LINES)))
        else:
            lines.append(orjson.dumps(draw(json_values)))
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = newline.join(lines) + draw(st.sampled_from([b"", newline]))
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + data


LINES = [
    b'{"external_user_id": "u\\u0000"}',
    b'{"external_user_id": "\\ud800"}',
    b'{"external_user_id": "u", "trigger_properties": {"p": NaN}}',
    b'{"external_user_id": "u", "trigger_properties": {"p": 1e999}}',
    b'{"external_user_id": "u", "trigger_properties": {"p": 123456789012345678901234567890}}',
    b'{"external_user_id": "u", "trigger_properties": {"\\udc00": 1}}',
    b'{"external_user_id": "u\x00"}',
    b"\x00\x00\x00",
    b"[" * 5_000 + b"]" * 5_000,
    b'{"external_user_id": "u", "trigger_properties": ' + b'{"a":' * 40 + b"1" + b"}" * 41,
    b'{"external_user_id": "' + b"x" * 2_000_000 + b'"}',
    b'{"external_user_id": "u", "external_user_id": "v"}',
    b'{"external_user_id": "u"} trailing',
    b"\xef\xbb\xbf{}",
    b'{"external_user_id": "\xff"}',
]


def check_rows(rows: list[InputRow], *, max_line: int) -> list[Recipient]:
    """Every row is a recipient or a reason, with a line; rejected rows can be written out."""
    recipients = []
    previous = 0
    for row in rows:
        assert isinstance(row, InputRow)
        assert previous < row.line <= max_line
        previous = row.line
        assert (row.recipient is None) != (row.reason is None)
        if row.recipient is not None:
            recipients.append(row.recipient)
            continue
        assert isinstance(row.reason, str) and row.reason
        outcome = RecipientOutcome(
            position=0, outcome="rejected", reason=row.reason, line=row.line, data=row.data
        )
        # The failures file writes this line: it must be JSON, whatever the row held.
        orjson.dumps(
            outcome.to_json(), default=lambda v: dict(v) if isinstance(v, Mapping) else str(v)
        )
    return recipients


def accepted_by_the_oracle(recipients: list[Recipient]) -> None:
    if not recipients:
        return
    sim = oracle()

    async def scenario(braze: BrazeClient) -> None:
        await send_everywhere(braze, recipients)

    run_against(sim, scenario)
    assert sim.stats.rejected_400 == 0


@FUZZ
@given(data=jsonl_files(), canvas=st.sampled_from([None, True, False]))
def test_any_jsonl_file_yields_valid_recipients_or_rejected_rows(
    data: bytes, canvas: bool | None
) -> None:
    """Any bytes as JSONL: valid recipients Braze accepts, or rows rejected with a reason."""
    rows = list(read_jsonl(io.BytesIO(data), canvas=canvas))
    accepted_by_the_oracle(check_rows(rows, max_line=data.count(b"\n") + 1))


CSV_COLUMNS = [*READER_COLUMNS, "_note"]  # every column the reader knows, and an ignored one


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A CSV file: a plausible header, then rows of hostile cells; written as bytes."""
    columns = draw(
        st.lists(st.sampled_from(CSV_COLUMNS), min_size=1, max_size=6, unique=True)
        | st.just(["external_user_id", "trigger_properties", "send_to_existing_only"])
    )
    cell = st.one_of(
        st.text(ANY_CHAR, max_size=10),
        st.sampled_from(
            ["", "u1", "a@example.com", "identified, most_recently_updated", "true", "no"]
        ),
        json_values.map(lambda v: orjson.dumps(v).decode()),
        st.just('{"p": NaN}'),
        st.just('{"\\ud800": 1}'),
        st.just("x" * 200_000),
    )
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(columns) + 1), max_size=8))
    out = io.StringIO()
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    # (Python 3.10's writer asks for an escape character for some fields that 3.11+ quotes.)
    writer = csv.writer(out, lineterminator=newline, escapechar="\\")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row)
    text = out.getvalue()
    if draw(st.booleans()):  # a raw tail: broken quotes, NULs, stray bytes
        text += draw(st.sampled_from(['"unterminated,\n', "a\x00b\n", 'x,"y"z\n', "\r\r\n"]))
    raw = text.encode("utf-8", "surrogatepass")  # lone surrogates become invalid UTF-8
    if draw(st.booleans()):
        raw += draw(st.binary(max_size=20))
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + raw


@FUZZ
@given(data=csv_files(), canvas=st.sampled_from([None, True, False]))
def test_any_csv_file_yields_valid_recipients_or_rejected_rows(
    data: bytes, canvas: bool | None
) -> None:
    """Any bytes as CSV: an InputError for the header, else recipients or rejected rows."""
    try:
        rows = list(read_csv(io.BytesIO(data), canvas=canvas))
    except InputError as exc:
        assert str(exc).startswith("line 1: ")  # noqa: PT017 - not always raised
        return
    accepted_by_the_oracle(check_rows(rows, max_line=data.count(b"\n") + data.count(b"\r") + 1))


@FUZZ
@given(obj=st.one_of(json_objects, json_like, st.dictionaries(nasty_text, json_like)))
def test_recipient_from_json_of_anything_is_a_recipient_or_a_validation_error(obj: Any) -> None:
    """recipient_from_json never fails with anything but BrazeValidationError."""
    try:
        recipient = recipient_from_json(obj)
    except BrazeValidationError as exc:
        assert_refusal(exc)
    else:
        accepted_by_the_oracle([recipient])


def hostile_jsonl() -> bytes:
    good = [orjson.dumps(good_line(i)) for i in range(60)]
    # Lines under 1 MB: the simulator's server, like any, refuses larger bodies (413).
    hostile = [line for line in LINES if len(line) < 1_000_000]
    return b"\xef\xbb\xbf" + b"\r\n".join([*good[:30], *hostile, *good[30:]]) + b"\r\n"


def hostile_csv() -> bytes:
    return (
        b"\xef\xbb\xbfexternal_user_id,trigger_properties,_note\r\n"
        + b"".join(b"u%d,,ok\r\n" % i for i in range(55))
        + b'u-nan,"{""p"": NaN}",x\r\n'
        + b'u-sur,"{""\\ud800"": 1}",x\r\n'
        + b"\xff\xfe,,bad utf-8\r\n"
        + b"u-wide,,\xff,extra field with a bad byte\r\n"
        + b'u-nul\x00,"{""a"": ""\x00""}",nul\r\n'
        + b"u-long,"
        + b'"{""a"": ""'
        + b"y" * 500_000
        + b'""}",long\r\n'
        + b'"unterminated,\r\n'
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("users.jsonl", hostile_jsonl, id="jsonl"),
        pytest.param("users.csv", hostile_csv, id="csv"),
    ],
)
def test_the_cli_survives_a_hostile_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: Callable[[], bytes],
) -> None:
    """`braze-async send` on a hostile file: good rows sent, bad ones in the failures file."""
    users = tmp_path / name
    users.write_bytes(content())
    with ThreadedSimulator(KEY) as sim:
        code = cli_main(
            ["send", "--campaign-id", "weekly", "--recipients", str(users),
             "--api-key", KEY, "--base-url", sim.base_url]
        )  # fmt: skip
        assert sim.stats.rejected_400 == 0
        delivered = sim.delivered_counts()
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    failures = [
        orjson.loads(line)
        for line in (tmp_path / f"{name}.failures.jsonl").read_bytes().splitlines()
    ]
    assert failures and {f["_outcome"] for f in failures} == {"rejected"}
    assert all(f["_reason"] and f["_line"] >= 1 for f in failures)
    assert max(delivered.values()) == 1
    assert len(delivered) + len(failures) >= 60


def _iter(data: bytes) -> Iterator[bytes]:
    yield from io.BytesIO(data)


def test_readers_hold_one_line_not_the_file() -> None:
    """A 5 MB unterminated line is rejected as itself; the rows after it still come out."""
    data = b'{"external_user_id": "' + b"z" * 5_000_000 + b'\n{"external_user_id": "after"}\n'
    rows = list(read_jsonl(_iter(data)))
    assert [r.line for r in rows] == [1, 2]
    assert rows[0].rejected and "not valid JSON" in (rows[0].reason or "")
    assert rows[1].recipient == Recipient(external_user_id="after")
    assert sys.getsizeof(rows[0].reason) < 10_000


def test_a_bad_row_is_rejected_not_sent_with_its_batch() -> None:
    """A recipient whose properties cannot become JSON never reaches a batch of 50."""
    data = b"\n".join(
        [*(b'{"external_user_id": "u%d"}' % i for i in range(49)),
         b'{"external_user_id": "bad", "trigger_properties": {"\\udc00": [1]}}']
    )  # fmt: skip
    rows = list(read_jsonl(io.BytesIO(data)))
    assert sum(r.rejected for r in rows) == 1

    async def scenario(braze: BrazeClient) -> None:
        report = await braze.send_bulk(Campaign("weekly"), rows)
        assert (report.sent, report.rejected, report.failed) == (49, 1, 0)

    run_against(oracle(), scenario)
