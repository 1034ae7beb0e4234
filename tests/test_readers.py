"""Reading recipients from JSONL and CSV: good rows, bad rows with their lines, file errors."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from braze_async import BrazeValidationError, Recipient, UserAlias
from braze_async._bulk import RecipientOutcome
from braze_async._readers import (
    MAX_ROW_DEPTH,
    InputError,
    InputRow,
    count_rows,
    detect_format,
    read_csv,
    read_jsonl,
    recipient_from_json,
)

EXAMPLES = Path(__file__).parent.parent / "examples"


def jsonl(text: str | bytes, **kwargs: bool) -> list[InputRow]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_jsonl(io.BytesIO(data), **kwargs))


def csv_rows(text: str | bytes, **kwargs: bool) -> list[InputRow]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_csv(io.BytesIO(data), **kwargs))


# -- JSONL --------------------------------------------------------------------------------------


def test_jsonl_reads_every_identifier_kind() -> None:
    """Braze's recipient JSON, one per line, becomes validated Recipients."""
    rows = jsonl(
        '{"external_user_id": "u1", "trigger_properties": {"coupon": "SAVE20"}}\n'
        '{"user_alias": {"alias_name": "n", "alias_label": "l"}, "send_to_existing_only": true}\n'
        '{"email": "a@example.com", "prioritization": ["identified"], "attributes": {"x": 1}}\n'
    )
    assert [r.line for r in rows] == [1, 2, 3]
    assert [r.recipient for r in rows] == [
        Recipient(external_user_id="u1", trigger_properties={"coupon": "SAVE20"}),
        Recipient(
            user_alias=UserAlias(alias_name="n", alias_label="l"), send_to_existing_only=True
        ),
        Recipient(email="a@example.com", prioritization=["identified"], attributes={"x": 1}),
    ]


def test_jsonl_handles_bom_crlf_blank_lines_and_underscore_keys() -> None:
    """A BOM, CRLF ends, blank lines and _keys (from a failures file) are all fine."""
    rows = jsonl(
        b'\xef\xbb\xbf{"external_user_id": "u1"}\r\n\r\n   \r\n'
        b'{"external_user_id": "u2", "_outcome": "failed", "_line": 9}\r\n'
    )
    assert [(r.line, r.recipient) for r in rows] == [
        (1, Recipient(external_user_id="u1")),
        (4, Recipient(external_user_id="u2")),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param('{"external_user_id": "u1"', "not valid JSON", id="truncated"),
        pytest.param('["u1"]', "must be a JSON object, not an array", id="array"),
        pytest.param('{"external_user_id": 7}', "external_user_id: must be a string", id="number"),
        pytest.param("{}", "needs exactly one identifier", id="no-identifier"),
        pytest.param('{"external_id": "u1"}', "external_id: is not a recipient key", id="typo"),
        pytest.param(
            '{"user_alias": {"alias_name": "n"}}', "user_alias: must be an object", id="half-alias"
        ),
        pytest.param(
            '{"external_user_id": "u", "trigger_properties": [1]}',
            "trigger_properties: must be an object",
            id="properties-array",
        ),
        pytest.param(
            '{"email": "a@example.com"}', "prioritization: is required", id="email-no-priority"
        ),
        pytest.param(
            '{"external_user_id": "u", "send_to_existing_only": "yes"}',
            "send_to_existing_only: must be a boolean",
            id="flag-string",
        ),
    ],
)
def test_jsonl_bad_rows_are_rejected_with_line_and_reason(line: str, reason: str) -> None:
    """A bad row costs only itself: its line number and a reason; the rows after it survive."""
    rows = jsonl(f'{{"external_user_id": "ok1"}}\n{line}\n{{"external_user_id": "ok2"}}\n')
    assert [r.rejected for r in rows] == [False, True, False]
    assert rows[1].line == 2
    assert rows[1].reason is not None and reason in rows[1].reason
    assert rows[1].data is not None


def test_jsonl_invalid_utf8_rejects_the_line_only() -> None:
    """Bytes that are not UTF-8 reject their own line."""
    rows = jsonl(b'{"external_user_id": "caf\xe9"}\n{"external_user_id": "u2"}\n')
    assert rows[0].rejected and "not valid JSON" in (rows[0].reason or "")
    assert rows[1].recipient == Recipient(external_user_id="u2")


