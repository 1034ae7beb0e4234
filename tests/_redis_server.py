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

Tests of Redis trouble use :func:`redis_process` instead: it yields a :class:`RedisServer` that
can be stopped (SIGSTOP: a stalled server, connections open and silent), continued, killed
and restarted on the same port (an empty server: no persistence), optionally with a password.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["RedisServer", "redis_process", "redis_server", "require_redis_server"]


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


def _ping(port: int, password: str | None = None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if password:
                sock.sendall(f"AUTH {password}\r\n".encode())
                if not sock.recv(16).startswith(b"+OK"):
                    return False
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process on a fixed loopback port, which tests may torment.

    :param password: when given, the server requires it (``--requirepass``) and :attr:`url`
        carries it.
    """

    #: How long a (re)start may take before it counts as failed, in seconds.
    START_TIMEOUT = 10.0

    def __init__(self, directory: Path, port: int, password: str | None = None) -> None:
        self.directory = directory
        self.port = port
        self.password = password
        auth = f":{password}@" if password else ""
        #: The ``redis://`` URL of the server.
        self.url = f"redis://{auth}127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> bool:
        """Start the server; whether it answered PING within :attr:`START_TIMEOUT`."""
        binary = require_redis_server()
        args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ]
        if self.password:
            args += ["--requirepass", self.password]
        with (self.directory / f"redis-{self.port}.log").open("ab") as out:
            self.proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + self.START_TIMEOUT
        while self.proc.poll() is None and time.monotonic() < deadline:
            if _ping(self.port, self.password):
                return True
            time.sleep(0.02)
        self.kill()
        return False

    def pause(self) -> None:
        """SIGSTOP: the server stalls, its connections stay open and silent."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: the stalled server answers again."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: the server is gone, its data with it (connections refused)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a stopped process must see the kill
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        """Kill the server and start an empty one on the same port."""
        self.kill()
        if not self.start():
            raise RuntimeError(f"redis-server did not restart on port {self.port}")

    def stop(self) -> None:
        """Shut the server down (SIGTERM, then SIGKILL if it lingers)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def redis_process(
    directory: Path, *, password: str | None = None, attempts: int = 3
) -> Iterator[RedisServer]:
    """Run a :class:`RedisServer` in *directory* (no persistence); stop it on exit."""
    for _ in range(attempts):
        server = RedisServer(directory, _free_port(), password)  # the port may be taken
        try:
            if server.start():
                yield server
                return
        finally:
            server.stop()
    raise RuntimeError(f"redis-server did not start; see the logs in {directory}")


@contextlib.contextmanager
def redis_server(directory: Path, *, attempts: int = 3) -> Iterator[str]:
    """Run redis-server in *directory* (no persistence) and yield its ``redis://`` URL."""
    with redis_process(directory, attempts=attempts) as server:
        yield server.url
