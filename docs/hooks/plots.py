"""MkDocs hook: the benchmark plots (``benchmarks/results/*.png``) served as ``plots/*.png``.

The benchmarks write their plots there; the docs show them from there, so there is no copy to
fall out of date.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add every plot of the latest benchmark run to the site."""
    for plot in sorted(RESULTS.glob("*.png")):
        files.append(File.generated(config, f"plots/{plot.name}", abs_src_path=str(plot)))
    return files
