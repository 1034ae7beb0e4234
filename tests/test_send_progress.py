"""``braze-async send``'s progress display, on real pseudo-terminals of 80 and 200 columns.

What a person sees is checked on a terminal emulator (pyte) fed with everything the program
wrote to the pseudo-terminal; that no line ever wraps is checked on the raw output. The
redraws are timed by a fake clock (in process) or not at all (the last frame is always drawn),
so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyte
import pytest
from _send import begins

from braze_async._bulk import BulkProgress
from braze_async._journal import SENT, Journal, JournalHeader
from braze_async.cli._progress import Progress, progress_line

EXAMPLES = Path(__file__).parent.parent / "examples"
ROWS = 60
#: Control sequences rich writes (colours, cursor up, erase line, cursor on/off).
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def snapshot(done: int, *, total: int = 10_000, rejected: int = 0, failed: int = 0) -> BulkProgress:
    return BulkProgress(
        sent=done - rejected - failed, already_sent=0, rejected=rejected, failed=failed,
        unknown=0, requests=done // 50, processed=done, in_progress=0, total=total,
        elapsed=2.0, rate=500.0,
    )  # fmt: skip


@contextlib.contextmanager
def pseudo_terminal(columns: int) -> Iterator[tuple[int, int]]:
    """A pty pair whose window is ``columns`` wide; yields (master, slave) descriptors."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, columns, 0, 0))
    try:
        yield master, slave
    finally:
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def drain(master: int, *, until_eof: bool, timeout: float = 60.0) -> bytes:
    """What was written to the terminal: until the other side closed, or nothing is pending."""
    data = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1 if until_eof else 0)
        if not ready:
            if until_eof:
                continue
            return bytes(data)
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: every copy of the other side is closed
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk
    raise AssertionError("the program never closed the terminal")


def screen_of(data: bytes, columns: int) -> list[str]:
    """The terminal's lines once ``data`` is shown, trailing blanks dropped."""
    screen = pyte.Screen(columns, ROWS)
    pyte.ByteStream(screen).feed(data)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def assert_never_wraps(data: bytes, columns: int) -> None:
    """No stretch of text between two line starts is wider than the terminal."""
    text = _CONTROL.sub("", data.decode())
    for piece in re.split(r"\r\n|\r|\n", text):
        assert len(piece) <= columns, f"{len(piece)} > {columns} columns: {piece!r}"


# -- the display, in process, frame by frame ---------------------------------------------------


