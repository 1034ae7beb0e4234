"""The journal at the edges of the disk: a write that fails or is cut short sends nothing.

A full disk (ENOSPC) or a file-size limit (EFBIG) cuts a journal record short. The job must
then stop *before* the request of that record, with the torn record rolled back, so that a
resumed job neither resends a batch Braze received nor loses one. ``RLIMIT_FSIZE``, set in a
subprocess, makes the kernel cut real writes short: the first write that crosses the limit
writes up to it and returns a short count, the next one fails with EFBIG.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import resource
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _senders import CampaignSender

from braze_async import Campaign, JournalError, Recipient, SendResponse
from braze_async._bulk import bulk_send, job_header
from braze_async._journal import Journal
from braze_async._models import CampaignTriggerRequest

WEEKLY = Campaign("weekly")
N = 400  # eight batches


def users(n: int) -> Iterator[Recipient]:
    for i in range(n):
        yield Recipient(external_user_id=f"u{i}")


class PrintingSender(CampaignSender):
    """Accepts every request; in the child, prints its ids to stdout (a pipe: no file-size
    limit), as they leave. ``log``, if given, hears ``"send"`` as each request leaves."""

    def __init__(self, *, echo: bool = False, log: list[str] | None = None) -> None:
        self.sent: list[str] = []
        self.echo = echo
        self.log = log

    async def send_campaign_request(
        self,
        request: CampaignTriggerRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        if on_admitted is not None:
            on_admitted()
        if self.log is not None:
            self.log.append("send")
        ids = [r.external_user_id or "" for r in request.recipients or ()]
        self.sent += ids
        if self.echo:
            print(json.dumps({"sent": ids}), flush=True)
        return SendResponse(dispatch_id="d", message="success")


def child(directory: str, limits: list[int], concurrency: int) -> None:
    """In a subprocess: one job per file-size limit, each on a fresh journal; print outcomes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    for limit in limits:
        path = os.path.join(directory, f"limit-{limit}.journal")
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        try:
            asyncio.run(
                bulk_send(
                    PrintingSender(echo=True),
                    users(N),
                    WEEKLY,
                    journal=path,
                    concurrency=concurrency,
                )
            )
            outcome = "finished"
        except JournalError as exc:
            outcome = f"JournalError: {exc}"
        except OSError as exc:
            outcome = f"OSError: {exc}"
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        print(json.dumps({"limit": limit, "outcome": outcome}), flush=True)


