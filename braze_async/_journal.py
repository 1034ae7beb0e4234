"""The bulk-send journal: an append-only JSONL file that makes a bulk job resumable.

Once the rate limiter has admitted a batch, and before its request leaves, a *begin* record
naming its input positions is written; after Braze answers, an *end* record with the outcome.
A record is appended whole or not at all: a write that fails or is cut short (a full disk,
ENOSPC; a file-size limit, EFBIG) is rolled back (the file is truncated to where the record
began) and raises :class:`JournalError`, and a failed begin record means its request is not
sent. A kill in the middle of a write leaves a torn last line, which the next job discards:
its request was never sent. A job started again with the same journal therefore knows, for
every input position:

========================  ====================================================================
journal says              what the resumed job does
========================  ====================================================================
begin + end "sent"        skips it (counted as already sent)
begin, no end             reports it *unknown*: it may have reached Braze, so it is NOT resent
begin + end "unknown"     the same
begin + end "failed"      sends it again (Braze sent nothing for a request it refused)
nothing                   sends it
========================  ====================================================================

The first line is a header naming the job (endpoint, campaign or Canvas id, a hash of the
request-level fields, a fingerprint of the input, and for a scheduled job its schedule): a
journal written for another job is refused. A scheduled job's end records of created
schedules carry each ``schedule_id`` (a key that older journals lack and that nothing needs
to resume: it is read back for the report only).

Each begin record also carries a 16-bit hash of every recipient's key, so a resumed job
notices an input file whose rows moved or changed and stops instead of skipping the wrong
people, or sending the wrong ones: every journaled position is checked, sent, failed and
unknown alike, up to :attr:`Journal.journaled_end`, before the resumed job sends anything
(a deleted row moves the rows after it up one place, so a failed position would otherwise
send someone an earlier run sent from the next one). Positions are stored as compact ranges;
in memory the state is one byte plus two bytes per input position (about 3 MB for a million
rows), never a set of integers.

What reaches the disk before the job goes on is the *fsync policy* (:data:`FsyncPolicy`):

==========  ================================================================================
``never``   records are handed to the OS, not forced to the disk: the journal survives the
            process being killed (``kill -9``, a crash, the OOM killer), not an OS crash or a
            power loss, which can lose recent begin records and so resend their batches
``begin``   (the default) each begin record is on the disk before its request leaves: after
            a power loss nobody is messaged twice; end records lost with it leave their
            batches *unknown* (not resent)
``always``  end records too: after a power loss, fewer batches are unknown
==========  ================================================================================

Whatever the policy, a new journal's header and its directory entry are forced to the disk
once, when it is created. The cost per request is measured in ``benchmarks/bench_journal.py``.

The journal holds no API key and no personalization data: ids, positions, hashes, outcomes.

Records (one JSON object per line)::

    {"journal": "braze_async.bulk", "version": 1, "target": "campaign:weekly", ...}
    {"begin": 0, "pos": [0, 50], "keys": "9f3a...", "at": 1718000000.1}
    {"end": 0, "outcome": "sent", "dispatch_id": "..."}
    {"end": 2, "outcome": "sent", "dispatch_id": "...", "schedule_id": "..."}
    {"end": 1, "outcome": "failed", "status": 400, "code": "invalid_recipients", ...}
    {"stopped": "HTTP 401: ...", "read": 2000, "first_not_attempted": 250, "line": 252, ...}
"""

from __future__ import annotations

import array
import contextlib
import errno
import os
import time
import zlib
from collections.abc import Iterable, Sequence
from typing import IO, Any, Final, Literal, TypeAlias

import attrs
import orjson

from ._errors import BrazeError
from ._models import MAX_RECIPIENTS

#: Highest input position a journal may name: two billion rows is far beyond any real job,
#: and it bounds what a corrupt journal can make us allocate.
_MAX_POSITION: Final = 2**31 - 1

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locking
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_FSYNC",
    "FSYNC_POLICIES",
    "FsyncPolicy",
    "Journal",
    "JournalError",
    "JournalHeader",
    "key_hash",
]

MAGIC: Final = "braze_async.bulk"
VERSION: Final = 1

#: Position states kept in memory: never journaled (send it), sent, unknown, or journaled and
#: refused (send it again; its key is known, and checked like the others').
TODO: Final = 0
SENT: Final = 1
UNKNOWN: Final = 2
FAILED: Final = 3

Outcome = Literal["sent", "failed", "unknown"]

