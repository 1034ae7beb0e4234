"""The pytest plugin: ``braze_simulator`` per test, configured by ``braze_simulator_options``."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from braze_async.simulator import SimulatorOptions, ThreadedSimulator

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "braze_async.simulator.pytest_plugin"


def _entry_point_installed() -> bool:
    return any(entry.value == PLUGIN for entry in importlib.metadata.entry_points(group="pytest11"))


if not _entry_point_installed():  # a plain checkout: load the plugin by hand
    pytest_plugins = [PLUGIN]


def test_fixture_serves_a_fresh_simulator(braze_simulator: ThreadedSimulator) -> None:
    """The fixture is a running simulator with the default key and an empty record."""
    assert braze_simulator.stats.requests == 0
    response = httpx.post(
        f"{braze_simulator.base_url}/campaigns/trigger/send",
        json={"campaign_id": "c", "recipients": [{"external_user_id": "u"}]},
        headers={"Authorization": f"Bearer {braze_simulator.api_key}"},
    )
    assert response.status_code == 201
    assert braze_simulator.api_key == "sim-key"
    [delivery] = braze_simulator.delivered_to(external_user_id="u")
    assert delivery.campaign_id == "c"


class TestOptions:
    """Overriding ``braze_simulator_options`` configures the fixture."""

    @pytest.fixture
    def braze_simulator_options(self) -> SimulatorOptions:
        return {"api_key": "k2", "external_id_rate": "1/60"}

    def test_options_are_applied(self, braze_simulator: ThreadedSimulator) -> None:
        """The overridden key and rate are in force."""
        url = f"{braze_simulator.base_url}/campaigns/trigger/send"
        with httpx.Client(headers={"Authorization": "Bearer k2"}) as http:
            body = {"campaign_id": "c", "recipients": [{"external_user_id": "u"}]}
            assert http.post(url, json=body).status_code == 201
            assert http.post(url, json=body).status_code == 429


PLUGIN_USER = """
import httpx
import pytest


@pytest.fixture
def braze_simulator_options():
    return {"fault_5xx": 1.0, "seed": 3}

SEEN = []

@pytest.mark.parametrize("attempt", [1, 2])
def test_fresh_per_test(braze_simulator, attempt):
    SEEN.append(braze_simulator.base_url)
    assert braze_simulator.stats.requests == 0
    response = httpx.post(
        braze_simulator.base_url + "/campaigns/trigger/send",
        json={"campaign_id": "c", "broadcast": True},
        headers={"Authorization": "Bearer sim-key"},
    )
    assert response.status_code in (500, 503)
    assert braze_simulator.stats.faults_5xx == 1
"""


def run_pytest_in(project: Path, *path: Path) -> subprocess.CompletedProcess[str]:
    """pytest in another project (warnings are errors), the plugin loaded as users get it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *map(str, path)])}
    load = [] if _entry_point_installed() else ["-p", PLUGIN]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *load, "-W", "error",
         str(project)],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_plugin_works_in_another_project(tmp_path: Path) -> None:
    """In another project the fixture is fresh per test and takes the overridden options."""
    (tmp_path / "test_user.py").write_text(PLUGIN_USER)
    result = run_pytest_in(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.parametrize(
    ("page", "marker"), [("docs/testing.md", "tested"), ("README.md", "pytest")]
)
def test_the_web_app_test_of_the_docs_passes(tmp_path: Path, page: str, marker: str) -> None:
    """The Starlette example of docs/testing.md and of the README is a real test: it passes
    as written, against examples/webapp.py."""
    text = (REPO / page).read_text()
    (block,) = re.findall(rf"<!-- {marker}[^>]*-->\s*```python\n(.*?)```", text, flags=re.S)
    body = block.split("def test_", 1)[1]
    assert len(body.strip().splitlines()) <= 10, "ten lines, as the docs promise"
    (tmp_path / "test_welcome.py").write_text(block)
    docs = (REPO / "docs" / "testing.md").read_text()
    (conftest,) = re.findall(r"<!-- conftest[^>]*-->\s*```python\n(.*?)```", docs, flags=re.S)
    (tmp_path / "conftest.py").write_text(conftest)
    result = run_pytest_in(tmp_path, REPO / "examples")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