def run_child(tmp_path: Path, limits: list[int], concurrency: int) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, __file__, "--child", str(tmp_path), json.dumps(limits)]
    done = subprocess.run(
        [*command, str(concurrency)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_journal_write_cut_short_by_a_full_disk_sends_nobody_twice(
    tmp_path: Path, concurrency: int
) -> None:
    """At every file-size limit: the torn record is rolled back, its batch was not sent, the
    job stopped with a JournalError, and the resumed job sends everyone else exactly once."""
    header = len(orjson.dumps(job_header(WEEKLY).record())) + 1
    # From "not even the header fits" to "the journal fills up after a few batches": the
    # limit falls inside headers, begin records and end records alike.
    limits = [1, header // 2, *range(header + 40, header + 2400, 97)]
    lines = run_child(tmp_path, limits, concurrency)
    first_run: dict[int, list[str]] = {}
    outcomes: dict[int, str] = {}
    current: list[str] = []
    for line in lines:
        if "sent" in line:
            current += line["sent"]
        else:
            first_run[line["limit"]], outcomes[line["limit"]] = current, line["outcome"]
            current = []
    assert set(outcomes) == set(limits)
    for limit in limits:
        outcome = outcomes[limit]
        assert outcome.startswith("JournalError: cannot write the journal"), (limit, outcome)
        assert "File too large" in outcome, outcome
        path = tmp_path / f"limit-{limit}.journal"
        data = path.read_bytes()
        # Rolled back: nothing torn is left behind, every record is whole.
        assert not data or data.endswith(b"\n"), (limit, data[-80:])
        assert len(data) <= limit
        sent_before = first_run[limit]
        assert len(sent_before) == len(set(sent_before))

        again = PrintingSender()
        report = asyncio.run(bulk_send(again, users(N), WEEKLY, journal=path))
        both = sent_before + again.sent
        assert len(both) == len(set(both)), f"limit {limit}: someone was messaged twice"
        # Everyone is sent now, or reported unknown: their batch was sent and its end record
        # could not be written, so the resumed job does not resend it.
        assert report.total == N and report.failed == 0
        unknown = {o.recipient.external_user_id for o in report.details if o.recipient}
        assert unknown <= set(sent_before)
        assert set(both) == {f"u{i}" for i in range(N)}
        assert report.sent + report.already_sent + report.unknown == N


class FsyncSpy:
    """Records what each ``os.fsync`` call was made on: ``"dir"`` or ``"file"``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, calls: list[str] | None = None) -> None:
        self.calls: list[str] = [] if calls is None else calls
        real = os.fsync

        def spy(fd: int) -> None:
            self.calls.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
            real(fd)

        monkeypatch.setattr(os, "fsync", spy)


def test_the_directory_is_fsynced_when_the_journal_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new journal's header and directory entry are on disk before anything is sent; a
    journal opened again is not created, so its directory is left alone."""
    spy = FsyncSpy(monkeypatch)
    path = tmp_path / "job.journal"
    Journal.open(path, job_header(WEEKLY), fsync="never").close()
    assert spy.calls == ["file", "dir"]
    spy.calls.clear()
    Journal.open(path, job_header(WEEKLY), fsync="never").close()
    assert spy.calls == []


def test_without_advisory_locks_the_journal_still_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the OS has no ``fcntl`` (not Linux, which we support), the journal opens without
    its lock; with it, a second open of a journal in use is refused."""
    import braze_async._journal as journal_module

    path = tmp_path / "job.journal"
    held = Journal.open(path, job_header(WEEKLY), fsync="never")
    try:
        with pytest.raises(JournalError, match="in use by another running job"):
            Journal.open(path, job_header(WEEKLY), fsync="never")
        monkeypatch.setattr(journal_module, "fcntl", None)
        Journal.open(path, job_header(WEEKLY), fsync="never").close()
    finally:
        held.close()


@pytest.mark.parametrize(
    ("policy", "per_batch"),
    [
        pytest.param("never", ["send"], id="never"),
        pytest.param("begin", ["file", "send"], id="begin"),
        pytest.param("always", ["file", "send", "file"], id="always"),
    ],
)
def test_the_fsync_policy_says_which_records_reach_the_disk_before_going_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: Any, per_batch: list[str]
) -> None:
    """``never``: none; ``begin``: each begin record before its request leaves; ``always``:
    end records too (after the answer)."""
    path = tmp_path / "job.journal"
    Journal.open(path, job_header(WEEKLY), fsync="never").close()
    log: list[str] = []
    FsyncSpy(monkeypatch, log)
    sender = PrintingSender(log=log)
    asyncio.run(bulk_send(sender, users(150), WEEKLY, journal=path, journal_fsync=policy))
    assert log == per_batch * 3


def test_an_unknown_fsync_policy_is_refused(tmp_path: Path) -> None:
    """A typo in the policy is an error, not a silent "never"."""
    with pytest.raises(ValueError, match="journal_fsync: must be one of"):
        asyncio.run(
            bulk_send(
                PrintingSender(),
                users(1),
                WEEKLY,
                journal=tmp_path / "j",
                journal_fsync="sometimes",  # type: ignore[arg-type]
            )
        )
    assert not (tmp_path / "j").exists()


# -- a journal refused, and writes that fail in the ways a disk can ------------------------------


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        pytest.param(b'{"journal": "someone.else", "version": 1}', "is not a braze_async bulk",
                     id="another-program"),
        pytest.param(b'["not", "a", "header"]', "is not a braze_async bulk", id="not-an-object"),
        pytest.param(b'{"journal": "braze_async.bulk", "version": 99}', "has journal version 99",
                     id="a-later-version"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_our_journal_is_refused(
    tmp_path: Path, first_line: bytes, message: str
) -> None:
    """Another program's file, or a journal of another version, is never resumed from."""
    path = tmp_path / "job.journal"
    path.write_bytes(first_line + b"\n")
    with pytest.raises(JournalError, match=message):
        Journal.open(path, job_header(WEEKLY))
    assert path.read_bytes() == first_line + b"\n"  # left as it was


def test_a_record_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    """A line of valid JSON that is not an object names its line."""
    path = tmp_path / "job.journal"
    Journal.open(path, job_header(WEEKLY)).close()
    with path.open("ab") as fh:
        fh.write(b"[1, 2]\n")
    with pytest.raises(JournalError, match="line 3 is not a journal record"):
        Journal.open(path, job_header(WEEKLY))


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        pytest.param(errno.EIO, True, id="EIO-refused"),
        pytest.param(errno.EINVAL, False, id="EINVAL-unsupported-there"),
    ],
)
def test_a_directory_that_cannot_be_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int, refused: bool
) -> None:
    """A new journal whose directory entry cannot be made durable is refused; a file system
    that does not support syncing a directory (EINVAL) is accepted as it is."""
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(error, os.strerror(error))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    path = tmp_path / "job.journal"
    if refused:
        with pytest.raises(JournalError, match="its directory cannot be synced"):
            Journal.open(path, job_header(WEEKLY))
    else:
        Journal.open(path, job_header(WEEKLY)).close()
        assert orjson.loads(path.read_bytes().splitlines()[0])["journal"] == "braze_async.bulk"


