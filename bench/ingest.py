"""Ingest benchmark: the public activities import against a bare `executemany`, same run.

Absolute rates depend on the machine, so the figure that matters is the ratio against a
baseline measured in the same run, in the same database: a plain table with the same
columns and no indexes, loaded with the driver's own `executemany` from rows already in
memory. That is roughly the floor for getting rows into the database from Python; the
import additionally reads and validates the CSV, resolves people and programs,
deduplicates on `event_id`, maintains the indexes and keeps program membership and
unsubscribes in step.

On SQLite a third line shows SQLite's own floor: the same rows, already inside the
database, moved by one `INSERT … SELECT` into a table with the event log's columns and
indexes. No Python is in it; an import from a CSV file cannot be faster than that here.

    python bench/ingest.py                                  # 1,000,000 activities, SQLite
    python bench/ingest.py --activities 20000 --people 2000 # small, for CI
    python bench/ingest.py --db postgresql://postgres@127.0.0.1:5432/test

Each line also shows the CPU seconds this process spent, since wall time on a shared
machine moves with everyone else's load (on PostgreSQL most of the work is the server's
and not in that figure).

On PostgreSQL the benchmark creates a fresh database next to the one named in the URL (the
server's `CREATEDB` privilege is needed) and drops it at the end, so the named database is
only used to connect. Goal (the ingest issue): >= 200,000 activities/s on SQLite and the
import within 3x of the bare insert. The exit status is 1 when the row count is wrong or,
with --check, when a goal is missed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from revmachine.model.activity_types import BUILTIN_ACTIVITY_TYPES
from revmachine.services.imports import ImportReport, import_activities, import_people
from revmachine.services.imports.records import import_programs
from revmachine.store.database import Database
from revmachine.store.migrate import upgrade
from revmachine.store.scratch import scratch_store

GOAL_RATE = 200_000
GOAL_RATIO = 3.0
COLUMNS = (
    "event_id",
    "person_id",
    "type",
    "program_id",
    "occurred_at",
    "received_at",
    "attributes",
)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# A marketing automation export's mix: mostly email and web, a little of everything else.
TYPE_WEIGHTS = {
    "email_sent": 22,
    "email_delivered": 20,
    "email_open": 14,
    "web_visit": 18,
    "email_click": 5,
    "pricing_page_visit": 2,
    "form_fill": 2,
    "content_download": 2,
    "webinar_registered": 1,
    "webinar_attended": 1,
    "event_attended": 0.5,
    "chat": 0.5,
    "social_engagement": 1,
    "email_bounce": 0.5,
    "demo_request": 0.2,
    "contact_sales": 0.1,
    "free_trial_signup": 0.1,
    "sales_call": 0.3,
    "sales_meeting": 0.2,
    "unsubscribe": 0.05,
}
# Events that belong to a program (the email, webinar or event that caused them).
PROGRAM_TYPES = {
    "email_sent": "email",
    "email_delivered": "email",
    "email_open": "email",
    "email_click": "email",
    "email_bounce": "email",
    "unsubscribe": "email",
    "webinar_registered": "webinar",
    "webinar_attended": "webinar",
    "event_attended": "event",
    "content_download": "content_syndication",
    "form_fill": "paid_search",
}
PROGRAMS_PER_CHANNEL = 8
PAGES = ("/", "/pricing", "/product", "/blog/revenue-cycle", "/docs/getting-started", "/about")
FIRST = ("Ava", "Ben", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas")
LAST = ("Patel", "Nguyen", "Schmidt", "Dubois", "Weber", "Kowalski", "Rossi", "Sato", "Silva")
TITLES = ("VP Marketing", "Marketing Manager", "CMO", "Demand Gen Lead", "Sales Director")
COUNTRIES = ("United States", "Germany", "France", "United Kingdom", "Japan", "Brazil")


def _email(i: int) -> str:
    return f"person{i}@company{i % 9973}.example.com"


def generate(folder: Path, activities: int, people: int, seed: int) -> tuple[Path, Path, Path]:
    """Write people, programs and activities CSV files the way a customer's export looks."""
    assert set(TYPE_WEIGHTS) <= set(BUILTIN_ACTIVITY_TYPES)
    rng = random.Random(seed)
    people_csv = folder / "people.csv"
    with people_csv.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["email", "first_name", "last_name", "title", "company", "country"])
        for i in range(people):
            out.writerow(
                [
                    _email(i),
                    FIRST[i % len(FIRST)],
                    LAST[i % len(LAST)],
                    TITLES[i % len(TITLES)],
                    f"Company {i % 9973}",
                    COUNTRIES[i % len(COUNTRIES)],
                ]
            )
    channels = sorted(set(PROGRAM_TYPES.values()))
    programs = {c: [f"2025 {c} program {k}" for k in range(PROGRAMS_PER_CHANNEL)] for c in channels}
    programs_csv = folder / "programs.csv"
    with programs_csv.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["name", "channel", "start_date", "end_date"])
        for channel, names in programs.items():
            for name in names:
                out.writerow([name, channel, "2025-01-01", "2025-12-31"])

    types = list(TYPE_WEIGHTS)
    picks = rng.choices(types, weights=list(TYPE_WEIGHTS.values()), k=activities)
    start = int(dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp())
    year = 365 * 86_400
    activities_csv = folder / "activities.csv"
    with activities_csv.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["event_id", "email", "type", "occurred_at", "program", "url"])
        for type_ in picks:
            # Some people are far more active than others (a few hot accounts).
            person = int(people * rng.random() ** 2)
            when = dt.datetime.fromtimestamp(start + rng.randrange(year), dt.UTC)
            channel = PROGRAM_TYPES.get(type_)
            program = rng.choice(programs[channel]) if channel and rng.random() < 0.8 else ""
            url = f"https://www.example.com{rng.choice(PAGES)}" if type_ == "web_visit" else ""
            out.writerow(
                [
                    str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    _email(person),
                    type_,
                    when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    program,
                    url,
                ]
            )
    return people_csv, programs_csv, activities_csv


