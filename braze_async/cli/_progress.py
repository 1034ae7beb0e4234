"""How ``braze-async send`` shows its progress on stderr.

On a terminal, rich draws a live display: a bar with done/total, percent, rate and ETA, and
the sent / rejected / failed / unknown counts, laid out for the terminal's width (one line when
it is wide, two when not, cut short with an ellipsis rather than wrapped when very narrow).
rich redraws it in place, follows a resize, and prints messages (and anything else written to
stderr meanwhile) above it. Otherwise (a pipe, a file, ``TERM=dumb``) a plain line every
``--progress-interval`` seconds, so that logs stay readable.

Why rich: it is what pip draws its own progress with, so it is already on most machines; it
knows terminals (width, resize, cursor control, ``NO_COLOR``) so that this module only decides
what to show; and its live display lets log lines through above the bar, which tqdm's
``write`` does only for lines printed through it.

A reader that goes away (``braze-async send ... 2>&1 | head``) stops the display, not the job:
the first write that meets a closed pipe (EPIPE) points the stream at ``os.devnull`` and
nothing more is shown; the job goes on, its journal and failures file keep the record, and the
exit status is the job's (Python's own flush of the stream at exit then has nowhere to fail).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import IO, TextIO

import attrs
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from .._bulk import BulkProgress

__all__ = ["Progress", "duration", "progress_line", "write_line"]

#: Seconds between two redraws of the live display at most.
REFRESH = 0.1
#: A bar narrower than this is not worth drawing next to the counts: they go on a line below.
_MIN_BAR = 20


def silence(stream: IO[str]) -> None:
    """Point ``stream``'s file descriptor at ``os.devnull``: its reader went away (EPIPE).

    What is still buffered, and Python's own flush at exit, then goes nowhere instead of
    raising (https://docs.python.org/3/library/signal.html#note-on-sigpipe). A stream that is
    not a file (a ``StringIO``) has nothing to redirect.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def write_line(stream: IO[str], text: str) -> bool:
    """Write ``text`` and a newline to ``stream`` and flush it; ``False`` (and the stream
    silenced) when its reader went away: what cannot be shown is not an error of the job."""
    try:
        stream.write(f"{text}\n")
        stream.flush()
    except BrokenPipeError:
        silence(stream)
        return False
    return True


def duration(seconds: float) -> str:
    """``42s``, ``3m07s`` or ``2h05m``: whole seconds, rounded down."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def _done(p: BulkProgress) -> int:
    return p.processed - p.in_progress


def _counts(p: BulkProgress) -> str:
    sent = f"sent {p.sent + p.already_sent:,}"
    if p.already_sent:
        sent += f" ({p.already_sent:,} earlier)"
    return f"{sent} · rejected {p.rejected:,} · failed {p.failed:,} · unknown {p.unknown:,}"


def _pace(p: BulkProgress) -> str:
    eta = f" · ETA {duration(p.eta)}" if p.eta is not None else ""
    return f"{p.rate:,.0f}/s{eta}"


def progress_line(p: BulkProgress) -> str:
    """One plain line: ``1,200/10,000 (12%) done · sent 1,200 · rejected 3 · failed 0 ·
    unknown 0 · 950/s · ETA 9s``."""
    done = _done(p)
    head = f"{done:,}/{p.total:,} ({100 * done / p.total:.0f}%)" if p.total else f"{done:,}"
    return f"{head} done · {_counts(p)} · {_pace(p)}"


@attrs.define
class _Frame:
    """The live display's content: the latest snapshot, laid out for the width at hand."""

    progress: BulkProgress | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        p = self.progress
        if p is None:
            return
        width = options.max_width
        done = _done(p)
        total = max(p.total or 0, done)
        share = f" {100 * done / total:.0f}%" if total else ""
        stats = f"{done:,}/{total:,}{share} · {_pace(p)}" if total else f"{done:,} · {_pace(p)}"
        counts = Text(_counts(p), no_wrap=True, overflow="ellipsis")
        for word, style in (("rejected", "yellow"), ("failed", "red"), ("unknown", "red")):
            if getattr(p, word):
                counts.highlight_words([word], style)
        one_line = width >= _MIN_BAR + 1 + len(stats) + 3 + len(counts)
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(ratio=1, no_wrap=True)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        cells: list[ProgressBar | Text] = [
            ProgressBar(total=total or None, completed=done),
            Text(stats, no_wrap=True, overflow="ellipsis"),
        ]
        if one_line:
            grid.add_column(no_wrap=True, overflow="ellipsis")
            cells.append(Text("· ") + counts)
        grid.add_row(*cells)
        yield grid
        if not one_line:
            yield counts


class _Console(Console):
    """A console that goes quiet when its reader goes away, instead of rich's default (exit
    the process with status 1, which here would stop the job)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        silence(self.file)


class Progress:
    """A live display on a terminal, periodic plain lines otherwise.

    Call it with each :class:`~braze_async.BulkProgress` (it is an ``on_progress`` hook) while
    in :meth:`shown`; print anything else through :meth:`say`, which puts it above the
    display. ``clock`` times the redraws and the plain lines. Once the stream's reader went
    away (EPIPE), nothing more is written (:attr:`closed`).
    """

    def __init__(
        self,
        stream: TextIO,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._console = _Console(file=stream, highlight=False)
        #: rich's judgement: a terminal that can take cursor movements.
        self.live = self._console.is_terminal and not self._console.is_dumb_terminal
        self._interval = REFRESH if self.live else interval
        self._clock = clock
        self._last = clock()
        self._frame = _Frame()
        self._display: Live | None = None

    @property
    def closed(self) -> bool:
        """The stream's reader went away: nothing more is shown."""
        return self._console.quiet

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Where a write may meet a closed pipe (a rich without ``on_broken_pipe`` raises)."""
        try:
            yield
        except BrokenPipeError:
            self._console.on_broken_pipe()

    @contextlib.contextmanager
    def shown(self) -> Iterator[None]:
        """The live display, while in the block (a no-op when not on a terminal).

        Its last frame stays on the screen, drawn from the last snapshot.
        """
        if not self.live:
            yield
            return
        display = Live(
            self._frame,
            console=self._console,
            auto_refresh=False,  # redrawn on news only: no thread, nothing drawn between
            redirect_stdout=False,  # stdout is not ours to move onto the terminal
            redirect_stderr=True,  # stray writes to stderr go above the display
            transient=False,
        )
        try:
            with self._writing():
                display.start()
            self._display = display
            yield
        finally:
            self._display = None
            with self._writing():
                display.refresh()
            with self._writing():
                display.stop()  # puts sys.stderr back even when its writes fail

    def finished(self) -> None:
        """The job read its whole input: from now on the total is what it read (the line
        count before was an estimate), so a complete job ends on a full bar."""
        if self._frame.progress is not None:
            self._frame.progress = attrs.evolve(
                self._frame.progress, total=_done(self._frame.progress)
            )

    def __call__(self, progress: BulkProgress) -> None:
        self._frame.progress = progress
        now = self._clock()
        if self.closed or now - self._last < self._interval:
            return
        self._last = now
        if self._display is not None:
            with self._writing():
                self._display.refresh()
        elif not self.live:
            self._write(progress_line(progress))

    def say(self, message: str) -> None:
        """Print ``message`` on its own line(s), above the live display if there is one."""
        if self.closed:
            return
        if self.live:
            with self._writing():
                self._console.print(Text(message))  # a Text: [brackets] are not markup
        else:
            self._write(message)

    def _write(self, line: str) -> None:
        if not write_line(self._stream, line):
            self._console.quiet = True
