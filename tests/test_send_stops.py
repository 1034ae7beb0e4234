"""``braze-async send`` at its edges: a stop (401, Ctrl-C, a second Ctrl-C) gets a summary and
advice that is always safe to follow, a failures file written after a stop says what it
holds, a second run on the same input leaves the first one's files alone, and the journal's
fsync policy is the one asked for.

The signals are real ones, sent to the command in a subprocess; the two concurrent runs are
two real processes.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from _send import SEND_COMMAND, journal_state, lines_of, wait_for_begins, write_jsonl

from braze_async import read_jsonl
from braze_async.cli import main
from braze_async.cli._in_flight import tasks_started
from braze_async.simulator import ThreadedSimulator

KEY = "sk-stops-SECRET-0123456789"


def run(*args: str | Path) -> int:
    return main(["send", *(str(a) for a in args)])


def environment(sim: ThreadedSimulator) -> dict[str, str]:
    return {**os.environ, "BRAZE_API_KEY": KEY, "BRAZE_REST_URL": sim.base_url}


def delivered_users(sim: ThreadedSimulator) -> dict[int, int]:
    """User number -> messages the simulator delivered to ``u<number>``."""
    return {
        int(key.removeprefix("external_user_id:u")): count
        for key, count in sim.delivered_counts().items()
    }


def first_not_attempted(err: str) -> int:
    match = re.search(r"nothing from line ([\d,]+) on was attempted", err)
    assert match is not None, err
    return int(match.group(1).replace(",", ""))


# -- a 401 ------------------------------------------------------------------------------------


def test_after_a_401_the_failures_file_says_it_holds_only_the_rows_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong key stops the job: the failures file starts with a note naming the first line
    not attempted, the readers skip that note, and the advice (with a journal: run the same
    command again once the key is fixed) sends everyone exactly once."""
    users = write_jsonl(tmp_path / "users.jsonl", 2_000)
    failures = tmp_path / "users.jsonl.failures.jsonl"
    with ThreadedSimulator(KEY) as sim:
        argv = ("--campaign-id", "weekly", "--recipients", users, "--base-url", sim.base_url)
        assert run(*argv, "--api-key", "sk-wrong-0123456789") == 1
        err = capsys.readouterr().err
        assert "stopped before the end (HTTP 401" in err
        line = first_not_attempted(err)
        assert "once what stopped it is fixed, run the same command again to send the rest" in err
        note, *rows = lines_of(failures)
        assert set(note) == {"_note", "_first_unread_line"}
        assert note["_first_unread_line"] == line
        assert "holds only the recipients not sent among the rows" in str(note["_note"])
        assert rows and {r["_outcome"] for r in rows} == {"failed"}
        assert {r["_status"] for r in rows} == {401}
        assert all(int(str(r["_line"])) < line for r in rows)
        # Fed back, the file is its rows: the note is no recipient.
        assert [r.line for r in read_jsonl(failures)] == [i + 2 for i in range(len(rows))]
        assert sim.delivered_counts() == {}

        assert run(*argv, "--api-key", KEY) == 0
        assert delivered_users(sim) == dict.fromkeys(range(2_000), 1)
    assert not failures.exists()


