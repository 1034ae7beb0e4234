"""Start and stop a throw-away ``redis-server`` on a free loopback port.

Test modules import this by its bare name (pytest puts ``tests/`` on ``sys.path``) and define
their own fixture around :func:`redis_server`::

    import _redis_server

    @pytest.fixture(scope="session")
    def redis_url(tmp_path_factory):
        with _redis_server.redis_server(tmp_path_factory.mktemp("redis")) as url:
            yield url

When ``redis-server`` is not installed the tests skip, except under CI (``CI`` set), where
they fail: ``.ci/ensure-redis`` installs it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["redis_server", "require_redis_server"]


def require_redis_server() -> str:
    """The path of redis-server; skip (or fail under CI) when there is none."""
    path = shutil.which("redis-server")
    if path is None:
        reason = "redis-server is not installed (run .ci/ensure-redis)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(directory: Path, *, attempts: int = 3) -> Iterator[str]:
    """Run redis-server in *directory* (no persistence) and yield its ``redis://`` URL."""
    binary = require_redis_server()
    for _ in range(attempts):
        port = _free_port()  # another process may grab it first: then try another port
        log = directory / f"redis-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(directory),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--protected-mode",
                    "yes",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + 10.0
            while proc.poll() is None and time.monotonic() < deadline:
                if _ping(port):
                    break
                time.sleep(0.02)
            else:
                continue  # exited (port taken?) or never answered: next attempt
            yield f"redis://127.0.0.1:{port}/0"
            return
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    raise RuntimeError(f"redis-server did not start; see the logs in {directory}")
