"""``braze-async simulate``: serves until SIGINT/SIGTERM, exits 0 with a summary; bad flags 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from braze_async.cli import main

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def simulate(*flags: str) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """Run ``python -m braze_async simulate`` on a free port; yield (process, url, key line)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "braze_async", "simulate", "--port", "0", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url_line = process.stdout.readline()
        key_line = process.stdout.readline()
        assert url_line.startswith("Braze simulator listening on http://127.0.0.1:"), url_line
        yield process, url_line.split()[-1], key_line.strip()
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serves_until_signalled(signum: signal.Signals) -> None:
    """It prints its URL and key, answers, and on SIGINT/SIGTERM exits 0 with one summary line."""
    with simulate("--api-key", "cli-key", "--external-id-rate", "7/60") as (process, url, key):
        assert key == "API key: cli-key"
        response = httpx.post(
            f"{url}/campaigns/trigger/send",
            json={"campaign_id": "c", "recipients": [{"external_user_id": "u"}]},
            headers={"Authorization": "Bearer cli-key"},
        )
        assert response.status_code == 201
        assert response.headers["X-RateLimit-Limit"] == "7"
        process.send_signal(signum)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert err == ""
    [summary] = out.strip().splitlines()
    assert summary.startswith("Braze simulator stopped: requests=1 accepted=1 ")


def test_fault_flags_reach_the_simulator() -> None:
    """--fault-5xx, --seed and the latency flags configure the simulator."""
    flags = ("--fault-5xx", "1", "--seed", "3", "--latency-ms", "100", "--latency-jitter-ms", "5")
    with simulate(*flags) as (process, url, _):
        started = time.perf_counter()
        response = httpx.post(
            f"{url}/campaigns/trigger/send",
            json={"campaign_id": "c", "broadcast": True},
            headers={"Authorization": "Bearer sim-key"},
        )
        elapsed = time.perf_counter() - started
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    assert response.status_code in (500, 503)
    assert elapsed >= 0.1
    assert "faults_5xx=1" in out


@pytest.mark.parametrize(
    ("flags", "complaint"),
    [
        pytest.param(["--port", "70000"], "--port", id="port-out-of-range"),
        pytest.param(["--port", "http"], "--port", id="port-not-number"),
        pytest.param(["--external-id-rate", "lots"], "--external-id-rate", id="rate-malformed"),
        pytest.param(["--audience-rate", "0/60"], "--audience-rate", id="rate-zero"),
        pytest.param(["--window", "tumbling"], "--window", id="window-unknown"),
        pytest.param(["--fault-5xx", "1.5"], "--fault-5xx", id="probability-above-1"),
        pytest.param(["--drop-after", "-0.1"], "--drop-after", id="probability-negative"),
        pytest.param(["--latency-ms", "nan"], "--latency-ms", id="latency-nan"),
        pytest.param(["--latency-jitter-ms", "-5"], "--latency-jitter-ms", id="jitter-negative"),
        pytest.param(["--seed", "x"], "--seed", id="seed-not-int"),
        pytest.param(["--api-key", "has space"], "api_key", id="key-with-space"),
        pytest.param(["--host", "192.0.2.1"], "--allow-remote", id="remote-host"),
        pytest.param(["--host", "0.0.0.0"], "--allow-remote", id="all-interfaces"),
        pytest.param(["--bogus"], "--bogus", id="unknown-flag"),
    ],
)
def test_bad_flags_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], flags: list[str], complaint: str
) -> None:
    """A bad flag is one line on stderr and exit status 2; nothing is served."""
    assert main(["simulate", *flags]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("braze-async")
    assert ": error: " in line
    assert complaint in line


def test_missing_subcommand_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a subcommand the tool says so in one line and exits 2."""
    assert main([]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_busy_port_exits_2_with_one_line() -> None:
    """A port already in use: one line on stderr naming it, exit status 2, no traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = subprocess.run(
            [sys.executable, "-m", "braze_async", "simulate", "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"braze-async simulate: error: cannot listen on 127.0.0.1:{port}")
    assert "in use" in line


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help documents the flags and exits 0."""
    assert main(["simulate", "--help"]) == 0
    assert "--drop-after" in capsys.readouterr().out