def test_canvas_entry_properties_are_the_recipients_properties_for_canvas() -> None:
    """canvas_entry_properties is accepted for Canvas, refused for a campaign."""
    line = '{"external_user_id": "u1", "canvas_entry_properties": {"a": 1}}\n'
    (row,) = jsonl(line, canvas=True)
    assert row.recipient is not None and row.recipient.trigger_properties == {"a": 1}
    (row,) = jsonl(line, canvas=False)
    assert row.rejected and "is for Canvas sends" in (row.reason or "")
    both = '{"external_user_id": "u1", "canvas_entry_properties": {}, "trigger_properties": {}}'
    (row,) = jsonl(both, canvas=True)
    assert row.rejected


def test_context_is_the_canvas_recipients_properties() -> None:
    """context, the Canvas page's current name, is the recipient's properties for a Canvas
    (sent as context); for a campaign it is refused, pointing to trigger_properties."""
    line = '{"external_user_id": "u1", "context": {"plan": "pro"}}\n'
    (row,) = jsonl(line, canvas=True)
    assert row.recipient == Recipient(external_user_id="u1", trigger_properties={"plan": "pro"})
    (row,) = jsonl(line, canvas=False)
    assert row.reason == "context: is for Canvas sends; use trigger_properties"


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        pytest.param(
            ("trigger_properties", "context"),
            "context: give one of trigger_properties, context, canvas_entry_properties, not "
            "trigger_properties and context",
            id="trigger-and-context",
        ),
        pytest.param(
            ("context", "canvas_entry_properties"),
            "canvas_entry_properties: give one of trigger_properties, context, "
            "canvas_entry_properties, not context and canvas_entry_properties",
            id="context-and-its-older-name",
        ),
    ],
)
def test_a_row_holds_one_kind_of_properties(keys: tuple[str, str], reason: str) -> None:
    """Two of trigger_properties / context / canvas_entry_properties: which one would win is
    a guess, so the row is rejected."""
    obj = {"external_user_id": "u1", **{key: {"a": 1} for key in keys}}
    (row,) = jsonl(orjson.dumps(obj) + b"\n", canvas=True)
    assert row.reason == reason


def test_braze_id_is_an_identifier() -> None:
    """A recipient may be named by its braze_id, in JSONL and in CSV."""
    (row,) = jsonl('{"braze_id": "5cdd6b9c2e1b7c6f3c1b2a9d", "send_to_existing_only": true}\n')
    assert row.recipient == Recipient(
        braze_id="5cdd6b9c2e1b7c6f3c1b2a9d", send_to_existing_only=True
    )
    rows = csv_rows('braze_id,context\nb1,"{""plan"": ""pro""}"\n,\n', canvas=True)
    assert [r.recipient for r in rows] == [
        Recipient(braze_id="b1", trigger_properties={"plan": "pro"})
    ]


# -- CSV ----------------------------------------------------------------------------------------