def _check(report: ImportReport, what: str) -> None:
    if report.rejections:
        first = report.sorted_rejections()[:5]
        raise SystemExit(f"{what}: {report.rejected} rows rejected, e.g. {first}")


def stored_rows(db: Database) -> list[tuple[Any, ...]]:
    """The activities exactly as the driver hands them back: the bare insert's input."""
    cols = ", ".join(COLUMNS)
    if db.is_sqlite:
        sql = f"SELECT {cols} FROM activities ORDER BY id"
    else:
        sql = f"SELECT {cols.replace('attributes', 'attributes::text')} FROM activities ORDER BY id"
    with db.reading() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def bare_insert(db: Database, rows: Sequence[tuple[Any, ...]]) -> tuple[float, float]:
    """Seconds (wall, CPU) for one `executemany` of `rows` into an index-free copy."""
    if db.is_sqlite:
        ddl = (
            "CREATE TABLE bare_activities (event_id VARCHAR(128) NOT NULL, person_id INTEGER "
            "NOT NULL, type VARCHAR(64) NOT NULL, program_id INTEGER, occurred_at DATETIME "
            "NOT NULL, received_at DATETIME NOT NULL, attributes JSON)"
        )
        marks = "?, ?, ?, ?, ?, ?, ?"
    else:
        ddl = (
            "CREATE TABLE bare_activities (event_id VARCHAR(128) NOT NULL, person_id BIGINT "
            "NOT NULL, type VARCHAR(64) NOT NULL, program_id BIGINT, occurred_at TIMESTAMPTZ "
            "NOT NULL, received_at TIMESTAMPTZ NOT NULL, attributes JSONB)"
        )
        marks = "%s, %s, %s, %s, %s, %s, %s::jsonb"
    with db.transaction() as conn:
        conn.execute(text(ddl))
    sql = f"INSERT INTO bare_activities ({', '.join(COLUMNS)}) VALUES ({marks})"
    started, cpu = time.perf_counter(), time.process_time()
    with db.transaction() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with db.reading() as conn:
        count = conn.execute(text("SELECT count(*) FROM bare_activities")).scalar()
    if count != len(rows):
        raise SystemExit(f"bare insert wrote {count} rows, expected {len(rows)}")
    return seconds, cpu


