"""``braze-async send --dry-run``: reads and checks everything, sends nothing, says what a send
would do; and the estimate behind its duration line."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from braze_async import Rate
from braze_async.cli import main
from braze_async.cli._estimate import Estimate, budget_wait

EXAMPLES = Path(__file__).parent.parent / "examples"
KEY = "sk-dry-SECRET-0123456789"


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAZE_API_KEY", raising=False)
    monkeypatch.delenv("BRAZE_REST_URL", raising=False)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that accepts nothing by itself: any connection would wait in its queue."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.setblocking(False)
        yield sock


def assert_nobody_connected(sock: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        sock.accept()


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket connected or bound (a client, or a simulator starting) fails the test."""

    def refuse(*args: object) -> None:
        raise AssertionError("a dry run opened a connection or a server")

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse)


def copy_example(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes((EXAMPLES / name).read_bytes())
    return path


def test_a_dry_run_reads_everything_and_makes_no_request(
    tmp_path: Path, listener: socket.socket, capsys: pytest.CaptureFixture[str]
) -> None:
    """With credentials: recipients, rejected rows (into the failures file), requests and the
    budget are told; nobody even connects to the endpoint; exit 1 for the bad rows."""
    users = copy_example(tmp_path, "users-with-errors.csv")
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    argv = ["send", "--dry-run", "--campaign-id", "weekly", "--recipients", str(users)]
    assert main([*argv, "--api-key", KEY, "--base-url", url]) == 1
    assert_nobody_connected(listener)
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        f"dry run of campaign 'weekly' from {users}, for {url}: nothing was sent",
        f"  recipients  995 valid, 5 rejected (line and reason in {users}.failures.jsonl)",
        "  requests    20 of up to 50 recipients, 8 at a time",
        "  budget      250,000 requests per hour for sends by external ID (Braze's limit)",
        "  lane        bulk: at most 225,000 of them, 25,000 (10%) kept for interactive sends",
        "  duration    no wait for the budget: the send takes 3 round trips (8 requests at a time)",
        "              (what the workspace spent already is unknown: Braze tells it only in",
        "              its answers; if other senders spent it all, up to 1h00m more)",
    ]
    failures = [
        orjson.loads(line) for line in Path(f"{users}.failures.jsonl").read_bytes().splitlines()
    ]
    assert [f["_line"] for f in failures] == [101, 251, 401, 601, 801]
    assert {f["_outcome"] for f in failures} == {"rejected"}
    assert all(f["_reason"] for f in failures)
    assert not Path(f"{users}.journal").exists()  # a dry run writes no journal
    assert KEY not in out


@pytest.mark.usefixtures("no_sockets")
def test_a_simulated_dry_run_starts_no_simulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--simulate: not even the local simulator starts (no socket at all); all valid: 0."""
    users = copy_example(tmp_path, "users.csv")
    argv = ["send", "--dry-run", "--simulate", "--campaign-id", "weekly"]
    argv += ["--recipients", str(users)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"from {users}, for the local simulator: nothing was sent" in out
    assert "1,000 valid, 0 rejected\n" in out
    assert "unknown" not in out  # the simulator's budget is known: fresh
    assert not Path(f"{users}.failures.jsonl").exists()


@pytest.mark.usefixtures("no_sockets")
def test_the_duration_follows_the_configured_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--external-id-rate sets the budget the estimate (and a send) goes by."""
    users = copy_example(tmp_path, "users.jsonl")
    argv = ["send", "--dry-run", "--canvas-id", "onboarding", "--recipients", str(users)]
    argv += ["--external-id-rate", "2/60", "--concurrency", "2"]
    assert main([*argv, "--api-key", KEY, "--base-url", "https://rest.iad-01.braze.com"]) == 1
    out = capsys.readouterr().out
    assert "296 valid, 4 rejected" in out
    assert "6 of up to 50 recipients, 2 at a time" in out
    assert "2 requests per minute for sends by external ID (--external-id-rate)" in out
    # The bulk lane's share is 1 of the 2 (the reserve keeps at least one of a budget this
    # small): 6 requests at 1 a minute, the last one starts five minutes in.
    assert "bulk: at most 1 of them, 1 (10%) kept for interactive sends" in out
    assert "at least 5m00s waiting for the budget, plus 3 round trips" in out
    assert "up to 1m00s more" in out


@pytest.mark.usefixtures("no_sockets")
def test_a_dry_run_notes_a_journal_it_would_resume_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing journal means a send would resume: fewer requests than counted."""
    users = copy_example(tmp_path, "users.csv")
    journal = tmp_path / "users.csv.journal"
    journal.write_bytes(b"")
    argv = ["send", "--dry-run", "--campaign-id", "weekly", "--recipients", str(users)]
    assert main([*argv, "--api-key", KEY, "--base-url", "https://rest.iad-01.braze.com"]) == 0
    assert f"{journal} exists: a send resumes from it" in capsys.readouterr().out
    assert journal.read_bytes() == b""  # not opened for writing


@pytest.mark.usefixtures("no_sockets")
def test_a_bad_request_field_stops_a_dry_run_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Request-level fields are checked as a request checks them: exit 2, one line."""
    users = copy_example(tmp_path, "users.csv")
    deep = "{" + '"a":{' * 40 + "}" * 41
    argv = ["send", "--dry-run", "--campaign-id", "weekly", "--recipients", str(users)]
    assert main([*argv, "--trigger-properties", deep]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("braze-async send: error: trigger_properties.a")
    assert "nests deeper than" in line


@pytest.mark.parametrize(
    ("requests", "rate", "used", "wait"),
    [
        pytest.param(0, Rate(250, 60), 0, 0.0, id="nothing"),
        pytest.param(250, Rate(250, 60), 0, 0.0, id="the-whole-budget-at-once"),
        pytest.param(251, Rate(250, 60), 0, 60.0, id="one-more-waits-a-period"),
        pytest.param(750, Rate(250, 60), 0, 120.0, id="three-windows"),
        pytest.param(751, Rate(250, 60), 0, 180.0, id="four-windows"),
        pytest.param(1, Rate(250, 60), 249, 0.0, id="the-last-slot"),
        pytest.param(2, Rate(250, 60), 249, 60.0, id="past-the-last-slot"),
        pytest.param(1, Rate(250, 60), 250, 60.0, id="all-spent"),
        pytest.param(20_000, Rate(250_000, 3600), 0, 0.0, id="a-million-recipients-an-hour"),
    ],
)
def test_budget_wait(requests: int, rate: Rate, used: int, wait: float) -> None:
    """The last of N requests waits (N - 1 + used) // limit periods for the budget."""
    assert budget_wait(requests, rate, used=used) == wait


def test_an_unknown_spent_budget_gives_a_worst_case() -> None:
    """Unknown: the wait assumes a free budget, the worst case a spent one."""
    unknown = Estimate(requests=20, rate=Rate(10, 60), concurrency=8, used=None)
    assert (unknown.wait, unknown.worst_wait, unknown.round_trips) == (60.0, 120.0, 3)
    fresh = Estimate(requests=20, rate=Rate(10, 60), concurrency=8, used=0)
    assert fresh.worst_wait == fresh.wait == 60.0


def test_a_bulk_estimate_goes_by_its_share() -> None:
    """A bulk job's requests are admitted within its share of the budget: 9 of 10 here."""
    bulk = Estimate(requests=20, rate=Rate(10, 60), concurrency=8, used=None, share=9)
    assert (bulk.wait, bulk.worst_wait) == (120.0, 180.0)