class ShortWrites:
    """``os.write`` on the file at ``path``: the first call writes half; then ``then``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path: Path, then: str) -> None:
        self.inode, self.then, self.calls = path.stat().st_ino, then, 0
        self.real = os.write
        monkeypatch.setattr(os, "write", self)

    def __call__(self, fd: int, data: bytes) -> int:
        if os.fstat(fd).st_ino != self.inode:
            return self.real(fd, data)
        self.calls += 1
        if self.calls == 1:
            return self.real(fd, data[: len(data) // 2])
        if self.then == "nothing":
            return 0
        return self.real(fd, data)


def test_a_short_write_is_completed_when_the_rest_goes_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half a record written, then the rest (space came back): one whole record."""
    path = tmp_path / "job.journal"
    with Journal.open(path, job_header(WEEKLY)) as journal:
        writes = ShortWrites(monkeypatch, path, then="rest")
        batch = journal.begin([0, 1], ["a", "b"])
        monkeypatch.undo()
        journal.end(batch, "sent")
    assert writes.calls == 2
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [next(iter(r)) for r in records[2:]] == ["begin", "end"]


def test_a_write_of_nothing_is_a_full_disk_and_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half a record written, then a write that takes nothing: ENOSPC, the half cut off."""
    path = tmp_path / "job.journal"
    with Journal.open(path, job_header(WEEKLY)) as journal:
        size = path.stat().st_size
        ShortWrites(monkeypatch, path, then="nothing")
        with pytest.raises(JournalError, match="No space left on device"):
            journal.begin([0, 1], ["a", "b"])
        monkeypatch.undo()
        assert path.stat().st_size == size
        journal.begin([0, 1], ["a", "b"])  # the disk has room again: it goes on
    assert path.read_bytes().endswith(b"\n")


def test_a_torn_record_that_cannot_be_cut_off_stops_every_later_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When even the roll-back fails, the torn tail stays last: nothing more is appended
    after it (a resumed job drops it, as a kill's)."""
    path = tmp_path / "job.journal"
    with Journal.open(path, job_header(WEEKLY)) as journal:
        ShortWrites(monkeypatch, path, then="nothing")

        def ftruncate(fd: int, length: int) -> None:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        monkeypatch.setattr(os, "ftruncate", ftruncate)
        with pytest.raises(JournalError, match="No space left"):
            journal.begin([0, 1], ["a", "b"])
        monkeypatch.undo()
        with pytest.raises(JournalError, match=r"could not be undone \(Input/output error\)"):
            journal.begin([2], ["c"])
    assert not path.read_bytes().endswith(b"\n")
    report = asyncio.run(bulk_send(PrintingSender(), users(100), WEEKLY, journal=path))
    assert (report.sent, report.already_sent, report.unknown) == (100, 0, 0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]))