@pytest.mark.parametrize("columns", [80, 200])
def test_log_lines_go_above_the_display_without_tearing_it(
    columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages and stray writes to stderr land above the bar; one frame stays, the last."""
    monkeypatch.setenv("COLUMNS", str(columns))  # rich sizes by the standard streams first
    monkeypatch.setenv("TERM", "xterm-256color")
    now = [0.0]
    with pseudo_terminal(columns) as (master, slave), open(slave, "w", closefd=False) as tty:
        progress = Progress(tty, interval=10.0, clock=lambda: now[0])
        assert progress.live
        with progress.shown():
            now[0] = 1.0
            progress(snapshot(1_000))
            progress.say("SIGINT: stopping; no new requests")
            print("a stray warning", file=sys.stderr)  # rich lets it through above
            now[0] = 1.01  # within the redraw interval: not drawn yet ...
            progress(snapshot(2_000, rejected=3))
            now[0] = 2.0
            progress(snapshot(3_000, rejected=3, failed=2))  # ... this one is
        tty.flush()
        data = drain(master, until_eof=False)
    assert_never_wraps(data, columns)
    lines = screen_of(data, columns)
    assert lines[0] == "SIGINT: stopping; no new requests"
    assert lines[1] == "a stray warning"
    frame = lines[2:]
    assert len(frame) == (1 if columns >= 120 else 2)
    assert "3,000/10,000 30% · 500/s · ETA 14s" in frame[0]
    assert frame[-1].endswith("sent 2,995 · rejected 3 · failed 2 · unknown 0")
    assert "1,000/10,000" not in "\n".join(lines)  # the earlier frame is gone, not scrolled up


def test_a_finished_job_ends_on_a_full_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    """The line count was an estimate: a job that read everything shows done/done, 100%."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "xterm-256color")
    with pseudo_terminal(80) as (master, slave), open(slave, "w", closefd=False) as tty:
        progress = Progress(tty, interval=10.0, clock=lambda: 1.0)
        with progress.shown():
            progress(snapshot(990, total=1_000))  # 10 blank lines were counted as rows
            progress.finished()
        tty.flush()
        lines = screen_of(drain(master, until_eof=False), 80)
    assert "990/990 100%" in lines[0]


def test_a_dumb_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """TERM=dumb cannot move the cursor: periodic plain lines, as on a pipe."""
    monkeypatch.setenv("TERM", "dumb")
    now = [0.0]
    with pseudo_terminal(80) as (master, slave), open(slave, "w", closefd=False) as tty:
        progress = Progress(tty, interval=5.0, clock=lambda: now[0])
        assert not progress.live
        with progress.shown():
            now[0] = 4.0
            progress(snapshot(500))  # within the interval: no line
            now[0] = 5.0
            progress(snapshot(1_000))
        tty.flush()
        data = drain(master, until_eof=False)
    assert data.decode().replace("\r\n", "\n") == progress_line(snapshot(1_000)) + "\n"


def test_the_plain_line() -> None:
    """Off a terminal: done/total, the four counts, rate and ETA on one line."""
    p = BulkProgress(
        sent=900, already_sent=100, rejected=3, failed=2, unknown=0, requests=20,
        processed=1_100, in_progress=95, total=10_000, elapsed=2.0, rate=500.0,
    )  # fmt: skip
    assert progress_line(p) == (
        "1,005/10,000 (10%) done · sent 1,000 (100 earlier) · rejected 3 · failed 2 · "
        "unknown 0 · 500/s · ETA 17s"
    )


# -- the real command on a pseudo-terminal -----------------------------------------------------


@pytest.mark.parametrize("columns", [80, 200])
def test_a_send_on_a_terminal_of(columns: int, tmp_path: Path) -> None:
    """The whole command on a pty: banner, the job line, the last frame, the summary; no line
    wider than the terminal, the counts on the bar's line when there is room."""
    users = tmp_path / "users.csv"
    users.write_bytes((EXAMPLES / "users-with-errors.csv").read_bytes())
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"COLUMNS", "LINES", "BRAZE_API_KEY", "BRAZE_REST_URL"}
    }
    env["TERM"] = "xterm-256color"
    command = [sys.executable, "-m", "braze_async", "send", "--simulate"]
    command += ["--campaign-id", "weekly", "--recipients", str(users)]
    with pseudo_terminal(columns) as (master, slave):
        proc = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=tmp_path
        )
        os.close(slave)  # the child holds the only copy: its exit closes the terminal
        try:
            data = drain(master, until_eof=True)
        finally:
            code = proc.wait(timeout=60)
    assert code == 1  # five rejected rows
    assert_never_wraps(data, columns)
    lines = screen_of(data, columns)
    text = "\n".join(lines)
    assert text.count("SIMULATOR: nothing was sent to Braze") == 2
    assert lines.index("SIMULATOR: nothing was sent to Braze.") == 1
    assert any(line.startswith("sending campaign 'weekly'") for line in lines[3:6])
    [bar] = [i for i, line in enumerate(lines) if "1,000/1,000" in line]  # one frame
    frame = lines[bar : bar + (1 if columns >= 120 else 2)]
    assert "1,000/1,000 100%" in frame[0]
    assert frame[-1].endswith("sent 995 · rejected 5 · failed 0 · unknown 0")
    words = " ".join(text.split())  # rich wraps long messages at the terminal's width
    assert "995 sent, 5 rejected, 0 failed, 0 unknown in 20 requests" in words
    assert "Traceback" not in text


# -- a reader that goes away (`braze-async send ... 2>&1 | head`) ------------------------------


@pytest.mark.parametrize("display", ["plain", "live"])
def test_a_closed_pipe_stops_the_display_not_the_job(display: str, tmp_path: Path) -> None:
    """stdout and stderr on one pipe whose reader takes a line and goes away, as ``| head``
    does: the job sends everyone (its journal says so)
    and exits with its own status, 0, with no error from Python's flush at exit. "live" is
    rich's display forced onto the pipe (``TTY_COMPATIBLE=1``), so its writes meet the EPIPE.
    """
    n = 3_000
    users = tmp_path / "users.csv"
    users.write_text("external_user_id\n" + "".join(f"u{i}\n" for i in range(n)))
    journal = tmp_path / "J"
    env = {k: v for k, v in os.environ.items() if k not in {"BRAZE_API_KEY", "BRAZE_REST_URL"}}
    env["TERM"] = "xterm-256color"
    if display == "live":
        env["TTY_COMPATIBLE"] = "1"
    command = [sys.executable, "-m", "braze_async", "send", "--simulate"]
    command += ["--campaign-id", "weekly", "--recipients", str(users), "--journal", str(journal)]
    command += ["--progress-interval", "0.001"]  # plain lines all along the job
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=tmp_path
    )
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()
        proc.stdout.close()  # the reader is gone: every later write meets EPIPE
        # The premise: the pipe closed before the job sent anyone (the first line is the
        # simulator's banner, written before the journal is opened).
        assert b"=====" in first and begins(journal) == 0
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (code, journal.exists()) == (0, True)
    # The journal, read as a resumed job reads it: everyone sent, nobody unknown. (The same
    # command again cannot be the check: each --simulate run has its own simulator, on its
    # own port, and the journal belongs to the endpoint it names.)
    header = orjson.loads(journal.read_bytes().partition(b"\n")[0])
    fields = {name: header[name] for name in ("target", "request", "input", "destination")}
    with Journal.open(journal, JournalHeader(**fields)) as record:
        assert (record.loaded_sent, record.loaded_unknown) == (n, 0)
        assert all(record.status(i) == SENT for i in range(n))
    assert not (tmp_path / "users.csv.failures.jsonl").exists()  # nobody left unsent