#: Which records are forced to the disk (``fsync``) before the job goes on; see above.
FsyncPolicy: TypeAlias = Literal["never", "begin", "always"]
FSYNC_POLICIES: Final[tuple[FsyncPolicy, ...]] = ("never", "begin", "always")
#: Survives a power loss without messaging anyone twice; see ``benchmarks/bench_journal.py``
#: for what it costs.
DEFAULT_FSYNC: Final[FsyncPolicy] = "begin"
#: ``fsync`` errors that mean "this file system cannot", not "this write was lost".
_FSYNC_UNSUPPORTED: Final = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})


class JournalError(BrazeError):
    """The journal cannot be used: another job's, corrupt, in use, or the input changed."""


class InputChangedError(JournalError):
    """The input is not the one the journal was written from (a row moved, was deleted,
    inserted or replaced): the job is refused before it sends anyone."""


#: What a refused resume advises: never what would message anyone a second time (deleting
#: the row, or the journal, and running again).
INPUT_CHANGED_ADVICE: Final = (
    "restore the input as it was: fix a refused row in place (same line, same recipient); or "
    "send only the recipients not sent (the failures file) with a new journal. Deleting a row "
    "or this journal and running again would message people already sent a second time"
)


def key_hash(key: str) -> int:
    """The 16-bit hash of a recipient key that the journal keeps per position."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) & 0xFFFF


def ranges(positions: Sequence[int]) -> list[int]:
    """Increasing positions as flat half-open ranges: ``[0, 1, 2, 5]`` -> ``[0, 3, 5, 6]``."""
    out: list[int] = []
    for p in positions:
        if out and out[-1] == p:
            out[-1] = p + 1
        else:
            out += (p, p + 1)
    return out


def expand(flat: Sequence[int]) -> Iterable[int]:
    """The positions of flat ranges (inverse of :func:`ranges`)."""
    for i in range(0, len(flat), 2):
        yield from range(flat[i], flat[i + 1])


@attrs.frozen(kw_only=True)
class JournalHeader:
    """What identifies a bulk job: a journal is only reused for the same one."""

    #: ``"campaign:<id>"`` or ``"canvas:<id>"``.
    target: str
    #: A hash of the request-level fields (send_id, properties).
    request: str
    #: A fingerprint of the input (e.g. of the file); empty when the caller gave none.
    input: str = ""
    #: Where the job sends (the REST endpoint); not secret, unlike the key.
    destination: str = ""
    #: A scheduled job's schedule object as sent (JSON); empty for an immediate send, whose
    #: header has no such key (so journals written before scheduling existed still match).
    schedule: str = ""

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "journal": MAGIC,
            "version": VERSION,
            "target": self.target,
            "request": self.request,
            "input": self.input,
            "destination": self.destination,
            "created": time.time(),
        }
        if self.schedule:
            record["schedule"] = self.schedule
        return record


class Journal:
    """An open journal: the state of every input position, and the file to append to.

    Open with :meth:`open`; close with :meth:`close` (or use it as a context manager).
    """

    def __init__(self, path: str, fh: IO[bytes], *, fsync: FsyncPolicy) -> None:
        #: The journal file.
        self.path = path
        self._fh = fh
        self._fsync = fsync
        #: Where the next record goes: the file's size, as far as our writes made it (the
        #: lock keeps every other writer out), so a failed write can be cut off again.
        self._size = os.fstat(fh.fileno()).st_size
        #: Set when a failed write could not be rolled back: nothing more is written.
        self._damaged: str | None = None
        self._status = bytearray()
        self._keys = array.array("H")
        self._open: dict[int, list[int]] = {}
        self._next_batch = 0
        #: Positions confirmed sent by earlier runs (when opened).
        self.loaded_sent = 0
        #: Positions whose outcome earlier runs could not learn (when opened).
        self.loaded_unknown = 0
        #: One past the highest position earlier runs journaled (0: none): a resumed job
        #: checks its input against every position below it before it sends anything.
        self.journaled_end = 0
        #: The ``schedule_id`` of each batch earlier runs scheduled (when opened).
        self.loaded_schedule_ids: list[str] = []

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        header: JournalHeader,
        *,
        fsync: FsyncPolicy = DEFAULT_FSYNC,
    ) -> Journal:
        """Open (creating it if needed) the journal at ``path`` for the job ``header``.

        :param fsync: which records reach the disk before the job goes on (see above).
        :raises JournalError: the journal is another job's, corrupt, in use, or cannot be
            written.
        :raises OSError: it cannot be opened or read.
        """
        name = os.fspath(path)
        fh = open(name, "a+b", buffering=0)  # noqa: SIM115 - kept open for the job
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise JournalError(
                        f"the journal {name} is in use by another running job"
                    ) from None
            journal = cls(name, fh, fsync=fsync)
            if journal._size:
                journal._load(header)
            else:
                journal._create(header)
            journal._write({"resumed" if journal._next_batch else "started": time.time()})
        except BaseException:
            fh.close()
            raise
        return journal

    def _load(self, header: JournalHeader) -> None:
        offset = 0
        number = 0
        with open(self.path, "rb") as reader:
            for raw in reader:
                if not raw.endswith(b"\n"):
                    # A torn last record from a killed run: its batch was never sent (the
                    # begin record is written before sending). Cut it so appends stay whole.
                    self._fh.truncate(offset)
                    self._size = offset
                    break
                number += 1
                offset += len(raw)
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise JournalError(f"{self.path} line {number} is corrupt") from None
                if number == 1:
                    self._check_header(record, header)
                else:
                    self._replay(record, number)
        if number == 0:  # only a torn header: as good as empty
            self._create(header)
        self.loaded_sent = self._status.count(SENT)
        self.loaded_unknown = self._status.count(UNKNOWN)

    def _check_header(self, record: object, header: JournalHeader) -> None:
        if not isinstance(record, dict) or record.get("journal") != MAGIC:
            raise JournalError(f"{self.path} is not a braze_async bulk journal")
        if record.get("version") != VERSION:
            raise JournalError(f"{self.path} has journal version {record.get('version')!r}")
        mine = {
            "target": header.target,
            "request": header.request,
            "input": header.input,
            "destination": header.destination,
            "schedule": header.schedule,
        }
        for name, value in mine.items():
            if record.get(name, "" if name == "schedule" else None) != value:
                what = {
                    "target": "campaign or Canvas",
                    "request": "request-level properties or send_id",
                    "input": "input file",
                    "destination": "Braze endpoint",
                    "schedule": "schedule (--at, --in-local-time) or an immediate send",
                }[name]
                error = InputChangedError if name == "input" else JournalError
                raise error(
                    f"the journal {self.path} belongs to another job (a different {what}: "
                    f"{record.get(name)!r}, this job has {value!r}); "
                    + {
                        "input": INPUT_CHANGED_ADVICE,
                        "request": "give the job the properties it was started with (a new "
                        "journal would message everyone already sent a second time)",
                        "schedule": "give the job the schedule it was started with (a new "
                        "journal would schedule everyone already scheduled a second time)",
                    }.get(name, "give this job a journal of its own")
                )

    def _replay(self, record: object, number: int) -> None:
        if not isinstance(record, dict):
            raise JournalError(f"{self.path} line {number} is not a journal record")
        try:
            if "begin" in record:
                batch = int(record["begin"])
                flat = [int(p) for p in record["pos"]]
                if any(not 0 <= p <= _MAX_POSITION for p in flat):
                    # Negative ones would index the state from its end; huge ones (a corrupt
                    # file) would allocate gigabytes of state.
                    raise ValueError("position out of range")
                if sum(flat[1::2]) - sum(flat[0::2]) > MAX_RECIPIENTS:
                    raise ValueError("more positions than a request holds")
                keys = bytes.fromhex(record["keys"])
                self._next_batch = max(self._next_batch, batch + 1)
                self.journaled_end = max(self.journaled_end, *flat[1::2], 0)
                self._open[batch] = flat
                for index, position in enumerate(expand(flat)):
                    self._grow(position + 1)
                    self._status[position] = UNKNOWN
                    self._keys[position] = int.from_bytes(keys[2 * index : 2 * index + 2], "big")
            elif "end" in record:
                flat = self._open.pop(int(record["end"]))
                state = {"sent": SENT, "failed": FAILED, "unknown": UNKNOWN}[record["outcome"]]
                for position in expand(flat):
                    self._status[position] = state
                schedule_id = record.get("schedule_id")
                if state == SENT and isinstance(schedule_id, str):
                    self.loaded_schedule_ids.append(schedule_id)
        except (KeyError, ValueError, TypeError, IndexError):
            raise JournalError(f"{self.path} line {number} is not a valid journal record") from None

    def _grow(self, size: int) -> None:
        have = len(self._status)
        if size > have:
            more = max(size, 2 * have, 1024) - have
            self._status.extend(bytes(more))
            self._keys.frombytes(bytes(2 * more))

    def _create(self, header: JournalHeader) -> None:
        """Write the header of a new journal, and make it and the file's name durable.

        Without the directory's ``fsync`` a power loss can lose the new file's entry, and
        with it every record, however carefully each was synced.
        """
        self._write(header.record(), sync=True)
        if os.name == "nt":  # pragma: no cover - a directory cannot be opened there
            return
        try:
            fd = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            if exc.errno not in _FSYNC_UNSUPPORTED:
                raise JournalError(
                    f"cannot write the journal {self.path}: its directory cannot be synced "
                    f"({exc.strerror or exc})"
                ) from exc

    def _write(self, record: dict[str, Any], *, sync: bool = False) -> None:
        """Append ``record`` as one whole line, or leave the file as it was and raise."""
        if self._damaged is not None:
            raise JournalError(
                f"cannot write the journal {self.path}: an earlier write failed and could not "
                f"be undone ({self._damaged}); nothing more is written to it"
            )
        data = orjson.dumps(record) + b"\n"
        fd = self._fh.fileno()
        start = self._size
        try:
            # One write() per record on an unbuffered O_APPEND file: nothing waits in a
            # buffer. A short count means the disk or the file-size limit is full; writing
            # the rest then fails with the reason (ENOSPC, EFBIG), or, when space came back,
            # completes the line.
            written = os.write(fd, data)
            while written < len(data):
                more = os.write(fd, data[written:])
                if not more:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += more
            if sync:
                os.fsync(fd)
        except OSError as exc:
            self._roll_back(start)
            raise JournalError(
                f"cannot write the journal {self.path}: {exc.strerror or exc}"
            ) from exc
        self._size = start + len(data)

    def _roll_back(self, size: int) -> None:
        """Cut off what a failed write left after ``size`` bytes (a torn record)."""
        try:
            os.ftruncate(self._fh.fileno(), size)
        except OSError as exc:
            # The torn tail stays: refuse every later write, so that it stays the last line
            # (which the next job discards) rather than corrupting the records after it.
            self._damaged = exc.strerror or str(exc)

    # -- the job's side ---------------------------------------------------------------------

    def status(self, position: int) -> int:
        """``TODO`` or ``FAILED`` (send it), ``SENT`` or ``UNKNOWN`` (skip it) for an input
        position; all but ``TODO`` have a key to check (:meth:`same_key`)."""
        return self._status[position] if position < len(self._status) else TODO

    def same_key(self, position: int, key: str) -> bool:
        """Whether the recipient at ``position`` has the key hash recorded when it was sent."""
        return position < len(self._keys) and self._keys[position] == key_hash(key)

    def begin(self, positions: Sequence[int], keys: Sequence[str]) -> int:
        """Record that the batch of these positions is about to be sent; return its id.

        Written whole and handed to the OS before returning (and on the disk, unless the
        policy is ``never``).

        :raises JournalError: the record could not be written (and was rolled back): the
            batch must not be sent.
        """
        hashes = b"".join(key_hash(k).to_bytes(2, "big") for k in keys)
        batch = self._next_batch
        self._write(
            {"begin": batch, "pos": ranges(positions), "keys": hashes.hex(), "at": time.time()},
            sync=self._fsync != "never",
        )
        self._next_batch += 1
        return batch

    def end(self, batch: int, outcome: Outcome, **details: Any) -> None:
        """Record the outcome of a batch (on the disk first with the policy ``always``).

        :raises JournalError: it could not be written (and was rolled back): the batch reads
            as begun without an end, *unknown*, to the next job.
        """
        self._write({"end": batch, "outcome": outcome, **details}, sync=self._fsync == "always")

    def stopped(
        self, reason: str, *, read: int, first_not_attempted: int | None, line: int | None
    ) -> None:
        """Record that the run stopped early: why, how many input items it read, and the
        first item (and input line) it did not attempt. For people and tools reading the
        journal; a resumed job does not need it.

        :raises JournalError: it could not be written (and was rolled back).
        """
        self._write(
            {
                "stopped": reason,
                "read": read,
                "first_not_attempted": first_not_attempted,
                "line": line,
                "at": time.time(),
            }
        )

    def close(self) -> None:
        """Close the file (releasing its lock)."""
        with contextlib.suppress(OSError):
            self._fh.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
