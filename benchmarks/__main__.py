"""Run the benchmarks and write benchmarks/results.md (and PNG plots in benchmarks/results/).

python -m benchmarks            # the full run
python -m benchmarks --quick    # under two minutes
python -m benchmarks --only overhead,serialization
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback

from ._common import HERE, RESULTS, Row, write_report

BENCHES = ["serialization", "overhead", "ratelimit", "limiter", "batching", "memory", "simulator"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small runs, under two minutes")
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(BENCHES))
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else BENCHES
    RESULTS.mkdir(exist_ok=True)
    rows: list[Row] = []
    failed: list[str] = []
    started = time.perf_counter()
    for name in chosen:
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            new = module.run(args.quick)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        for row in new:
            ratio = "" if row.ratio is None else f"  ratio {row.ratio:.2f}"
            met = "" if row.met is None else ("  ok" if row.met else "  MISSED")
            print(f"   {row.name}: {row.value:.4g} {row.unit}{ratio} {row.target}{met}")
        rows += new
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    header = (
        "# braze_async benchmark results\n\n"
        f"`python -m benchmarks{' --quick' if args.quick else ''}` on "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{time.perf_counter() - started:.0f} s. Ratios are against baselines measured in the "
        "same run; plots are in `benchmarks/results/`."
    )
    name = "results-quick.md" if args.quick else "results.md"
    write_report(rows, HERE / name, header=header)
    print(f"wrote {HERE / name}")
    if failed:
        print("FAILED:", ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