def test_csv_reads_identifiers_json_columns_and_flags() -> None:
    """Each identifier kind, JSON columns and send_to_existing_only, with a BOM and CRLF."""
    text = (
        "\ufeffexternal_user_id,email,prioritization,alias_name,alias_label,"
        "trigger_properties,attributes,send_to_existing_only\r\n"
        'u1,,,,,"{""coupon"": ""SAVE20""}",,\r\n'
        ',a@example.com,"identified, most_recently_updated",,,,,\r\n'
        ",,,crm-1,crm_id,,,TRUE\r\n"
        'u2,,,,,,"{""first_name"": ""Ada""}",false\r\n'
    )
    rows = csv_rows(text)
    assert [r.line for r in rows] == [2, 3, 4, 5]
    assert [r.recipient for r in rows] == [
        Recipient(external_user_id="u1", trigger_properties={"coupon": "SAVE20"}),
        Recipient(email="a@example.com", prioritization=["identified", "most_recently_updated"]),
        Recipient(user_alias=UserAlias("crm-1", "crm_id"), send_to_existing_only=True),
        Recipient(
            external_user_id="u2", attributes={"first_name": "Ada"}, send_to_existing_only=False
        ),
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        pytest.param(',"{""a"": 1}",', "needs exactly one identifier", id="no-identifier"),
        pytest.param('u1,"{""a"": 1,}",', "trigger_properties: not valid JSON", id="bad-json"),
        pytest.param("u1,,maybe", "send_to_existing_only: must be true or false", id="bad-flag"),
        pytest.param("u1,,,extra", "has 4 fields; the header has 3", id="extra-field"),
        pytest.param("u1", "has 1 fields; the header has 3", id="missing-fields"),
        pytest.param('u1,"[1, 2]",', "trigger_properties: must be an object", id="json-array"),
        pytest.param('u1,"x"y,', "malformed CSV", id="bad-quoting"),
    ],
)
def test_csv_bad_rows_are_rejected_with_line_and_reason(row: str, reason: str) -> None:
    """A bad CSV row is rejected alone, with its line number."""
    text = f"external_user_id,trigger_properties,send_to_existing_only\nok1,,\n{row}\nok2,,\n"
    rows = csv_rows(text)
    assert [r.rejected for r in rows] == [False, True, False]
    assert rows[1].line == 3
    assert reason in (rows[1].reason or "")


def test_csv_line_numbers_count_quoted_newlines_and_blank_rows() -> None:
    """Line numbers are the physical line a row starts on."""
    text = 'external_user_id,trigger_properties\nu1,"{""note"":\n""ab""}"\n\nu2,\n'
    rows = csv_rows(text)
    assert [(r.line, r.rejected) for r in rows] == [(2, False), (5, False)]
    assert rows[0].recipient is not None
    assert rows[0].recipient.trigger_properties == {"note": "ab"}


def csv_file(path: Path, n: int, bad: dict[int, str]) -> Path:
    """A CSV of *n* users ``u0``... (user ``u<i>`` on line ``i + 2``), lines replaced by
    index as *bad* says."""
    lines = [f"u{i},,true" for i in range(n)]
    for index, text in bad.items():
        lines[index] = text
    header = "external_user_id,trigger_properties,send_to_existing_only\n"
    path.write_text(header + "\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({1: 'u1,,"true'}, id="stray-opening-quote"),
        pytest.param({1: 'u1,"{""a"": 1},true', 2: 'u2,"{""b"": 2}",true'},
                     id="missing-closing-quote"),
        pytest.param({1: 'u1,"{}', 7: 'u7,x",true'}, id="closed-lines-later"),
        pytest.param({1: '"u1,,true', 2: 'u2,,"true'}, id="two-in-a-row"),
    ],
)  # fmt: skip
def test_a_broken_quote_costs_its_own_line_only(tmp_path: Path, bad: dict[int, str]) -> None:
    """A quote that does not close where it should does not swallow the lines after it: its
    line is rejected with its text, every other line is read as it stands."""
    rows = list(read_csv(csv_file(tmp_path / "users.csv", 1_000, bad)))
    assert [r.line for r in rows] == list(range(2, 1_002))  # every line, once
    rejected = {r.line: r for r in rows if r.rejected}
    assert 3 in rejected and "malformed CSV" in (rejected[3].reason or "")
    assert rejected[3].data == {"_raw": bad[1]}
    fine = [r.recipient.external_user_id for r in rows if r.recipient is not None]
    assert fine == [f"u{i}" for i in range(1_000) if i + 2 not in rejected]
    assert len(rejected) <= len(bad)


def test_a_quoted_line_break_in_a_json_cell_is_one_row() -> None:
    """Pretty JSON in a quoted cell spans lines: it is one row, from its first line."""
    text = 'external_user_id,trigger_properties\nu1,"{\n  ""a"": 1,\n  ""b"": [2]\n}"\nu2,\n'
    rows = csv_rows(text)
    assert [(r.line, r.rejected) for r in rows] == [(2, False), (6, False)]
    assert rows[0].recipient is not None
    assert rows[0].recipient.trigger_properties == {"a": 1, "b": [2]}


