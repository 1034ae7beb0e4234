"""The failures file of ``braze-async send``: every recipient that was not sent.

One JSON object a line, in Braze's recipient form plus ``_outcome`` / ``_reason`` / ``_line``
keys, so that the file, once fixed, can be sent as it is.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import IO, Any

import orjson

from .._bulk import RecipientOutcome

__all__ = ["FailuresFile"]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


class FailuresFile:
    """Streams not-sent recipients to a JSONL file; removes it when none were written.

    Call it with each :class:`~braze_async.RecipientOutcome` (it is an ``on_outcome`` hook).
    Opening truncates ``path``; :meth:`close` when the job is over.
    """

    def __init__(self, path: str, *, canvas: bool) -> None:
        self.path = path
        self.count = 0
        self._canvas = canvas
        self._fh: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()

    def __call__(self, outcome: RecipientOutcome) -> None:
        self._fh.write(orjson.dumps(outcome.to_json(canvas=self._canvas), default=_plain) + b"\n")
        self.count += 1

    def close(self) -> None:
        """Close the file, and remove it if no recipient went into it."""
        self._fh.close()
        if not self.count:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
