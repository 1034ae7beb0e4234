"""The benchmarks stay runnable: every module the runner lists imports and has its parts.

Nothing here runs a benchmark (``python -m benchmarks --quick`` does, in under two minutes).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from benchmarks.__main__ import BENCHES
from benchmarks._common import Row, Section, write_report


@pytest.mark.parametrize("name", BENCHES)
def test_bench_module_follows_the_harness(name: str) -> None:
    """Each bench module exposes run(quick) and what the report needs to present it."""
    module = importlib.import_module(f"benchmarks.bench_{name}")
    assert callable(module.run)
    assert isinstance(module.SECTION, str) and module.SECTION
    assert isinstance(module.HOW_TO_READ, str) and module.HOW_TO_READ
    assert all(plot.endswith(".png") for plot in module.PLOTS)


def test_report_shows_missed_targets_and_links_plots(tmp_path: Path) -> None:
    """A missed target reads **no** and is counted; an existing plot is linked, relative."""
    plots = tmp_path / "results"
    plots.mkdir()
    (plots / "a.png").write_bytes(b"")
    rows = [
        Row("A", "fast", 1.0, "ms", "slow", 0.5, "<= 1.0x", True),
        Row("A", "slow", 3.0, "ms", "fast", 3.0, "<= 1.0x", False),
    ]
    sections = [
        Section("A", rows, how_to_read="lower is better", plots=["a.png", "missing.png"]),
        Section("B", [], error="RuntimeError: boom"),
    ]
    report = tmp_path / "results.md"
    write_report(sections, report, header="# results", plots=plots)
    text = report.read_text()
    assert "targets: 1 met, 1 missed" in text
    assert "| slow | 3 ms | fast | 3.00 | <= 1.0x | **no** |" in text
    assert "![A: a.png](results/a.png)" in text
    assert "missing.png" not in text
    assert "*How to read this:* lower is better" in text
    assert "**This benchmark failed:** `RuntimeError: boom`" in text
