"""The failures file of ``braze-async send``: every recipient that was not sent.

One JSON object a line, in Braze's recipient form plus ``_outcome`` / ``_reason`` / ``_line``
keys, so that the file, once fixed, can be sent as it is. After a job that stopped early, a
first line ``{"_note": ..., "_first_unread_line": N}`` says that the file holds only the rows
read before the stop (the readers skip it: see :data:`braze_async._readers.NOTE_KEY`).

The file is written whole or not at all, and only by the job that holds the journal's lock:

* nothing at its path is touched before :meth:`FailuresFile.claim`, which the job calls once
  ``send_bulk`` reads its input, that is once it holds the journal's lock. A second job on the
  same input, refused by that lock, leaves the running job's file (and an earlier run's) alone;
* the rows go to a temporary file beside it (``<path>.<random>.partial``), renamed over the
  path when the job ends: a reader of the path sees the earlier run's file or this one's,
  never half of one. A job killed with SIGKILL leaves its ``.partial`` file behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Mapping
from typing import IO, Any

import orjson

from .._bulk import RecipientOutcome
from .._readers import NOTE_KEY

__all__ = ["FailuresFile"]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


def _create_beside(path: str) -> tuple[str, IO[bytes]]:
    """A new file next to ``path``, created exclusively (mode 0666 less the umask, as
    ``open`` would give the file itself)."""
    while True:
        name = f"{path}.{secrets.token_hex(4)}.partial"
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        return name, os.fdopen(fd, "wb")


class FailuresFile:
    """Streams not-sent recipients to a JSONL file, put in place whole when the job ends.

    Call it with each :class:`~braze_async.RecipientOutcome` (it is an ``on_outcome`` hook)
    after :meth:`claim`; :meth:`close` when the job is over. A job that wrote no row removes
    the file an earlier run left at ``path``.
    """

    def __init__(self, path: str, *, canvas: bool) -> None:
        self.path = path
        self.count = 0
        self._canvas = canvas
        self._partial: str | None = None
        self._fh: IO[bytes] | None = None
        self._note: dict[str, Any] | None = None
        self._closed = False

    def claim(self) -> None:
        """Start writing: from now on the file at ``path`` is this job's to replace.

        :raises OSError: the temporary file cannot be created beside ``path``.
        """
        if self._partial is None:
            self._partial, self._fh = _create_beside(self.path)

    def __call__(self, outcome: RecipientOutcome) -> None:
        assert self._fh is not None, "claim() first"
        self._fh.write(orjson.dumps(outcome.to_json(canvas=self._canvas), default=_plain) + b"\n")
        self.count += 1

    def stopped_early(self, note: str, first_unread_line: int | None) -> None:
        """Say at the top of the file that it holds only the rows read before the job
        stopped; ``first_unread_line`` is the input line from which nothing was attempted."""
        self._note = {NOTE_KEY: note}
        if first_unread_line is not None:
            self._note["_first_unread_line"] = first_unread_line

    def discard(self) -> None:
        """Leave ``path`` as it was (an earlier run's file stays): this job's rows are
        dropped, for a job refused before it sent anyone."""
        self._closed = True
        if self._fh is not None and self._partial is not None:
            self._fh.close()
            os.unlink(self._partial)

    def close(self) -> None:
        """Put the file in place (or remove the earlier run's, if no row was written).

        Does nothing to ``path`` when the file was never claimed; a second call does nothing.
        """
        if self._closed:
            return
        self._closed = True
        if self._fh is None or self._partial is None:
            return
        self._fh.close()
        if not self.count:
            os.unlink(self._partial)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            return
        written = self._partial
        if self._note is not None:
            # The note goes first, where anyone opening the file reads it.
            written, out = _create_beside(self.path)
            try:
                with out, open(self._partial, "rb") as rows:
                    out.write(orjson.dumps(self._note) + b"\n")
                    shutil.copyfileobj(rows, out)
            except BaseException:
                os.unlink(written)
                raise
            os.unlink(self._partial)
        os.replace(written, self.path)
