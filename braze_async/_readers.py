"""Reading recipients from files: JSONL (Braze's own recipient JSON) and CSV.

Both readers stream: they hold one row at a time, whatever the file's size. Each row comes
out as an :class:`InputRow` carrying its line number and either a validated
:class:`~braze_async.Recipient` or the reason it was rejected, so a bad row costs only itself.
A UTF-8 byte-order mark and CRLF line ends are accepted. Keys (JSONL) and columns (CSV) whose
name starts with ``_`` are ignored: that is how a failures file written by ``braze-async
send`` (``_outcome``, ``_reason``, ``_line``) can be fed back as it is; the note such a file
starts with after a job that stopped early (a line holding :data:`NOTE_KEY` and only ``_``
keys) is skipped.

JSONL, one object per line::

    {"external_user_id": "u1", "trigger_properties": {"coupon": "SAVE20"}}
    {"user_alias": {"alias_name": "crm-7", "alias_label": "crm_id"}}
    {"braze_id": "5cdd6b9c2e1b7c6f3c1b2a9d", "context": {"plan": "pro"}}
    {"email": "a@example.com", "prioritization": ["identified", "most_recently_updated"]}

CSV with a header naming the columns ``external_user_id``, ``braze_id``, or ``email`` (with
``prioritization``, values separated by commas or spaces), or ``alias_name`` + ``alias_label``;
optional ``trigger_properties`` (for a Canvas ``context``, or its older name
``canvas_entry_properties``) and ``attributes`` holding JSON objects, and
``send_to_existing_only`` (true/false). Empty cells count as absent. A quoted cell may hold
line breaks in a JSON column only (pretty JSON), and its row must be valid: a quote that does
not close on its line otherwise (a stray one, one missing its end) costs that line alone,
rejected with its text, and the lines after it are read as they stand, so every line of the
file ends as a row, rejected or sent.

A recipient's personalization is one of ``trigger_properties``, ``context`` and
``canvas_entry_properties``: the last two only for a Canvas (``canvas=True``), where all
three become the recipient's :attr:`~braze_async.Recipient.trigger_properties`, sent as
``context``.

Either reader takes an open binary file or a path (opened when reading starts, closed when it
ends). A row nested deeper than :data:`MAX_ROW_DEPTH` levels is rejected, whatever the orjson
version reads: such a row could not even be written back to a failures file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Literal, TypeAlias

import attrs
import orjson

from ._errors import BrazeError, BrazeValidationError
from ._models import Recipient, UserAlias

__all__ = [
    "NOTE_KEY",
    "InputError",
    "InputRow",
    "count_rows",
    "input_fingerprint",
    "read_csv",
    "read_jsonl",
    "read_recipients",
    "recipient_from_json",
]

Format = Literal["csv", "jsonl"]
#: A file path, as :func:`open` takes it.
FilePath: TypeAlias = "str | os.PathLike[str]"

#: Deepest nesting a row may have (the row's own object is level 1). Properties may nest 32
#: levels (see the models); this leaves room around them and stays far below the 254 levels
#: orjson can write back out. orjson 3.9 reads any depth and 3.10+ stops at 1024, so without
#: this bound a deep row would be accepted by one version and crash the failures file.
MAX_ROW_DEPTH = 64

#: The key of the note line a failures file starts with after a job that stopped early
#: (``{"_note": "...", "_first_unread_line": 252}``). A JSONL line holding it, and no key but
#: ``_`` keys, is no recipient: the readers skip it.
NOTE_KEY = "_note"

#: The keys of Braze's recipient object that a row may hold.
RECIPIENT_KEYS = frozenset(
    {
        "external_user_id",
        "user_alias",
        "braze_id",
        "email",
        "prioritization",
        "trigger_properties",
        "context",
        "canvas_entry_properties",
        "send_to_existing_only",
        "attributes",
    }
)
#: The keys holding a recipient's personalization: one at most. The last two are a Canvas's
#: (``context`` its current name, ``canvas_entry_properties`` the older one).
_PROPERTY_KEYS = ("trigger_properties", "context", "canvas_entry_properties")
#: The columns a CSV header may name (besides ignored ``_`` columns).
CSV_COLUMNS = (
    "external_user_id",
    "braze_id",
    "email",
    "prioritization",
    "alias_name",
    "alias_label",
    "trigger_properties",
    "context",
    "canvas_entry_properties",
    "attributes",
    "send_to_existing_only",
)
_JSON_COLUMNS = ("trigger_properties", "context", "canvas_entry_properties", "attributes")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_SEPARATORS = re.compile(r"[\s,]+")
_BOM = codecs.BOM_UTF8
#: A JSON string, escapes included: brackets inside one do not nest.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_OPENING = frozenset(b"[{")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class InputError(BrazeError, ValueError):
    """The input as a whole cannot be read (e.g. a CSV header naming no identifier column).

    Single bad rows are not errors: they come out as rejected :class:`InputRow` objects.
    """


@attrs.frozen(slots=True, kw_only=True)
class InputRow:
    """One row of an input file: a recipient, or why the row was rejected."""

    #: The (1-based) line the row starts on.
    line: int
    #: The validated recipient; ``None`` when the row was rejected.
    recipient: Recipient | None = None
    #: Why the row was rejected (``None`` when it was not).
    reason: str | None = None
    #: For a rejected row, what could be read of it, in Braze's recipient form where possible
    #: (``{"_raw": text}`` when not even that), for the failures file.
    data: Mapping[str, Any] | None = attrs.field(default=None, repr=False)

    @property
    def rejected(self) -> bool:
        """True when the row holds no valid recipient."""
        return self.recipient is None


def _reason(exc: BrazeValidationError) -> str:
    field = exc.field.removeprefix("recipient.").removeprefix("recipient")
    return f"{field}: {exc.rule}" if field else exc.rule


def recipient_from_json(obj: object, *, canvas: bool | None = None) -> Recipient:
    """Build a :class:`Recipient` from Braze's recipient JSON (a decoded object).

    Keys starting with ``_`` are ignored. ``context`` (or its older name
    ``canvas_entry_properties``) is accepted as the recipient's properties unless ``canvas``
    is False (a campaign send); a row holds at most one of them and ``trigger_properties``.

    :raises BrazeValidationError: naming the field and the rule broken.
    """
    if not isinstance(obj, Mapping):
        raise BrazeValidationError("recipient", f"must be a JSON object, not {_json_type(obj)}")
    for key in obj:
        if not isinstance(key, str) or (key not in RECIPIENT_KEYS and not key.startswith("_")):
            raise BrazeValidationError(
                str(key) or repr(key),
                f"is not a recipient key (known: {', '.join(sorted(RECIPIENT_KEYS))})",
            )
    given = [key for key in _PROPERTY_KEYS if obj.get(key) is not None]
    if len(given) > 1:
        raise BrazeValidationError(
            given[-1], f"give one of {', '.join(_PROPERTY_KEYS)}, not {' and '.join(given)}"
        )
    if given and given[0] != "trigger_properties" and canvas is False:
        raise BrazeValidationError(given[0], "is for Canvas sends; use trigger_properties")
    properties = obj.get(given[0]) if given else None
    alias = obj.get("user_alias")
    if alias is not None:
        if not isinstance(alias, Mapping) or set(alias) != {"alias_name", "alias_label"}:
            raise BrazeValidationError(
                "user_alias", "must be an object with alias_name and alias_label, and no more"
            )
        alias = UserAlias(alias.get("alias_name"), alias.get("alias_label"))  # type: ignore[arg-type]
    return Recipient(
        external_user_id=obj.get("external_user_id"),
        user_alias=alias,
        braze_id=obj.get("braze_id"),
        email=obj.get("email"),
        prioritization=obj.get("prioritization"),
        trigger_properties=properties,
        send_to_existing_only=obj.get("send_to_existing_only"),
        attributes=obj.get("attributes"),
    )


def _json_type(value: object) -> str:
    names = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    return names.get(type(value), type(value).__name__)


def _row(line: int, data: Mapping[str, Any], canvas: bool | None) -> InputRow:
    try:
        return InputRow(line=line, recipient=recipient_from_json(data, canvas=canvas))
    except BrazeValidationError as exc:
        return InputRow(line=line, reason=_reason(exc), data=data)


def _too_deep(text: bytes) -> bool:
    """Whether the JSON ``text`` nests deeper than :data:`MAX_ROW_DEPTH`, judged from the text
    itself, before any parser (so the answer is the same whatever orjson's own limit)."""
    if text.count(b"[") + text.count(b"{") <= MAX_ROW_DEPTH:
        return False  # nearly every row: two counts, no walk
    depth = deepest = 0
    for byte in _STRING.sub(b"", text).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in _OPENING else -1
        deepest = max(deepest, depth)
    return deepest > MAX_ROW_DEPTH


def _from_path(
    path: FilePath,
    read: Callable[[IO[bytes], bool | None], Iterator[InputRow]],
    canvas: bool | None,
) -> Iterator[InputRow]:
    with open(path, "rb") as fh:
        yield from read(fh, canvas)


def read_jsonl(
    source: Iterable[bytes] | FilePath, *, canvas: bool | None = None
) -> Iterator[InputRow]:
    """Rows of a JSONL file: a path, or binary lines (e.g. a file opened with ``"rb"``).

    Blank lines, and the note a failures file may start with (see :data:`NOTE_KEY`), are
    skipped; a line that is not a JSON object is rejected. A path is opened when iteration
    starts and closed when it ends.

    >>> for row in read_jsonl("users.jsonl"):  # doctest: +SKIP
    ...     print(row.line, row.recipient or row.reason)
    """
    if isinstance(source, str | os.PathLike):
        return _from_path(source, _jsonl_rows, canvas)
    return _jsonl_rows(source, canvas)


def _jsonl_rows(lines: Iterable[bytes], canvas: bool | None) -> Iterator[InputRow]:
    for number, raw in enumerate(lines, start=1):
        text = raw[len(_BOM) :] if number == 1 and raw.startswith(_BOM) else raw
        text = text.strip()
        if not text:
            continue
        if _too_deep(text):
            yield InputRow(
                line=number,
                reason=f"nests deeper than {MAX_ROW_DEPTH} levels",
                data={"_raw": text.decode("utf-8", "replace")},
            )
            continue
        try:
            data = orjson.loads(text)  # also refuses invalid UTF-8
        except orjson.JSONDecodeError as exc:
            yield InputRow(
                line=number,
                reason=f"not valid JSON: {exc}",
                data={"_raw": text.decode("utf-8", "replace")},
            )
            continue
        if not isinstance(data, dict):
            yield InputRow(
                line=number,
                reason=f"must be a JSON object, not {_json_type(data)}",
                data={"_raw": data},
            )
            continue
        if NOTE_KEY in data and all(key.startswith("_") for key in data):
            continue  # a failures file's note, not a recipient
        yield _row(number, data, canvas)


def _cell(row: list[str], index: int | None) -> str | None:
    if index is None:
        return None
    value = row[index].strip()
    return value or None


def read_csv(source: IO[bytes] | FilePath, *, canvas: bool | None = None) -> Iterator[InputRow]:
    """Rows of a CSV file with a header: a path, or a file opened with ``"rb"``.

    A path is opened when iteration starts and closed when it ends. A file with no line at
    all, or only its header, yields no row.

    :raises InputError: when the header names an unknown column, or no identifier column
        (raised by the first ``next()``); bad rows are rejected one by one.

    >>> rows = list(read_csv("users.csv"))  # doctest: +SKIP
    """
    if isinstance(source, str | os.PathLike):
        return _from_path(source, _csv_rows, canvas)
    return _csv_rows(source, canvas)


class _Lines:
    """The physical lines of a CSV text, as the csv reader takes them, those of the record
    being read kept: a record that breaks is read again from its second line."""

    __slots__ = ("replay", "source", "taken")

    def __init__(self, source: Iterable[str]) -> None:
        self.source = iter(source)
        #: Lines to read again, the next one last.
        self.replay: list[str] = []
        #: The lines the record being read took so far.
        self.taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.replay.pop() if self.replay else next(self.source)
        self.taken.append(line)
        return line

    def again(self, lines: list[str]) -> None:
        self.replay.extend(reversed(lines))


def _breakable(header: list[str]) -> set[int]:
    """The cells that may hold a line break: a JSON column's (pretty JSON), an ignored one."""
    return {
        index
        for index, name in enumerate(header)
        if name.strip() in _JSON_COLUMNS or name.strip().startswith("_")
    }


def _breaks_only_where_allowed(row: list[str], breakable: set[int]) -> bool:
    """Whether every line break of *row* is inside a cell that may hold one."""
    return all(
        index in breakable or ("\n" not in cell and "\r" not in cell)
        for index, cell in enumerate(row)
    )


def _run_over(line: int, more: int, reason: str | None) -> InputRow:
    """The rejection of a line whose quoted cell runs over the *more* lines after it."""
    return InputRow(
        line=line,
        reason=(
            f"malformed CSV: a quoted cell opened on this line runs over the next "
            f"{more} line(s) and makes no valid row "
            f"({reason or 'a line break outside a JSON column'}); this "
            "line is rejected alone, the next ones "
            "read as they stand"
        ),
    )


def _csv_rows(stream: IO[bytes], canvas: bool | None) -> Iterator[InputRow]:
    # surrogateescape: an invalid byte costs its row only (caught below), not the whole file.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        lines = _Lines(text)
        reader = csv.reader(lines, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"line 1: the CSV header cannot be read: {exc}") from None
        columns = _header(header)
        where = {name: columns.get(name) for name in CSV_COLUMNS}
        breakable = _breakable(header)
        width = len(header)
        line = len(lines.taken) + 1
        while True:
            lines.taken = []
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                result = InputRow(line=line, reason=f"malformed CSV: {exc}")
            else:
                if not any(cell.strip() for cell in row):
                    line += len(lines.taken)
                    continue
                result = _csv_record(line, row, width, where, canvas)
                if not result.rejected and (
                    len(lines.taken) == 1 or _breaks_only_where_allowed(row, breakable)
                ):
                    line += len(lines.taken)
                    yield result  # a recipient: a quoted line break only in a JSON cell
                    continue
                if len(lines.taken) == 1:
                    line += 1
                    yield result
                    continue
            taken = lines.taken
            if len(taken) > 1:
                # A quote that does not close on its line (a stray one, or one missing its
                # end) would swallow the lines after it into one broken record: reject its
                # first line alone, and read the others again as they stand.
                lines.again(taken[1:])
                result = _run_over(line, len(taken) - 1, result.reason)
            line += 1
            raw = _printable(taken[0].rstrip("\r\n")) if taken else ""
            yield attrs.evolve(result, data={"_raw": raw})
    finally:
        # The caller owns the stream (and may have closed it before this generator ends).
        with contextlib.suppress(ValueError):
            text.detach()


def _csv_record(
    line: int, row: list[str], width: int, where: Mapping[str, int | None], canvas: bool | None
) -> InputRow:
    """The recipient, or why not, of one CSV record."""
    if len(row) != width:
        return InputRow(
            line=line,
            reason=f"has {len(row)} fields; the header has {width}",
            data={"_raw": [_printable(cell) for cell in row]},  # the bytes may be bad
        )
    if not _is_utf8(row):
        return InputRow(
            line=line,
            reason="not valid UTF-8",
            data={"_raw": [_printable(cell) for cell in row]},
        )
    return _csv_row(line, row, where, canvas)


def _is_utf8(row: list[str]) -> bool:
    try:
        for cell in row:
            if not cell.isascii():
                cell.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(cell: str) -> str:
    return cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _header(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        name = name.strip()
        if name.startswith("_"):
            continue
        if name not in CSV_COLUMNS:
            raise InputError(
                f"line 1: unknown CSV column {name!r} (known: {', '.join(CSV_COLUMNS)}; "
                "columns starting with '_' are ignored)"
            )
        if name in columns:
            raise InputError(f"line 1: the CSV column {name!r} appears twice")
        columns[name] = index
    if not {"external_user_id", "braze_id", "email", "alias_name"} & columns.keys():
        raise InputError(
            "line 1: the CSV header needs an identifier column: external_user_id, braze_id, "
            "email, or alias_name and alias_label"
        )
    if ("alias_name" in columns) != ("alias_label" in columns):
        raise InputError("line 1: the CSV columns alias_name and alias_label go together")
    return columns


def _csv_row(
    line: int, row: list[str], where: Mapping[str, int | None], canvas: bool | None
) -> InputRow:
    data: dict[str, Any] = {}
    problems: list[str] = []
    for name in ("external_user_id", "braze_id", "email"):
        value = _cell(row, where[name])
        if value is not None:
            data[name] = value
    prioritization = _cell(row, where["prioritization"])
    if prioritization is not None:
        data["prioritization"] = [p for p in _SEPARATORS.split(prioritization) if p]
    alias_name, alias_label = _cell(row, where["alias_name"]), _cell(row, where["alias_label"])
    if alias_name is not None or alias_label is not None:
        data["user_alias"] = {"alias_name": alias_name, "alias_label": alias_label}
        if alias_name is None or alias_label is None:
            problems.append("user_alias: alias_name and alias_label are both required")
    for name in _JSON_COLUMNS:
        value = _cell(row, where[name])
        if value is None:
            continue
        if _too_deep(value.encode("utf-8")):
            data[name] = value
            problems.append(f"{name}: nests deeper than {MAX_ROW_DEPTH} levels")
            continue
        try:
            data[name] = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            data[name] = value
            problems.append(f"{name}: not valid JSON: {exc}")
    flag = _cell(row, where["send_to_existing_only"])
    if flag is not None:
        parsed = _BOOLEANS.get(flag.lower())
        data["send_to_existing_only"] = flag if parsed is None else parsed
        if parsed is None:
            problems.append(f"send_to_existing_only: must be true or false, not {flag!r}")
    if problems:
        return InputRow(line=line, reason="; ".join(problems), data=data)
    return _row(line, data, canvas)


def detect_format(path: FilePath) -> Format:
    """``"csv"`` or ``"jsonl"`` from the file name; ``.csv`` is CSV, anything else JSONL."""
    return "csv" if os.fspath(path).lower().endswith(".csv") else "jsonl"


def read_recipients(
    source: IO[bytes] | FilePath, format: Format, *, canvas: bool | None = None
) -> Iterator[InputRow]:
    """Rows of ``source`` (a path or a binary file) in the given format (see :func:`read_csv`,
    :func:`read_jsonl`)."""
    if format == "csv":
        return read_csv(source, canvas=canvas)
    return read_jsonl(source, canvas=canvas)


def count_rows(path: FilePath, format: Format) -> int:
    """An estimate of the rows in a file, cheaply: its line count (minus a CSV header).

    Blank lines and quoted newlines make it an estimate, good for a progress ETA.
    """
    lines = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(0, lines - 1) if format == "csv" else lines


def input_fingerprint(path: FilePath, *, prefix: int = 1 << 16) -> str:
    """A fingerprint of an input file: a hash of its first 64 KiB.

    It tells a job's input from another file; rows changed later in the same file are caught
    by the journal's per-row key hashes instead.
    """
    with open(path, "rb") as fh:
        return "sha256:" + hashlib.sha256(fh.read(prefix)).hexdigest()[:32]
