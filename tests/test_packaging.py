"""The package as the index would get it: a wheel and an sdist built from this checkout.

They are built with the project's own build backend (hatchling, and the plugin that writes the
long description), exactly as ``pip install .`` or a release would.
"""

from __future__ import annotations

import email.parser
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from braze_async import __version__

ROOT = Path(__file__).resolve().parent.parent


def build(kind: str, out: Path) -> Path:
    """Build a ``wheel`` or an ``sdist`` of the checkout into ``out``; return its path."""
    result = subprocess.run(
        [sys.executable, "-c", f"import hatchling.build as b; print(b.build_{kind}({str(out)!r}))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out / result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    with zipfile.ZipFile(build("wheel", tmp_path_factory.mktemp("wheel"))) as archive:
        yield archive


def metadata(wheel: zipfile.ZipFile) -> Message:
    return email.parser.Parser().parsestr(
        wheel.read(f"braze_async-{__version__}.dist-info/METADATA").decode()
    )


def test_the_wheel_carries_the_license_and_the_typing_marker(wheel: zipfile.ZipFile) -> None:
    """LICENSE is in the wheel, and so is py.typed; tests and docs are not."""
    names = wheel.namelist()
    assert f"braze_async-{__version__}.dist-info/licenses/LICENSE" in names
    assert "braze_async/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "docs/", "benchmarks/"))]


def test_the_metadata_is_release_ready(wheel: zipfile.ZipFile) -> None:
    """One version, the license, classifiers matching requires-python, authors and URLs."""
    meta = metadata(wheel)
    assert meta["Version"] == __version__
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["Author"]
    classifiers = meta.get_all("Classifier") or []
    for classifier in ("Framework :: AsyncIO", "Typing :: Typed", "Framework :: Pytest"):
        assert classifier in classifiers
    versions = [c.rsplit(" ", 1)[-1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)]
    assert versions == ["3.10", "3.11", "3.12", "3.13"]
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL") or [])
    assert set(urls) == {"Documentation", "Changelog", "Source", "Issues"}
    assert all(url.startswith("https://") for url in urls.values())
    requires = meta.get_all("Requires-Dist") or []
    # rich is the command line's alone: `pip install braze-async` does not bring it.
    rich = [r for r in requires if r.startswith("rich")]
    assert rich == ["rich>=13.0; extra == 'cli'"], rich
    assert "cli" in (meta.get_all("Provides-Extra") or [])


def test_the_long_description_reads_well_on_the_index(wheel: zipfile.ZipFile) -> None:
    """No checkout-only command, every link absolute, the release notes of this version."""
    meta = metadata(wheel)
    assert meta["Description-Content-Type"] == "text/markdown"
    text = meta.get_payload()
    assert isinstance(text, str)
    assert text.startswith("# braze-async\n")
    assert "pip install -e" not in text
    assert "pip install braze-async" in text
    relative = re.findall(r"\]\((?!https?://)([^)]*)\)", text)
    assert relative == []
    assert "https://github.com/braze-async/braze-async/blob/main/docs/bulk.md" in text
    assert f"## [{__version__}]" in text
    assert "<!--" not in text.split("## Release notes")[1]


def test_the_sdist_carries_the_license(tmp_path: Path) -> None:
    """LICENSE, the changelog and the tests are in the sdist."""
    with tarfile.open(build("sdist", tmp_path)) as archive:
        names = archive.getnames()
    top = f"braze_async-{__version__}"
    for name in ("LICENSE", "CHANGELOG.md", "PKG-INFO", "tests/test_packaging.py", "mkdocs.yml"):
        assert f"{top}/{name}" in names
    assert not [n for n in names if n.startswith((f"{top}/site/", f"{top}/.nox/"))]


def test_the_changelog_has_an_entry_for_this_version() -> None:
    """The version released is the one the changelog describes."""
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d\d-\d\d$", changelog, re.M)


def test_the_command_line_without_its_extra_says_what_to_install() -> None:
    """Without rich (the library installed alone), ``braze-async`` prints one line naming
    the extra to install and exits with status 2, whatever the subcommand."""
    code = (
        "import sys; sys.modules['rich'] = None\n"
        "from braze_async.cli import main\n"
        "raise SystemExit(main(['send', '--campaign-id', 'c', '--recipients', 'x.csv']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "braze-async: the command line needs its extra: pip install 'braze-async[cli]'"
    ]