# -- Ctrl-C without a journal -------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_without_a_journal_never_advises_running_the_same_command_again(
    tmp_path: Path,
) -> None:
    """--no-journal and Ctrl-C: the summary does not say "run the same command again" (that
    would message everyone sent a second time) but what to send instead; following that
    advice messages everyone exactly once."""
    n = 4_000
    users = write_jsonl(tmp_path / "users.jsonl", n, bad={4: '{"external_user_id": 4}'})
    failures = tmp_path / "users.jsonl.failures.jsonl"
    with ThreadedSimulator(KEY, latency=0.05, seed=8) as sim:
        command = [*SEND_COMMAND, "--campaign-id", "weekly", "--no-journal"]
        command += ["--concurrency", "2", "--recipients"]
        proc = subprocess.Popen(
            [*command, str(users)], env=environment(sim), stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while sim.stats.accepted < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "run the same command again" not in err
        assert "no journal: running the same command again would message everyone sent" in err
        line = first_not_attempted(err)
        assert (
            f"to finish, send the (fixed) rejected rows of {failures} and the input from line "
            f"{line:,} on" in err
        )
        # Every row before that line was sent (or rejected); none from it on.
        assert delivered_users(sim) == {i: 1 for i in range(line - 1) if i != 4}
        note, rejected = lines_of(failures)
        assert note["_first_unread_line"] == line
        assert (rejected["_line"], rejected["_outcome"]) == (5, "rejected")

        # Follow the advice: the fixed row, and the input from that line on.
        rest = tmp_path / "rest.jsonl"
        fixed = orjson.dumps({"external_user_id": "u4"})
        rest.write_bytes(fixed + b"\n" + b"".join(users.read_bytes().splitlines(True)[line - 1 :]))
        finish = subprocess.run(
            [*command, str(rest)], env=environment(sim), capture_output=True, check=False
        )
        assert finish.returncode == 0, finish.stderr
        assert delivered_users(sim) == dict.fromkeys(range(n), 1)


def test_ctrl_c_does_not_wait_for_a_spent_budget(tmp_path: Path) -> None:
    """A budget of one request an hour: after the first answer the next batches wait for the
    rate limiter. Ctrl-C ends the job at once (status 130, a summary): the waiting batches
    are failed, never sent, and the same command again sends everyone else, once each."""
    users = write_jsonl(tmp_path / "users.jsonl", 1_000)
    journal = tmp_path / "users.jsonl.journal"
    with ThreadedSimulator(KEY, seed=9) as sim:
        command = [*SEND_COMMAND, "--campaign-id", "weekly", "--recipients", str(users)]
        proc = subprocess.Popen(
            [*command, "--concurrency", "4", "--external-id-rate", "1/3600"],
            env=environment(sim),
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not journal.exists() or journal_state(journal) != (1, 0):  # first batch answered
            assert proc.poll() is None and time.monotonic() < deadline, proc.returncode
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        # Bounded so that a regression fails instead of waiting out the hour.
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        match = re.search(r": 50 sent, 0 rejected, ([\d,]+) failed, 0 unknown in 1 request, ", err)
        assert match is not None, err
        assert int(match.group(1)) % 50 == 0 and 0 < int(match.group(1)) <= 200
        assert journal_state(journal) == (1, 0)
        again = subprocess.run(command, env=environment(sim), capture_output=True, text=True)
        assert again.returncode == 0, again.stderr
        assert delivered_users(sim) == dict.fromkeys(range(1_000), 1)


# -- a second Ctrl-C --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_second_ctrl_c_still_prints_the_summary_with_the_unknowns(tmp_path: Path) -> None:
    """Ctrl-C, then, while the job waits for its last answers, Ctrl-C again: the requests in
    flight are abandoned, and the summary still comes, counting them unknown, as the failures
    file and the resumed job do."""
    n = 4_000
    users = write_jsonl(tmp_path / "users.jsonl", n)
    journal = tmp_path / "users.jsonl.journal"
    failures = tmp_path / "users.jsonl.failures.jsonl"
    # Answers between 0.2 s and 6.2 s: some come soon after the first Ctrl-C (so the job is
    # past its last request, waiting for the others), the rest are still awaited.
    with ThreadedSimulator(KEY, latency=0.2, latency_jitter=6.0, seed=11) as sim:
        command = [*SEND_COMMAND, "--campaign-id", "weekly", "--recipients", str(users)]
        proc = subprocess.Popen(command, env=environment(sim), stderr=subprocess.PIPE, text=True)
        wait_for_begins(journal, 8, proc)
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 30
        while journal.read_bytes().count(b'"end"') < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # the job saw the freed slot and the stop: no new request
        _, still_open = journal_state(journal)
        assert still_open > 0
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "abandoned the requests in flight" in err
        _, open_batches = journal_state(journal)
        assert 0 < open_batches <= still_open
        unknown = 50 * open_batches
        match = re.search(r": ([\d,]+) sent, 0 rejected, 0 failed, ([\d,]+) unknown in", err)
        assert match is not None, err
        assert int(match.group(2).replace(",", "")) == unknown
        assert f"{unknown:,} recipients may or may not have been messaged" in err
        assert "run the same command again to send the rest" in err
        note, *rows = lines_of(failures)
        assert note["_first_unread_line"] == first_not_attempted(err)
        assert len(rows) == unknown and {r["_outcome"] for r in rows} == {"unknown"}

        resumed = subprocess.run(
            command, env=environment(sim), capture_output=True, text=True, check=False
        )
    assert resumed.returncode == 1
    assert f"{unknown} unknown" in resumed.stderr.replace(",", "")
    assert max(sim.delivered_counts().values()) == 1


# -- two runs at once -------------------------------------------------------------------------


@pytest.fixture
def slow_sim() -> Iterator[ThreadedSimulator]:
    with ThreadedSimulator(KEY, latency=0.2, seed=9) as sim:
        yield sim


@pytest.mark.slow
def test_a_second_run_on_the_same_input_leaves_the_first_runs_files_alone(
    tmp_path: Path, slow_sim: ThreadedSimulator
) -> None:
    """Two real processes: the second is refused by the journal's lock before it touches any
    file, so an earlier run's failures file stays as it was while the first runs, and the
    first run's own file is put in place whole when it ends."""
    users = write_jsonl(
        tmp_path / "users.jsonl",
        2_000,
        bad={2: '{"external_user_id": 2}', 1_900: '{"email": "not an email"}'},
    )
    journal = tmp_path / "users.jsonl.journal"
    failures = tmp_path / "users.jsonl.failures.jsonl"
    earlier = b'{"external_user_id":"from-an-earlier-run","_outcome":"failed"}\n'
    failures.write_bytes(earlier)
    command = [*SEND_COMMAND, "--campaign-id", "weekly", "--recipients", str(users)]
    command += ["--concurrency", "1"]
    env = environment(slow_sim)
    first = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_begins(journal, 2, first)
        second = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert second.returncode == 2
        assert f"the journal {journal} is in use by another running job" in second.stderr
        assert first.poll() is None  # the first one is still running
        # The first run writes beside the file; the second touched nothing.
        assert failures.read_bytes() == earlier
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 1, err
    assert "1,998 sent, 2 rejected, 0 failed, 0 unknown" in err
    assert [(f["_line"], f["_outcome"]) for f in lines_of(failures)] == [
        (3, "rejected"),
        (1_901, "rejected"),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "users.jsonl",
        "users.jsonl.failures.jsonl",
        "users.jsonl.journal",
    ]
    assert max(slow_sim.delivered_counts().values()) == 1


def test_a_run_that_sends_everyone_removes_an_earlier_failures_file(tmp_path: Path) -> None:
    """Nobody left to report: the earlier run's failures file goes, and no partial file is
    left beside it."""
    users = write_jsonl(tmp_path / "users.jsonl", 60)
    failures = tmp_path / "users.jsonl.failures.jsonl"
    failures.write_bytes(b'{"external_user_id":"u1","_outcome":"failed"}\n')
    with ThreadedSimulator(KEY) as sim:
        assert run("--campaign-id", "weekly", "--recipients", users, "--no-journal",
                   "--api-key", KEY, "--base-url", sim.base_url) == 0  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.jsonl"]


def test_a_failures_file_that_cannot_be_written_stops_the_job_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The failures file's directory is not writable: exit 2 in one line, nothing sent."""
    users = write_jsonl(tmp_path / "users.jsonl", 60)
    missing = tmp_path / "no-such-directory" / "failures.jsonl"
    with ThreadedSimulator(KEY) as sim:
        code = run("--campaign-id", "weekly", "--recipients", users, "--failures", missing,
                   "--api-key", KEY, "--base-url", sim.base_url)  # fmt: skip
        assert sim.stats.requests == 0
    assert code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(f"braze-async send: error: cannot write {missing}")
    assert "Traceback" not in err


# -- --journal-fsync --------------------------------------------------------------------------


def test_journal_fsync_is_the_policy_the_journal_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--journal-fsync never / begin (the default) / always: the fsyncs of three batches are
    none, one per begin record, one per begin and end record (besides the journal's creation)."""
    calls = 0
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    counts = {}
    with ThreadedSimulator(KEY) as sim:
        for policy in ("never", None, "always"):
            users = write_jsonl(tmp_path / f"users-{policy}.jsonl", 150)  # three batches
            flag = () if policy is None else ("--journal-fsync", policy)
            calls = 0
            assert run("--campaign-id", "weekly", "--recipients", users, *flag,
                       "--api-key", KEY, "--base-url", sim.base_url) == 0  # fmt: skip
            counts[policy] = calls
    assert counts[None] - counts["never"] == 3
    assert counts["always"] - counts["never"] == 6


def test_a_bad_journal_fsync_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    users = write_jsonl(tmp_path / "users.jsonl", 3)
    assert run("--simulate", "--campaign-id", "c", "--recipients", users,
               "--journal-fsync", "sometimes") == 2  # fmt: skip
    [line] = capsys.readouterr().err.splitlines()
    assert "--journal-fsync: invalid choice: 'sometimes'" in line


# -- what a second signal cancels ----------------------------------------------------------------


def test_abandon_cancels_the_tasks_the_job_started_and_nothing_else() -> None:
    """Only tasks started by the task in the block are cancelled (a server's, started from a
    callback, are not); one started after abandon() is cancelled at once; the loop's task
    factory is restored."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        before = loop.get_task_factory()
        cancelled: list[str] = []

        async def request(name: str) -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.append(name)
                raise

        async def server() -> str:
            await asyncio.sleep(0.05)
            return "answered"

        with tasks_started() as abandon:
            requests = [loop.create_task(request(f"r{i}"), name=f"r{i}") for i in range(3)]
            started: asyncio.Future[asyncio.Task[str]] = loop.create_future()
            loop.call_soon(lambda: started.set_result(loop.create_task(server())))
            outsider = await started
            await asyncio.sleep(0)
            abandon()
            late = loop.create_task(request("late"))
            await asyncio.gather(*requests, late, return_exceptions=True)
            assert sorted(cancelled) == ["r0", "r1", "r2"]
            assert late.cancelled() and [r.get_name() for r in requests] == ["r0", "r1", "r2"]
            assert await outsider == "answered"
        assert loop.get_task_factory() is before

    asyncio.run(scenario())
