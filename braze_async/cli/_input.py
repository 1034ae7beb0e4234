"""The recipients file of ``braze-async send``: opened, counted, and checked for shapes that
would make a job send nothing useful.

* a file holding one JSON array (often named ``.json``) is not JSON lines: refused, with a hint
  to convert it;
* a file with no recipient at all (empty, blank lines only, a CSV header alone) is reported
  once, instead of a job that "succeeds" sending nothing.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
import os
from collections.abc import Iterator
from typing import IO

import attrs

from .._readers import InputError, InputRow, count_rows, input_fingerprint, read_recipients
from ._plan import Plan, UsageError

__all__ = ["Input", "open_input"]

#: Bytes read to tell a JSON array from JSON lines.
_SNIFF = 4096


@attrs.frozen(kw_only=True)
class Input:
    """An opened recipients file, and what was learned of it."""

    #: The rows, read lazily; ``None`` when the file holds no recipient row at all.
    rows: Iterator[InputRow] | None
    #: The row count estimate (for the ETA and the dry run): its line count.
    total: int
    #: Names the input in the journal.
    fingerprint: str
    #: Why the file holds no row, when it holds none.
    empty_reason: str | None = None


def open_input(plan: Plan, stack: contextlib.ExitStack) -> Input:
    """Open ``plan.path`` (closed with ``stack``) and peek at its first row.

    :raises UsageError: it cannot be read, holds a JSON array, or has a CSV header that
        cannot work.
    """
    try:
        fh: IO[bytes] = stack.enter_context(open(plan.path, "rb"))  # noqa: SIM115 - the stack closes it
        head = fh.read(_SNIFF)
        fh.seek(0)
        # ETA needs a total: one cheap pass counting lines.
        total = count_rows(plan.path, plan.format)
        fingerprint = input_fingerprint(plan.path)
    except OSError as exc:
        raise UsageError(f"cannot read {plan.path}: {exc.strerror or exc}") from None
    start = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if plan.format == "jsonl" and start.startswith(b"["):
        stem = os.path.splitext(plan.path)[0]
        raise UsageError(
            f"{plan.path} holds a JSON array; braze-async send reads JSON lines (JSONL), one "
            f"recipient object a line: convert it, e.g. jq -c '.[]' {plan.path} > {stem}.jsonl"
        )
    rows = read_recipients(fh, plan.format, canvas=plan.canvas_id is not None)
    try:
        first = next(rows, None)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if first is None:
        if not head:
            what = "it is empty"
        elif plan.format == "csv" and start:
            what = "only a CSV header"
        else:
            what = "only blank lines"
        return Input(
            rows=None,
            total=0,
            fingerprint=fingerprint,
            empty_reason=f"{plan.path} holds no recipient ({what}): nothing to send",
        )
    return Input(rows=itertools.chain([first], rows), total=total, fingerprint=fingerprint)
