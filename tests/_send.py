"""Helpers for the tests of ``braze-async send``: input files, failures files, journals."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson

#: ``braze-async send`` in a subprocess.
SEND_COMMAND = [sys.executable, "-m", "braze_async", "send"]


def write_jsonl(path: Path, n: int, *, bad: dict[int, str] | None = None) -> Path:
    """``n`` recipients ``u0``... one a line (user ``u<i>`` on line ``i + 1``); ``bad`` replaces
    lines by index."""
    lines = [orjson.dumps({"external_user_id": f"u{i}"}).decode() for i in range(n)]
    for index, text in (bad or {}).items():
        lines[index] = text
    path.write_text("\n".join(lines) + "\n")
    return path


def lines_of(path: Path) -> list[dict[str, object]]:
    """The JSON objects of a JSONL file, one a line."""
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def begins(journal: Path) -> int:
    """Begin records in the journal so far."""
    return journal.read_bytes().count(b'"begin"') if journal.exists() else 0


def wait_for_begins(
    journal: Path, n: int, proc: subprocess.Popen[str] | None = None, timeout: float = 60.0
) -> None:
    """Wait until the journal holds ``n`` begin records (failing if ``proc`` exits first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if begins(journal) >= n:
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the job exited ({proc.returncode}) before {n} batches")
        time.sleep(0.01)
    raise AssertionError(f"the journal never reached {n} batches")


def journal_state(path: Path) -> tuple[int, int]:
    """``(batches begun, batches begun and not ended)``."""
    records = [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
    begun = {r["begin"] for r in records if "begin" in r}
    ended = {r["end"] for r in records if "end" in r}
    return len(begun), len(begun - ended)
