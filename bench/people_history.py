"""People history benchmark: what keeping every observation costs imports and as-of reads.

Since as-of reads of people stopped depending on import order, `person_changes` keeps each
observation the `people` row no longer holds (one arriving late, one a newer export
replaces), and an import loads the stored history of the people a late observation
touches. This prints each import of a typical sequence against the first import of the
same file size in the same run, with the history rows it wrote, and as-of reads against
current reads of the same people:

- a first export (every person new) — the baseline;
- the same file again (nothing to write);
- a newer export: a fifth of the people were edited since (half of them changed title,
  half only had their `updated_at` moved), the rest are identical;
- an older export imported after it (a backfill: every row is late, a tenth differ);
- the older export again (late and already known: history is read, nothing written).

    python bench/people_history.py                    # 50,000 people, SQLite
    python bench/people_history.py --people 2000      # small, for CI
    python bench/people_history.py --db postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text

from revmachine.services.imports import ImportReport, import_people
from revmachine.store.database import Database
from revmachine.store.migrate import upgrade
from revmachine.store.reads import person_as_of
from revmachine.store.scratch import scratch_store

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TITLES = ("VP Marketing", "Marketing Manager", "CMO", "Demand Gen Lead", "Sales Director")
COUNTRIES = ("United States", "Germany", "France", "United Kingdom", "Japan", "Brazil")
HEADER = ["email", "first_name", "last_name", "title", "company", "country", "Plan"]
HEADER += ["created_at", "updated_at"]


def _email(i: int) -> str:
    return f"person{i}@company{i % 9973}.example.com"


def write_export(
    path: Path, people: int, month: int, edited: dict[int, bool] | None = None
) -> None:
    """One CRM export: every record last updated on the 1st of `month`, or, given `edited`,
    only those people (whose title changed if True) and the rest on the 1st of March."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(people):
            changed = edited is not None and edited.get(i, False)
            title = TITLES[(i + changed) % len(TITLES)]
            moved = edited is None or i in edited
            updated = dt.date(2025, month if moved else 3, 1)
            out.writerow(
                [
                    _email(i),
                    f"First{i % 97}",
                    f"Last{i % 89}",
                    title,
                    f"Company {i % 9973}",
                    COUNTRIES[i % len(COUNTRIES)],
                    "pro" if i % 3 else "free",
                    "2024-06-01",
                    updated.isoformat(),
                ]
            )


def history_rows(db: Database) -> int:
    with db.reading() as conn:
        return int(conn.execute(text("SELECT count(*) FROM person_changes")).scalar_one())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=50_000, help="default 50,000")
    parser.add_argument("--reads", type=int, default=2_000, help="as-of reads, default 2,000")
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--seed", type=int, default=20250101)
    args = parser.parse_args(argv)
    n = args.people
    rng = random.Random(args.seed)
    edited = {i: rng.random() < 0.5 for i in rng.sample(range(n), n // 5)}
    backfill = {i: True for i in rng.sample(range(n), n // 10)}

    with tempfile.TemporaryDirectory(prefix="revmachine-bench-") as tmp:
        folder = Path(tmp)
        files = {
            "base": folder / "march.csv",
            "newer": folder / "april.csv",
            "older": folder / "january.csv",
        }
        write_export(files["base"], n, 3)
        write_export(files["newer"], n, 4, edited)
        # The older export: dated January, a tenth with the title they had then.
        write_export(files["older"], n, 1)
        _backdate(files["older"], backfill)
        with scratch_store(args.db, folder, migrate=False) as db:
            print(f"database: {db.dialect}, {n:,} people, {len(edited):,} edited since")
            upgrade(db)
            steps = [
                ("first export (baseline)", "base"),
                ("same file again", "base"),
                ("newer export", "newer"),
                ("older export after it", "older"),
                ("older export again", "older"),
            ]
            baseline = None
            print(f"\n{'import':<26}{'seconds':>9}{'vs first':>10}{'history rows':>14}")
            for label, key in steps:
                before = history_rows(db)
                report = import_people(db, files[key], now=NOW)
                _check(report, label)
                baseline = baseline or report.seconds
                written = history_rows(db) - before
                ratio = report.seconds / baseline
                print(f"{label:<26}{report.seconds:>9.2f}{ratio:>9.2f}x{written:>14,}")

            sample = [_email(i) for i in rng.sample(range(n), min(args.reads, n))]
            then = dt.datetime(2025, 2, 15, tzinfo=dt.UTC)  # before April: history is read
            with db.reading() as conn:
                started = time.perf_counter()
                for email in sample:
                    person_as_of(conn, email)
                current = time.perf_counter() - started
                started = time.perf_counter()
                for email in sample:
                    person_as_of(conn, email, then)
                past = time.perf_counter() - started
            print(
                f"\nperson_as_of x{len(sample):,}: now {current:.2f} s, as of 2025-02-15 "
                f"{past:.2f} s ({past / current:.2f}x)"
            )
    return 0


def _backdate(path: Path, changed: dict[int, bool]) -> None:
    rows = list(csv.reader(path.open(encoding="utf-8")))
    title = HEADER.index("title")
    for i, row in enumerate(rows[1:]):
        if i in changed:
            row[title] = "Intern"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def _check(report: ImportReport, what: str) -> None:
    if report.rejections:
        raise SystemExit(f"{what}: {report.rejected} rows rejected")


if __name__ == "__main__":
    sys.exit(main())