def test_csv_invalid_utf8_rejects_the_row_only() -> None:
    """A row with bytes that are not UTF-8 is rejected; the file goes on."""
    rows = csv_rows(b"external_user_id\ncaf\xe9\nu2\n")
    assert rows[0].rejected and rows[0].reason == "not valid UTF-8"
    assert rows[1].recipient == Recipient(external_user_id="u2")


def test_csv_ignores_underscore_columns_and_empty_files() -> None:
    """_columns are ignored; an empty file has no rows."""
    rows = csv_rows("_note,external_user_id\nhello,u1\n")
    assert [r.recipient for r in rows] == [Recipient(external_user_id="u1")]
    assert csv_rows("") == []


@pytest.mark.parametrize(
    ("header", "message"),
    [
        pytest.param("external_id,email", "unknown CSV column 'external_id'", id="typo"),
        pytest.param(
            "trigger_properties",
            "needs an identifier column: external_user_id, braze_id, email, or alias_name",
            id="no-identifier",
        ),
        pytest.param("alias_name,email", "alias_name and alias_label go together", id="half-alias"),
        pytest.param("email,email", "appears twice", id="twice"),
    ],
)
def test_csv_header_problems_are_input_errors(header: str, message: str) -> None:
    """A header that cannot work stops the file at line 1, before any row."""
    with pytest.raises(InputError, match=message):
        csv_rows(f"{header}\nx,y\n")


# -- files --------------------------------------------------------------------------------------


def test_count_rows_and_format_detection(tmp_path: Path) -> None:
    """Row estimates for the ETA: lines, minus a CSV header; .csv is CSV, the rest JSONL."""
    path = tmp_path / "a.csv"
    path.write_bytes(b"external_user_id\nu1\nu2")
    assert count_rows(path, "csv") == 2
    assert count_rows(path, "jsonl") == 3
    assert detect_format("x.CSV") == "csv"
    assert detect_format("x.jsonl") == detect_format("x.ndjson") == "jsonl"


def test_example_files_hold_the_documented_bad_rows() -> None:
    """examples/users-with-errors.csv and users.jsonl: the bad rows of examples/README.md,
    and examples/users.csv (the README's main command) is all good rows."""
    with open(EXAMPLES / "users.csv", "rb") as fh:
        good = list(read_csv(fh, canvas=False))
    assert len(good) == 1000
    assert not [r.line for r in good if r.rejected]
    with open(EXAMPLES / "users-with-errors.csv", "rb") as fh:
        rows = list(read_csv(fh, canvas=False))
    assert len(rows) == 1000
    assert [r.line for r in rows if r.rejected] == [101, 251, 401, 601, 801]
    with open(EXAMPLES / "users.jsonl", "rb") as fh:
        rows = list(read_jsonl(fh, canvas=True))
    assert len(rows) == 300
    assert [r.line for r in rows if r.rejected] == [50, 100, 150, 200]


def test_readers_take_a_path_as_well_as_an_open_file(tmp_path: Path) -> None:
    """read_csv / read_jsonl open a path (str or Path) themselves, and close it at the end."""
    with open(EXAMPLES / "users.csv", "rb") as fh:
        from_file = list(read_csv(fh))
    assert list(read_csv(EXAMPLES / "users.csv")) == from_file
    assert list(read_csv(str(EXAMPLES / "users.csv"))) == from_file
    with open(EXAMPLES / "users.jsonl", "rb") as fh:
        from_file = list(read_jsonl(fh, canvas=True))
    assert list(read_jsonl(EXAMPLES / "users.jsonl", canvas=True)) == from_file
    rows = read_jsonl(tmp_path / "missing.jsonl")  # opened when reading starts
    with pytest.raises(FileNotFoundError):
        next(rows)


def test_a_header_only_or_empty_csv_yields_no_row() -> None:
    """No line at all, or the header alone: no row (the CLI warns about it)."""
    assert csv_rows("") == []
    assert csv_rows("external_user_id\r\n") == []


def nested(depth: int) -> str:
    """A JSON object ``depth`` levels deep (a bracket inside a string does not count)."""
    return '{"a[":' * (depth - 1) + "{}" + "}" * (depth - 1)


