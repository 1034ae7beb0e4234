"""How ``braze-async send`` shows its progress on stderr.

On a terminal one line is redrawn in place (ten times a second at most); otherwise a plain
line every ``--progress-interval`` seconds, so that logs stay readable.
"""

from __future__ import annotations

import time
from typing import TextIO

from .._bulk import BulkProgress

__all__ = ["Progress", "duration", "progress_line"]


def duration(seconds: float) -> str:
    """``42s``, ``3m07s`` or ``2h05m``: whole seconds, rounded down."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def progress_line(p: BulkProgress) -> str:
    """``sent 1,200/10,000 (12%) · rejected 3 · failed 0 · unknown 0 · 950/s · ETA 9s``."""
    done = p.processed - p.in_progress
    head = f"{done:,}/{p.total:,} ({100 * done / p.total:.0f}%)" if p.total else f"{done:,}"
    parts = [f"{head} done", f"sent {p.sent + p.already_sent:,}"]
    if p.already_sent:
        parts[-1] += f" ({p.already_sent:,} earlier)"
    parts += [f"rejected {p.rejected:,}", f"failed {p.failed:,}", f"unknown {p.unknown:,}"]
    parts.append(f"{p.rate:,.0f}/s")
    if p.eta is not None:
        parts.append(f"ETA {duration(p.eta)}")
    return " · ".join(parts)


class Progress:
    """A live line on a terminal, periodic plain lines otherwise.

    Call it with each :class:`~braze_async.BulkProgress` (it is an ``on_progress`` hook);
    print anything else through :meth:`say` so that it does not land inside the live line.
    """

    def __init__(self, stream: TextIO, interval: float) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._interval = 0.1 if self._tty else interval
        self._last = time.monotonic()
        self._shown = False

    def __call__(self, progress: BulkProgress) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        self._show(progress_line(progress))

    def _show(self, line: str) -> None:
        if self._tty:
            self._stream.write(f"\r\x1b[K{line}")
            self._shown = True
        else:
            self._stream.write(f"{line}\n")
        self._stream.flush()

    def say(self, message: str) -> None:
        """Print ``message`` on its own line (clearing a live line first)."""
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._shown = False
        self._stream.write(f"{message}\n")
        self._stream.flush()
