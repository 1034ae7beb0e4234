"""Developer tasks: ``nox -s tests lint typing`` is what CI runs (see .ci/run)."""

from __future__ import annotations

import os
import shutil
import subprocess

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typing"]

PYPROJECT = nox.project.load_toml("pyproject.toml")


def install(session: nox.Session, *groups: str) -> None:
    deps: list[str] = []
    for group in groups:
        deps += nox.project.dependency_groups(PYPROJECT, group)
    session.install("-e", ".", *deps)


def ensure_redis(session: nox.Session) -> None:
    """The Redis-backed limiter is tested against a real redis-server; install it if we can."""
    if shutil.which("redis-server") is None and os.path.exists(".ci/ensure-redis"):
        result = subprocess.run(["bash", ".ci/ensure-redis"], check=False)
        if result.returncode != 0 and os.environ.get("CI"):
            session.error("redis-server is required in CI and could not be installed")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (pass pytest arguments after --)."""
    install(session, "tests")
    ensure_redis(session)
    session.run("pytest", "-q", *session.posargs)


@nox.session
def redis_oldest(session: nox.Session) -> None:
    """The Redis tests again with the oldest redis-py the project allows (5.0: no default
    socket timeout, unlike 8.x), so that the limiter's bounds hold with every version."""
    install(session, "tests")
    session.install("redis==5.0.*")
    ensure_redis(session)
    session.run(
        "pytest",
        "-q",
        "tests/test_redis_limits.py",
        "tests/test_redis_trouble.py",
        "tests/test_fleet_e2e.py",
        "tests/test_secrets.py",
        *session.posargs,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict over the package, tests, benchmarks and examples."""
    install(session, "typing")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark; writes benchmarks/results.md. ``nox -s bench -- --quick`` is fast."""
    install(session, "bench")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """The reliability suite, long: 200,000-recipient fault soak, 20 kills, 2,000 fuzz examples.

    ``BRAZE_SOAK=1`` scales the tests up; ``BRAZE_SOAK_RECIPIENTS=N`` sets the soak's size.
    """
    install(session, "tests")
    session.run(
        "pytest",
        "-q",
        "-s",
        "-p",
        "no:cacheprovider",
        "tests/test_soak.py",
        "tests/test_crash_resume.py",
        "tests/test_hostile_input.py",
        "tests/test_hostile_server.py",
        "tests/test_secrets.py",
        "tests/test_cancellation.py",
        *session.posargs,
        env={"BRAZE_SOAK": "1"},
    )