@pytest.mark.parametrize(
    "depth",
    [
        pytest.param(MAX_ROW_DEPTH + 1, id="just-too-deep"),
        pytest.param(300, id="deeper-than-orjson-writes"),
        pytest.param(5_000, id="deeper-than-orjson-3.10-reads"),
    ],
)
def test_a_deeply_nested_row_is_rejected_whatever_orjson_reads(depth: int) -> None:
    """A line nested too deep is a rejected row (never a traceback), and its failures-file
    line can be written: orjson 3.9 reads any depth, later ones stop at 1024."""
    import orjson

    [row] = jsonl('{"external_user_id": "u1", "x": ' + nested(depth - 1) + "}\n")
    [array] = jsonl("[" * depth + "]" * depth + "\n")
    [cell] = csv_rows(
        'external_user_id,attributes\nu1,"' + nested(depth).replace('"', '""') + '"\n'
    )
    for bad in (row, array, cell):
        assert bad.rejected and bad.reason is not None
        assert bad.reason.endswith(f"nests deeper than {MAX_ROW_DEPTH} levels")
        outcome = RecipientOutcome(
            position=0, outcome="rejected", reason=bad.reason, line=1, data=bad.data
        )
        orjson.dumps(outcome.to_json())  # what the failures file writes
    assert cell.reason == "attributes: nests deeper than 64 levels"
    # As deep as allowed: judged on its content (here an unknown key), not its depth.
    [deepest] = jsonl(nested(MAX_ROW_DEPTH) + "\n")
    assert deepest.reason is not None and "nests deeper" not in deepest.reason


# -- the failures file round trip ------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_props = st.none() | st.dictionaries(_text, _values, max_size=4)
_recipients = st.one_of(
    st.builds(lambda i, p: Recipient(external_user_id=i, trigger_properties=p), _text, _props),
    st.builds(
        lambda n, label, p: Recipient(
            user_alias=UserAlias(n, label), trigger_properties=p, send_to_existing_only=True
        ),
        _text,
        _text,
        _props,
    ),
    st.builds(
        lambda p: Recipient(
            email="a@example.com", prioritization=["identified"], trigger_properties=p
        ),
        _props,
    ),
    st.builds(lambda i, p: Recipient(braze_id=i, trigger_properties=p), _text, _props),
)


@given(recipient=_recipients, canvas=st.booleans())
def test_a_failures_line_reads_back_as_the_same_recipient(
    recipient: Recipient, canvas: bool
) -> None:
    """What the CLI writes to the failures file, the JSONL reader reads back unchanged."""
    outcome = RecipientOutcome(
        position=0, outcome="failed", reason="HTTP 500", line=3, recipient=recipient
    )
    written = outcome.to_json(canvas=canvas)
    if recipient.trigger_properties is not None:  # under the name the send uses
        assert ("context" if canvas else "trigger_properties") in written
    (row,) = jsonl(orjson.dumps(written) + b"\n", canvas=canvas)
    assert row.recipient == recipient


def test_a_failures_files_note_is_skipped_and_nothing_else_is() -> None:
    """The note a failures file starts with after a stop is no recipient: skipped. A line of
    ``_`` keys without the note (an unreadable row written back) is still rejected."""
    rows = jsonl(
        '{"_note": "stopped before the end", "_first_unread_line": 252}\n'
        '{"external_user_id": "u1", "_outcome": "failed"}\n'
        '{"_raw": "{\\"external_user_id\\": ", "_outcome": "rejected", "_line": 9}\n'
        '{"_note": "not a note: it names a recipient", "external_user_id": "u2"}\n'
    )
    assert [(r.line, r.rejected) for r in rows] == [(2, False), (3, True), (4, False)]
    assert rows[0].recipient == Recipient(external_user_id="u1")
    assert rows[2].recipient == Recipient(external_user_id="u2")


def test_recipient_from_json_refuses_non_objects() -> None:
    """Only JSON objects are recipients."""
    with pytest.raises(BrazeValidationError, match="must be a JSON object, not a string"):
        recipient_from_json("u1")
