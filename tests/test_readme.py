"""The README's promises: its quickstart runs as written, its top commands are the real ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def readme_code_blocks() -> list[str]:
    return re.findall(r"<!-- tested[^>]*-->\s*```python\n(.*?)```", README, flags=re.S)


def test_quickstart_runs_against_the_simulator() -> None:
    """The quickstart block runs unchanged and sends five messages to the simulator."""
    (code,) = readme_code_blocks()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    dispatch_id, transactional = result.stdout.strip().splitlines()
    assert re.fullmatch(r"[0-9a-f]{32}", dispatch_id)
    assert transactional.split()[1] == "queued"


def test_first_lines_are_the_two_commands() -> None:
    """The first code block holds exactly two commands: the bulk send and the test suite,
    and .ci/run runs that same test command."""
    block = re.search(r"```bash\n(.*?)```", README, flags=re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).strip().splitlines()]
    assert len(commands) == 2
    assert "braze-async send" in commands[0]
    assert commands[1] == "pip install nox && nox -s tests lint typing"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m pip install -q nox && python3 -m nox -s tests lint typing" in ci