def sqlite_floor(db: Database, rows: Sequence[tuple[Any, ...]]) -> tuple[float, float]:
    """Seconds (wall, CPU) SQLite alone takes to put `rows` into a copy of `activities`.

    The rows are first staged in a temporary table (not timed); then one `INSERT … SELECT`
    in event_id order moves them into a table with the event log's columns, unique
    event_id and (person_id, occurred_at) index, the latter built after the load as the
    import does, and commits. No Python work is in it, so no import from Python can be
    faster on this machine: it is the ceiling the absolute goal is measured against.
    """
    columns = ", ".join(COLUMNS)
    with db.transaction() as conn:
        conn.execute(
            text(
                "CREATE TABLE floor_activities (id INTEGER PRIMARY KEY, event_id VARCHAR(128) "
                "NOT NULL UNIQUE, person_id INTEGER NOT NULL, type VARCHAR(64) NOT NULL, "
                "program_id INTEGER, occurred_at DATETIME NOT NULL, received_at DATETIME "
                "NOT NULL, attributes JSON)"
            )
        )
        conn.execute(text(f"CREATE TABLE floor_stage ({columns})"))
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.executemany(f"INSERT INTO floor_stage VALUES ({', '.join('?' * len(COLUMNS))})", rows)
    started, cpu = time.perf_counter(), time.process_time()
    with db.transaction() as conn:
        conn.execute(
            text(
                f"INSERT INTO floor_activities ({columns}) SELECT {columns} FROM floor_stage "
                "ORDER BY event_id ON CONFLICT (event_id) DO NOTHING"
            )
        )
        conn.execute(
            text("CREATE INDEX ix_floor_person_time ON floor_activities (person_id, occurred_at)")
        )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with db.reading() as conn:
        count = conn.execute(text("SELECT count(*) FROM floor_activities")).scalar()
    if count != len(rows):
        raise SystemExit(f"the floor's INSERT…SELECT wrote {count} rows, expected {len(rows)}")
    return seconds, cpu


def timed_import(db: Database, path: Path) -> tuple[ImportReport, float]:
    """The public activities import, and the CPU seconds this process spent in it."""
    cpu = time.process_time()
    report = import_activities(db, path, now=NOW)
    return report, time.process_time() - cpu


def _line(label: str, rows: int, seconds: float, cpu: float) -> None:
    print(
        f"{label:<34}{rows:>11,} rows {seconds:>8.2f} s {rows / seconds:>12,.0f} rows/s"
        f" {cpu:>8.2f} s CPU"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument("--people", type=int, default=100_000, help="default 100,000")
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    n = args.activities

    with tempfile.TemporaryDirectory(prefix="revmachine-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        people_csv, programs_csv, activities_csv = generate(folder, n, args.people, args.seed)
        # The kernel would otherwise still be writing the 128 MB just generated back to disk
        # during the timed import, and bill that I/O to it (measured: about a second).
        os.sync()
        size = activities_csv.stat().st_size / 1e6
        print(
            f"generated {n:,} activities ({size:.0f} MB) for {args.people:,} people "
            f"in {time.perf_counter() - started:.1f} s"
        )
        with scratch_store(args.db, folder, migrate=False) as db:
            print(f"database: {db.dialect} ({make_url(db.url).database})")
            upgrade(db)

            people = import_people(db, people_csv, now=NOW)
            _check(people, "people")
            _check(import_programs(db, programs_csv, now=NOW), "programs")

            first, first_cpu = timed_import(db, activities_csv)
            _check(first, "activities")
            with db.reading() as conn:
                count = conn.execute(text("SELECT count(*) FROM activities")).scalar()
            again, again_cpu = timed_import(db, activities_csv)
            _check(again, "re-import")

            rows = stored_rows(db)
            bare, bare_cpu = bare_insert(db, rows)
            floor = sqlite_floor(db, rows) if db.is_sqlite else None

        print(f"setup: people import, {args.people:,} rows in {people.seconds:.2f} s")
        print()
        _line("activities import (CSV -> store)", n, first.seconds, first_cpu)
        _line("activities re-import (unchanged)", n, again.seconds, again_cpu)
        _line("bare executemany (no indexes)", len(rows), bare, bare_cpu)
        if floor is not None:
            _line("SQLite alone (INSERT…SELECT, floor)", len(rows), *floor)
        ours = n / first.seconds
        ratio = first.seconds / bare
        # The goal is on wall time; CPU time is printed because the machine may be shared
        # (the database server's own CPU is not in it on PostgreSQL).
        print(f"ratio import/bare: {ratio:.2f}x slower (goal <= {GOAL_RATIO:g}x)")
        print(f"ratio import/bare in CPU seconds of this process: {first_cpu / bare_cpu:.2f}x")

    problems = []
    if count != n or first.inserted != n:
        problems.append(f"activities table holds {count:,} rows, inserted {first.inserted:,}")
    if again.unchanged != n or again.inserted != 0:
        problems.append(f"re-import: {again.inserted:,} inserted, {again.unchanged:,} unchanged")
    for problem in problems:
        print(f"WRONG: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"activities table holds {count:,} rows, as expected")
    if floor is not None:
        print(
            f"SQLite's own work caps any import here at {len(rows) / floor[0]:,.0f} rows/s "
            f"(goal {GOAL_RATE:,}/s)"
        )
    missed = db.is_sqlite and (ours < GOAL_RATE or ratio > GOAL_RATIO)
    if missed:
        print(f"goal missed: {ours:,.0f}/s (goal {GOAL_RATE:,}/s), {ratio:.2f}x", file=sys.stderr)
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
