"""Run the benchmarks and write benchmarks/results.md (and PNG plots in benchmarks/results/).

python -m benchmarks            # the full run, about ten minutes
python -m benchmarks --quick    # under two minutes: results-quick.md, plots in benchmarks/.out/
python -m benchmarks --only overhead,serialization   # results-partial.md
python -m benchmarks.bench_simulator [--quick]   # one benchmark alone, rows printed
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback

from ._common import HERE, Row, Section, plot_dir, print_rows, scorecard, write_report

#: In report order; each name is a module ``benchmarks.bench_<name>``.
BENCHES = [
    "serialization",
    "overhead",
    "telemetry",
    "limiter",
    "ratelimit",
    "lanes",
    "batching",
    "bulk_memory",
    "journal",
    "simulator",
]


def run_one(name: str, quick: bool) -> Section:
    """Import and run ``bench_<name>``; a failure becomes a section that says so."""
    module = importlib.import_module(f"benchmarks.bench_{name}")
    section = Section(
        title=module.SECTION, rows=[], how_to_read=module.HOW_TO_READ, plots=module.PLOTS
    )
    try:
        rows: list[Row] = module.run(quick)
    except Exception as error:
        traceback.print_exc()
        section.error = f"{type(error).__name__}: {error}".splitlines()[0]
        return section
    print_rows(rows)
    section.rows = rows
    return section


def header(quick: bool, seconds: float) -> str:
    """The report's opening: how to reproduce it, on what, and how to read the ratios."""
    command = f"python -m benchmarks{' --quick' if quick else ''}"
    return (
        "# braze_async benchmark results\n\n"
        f"Reproduce with `{command}` from the repository root (or `nox -s bench"
        f"{' -- --quick' if quick else ''}`); `--only batching,simulator` runs a subset. "
        f"This run: {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores (shared with other work, so absolute times are noisy), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {seconds:.0f} s.\n\n"
        "Every ratio compares with a baseline measured in the same run, on the same machine, "
        "a moment apart: trust the ratios over the absolute figures. A target the run missed "
        "reads **no**."
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, write the report, print which targets were missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small runs, under two minutes")
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(BENCHES))
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else BENCHES
    unknown = set(chosen) - set(BENCHES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    plot_dir(args.quick).mkdir(parents=True, exist_ok=True)
    sections: list[Section] = []
    started = time.perf_counter()
    for name in chosen:
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        sections.append(run_one(name, args.quick))
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    # Only a full run replaces results.md; a quick or partial run writes beside it.
    name = "results-quick.md" if args.quick else "results-partial.md" if args.only else "results.md"
    path = HERE / name
    elapsed = time.perf_counter() - started
    write_report(sections, path, header=header(args.quick, elapsed), plots=plot_dir(args.quick))
    print(f"wrote {path} in {elapsed:.0f} s")
    print("\n".join(scorecard([row for section in sections for row in section.rows])))
    failed = [name for name, section in zip(chosen, sections, strict=True) if section.error]
    if failed:
        print("FAILED:", ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
