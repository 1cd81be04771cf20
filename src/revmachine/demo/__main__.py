"""`python -m revmachine.demo --size small --out DIR`: write the demo company as CSV files.

For looking at the data (or importing it by hand with `revmachine import`); the files are
the ones `load_demo` imports, plus `decisions.csv` and the ground truth in `DIR/truth/`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from revmachine.demo import SIZES, generate, write_ground_truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m revmachine.demo", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=dt.date.fromisoformat, help="first day (YYYY-MM-DD)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the CSV files")
    parser.add_argument("--truth-format", choices=("parquet", "csv"), default="csv")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    world = generate(args.size, args.seed, args.start)
    generated = time.perf_counter() - began
    for path in world.write_csv(args.out):
        kind = path.stem
        rows = world.decisions.height if kind == "decisions" else world.tables[kind].height
        print(f"{path}  {rows:,} rows")
    for path in write_ground_truth(world, args.out / "truth", args.truth_format):
        print(path)
    print(f"generated the {world.size} company ({world.start} to {world.end}) in {generated:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
