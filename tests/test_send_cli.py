"""``braze-async send``: exit codes, failures file, simulator mode, and a real kill-and-resume."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _send import SEND_COMMAND, journal_state, lines_of, wait_for_begins, write_jsonl

from braze_async.cli import main
from braze_async.simulator import ThreadedSimulator

KEY = "sk-cli-SECRET-0123456789"
EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAZE_API_KEY", raising=False)
    monkeypatch.delenv("BRAZE_REST_URL", raising=False)


@pytest.fixture
def sim() -> Iterator[ThreadedSimulator]:
    with ThreadedSimulator(KEY) as s:
        yield s


def run(*args: str | Path) -> int:
    return main(["send", *(str(a) for a in args)])


# -- in process -------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)], ids=["send", "dry-run"])
def test_without_credentials_the_command_refuses_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dry_run: tuple[str, ...]
) -> None:
    """No key and no URL anywhere, no --simulate: exit 2, one line saying what to set; no
    simulator stands in (a cron job with an empty environment must not "succeed"), no file
    is written."""
    users = write_jsonl(tmp_path / "users.jsonl", 3)
    assert run("--campaign-id", "weekly", "--recipients", users, *dry_run) == 2
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line == (
        "braze-async send: error: no credentials: set BRAZE_API_KEY and BRAZE_REST_URL (or "
        "give --api-key and --base-url), or give --simulate to send to a local simulator"
    )
    assert captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.jsonl"]


def test_the_command_never_uses_the_simulator_unasked(tmp_path: Path) -> None:
    """The command itself, in a subprocess with an empty environment (a cron job's): exit 2,
    and nothing about a simulator."""
    users = write_jsonl(tmp_path / "users.jsonl", 3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAZE_")}
    done = subprocess.run(
        [*SEND_COMMAND, "--campaign-id", "weekly", "--recipients", str(users)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no credentials: set BRAZE_API_KEY and BRAZE_REST_URL" in done.stderr
    assert "SIMULATOR" not in done.stderr + done.stdout


@pytest.mark.usefixtures("no_credentials")
def test_simulate_stands_in_loudly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--simulate: the simulator is used and the output says so twice."""
    users = tmp_path / "users.csv"
    users.write_bytes((EXAMPLES / "users-with-errors.csv").read_bytes())
    assert run("--simulate", "--campaign-id", "weekly", "--recipients", users) == 1
    err = capsys.readouterr().err
    assert err.count("SIMULATOR: nothing was sent to Braze") == 2
    assert "995 sent, 5 rejected, 0 failed, 0 unknown in 20 requests" in err
    failures = lines_of(tmp_path / "users.csv.failures.jsonl")
    assert [f["_line"] for f in failures] == [101, 251, 401, 601, 801]
    assert {f["_outcome"] for f in failures} == {"rejected"}
    assert not (tmp_path / "users.csv.journal").exists()  # a simulated run journals nothing


def test_all_sent_exits_0_and_a_rerun_sends_nobody_twice(
    tmp_path: Path, sim: ThreadedSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everyone sent: exit 0, no failures file; the same command again skips them all."""
    users = write_jsonl(tmp_path / "users.jsonl", 120)
    args = ("--canvas-id", "onboarding", "--recipients", users)
    creds = ("--api-key", KEY, "--base-url", sim.base_url)
    assert run(*args, *creds) == 0
    assert not (tmp_path / "users.jsonl.failures.jsonl").exists()
    assert (tmp_path / "users.jsonl.journal").exists()
    assert run(*args, *creds) == 0
    assert "0 sent (+120 by an earlier run)" in capsys.readouterr().err
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(120)}
    assert {d.canvas_id for d in sim.delivered()} == {"onboarding"}


def test_failed_recipients_go_to_the_failures_file_and_are_resent_next_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Braze errors: exit 1, status and code in the failures file; the rerun sends them."""
    users = write_jsonl(tmp_path / "users.jsonl", 100)
    failures = tmp_path / "out.jsonl"
    with ThreadedSimulator(KEY, fault_5xx=1.0) as broken:
        # The journal names the endpoint, so both runs go to the same URL: keep the port.
        url = broken.base_url
        code = run(
            "--campaign-id", "weekly", "--recipients", users, "--failures", failures,
            "--api-key", KEY, "--base-url", url,
        )  # fmt: skip
    assert code == 1
    lines = sorted(lines_of(failures), key=lambda line: int(str(line["_line"])))
    assert len(lines) == 100 and {line["_outcome"] for line in lines} == {"failed"}
    assert lines[0]["_status"] in (500, 503)
    assert lines[0]["external_user_id"] == "u0" and lines[0]["_line"] == 1
    port = int(url.rsplit(":", 1)[1])
    with ThreadedSimulator(KEY, port=port) as healthy:
        code = run(
            "--campaign-id", "weekly", "--recipients", users, "--failures", failures,
            "--api-key", KEY, "--base-url", url,
        )  # fmt: skip
        assert code == 0
        assert len(healthy.delivered_counts()) == 100
    assert not failures.exists()


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--recipients", "{users}"], "one of the arguments", id="no-campaign"),
        pytest.param(
            ["--campaign-id", "c", "--canvas-id", "v", "--recipients", "{users}"],
            "not allowed with",
            id="both-ids",
        ),
        pytest.param(
            ["--simulate", "--campaign-id", "c", "--recipients", "{tmp}/missing.csv"],
            "cannot read",
            id="missing-file",
        ),
        pytest.param(
            ["--simulate", "--campaign-id", "c", "--recipients", "{tmp}"],
            "cannot read",
            id="a-directory",
        ),
        pytest.param(
            ["--campaign-id", "c", "--recipients", "{users}", "--api-key", "k"],
            "REST endpoint (--base-url or BRAZE_REST_URL) is missing",
            id="key-without-url",
        ),
        pytest.param(
            [
                "--simulate",
                "--campaign-id",
                "c",
                "--recipients",
                "{users}",
                "--failures",
                "{users}",
            ],
            "must be different files",
            id="failures-is-input",
        ),
        pytest.param(
            ["--simulate", "--campaign-id", "c", "--recipients", "{tmp}/bad.csv"],
            "unknown CSV column 'user_id'",
            id="bad-header",
        ),
        pytest.param(
            ["--campaign-id", " ", "--recipients", "{users}"], "must not be empty", id="blank-id"
        ),
        pytest.param(
            ["--campaign-id", "c", "--recipients", "{users}", "--concurrency", "0"],
            "expected an integer >= 1",
            id="concurrency-0",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Bad arguments or an unreadable input: one line on stderr, exit 2, no traceback."""
    users = write_jsonl(tmp_path / "users.jsonl", 3)
    (tmp_path / "bad.csv").write_text("user_id\nu1\n")
    argv = [a.format(users=users, tmp=tmp_path) for a in args]
    assert main(["send", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_a_journal_of_another_campaign_is_refused(
    tmp_path: Path, sim: ThreadedSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reusing a journal for another campaign: exit 2 and a clear message, nothing sent."""
    users = write_jsonl(tmp_path / "users.jsonl", 10)
    creds = ("--api-key", KEY, "--base-url", sim.base_url)
    assert run("--campaign-id", "weekly", "--recipients", users, *creds) == 0
    assert run("--campaign-id", "monthly", "--recipients", users, *creds) == 2
    assert "belongs to another job" in capsys.readouterr().err
    assert len(sim.delivered()) == 10


def test_progress_lines_are_plain_when_stderr_is_not_a_terminal(
    tmp_path: Path, sim: ThreadedSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a TTY: periodic plain lines with counts and ETA, no carriage returns."""
    users = write_jsonl(tmp_path / "users.jsonl", 2_000)
    code = run(
        "--campaign-id", "weekly", "--recipients", users, "--api-key", KEY,
        "--base-url", sim.base_url, "--progress-interval", "0.000001", "--concurrency", "1",
    )  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "/2,000 (" in err and "ETA" in err and "/s" in err


# -- subprocesses: kill -9 and Ctrl-C ---------------------------------------------------------


@pytest.mark.slow
def test_sigkill_mid_job_then_resume_sends_nobody_twice(tmp_path: Path) -> None:
    """kill -9 while requests are in flight; the rerun skips the confirmed, reports the rest."""
    n = 4_000
    users = write_jsonl(tmp_path / "users.jsonl", n, bad={17: '{"external_user_id": 17}'})
    env = {**os.environ, "BRAZE_API_KEY": KEY}
    with ThreadedSimulator(KEY, latency=0.05, latency_jitter=0.05, seed=3) as sim:
        env["BRAZE_REST_URL"] = sim.base_url
        command = [*SEND_COMMAND, "--campaign-id", "weekly", "--recipients", str(users)]
        journal = tmp_path / "users.jsonl.journal"
        proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
        try:
            wait_for_begins(journal, 20)
        finally:
            proc.kill()
            proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        _, open_batches = journal_state(journal)
        assert open_batches > 0  # killed with requests in flight
        before = sim.delivered_counts()
        assert 0 < len(before) < n

        resumed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        after = sim.delivered_counts()
    assert "Traceback" not in resumed.stderr
    # Nobody got a second message.
    assert max(after.values()) == 1
    failures = lines_of(tmp_path / "users.jsonl.failures.jsonl")
    unknown = {f["external_user_id"] for f in failures if f["_outcome"] == "unknown"}
    rejected = [f for f in failures if f["_outcome"] == "rejected"]
    assert [f["_line"] for f in rejected] == [18]
    assert len(unknown) == 50 * open_batches
    # Everyone else was messaged exactly once; the unknown ones at most once, never again.
    everyone = {f"external_user_id:u{i}" for i in range(n) if i != 17}
    unknown_keys = {f"external_user_id:{u}" for u in unknown}
    assert everyone - unknown_keys <= after.keys()
    assert after.keys() <= everyone
    assert {k for k in unknown_keys if k in after} <= before.keys()
    assert resumed.returncode == 1  # the rejected row alone means not all were sent
    assert f"+{len(before) - len(unknown_keys & before.keys())}" in resumed.stderr.replace(",", "")


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_exit_130_and_resumes(tmp_path: Path) -> None:
    """SIGINT: in-flight requests finish and are journaled, a summary, exit 130; then resume."""
    n = 4_000
    users = write_jsonl(tmp_path / "users.jsonl", n)
    env = {**os.environ, "BRAZE_API_KEY": KEY}
    with ThreadedSimulator(KEY, latency=0.05, seed=4) as sim:
        env["BRAZE_REST_URL"] = sim.base_url
        command = [*SEND_COMMAND, "--campaign-id", "weekly", "--recipients", str(users)]
        journal = tmp_path / "users.jsonl.journal"
        proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        wait_for_begins(journal, 10)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "SIGINT: stopping" in err and "run the same command again" in err
        begun, open_batches = journal_state(journal)
        assert open_batches == 0  # every batch sent was answered and journaled
        assert len(sim.delivered_counts()) == 50 * begun < n

        resumed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert resumed.returncode == 0, resumed.stderr
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(n)}


@pytest.mark.slow
def test_a_second_ctrl_c_abandons_the_requests_in_flight(tmp_path: Path) -> None:
    """Ctrl-C twice: exit 130 at once; the abandoned batches are unknown on resume."""
    n = 800
    users = write_jsonl(tmp_path / "users.jsonl", n)
    env = {**os.environ, "BRAZE_API_KEY": KEY}
    # Answers take 2 s: the first eight requests (one per slot) are still in flight when the
    # second Ctrl-C comes, sent as soon as the first one is acknowledged.
    with ThreadedSimulator(KEY, latency=2.0, seed=5) as sim:
        env["BRAZE_REST_URL"] = sim.base_url
        command = [*SEND_COMMAND, "--campaign-id", "weekly", "--recipients", str(users)]
        journal = tmp_path / "users.jsonl.journal"
        proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        wait_for_begins(journal, 8)
        proc.send_signal(signal.SIGINT)
        assert proc.stderr is not None
        for line in proc.stderr:  # two signals before the first is handled would be one
            if "SIGINT: stopping" in line:
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "abandoned the requests in flight" in err
        _, open_batches = journal_state(journal)
        assert open_batches > 0
        resumed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert resumed.returncode == 1
    assert f"{50 * open_batches} unknown" in resumed.stderr.replace(",", "")
    assert max(sim.delivered_counts().values()) == 1


# -- flags and suspicious input ---------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """braze-async --version prints the one version and exits 0."""
    from braze_async import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"braze-async {__version__}\n"


def test_simulate_asks_for_the_simulator_whatever_the_environment(
    tmp_path: Path,
    sim: ThreadedSimulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--simulate: the local simulator, even with credentials in the environment."""
    monkeypatch.setenv("BRAZE_API_KEY", KEY)
    monkeypatch.setenv("BRAZE_REST_URL", sim.base_url)
    users = write_jsonl(tmp_path / "users.jsonl", 60)
    assert run("--simulate", "--campaign-id", "weekly", "--recipients", users) == 0
    err = capsys.readouterr().err
    assert err.count("SIMULATOR: nothing was sent to Braze") == 2
    assert "--simulate given: a local Braze simulator" in err
    assert "60 sent, 0 rejected" in err
    assert sim.stats.requests == 0  # the environment's endpoint heard nothing
    assert not (tmp_path / "users.jsonl.journal").exists()


@pytest.mark.usefixtures("no_credentials")
def test_simulate_and_credentials_do_not_mix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--simulate with --api-key is a contradiction: exit 2, one line."""
    users = write_jsonl(tmp_path / "users.jsonl", 3)
    argv = ("--simulate", "--campaign-id", "c", "--recipients", users, "--api-key", KEY)
    assert run(*argv) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "--simulate sends to a local simulator" in line


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        pytest.param("users.csv", b"", "it is empty", id="empty-csv"),
        pytest.param("users.jsonl", b"", "it is empty", id="empty-jsonl"),
        pytest.param("users.csv", b"external_user_id\r\n", "only a CSV header", id="header-only"),
        pytest.param("users.jsonl", b"\n  \n\n", "only blank lines", id="blank-lines"),
    ],
)
def test_a_file_without_recipients_warns_and_exits_1(
    tmp_path: Path,
    sim: ThreadedSimulator,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes,
    why: str,
) -> None:
    """Nothing to send is not a success: one warning, exit 1, no request, no file written."""
    users = tmp_path / name
    users.write_bytes(content)
    creds = ("--api-key", KEY, "--base-url", sim.base_url)
    for extra in ((), ("--dry-run",)):
        assert run("--campaign-id", "weekly", "--recipients", users, *creds, *extra) == 1
        [line] = capsys.readouterr().err.splitlines()
        assert (
            line
            == f"braze-async send: warning: {users} holds no recipient ({why}): nothing to send"
        )
    assert sim.stats.requests == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no journal, no failures


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'[{"external_user_id": "u1"}, {"external_user_id": "u2"}]\n', id="one-line"),
        pytest.param(
            b'\xef\xbb\xbf\n  [\n  {"external_user_id": "u1"},\n  {"external_user_id": "u2"}\n]\n',
            id="pretty",
        ),
    ],
)
def test_a_json_array_gets_a_hint_to_use_jsonl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    """A .json file holding one array is not JSON lines: refused before anything, with a hint."""
    users = tmp_path / "users.json"
    users.write_bytes(content)
    assert run("--simulate", "--campaign-id", "weekly", "--recipients", users) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert f"{users} holds a JSON array; braze-async send reads JSON lines (JSONL)" in line
    assert f"jq -c '.[]' {users} > {tmp_path / 'users'}.jsonl" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.json"]


@pytest.mark.usefixtures("no_credentials")
def test_a_deeply_nested_line_is_a_rejected_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nesting deeper than any orjson version reads or writes: one rejected row, no traceback."""
    deep = '{"external_user_id": "u3", "attributes": ' + '{"a":' * 3000 + "1" + "}" * 3001
    users = write_jsonl(tmp_path / "users.jsonl", 10, bad={3: deep})
    assert run("--simulate", "--campaign-id", "weekly", "--recipients", users) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "9 sent, 1 rejected" in err
    [failure] = lines_of(tmp_path / "users.jsonl.failures.jsonl")
    assert failure["_line"] == 4 and failure["_reason"] == "nests deeper than 64 levels"


def test_a_broken_csv_quote_costs_its_line_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stray opening quote on line 3 of 1,000 rows: 999 sent, that line rejected with its
    text in the failures file (not "1 sent, 1 rejected" and 998 rows forgotten)."""
    lines = ["external_user_id,send_to_existing_only"]
    lines += [f'u{i},"true' if i == 1 else f"u{i},true" for i in range(1_000)]
    users = tmp_path / "users.csv"
    users.write_text("\n".join(lines) + "\n")
    assert run("--simulate", "--campaign-id", "weekly", "--recipients", users) == 1
    err = capsys.readouterr().err
    assert "999 sent, 1 rejected, 0 failed, 0 unknown" in err
    [failure] = lines_of(tmp_path / "users.csv.failures.jsonl")
    assert failure["_line"] == 3 and failure["_raw"] == 'u1,"true'
    assert "malformed CSV" in str(failure["_reason"])


def test_external_id_rate_is_the_budget_the_send_keeps(
    tmp_path: Path, sim: ThreadedSimulator
) -> None:
    """--external-id-rate 2/1: the third request waits for the first one's window to pass."""
    users = write_jsonl(tmp_path / "users.jsonl", 150)  # three requests
    creds = ("--api-key", KEY, "--base-url", sim.base_url, "--no-journal")
    started = time.monotonic()
    assert (
        run("--campaign-id", "weekly", "--recipients", users, *creds, "--external-id-rate", "2/1")
        == 0
    )
    assert time.monotonic() - started >= 1.0  # a lower bound: never flaky
    assert sim.stats.accepted == 3


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize("rate", ["250000", "0/60", "10/0", "ten/60", "10/-1"])
def test_a_bad_external_id_rate_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: str
) -> None:
    """N/SECONDS with N >= 1 and SECONDS > 0, else exit 2 in one line."""
    users = write_jsonl(tmp_path / "users.jsonl", 3)
    assert run("--campaign-id", "c", "--recipients", users, "--external-id-rate", rate) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "expected N/SECONDS" in line


# -- Canvas context, notices, non-fatal errors --------------------------------------------------


class _FakeBraze(http.server.BaseHTTPRequestHandler):
    """Records each request's body and answers it with the server's ``answer``; a request
    naming one of the server's ``refuse`` ids is refused whole (400 ``invalid_recipients``,
    not recorded), as Braze refuses a request for one bad recipient."""

    server: _FakeBrazeServer

    def do_POST(self) -> None:
        request = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        named = {r.get("external_user_id") for r in request.get("recipients", ())}
        if named & self.server.refuse:
            status, answer = (
                400,
                {
                    "message": "Invalid recipients",
                    "errors": [{"code": "invalid_recipients", "message": "a recipient is invalid"}],
                },
            )
        else:
            self.server.bodies.append(request)
            status, answer = 201, self.server.answer
        body = orjson.dumps(answer)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _FakeBrazeServer(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FakeBraze)
        self.bodies: list[dict[str, Any]] = []
        self.answer: dict[str, Any] = {"message": "success", "dispatch_id": "d"}
        self.refuse: set[str] = set()

    def messaged(self) -> Counter[str]:
        """How many accepted requests named each recipient."""
        return Counter(
            str(r["external_user_id"]) for body in self.bodies for r in body["recipients"]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def fake_braze() -> Iterator[_FakeBrazeServer]:
    """A loopback server answering every send with a 201 of its ``answer``, recording the
    bodies: what went on the wire, and answers the simulator does not give."""
    server = _FakeBrazeServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("flag", ["--context", "--canvas-entry-properties"])
def test_context_goes_out_as_context_at_request_and_recipient_level(
    tmp_path: Path, fake_braze: _FakeBrazeServer, sim: ThreadedSimulator, flag: str
) -> None:
    """--context (or its older name) is the request's context, and each row's context (or
    canvas_entry_properties) the recipient's: both go on the wire as ``context``, and the
    simulator takes them."""
    users = tmp_path / "users.jsonl"
    users.write_text(
        '{"external_user_id": "u1", "context": {"plan": "pro"}}\n'
        '{"external_user_id": "u2", "canvas_entry_properties": {"plan": "free"}}\n'
        '{"braze_id": "b3"}\n'
    )
    for url in (fake_braze.url, sim.base_url):
        assert run("--canvas-id", "onboarding", "--recipients", users, flag, '{"brand": "x"}',
                   "--no-journal", "--api-key", KEY, "--base-url", url) == 0  # fmt: skip
    [body] = fake_braze.bodies
    assert body["context"] == {"brand": "x"} and "canvas_entry_properties" not in body
    assert body["recipients"] == [
        {"external_user_id": "u1", "context": {"plan": "pro"}},
        {"external_user_id": "u2", "context": {"plan": "free"}},
        {"braze_id": "b3"},
    ]
    assert [(d.recipient, d.data.get("context")) for d in sim.delivered()] == [
        ("external_user_id:u1", {"plan": "pro"}),
        ("external_user_id:u2", {"plan": "free"}),
        ("braze_id:b3", None),
    ]


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            ["--campaign-id", "c", "--context", "{}"],
            "--context is for Canvas sends",
            id="context-on-a-campaign",
        ),
        pytest.param(
            ["--campaign-id", "c", "--canvas-entry-properties", "{}"],
            "--canvas-entry-properties is for Canvas sends",
            id="older-name-on-a-campaign",
        ),
        pytest.param(
            ["--canvas-id", "v", "--context", "{}", "--canvas-entry-properties", "{}"],
            "not allowed with argument",
            id="both-names",
        ),
    ],
)
def test_context_flags_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    """--context is a Canvas's, and one of its two names at most: exit 2, one line."""
    users = write_jsonl(tmp_path / "users.jsonl", 3)
    assert run("--simulate", "--recipients", users, *extra) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert message in line


def test_a_paused_canvas_stops_the_job_and_says_to_resume_it(
    tmp_path: Path, sim: ThreadedSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A notice (the Canvas is paused): nothing sent, exit 1, the summary says what to do;
    once the Canvas runs again, the same command sends everyone exactly once."""
    users = write_jsonl(tmp_path / "users.jsonl", 500)
    argv = ("--canvas-id", "onboarding", "--recipients", users, "--concurrency", "1")
    creds = ("--api-key", KEY, "--base-url", sim.base_url)
    sim.simulator.set_canvas_status("onboarding", "paused")
    assert run(*argv, *creds) == 1
    err = capsys.readouterr().err
    assert "0 sent, 0 rejected, 50 failed, 0 unknown" in err
    assert "stopped before the end (Braze will not send: The Canvas is paused." in err
    assert (
        "the Canvas is paused or archived: resume it in Braze, then run the same command again"
        in err
    )
    assert sim.delivered() == []
    sim.simulator.set_canvas_status("onboarding", "active")
    assert run(*argv, *creds) == 0
    assert sim.delivered_counts() == {f"external_user_id:u{i}": 1 for i in range(500)}


def test_non_fatal_errors_are_counted_with_samples(
    tmp_path: Path, fake_braze: _FakeBrazeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """errors.md: a success listing non-fatal errors: its recipients are sent (exit 0), and
    the summary counts the errors, with a few samples."""
    fake_braze.answer = {
        "message": "success",
        "dispatch_id": "d",
        "errors": [{"code": "minor", "message": "<minor error message>"}],
    }
    users = write_jsonl(tmp_path / "users.jsonl", 400)  # eight requests, one error each
    assert run("--campaign-id", "weekly", "--recipients", users, "--no-journal",
               "--api-key", KEY, "--base-url", fake_braze.url) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "400 sent, 0 rejected, 0 failed, 0 unknown in 8 requests" in err
    lines = err.splitlines()
    at = lines.index(
        "Braze reported 8 non-fatal errors on accepted requests (their recipients count as "
        "sent), e.g.:"
    )
    assert lines[at + 1 : at + 6] == ["  minor: <minor error message>"] * 5
    assert not lines[at + 6 :] or not lines[at + 6].startswith("  minor")


def test_deleting_a_refused_row_then_resuming_is_refused_before_anything_is_sent(
    tmp_path: Path, fake_braze: _FakeBrazeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Braze refuses the request of one bad row; the user deletes the row and runs the same
    command (same journal). The rows after it moved up one place, the first of the next,
    sent, request into the refused one's last place: the resume is refused before any
    request, with advice that messages nobody twice, and the failures file of the first run
    (the refused rows, what the advice names) stays. Nobody is messaged twice.

    The rows are long, so that the deletion is past the 64 KiB the input fingerprint reads:
    the journal's per-row keys are what must notice it."""
    users = tmp_path / "users.csv"
    pad = "x" * 400
    rows = [f'u{i},"{{""pad"": ""{pad}""}}"' for i in range(250)]
    users.write_text("external_user_id,trigger_properties\n" + "\n".join(rows) + "\n")
    assert len(users.read_bytes().split(b"u170,")[0]) > 1 << 16
    fake_braze.refuse = {"u170"}
    argv = (
        "--campaign-id", "weekly", "--recipients", users, "--concurrency", "1",
        "--api-key", KEY, "--base-url", fake_braze.url,
    )  # fmt: skip
    assert run(*argv) == 1
    capsys.readouterr()
    failures = tmp_path / "users.csv.failures.jsonl"
    refused = failures.read_bytes()
    assert [line["external_user_id"] for line in lines_of(failures)] == [
        f"u{i}" for i in range(150, 200)
    ]
    del rows[170]  # "delete the bad row and resume"
    users.write_text("external_user_id,trigger_properties\n" + "\n".join(rows) + "\n")
    requests = len(fake_braze.bodies)
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert len(fake_braze.bodies) == requests  # the resume sent nothing
    assert max(fake_braze.messaged().values()) == 1
    assert "line 172 is not the recipient that was sent from there" in err
    assert "fix a refused row in place" in err and "with a new journal" in err
    assert failures.read_bytes() == refused  # what the advice points at is still there


def test_a_complete_journal_says_so_and_that_a_new_run_needs_a_new_journal(
    tmp_path: Path, sim: ThreadedSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """A weekly cron on the same journal sends nobody after the first week: the run says
    that the journal's job is complete and that a new run takes a new journal."""
    users = write_jsonl(tmp_path / "users.jsonl", 60)
    argv = ("--campaign-id", "weekly", "--recipients", users)
    creds = ("--api-key", KEY, "--base-url", sim.base_url)
    assert run(*argv, *creds) == 0
    assert "journal's job is complete" not in capsys.readouterr().err
    assert run(*argv, *creds) == 0
    err = capsys.readouterr().err
    assert "0 sent (+60 by an earlier run)" in err
    assert (
        "this journal's job is complete: nothing to send; use a new journal for a new run "
        "(e.g. --journal weekly-$(date +%F).journal)"
    ) in err


@pytest.mark.usefixtures("no_credentials")
def test_new_send_id_creates_one_prints_it_and_sends_with_it(
    tmp_path: Path, sim: ThreadedSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """--new-send-id: a send ID is created first (/sends/id/create), printed with how to
    resume, and the job carries it."""
    users = write_jsonl(tmp_path / "users.jsonl", 60)
    creds = ("--api-key", KEY, "--base-url", sim.base_url)
    assert run("--campaign-id", "weekly", "--new-send-id", "--recipients", users, *creds) == 0
    [(campaign_id, send_id)] = sim.send_ids()
    assert campaign_id == "weekly"
    assert f"send ID {send_id} created" in capsys.readouterr().err
    assert len(sim.delivered()) == 60
    # The journal holds the job's send_id: the same job resumes with it, and only with it.
    assert run("--campaign-id", "weekly", "--send-id", send_id, "--recipients", users, *creds) == 0
    assert "0 sent (+60 by an earlier run)" in capsys.readouterr().err
    assert run("--campaign-id", "weekly", "--send-id", "other", "--recipients", users, *creds) == 2
    assert len(sim.delivered()) == 60


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--campaign-id", "c", "--send-id", "s", "--new-send-id"],
            "give one of --send-id, --new-send-id",
            id="both",
        ),
        pytest.param(["--canvas-id", "c", "--new-send-id"], "are for campaign sends", id="canvas"),
    ],
)
def test_new_send_id_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """--new-send-id with --send-id, or for a Canvas: exit 2, one line."""
    users = write_jsonl(tmp_path / "users.jsonl", 3)
    assert main(["send", *args, "--recipients", str(users), "--simulate"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.usefixtures("no_credentials")
def test_a_dry_run_with_new_send_id_creates_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run --new-send-id says a send would create one, and creates none."""
    users = write_jsonl(tmp_path / "users.jsonl", 3)
    args = ("--campaign-id", "c", "--new-send-id", "--dry-run", "--simulate")
    assert run(*args, "--recipients", users) == 0
    assert "a send would create one first" in capsys.readouterr().out
