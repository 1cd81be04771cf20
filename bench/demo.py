"""Demo benchmark: generate the demo company and load it through the imports, timed.

The goal (the demo issue) is `revmachine demo` with the medium company — about 50,000
people and 1,000,000 activities — generated and loaded in well under two minutes on a
2-core machine. Absolute times depend on the machine, so the script also measures, in the
same run, a baseline: polars reading the same CSV bytes (the floor under any import), and
prints the load's ratio to it.

    python bench/demo.py                      # medium, SQLite in a temporary directory
    python bench/demo.py --size small         # seconds, for CI
    python bench/demo.py --db postgresql://postgres@127.0.0.1:5432/test

On PostgreSQL a fresh database is created next to the one named in the URL and dropped at
the end (the named database is only used to connect). Exit status 1 with --check when the
total exceeds --goal seconds.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from revmachine.demo import generate, load_demo
from revmachine.demo.tables import KINDS
from revmachine.store.scratch import scratch_store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--goal", type=float, default=120.0, help="seconds for generate + load")
    parser.add_argument("--check", action="store_true", help="exit 1 when the goal is missed")
    args = parser.parse_args()

    began = time.perf_counter()
    world = generate(args.size, args.seed)
    generated = time.perf_counter() - began
    files = {kind: world.csv(kind) for kind in KINDS}
    began = time.perf_counter()
    for data in files.values():
        pl.read_csv(io.BytesIO(data), infer_schema=False)
    baseline = time.perf_counter() - began

    with tempfile.TemporaryDirectory() as tmp, scratch_store(args.db, Path(tmp)) as db:
        began = time.perf_counter()
        summary = load_demo(db, world)
        loaded = time.perf_counter() - began
    people = world.tables["people"].height
    activities = world.tables["activities"].height
    print(f"{args.size}: {people:,} people, {activities:,} activities")
    print(f"generate  {generated:7.1f} s")
    for kind, report in summary.reports.items():
        print(f"  {kind:<14} {report.inserted:>9,} new  {report.seconds:6.1f} s")
    print(f"load      {loaded:7.1f} s   ({summary.rejected} rejected)")
    print(f"baseline  {baseline:7.1f} s   (polars reading the same CSV bytes)")
    print(f"ratio     {loaded / baseline:7.1f} x  load / baseline")
    total = generated + loaded
    print(f"total     {total:7.1f} s   (goal {args.goal:.0f} s)")
    if summary.rejected:
        return 1
    return 1 if args.check and total > args.goal else 0


if __name__ == "__main__":
    sys.exit(main())
