"""Crash and resume: `braze-async send` killed with SIGKILL at random moments loses nobody.

The command runs in a subprocess against a simulator with latency and a few faults; a seeded
``random.Random`` picks when to ``kill -9`` it (during start-up, or after a random number of
batches), six times, resuming after each; a last run goes to the end. The simulator's
record, the journal and the last run's failures file must then agree: nobody confirmed sent
was sent again, every recipient is sent exactly once, rejected, or reported unknown, and
nothing is missing.

Unknown is bounded by what really happened, not by what the client says: after each kill
the journal (the process is dead, so it is still) shows the batches begun and not ended,
the requests in flight at that kill, never more than ``--concurrency``; every other unknown
batch must match a connection the simulator dropped (``drop_before`` or ``drop_after``,
counted by the simulator, and told apart by whether its recipients were delivered).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _senders import CampaignSender
from hypothesis import given, settings
from hypothesis import strategies as st

from braze_async import Campaign, JournalError, Recipient, SendResponse
from braze_async._bulk import bulk_send
from braze_async._models import CampaignTriggerRequest
from braze_async.simulator import SimulatorOptions, ThreadedSimulator

KEY = "sk-crash-resume-0123456789"
SOAK = os.environ.get("BRAZE_SOAK") == "1"
KILLS = 20 if SOAK else 6


def write_users(path: Path, n: int, bad: set[int]) -> None:
    lines = []
    for i in range(n):
        if i in bad:
            lines.append(b'{"external_user_id": ["not", "a", "string"]}')
        else:
            lines.append(
                orjson.dumps({"external_user_id": f"u{i}", "trigger_properties": {"i": i}})
            )
    path.write_bytes(b"\n".join(lines) + b"\n")


def journal_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().splitlines(keepends=True):
        if line.endswith(b"\n"):  # a torn last line (killed mid-write) is not a record
            out.append(orjson.loads(line))
    return out


def begins(path: Path) -> int:
    return sum("begin" in r for r in journal_records(path))


def expand(flat: list[int]) -> list[int]:
    return [p for i in range(0, len(flat), 2) for p in range(flat[i], flat[i + 1])]


def open_batches(path: Path) -> set[int]:
    """The batches the journal shows begun and not ended: their requests were in flight."""
    records = journal_records(path)
    ended = {r["end"] for r in records if "end" in r}
    return {r["begin"] for r in records if "begin" in r and r["begin"] not in ended}


def delivered_or_not(
    ids: set[int], batches: dict[int, list[int]], delivered: Counter[str]
) -> tuple[int, int]:
    """How many of the batches ``ids`` were delivered, and how many not. A request is
    processed whole: a batch was delivered to all its recipients or to none."""
    whole = [{delivered[f"external_user_id:u{p}"] for p in batches[b]} for b in ids]
    assert all(len(d) == 1 for d in whole), "a request was delivered in part"
    yes = sum(d == {1} for d in whole)
    return yes, len(ids) - yes


def wait_for_begins(path: Path, count: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and path.read_bytes().count(b'"begin"') >= count:
            return
        time.sleep(0.005)
    raise AssertionError(f"the job ended or stalled before {count} batches: rc={proc.poll()}")


@pytest.mark.slow
def test_random_sigkills_then_resume_send_everyone_once_or_report_them(tmp_path: Path) -> None:
    """Six kill -9 at random moments, six resumes, a final run: everyone accounted for, no dup."""
    rng = random.Random(20240606)
    n = 40_000 if SOAK else 6_000
    bad = {17, 2_500, n - 1}
    users = tmp_path / "users.jsonl"
    write_users(users, n, bad)
    journal = tmp_path / "users.jsonl.journal"
    failures_file = tmp_path / "users.jsonl.failures.jsonl"
    env = {**os.environ, "BRAZE_API_KEY": KEY}
    concurrency = 4
    command = [
        sys.executable, "-m", "braze_async", "send", "--campaign-id", "weekly",
        "--recipients", str(users), "--concurrency", str(concurrency),
    ]  # fmt: skip
    options: SimulatorOptions = {
        "api_key": KEY, "latency": 0.02, "latency_jitter": 0.04, "seed": 7,
        "fault_5xx": 0.03, "drop_before": 0.005, "drop_after": 0.005,
    }  # fmt: skip
    log: list[str] = []
    in_flight: set[int] = set()  # the batches open at some kill
    with ThreadedSimulator(**options) as sim:
        env["BRAZE_REST_URL"] = sim.base_url
        for kill in range(KILLS):
            proc = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            try:
                if rng.random() < 0.25:  # anywhere, start-up and journal creation included
                    moment = f"after {rng.uniform(0.0, 0.8):.2f} s"
                    time.sleep(float(moment.split()[1]))
                else:  # mid-job, with requests in flight
                    extra = rng.randint(1, 8)
                    moment = f"after {extra} more batches"
                    wait_for_begins(journal, begins(journal) + extra, proc)
                    time.sleep(rng.uniform(0.0, 0.03))
            finally:
                proc.kill()
                _, err = proc.communicate()
            assert proc.returncode == -signal.SIGKILL, err.decode()
            assert b"Traceback" not in err
            counts = sim.delivered_counts()
            assert not counts or max(counts.values()) == 1, f"a duplicate after kill {kill}"
            # What this kill caught in flight: begun by this run, never ended.
            caught = open_batches(journal) - in_flight
            assert len(caught) <= concurrency, f"kill {kill + 1}: {len(caught)} in flight"
            in_flight |= caught
            log.append(
                f"kill {kill + 1} {moment}: {len(caught)} in flight, {len(counts)} delivered"
            )

        final = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        delivered = sim.delivered_counts()
        stats = sim.stats
    print(f"\n{chr(10).join(log)}\nfinal: {final.stderr.strip().splitlines()[-3:]}")
    print(stats.summary())
    assert "Traceback" not in final.stderr
    assert final.returncode == 1, final.stderr  # the bad rows alone mean not all were sent

    # The journal: which batches were confirmed sent, refused, or left without an answer.
    records = journal_records(journal)
    batches = {r["begin"]: expand(r["pos"]) for r in records if "begin" in r}
    ends: dict[int, str] = {}
    for r in records:
        if "end" in r:
            ends[r["end"]] = r["outcome"]
    assert bad.isdisjoint(p for ps in batches.values() for p in ps)
    sent = {p for b, ps in batches.items() if ends.get(b) == "sent" for p in ps}
    unknown = {p for b, ps in batches.items() if ends.get(b, "unknown") == "unknown" for p in ps}
    valid = set(range(n)) - bad
    assert sent.isdisjoint(unknown) and sent | unknown == valid

    # Nobody got two messages; everyone confirmed sent got exactly one; nobody else was sent.
    assert max(delivered.values()) == 1
    key = "external_user_id:u{}".format
    assert all(delivered[key(p)] == 1 for p in sent)
    assert {int(k.split(":u")[1]) for k in delivered} <= valid

    # Unknown, bounded by what happened. Left open by a kill: only what each kill caught in
    # flight (counted above, at most `concurrency` each), and the final run left none.
    assert open_batches(journal) == in_flight
    # Ended unknown: each one is a connection the simulator dropped (never a retry: a lost
    # answer is not resent), delivered for drop_after, not for drop_before.
    lost = {b for b, outcome in ends.items() if outcome == "unknown"}
    assert lost.isdisjoint(in_flight)
    lost_after, lost_before = delivered_or_not(lost, batches, delivered)
    open_after, open_before = delivered_or_not(in_flight, batches, delivered)
    # Every drop is one of these batches; a drop met by a kill before the client decided is
    # among the open ones, so the counts meet within what the kills caught.
    assert lost_after <= stats.drops_after <= lost_after + open_after, stats.summary()
    assert lost_before <= stats.drops_before <= lost_before + open_before, stats.summary()
    assert unknown == {p for b in lost | in_flight for p in batches[b]}

    # The last run's failures file names exactly the unknown and rejected rows.
    failures = [orjson.loads(line) for line in failures_file.read_bytes().splitlines()]
    by_outcome: dict[str, set[int]] = {}
    for f in failures:
        by_outcome.setdefault(f["_outcome"], set()).add(f["_line"] - 1)
    assert by_outcome.pop("rejected") == bad
    assert by_outcome.pop("unknown", set()) == unknown
    assert not by_outcome, "nothing failed for good: failed batches are resent by the next run"
    # The summary adds up to the whole input.
    summary = re.search(
        r"(\d+) sent(?: \(\+(\d+) by an earlier run\))? (\d+) rejected (\d+) failed "
        r"(\d+) unknown",
        final.stderr.replace(",", ""),
    )
    assert summary is not None, final.stderr
    now, earlier, rejected, failed, unknown_count = (int(g or 0) for g in summary.groups())
    assert (rejected, failed, unknown_count) == (len(bad), 0, len(unknown))
    assert now + earlier + rejected + unknown_count == n
    assert in_flight, "the kills caught requests in flight"


def _wait_for_budget_child(base_url: str, journal: str) -> None:
    """In a subprocess: a bulk job whose budget admits one request an hour (killed by the test).

    Prints ``waiting 4`` once four batches wait in the rate limiter.
    """
    from braze_async import BrazeClient, Rate, RateLimits

    async def job() -> None:
        limits = RateLimits(external_id=Rate(1, 3600.0))
        async with BrazeClient(api_key=KEY, base_url=base_url, rate_limits=limits) as braze:
            sending = asyncio.ensure_future(
                braze.send_bulk(Campaign("weekly"), users(400), journal=journal, concurrency=4)
            )
            # No event tells of a caller joining the line: poll the limiter's public state.
            while braze.rate_limit_status()["external_id"].waiting < 4:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            print("waiting 4", flush=True)
            await sending

    asyncio.run(job())


def test_sigkill_while_batches_wait_for_the_rate_limiter_leaves_them_resendable(
    tmp_path: Path,
) -> None:
    """kill -9 while four batches wait behind an exhausted budget: they were never journaled
    as begun, so the resumed job sends them (nobody unknown, nobody twice)."""
    journal = tmp_path / "job.journal"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with ThreadedSimulator(KEY) as sim:
        command = [sys.executable, __file__, "--wait-for-budget", sim.base_url, str(journal)]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert proc.stdout is not None
            # The child says when four batches (one per slot) wait behind the spent budget.
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready and proc.stdout.readline() == b"waiting 4\n", proc.poll()
        finally:
            proc.kill()
            _, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err.decode()
        assert begins(journal) == 1 and b'"end"' in journal.read_bytes()
        assert len(sim.delivered_counts()) == 50

        async def resume() -> Any:
            from braze_async import BrazeClient

            async with BrazeClient(api_key=KEY, base_url=sim.base_url, rate_limits=None) as b:
                return await b.send_bulk(Campaign("weekly"), users(400), journal=journal)

        report = asyncio.run(resume())
        delivered = sim.delivered_counts()
    assert (report.already_sent, report.sent, report.unknown) == (50, 350, 0)
    assert delivered == {f"external_user_id:u{i}": 1 for i in range(400)}


# -- a journal damaged by the crash (or by anything else) -------------------------------------


class _Accepting(CampaignSender):
    """A sender that accepts every request (no network)."""

    async def send_campaign_request(
        self,
        request: CampaignTriggerRequest,
        *,
        on_admitted: Callable[[], object] | None = None,
        stop: asyncio.Event | None = None,
    ) -> SendResponse:
        if on_admitted is not None:
            on_admitted()
        return SendResponse(dispatch_id="d", message="success")


WEEKLY = Campaign("weekly")
journal_records_strategy = st.one_of(
    st.fixed_dictionaries(
        {
            "begin": st.one_of(st.integers(-3, 50), st.text(max_size=3), st.none()),
            "pos": st.one_of(
                st.lists(st.integers(-5, 100_000), max_size=6),
                st.lists(st.floats(allow_nan=True), max_size=2),
                st.text(max_size=4),
            ),
            "keys": st.one_of(st.text("0123456789abcdef", max_size=12), st.integers(-9, 9)),
        }
    ),
    st.fixed_dictionaries(
        {
            "end": st.one_of(st.integers(-3, 50), st.text(max_size=3)),
            "outcome": st.sampled_from(["sent", "failed", "unknown", "maybe", 3]),
        }
    ),
    st.dictionaries(st.text(max_size=6), st.integers(-9, 9), max_size=3),
    st.lists(st.integers(-9, 9), max_size=3),
)


def test_a_journal_naming_negative_positions_is_refused(tmp_path: Path) -> None:
    """A begin record with negative positions would mark the wrong rows: refused."""
    path = tmp_path / "job.journal"
    asyncio.run(bulk_send(_Accepting(), users(100), WEEKLY, journal=path))
    with path.open("ab") as fh:
        fh.write(b'{"begin": 9, "pos": [-60, -10], "keys": ""}\n')
    with pytest.raises(JournalError, match="line 7 is not a valid journal record"):
        asyncio.run(bulk_send(_Accepting(), users(100), WEEKLY, journal=path))


@pytest.mark.parametrize(
    "pos",
    [
        pytest.param(b"[4000000000, 4000000001]", id="huge-position"),
        pytest.param(b"[0, 1000000000]", id="billion-positions"),
    ],
)
def test_a_journal_naming_absurd_positions_is_refused(tmp_path: Path, pos: bytes) -> None:
    """A corrupt begin record naming huge positions (or far more than a request holds) is
    refused instead of allocating gigabytes of state."""
    path = tmp_path / "job.journal"
    asyncio.run(bulk_send(_Accepting(), users(100), WEEKLY, journal=path))
    with path.open("ab") as fh:
        fh.write(b'{"begin": 9, "pos": ' + pos + b', "keys": ""}\n')
    with pytest.raises(JournalError, match="line 7 is not a valid journal record"):
        asyncio.run(bulk_send(_Accepting(), users(100), WEEKLY, journal=path))


@settings(max_examples=400 if SOAK else 60, deadline=None)
@given(
    cut=st.integers(0, 10_000),
    garbage=st.lists(
        st.one_of(
            journal_records_strategy.map(lambda r: orjson.dumps(r) + b"\n"),
            st.binary(max_size=20),
        ),
        max_size=4,
    ),
    flip=st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.integers(0, 255))),
)
def test_a_damaged_journal_is_resumed_or_refused_clearly(
    cut: int, garbage: list[bytes], flip: tuple[int, int] | None
) -> None:
    """Truncated, bit-flipped or appended-to journals: resumed, or a JournalError; nothing else."""

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "job.journal"
        asyncio.run(bulk_send(_Accepting(), users(300), WEEKLY, journal=path))
        data = bytearray(path.read_bytes())
        if flip is not None:
            data[flip[0] % len(data)] = flip[1]
        path.write_bytes(bytes(data[: max(cut, 1)]) + b"".join(garbage))
        try:
            report = asyncio.run(bulk_send(_Accepting(), users(300), WEEKLY, journal=path))
        except JournalError as exc:
            assert str(exc)  # noqa: PT017 - a refusal must say why
        else:
            assert report.total == 300


def users(n: int) -> Iterator[Recipient]:
    for i in range(n):
        yield Recipient(external_user_id=f"u{i}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--wait-for-budget"]:
        _wait_for_budget_child(sys.argv[2], sys.argv[3])
