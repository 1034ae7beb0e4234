"""Developer tasks: ``nox -s tests lint typing`` first, then the floors, Python 3.10 and the
newest Python, the coverage report and the docs: what CI runs (see .ci/run)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typing"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
#: The oldest Python supported, and the newest the suite runs on.
OLDEST, NEWEST = "3.10", "3.13"


def install(session: nox.Session, *groups: str) -> None:
    deps: list[str] = []
    for group in groups:
        deps += nox.project.dependency_groups(PYPROJECT, group)
    session.install("-e", ".", *deps)


def python_for(version: str) -> str:
    """An interpreter of ``version``: ``pythonX.Y`` on the PATH if it runs, else pyenv's (its
    shims answer only for the versions selected), else the bare version (nox then says it is
    missing)."""
    name = f"python{version}"
    found = shutil.which(name)
    if (
        found
        and subprocess.run([found, "-c", ""], capture_output=True, check=False).returncode == 0
    ):
        return found
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    builds = glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", name))
    builds.sort(key=lambda path: [int(part) for part in path.split(os.sep)[-3].split(".")])
    return builds[-1] if builds else version


def ensure_redis(session: nox.Session) -> None:
    """The Redis-backed limiter is tested against a real redis-server; install it if we can."""
    if shutil.which("redis-server") is None and os.path.exists(".ci/ensure-redis"):
        result = subprocess.run(["bash", ".ci/ensure-redis"], check=False)
        if result.returncode != 0 and os.environ.get("CI"):
            session.error("redis-server is required in CI and could not be installed")


def measured_tests(session: nox.Session) -> None:
    """The suite under branch coverage (``[tool.coverage]``); ``nox -s coverage`` reports."""
    install(session, "tests")
    ensure_redis(session)
    session.run("coverage", "run", "-m", "pytest", "-q", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, measured (pass pytest arguments after --)."""
    measured_tests(session)


@nox.session(python=python_for(OLDEST))
def tests_py310(session: nox.Session) -> None:
    """The test suite on Python 3.10, the oldest supported, measured: its own code paths
    (``_http``'s deadline before ``asyncio.timeout``) count in the report."""
    measured_tests(session)


@nox.session(python=python_for(NEWEST))
def tests_py313(session: nox.Session) -> None:
    """The test suite on the newest Python, measured (pass pytest arguments after --)."""
    measured_tests(session)


@nox.session
def coverage(session: nox.Session) -> None:
    """Combine what the test sessions measured (every Python run since the last report)
    and report the lines and branches no test reached."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "coverage"))
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")


@nox.session(python=python_for(OLDEST))
def tests_floors(session: nox.Session) -> None:
    """The test suite on the lowest version of every declared dependency and test dependency,
    on the oldest Python supported (so one run checks both), measured.

    uv resolves the declared requirements to their minimums (``--resolution lowest-direct``)
    and the environment is synced to exactly that set, whatever it held before.
    """
    session.install("uv")
    requirements = [
        *PYPROJECT["project"]["dependencies"],
        *nox.project.dependency_groups(PYPROJECT, "tests"),
    ]
    tmp = session.create_tmp()
    wanted, pinned = os.path.join(tmp, "floors.in"), os.path.join(tmp, "floors.txt")
    with open(wanted, "w") as fh:
        fh.write("\n".join(requirements) + "\n")
    python = ["--python", os.path.join(session.bin, "python")]
    uv = ["uv", "pip"]
    session.run(
        *uv, "compile", "-q", *python, "--resolution", "lowest-direct", wanted, "-o", pinned
    )
    session.run(*uv, "sync", *python, pinned)
    session.run(*uv, "install", *python, "--no-deps", "-e", ".")
    session.run(*uv, "freeze", *python)  # the versions tested, in the log
    ensure_redis(session)
    session.run("coverage", "run", "-m", "pytest", "-q", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation, built into site/ with --strict (every link and reference resolves)."""
    install(session, "docs")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


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
