"""Importing the event log: activities, deduplicated by `event_id`, a million rows at a time.

Validation and reference resolution run on whole columns (polars); the insert goes through
the store's bulk path. An event without an `event_id` gets one derived from its content
(person, type, time, attributes), so re-importing a file without ids is still idempotent.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl
from sqlalchemy import Connection, func, select

from revmachine.ingest.csvfile import LINE
from revmachine.ingest.errors import RejectCode
from revmachine.services.imports.common import (
    ImportReport,
    Progress,
    Source,
    Stopwatch,
    finish_run,
    lookup,
    new_report,
    no_progress,
    prepare,
    reject_rows,
    start_run,
)
from revmachine.services.imports.references import apply_unsubscribes, ensure_activity_types
from revmachine.store import bulk, schema
from revmachine.store.database import Database
from revmachine.store.locks import lock_event_log

_TYPE_NAME = r"^[a-z][a-z0-9_]{0,62}$"
#: Database pages an imported event dirties, in bytes: its row, its two index entries and
#: its share of program membership come to ~300 on SQLite (measured on a million events).
_PAGE_BYTES = 400


def derive_event_id(email: str, type_: str, occurred: dt.datetime, attributes: str | None) -> str:
    """A stable id for an event that arrived without one: same content, same id."""
    key = f"{email}\x1f{type_}\x1f{occurred.isoformat()}\x1f{attributes or ''}"
    return "derived:" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def import_activities(
    db: Database,
    source: Source,
    *,
    now: dt.datetime,
    name: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress = no_progress,
    outcomes: bool = False,
) -> ImportReport:
    clock = Stopwatch()
    prepared = prepare("activities", source, name=name, mapping=mapping)
    report = new_report("activities", prepared, outcomes)
    # A file names a handful of types a million times: normalise each distinct name once.
    names = prepared.frame["type"].unique()
    normal = names.str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
    frame = prepared.frame.with_columns(pl.col("type").replace(names, normal))
    if "event_id" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("event_id"))
    if "program" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("program"))
    frame, bad = reject_rows(
        frame,
        ~pl.col("type").str.contains(_TYPE_NAME),
        RejectCode.BAD_VALUE,
        "type",
        lambda r: (
            f"'{r['type']}' is not a valid activity type name "
            "(lower case letters, digits and _; e.g. web_visit or partner_portal_login)"
        ),
    )
    report.rejections.extend(bad)

    # Every person and program id written below comes from `_resolve`, in this transaction.
    with (
        db.transaction(references_resolved=True) as conn,
        bulk.sqlite_page_cache(conn, _PAGE_BYTES * frame.height),
    ):
        start_run(conn, report, now)
        frame = _resolve(conn, frame, report)
        frame = _fill_event_ids(frame)
        total = frame.height
        # The first row of each event_id in file order wins: sorted by (event_id, line), it
        # is the first of its run. The same sort gives the insert the event_id order it
        # wants (see `_insert`), and comparing neighbours costs less than hashing.
        # Only the columns the writes below need are sorted: gathering a long text column
        # (email, program name) in sorted order costs ~0.3 s CPU per million rows.
        event_id = pl.col("event_id")
        unique = (
            frame.select(LINE, "event_id", "person_id", "type", "program_id", "occurred_at")
            .with_columns(frame["attributes"])
            .sort("event_id", LINE)
            .filter(event_id.ne_missing(event_id.shift(1)))
        )
        report.unchanged += total - unique.height
        ensure_activity_types(conn, unique["type"].unique().to_list(), now)
        lock_event_log(conn)
        known = _known_ids(conn, unique) if report.outcomes is not None else None
        inserted = _insert(conn, unique, now, progress)
        report.inserted += inserted
        report.unchanged += unique.height - inserted
        if known is not None:
            _note_outcomes(conn, frame, known, report)
        _touch_programs(conn, unique)
        unsubscribed = _first_of_each_event(frame.filter(pl.col("type") == "unsubscribe"))
        if unsubscribed.height:
            apply_unsubscribes(conn, unsubscribed, now, f"import:{report.run_id}")
        finish_run(conn, report, now)
    report.seconds = clock.seconds()
    return report


def _resolve(conn: Connection, frame: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    people = bulk.lookup_frame(conn, schema.people, "email", frame["email"])
    frame = frame.join(people.rename({"id": "person_id"}), on="email", how="left")
    frame, bad = reject_rows(
        frame,
        pl.col("person_id").is_null(),
        RejectCode.UNKNOWN_REFERENCE,
        "email",
        lambda r: f"no person with email '{r['email']}'; import people before their activities",
    )
    report.rejections.extend(bad)
    programs = bulk.lookup_frame(conn, schema.programs, "name", frame["program"])
    frame = frame.join(
        programs.rename({"name": "program", "id": "program_id"}), on="program", how="left"
    )
    frame, bad = reject_rows(
        frame,
        pl.col("program").is_not_null() & pl.col("program_id").is_null(),
        RejectCode.UNKNOWN_REFERENCE,
        "program",
        lambda r: (
            f"no program named '{r['program']}'; import programs (or costs with a channel) first"
        ),
    )
    report.rejections.extend(bad)
    return frame


def _first_of_each_event(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of `frame` that win deduplication: the first line of each `event_id`."""
    return frame.sort(LINE).unique(subset="event_id", keep="first", maintain_order=True)


def _fill_event_ids(frame: pl.DataFrame) -> pl.DataFrame:
    missing = frame.filter(pl.col("event_id").is_null())
    if missing.height == 0:
        return frame
    derived = [
        derive_event_id(email, type_, occurred, attributes)
        for email, type_, occurred, attributes in missing.select(
            "email", "type", "occurred_at", "attributes"
        ).iter_rows()
    ]
    filled = missing.with_columns(pl.Series("event_id", derived, dtype=pl.String))
    return pl.concat([frame.filter(pl.col("event_id").is_not_null()), filled])


def _known_ids(conn: Connection, unique: pl.DataFrame) -> set[str]:
    """Event ids of this batch already in the log (asked under the append lock)."""
    return set(lookup(conn, schema.activities, "event_id", unique["event_id"].to_list()))


def _note_outcomes(
    conn: Connection, frame: pl.DataFrame, known: set[str], report: ImportReport
) -> None:
    """Per line: `created` for the first new occurrence of an event, else `unchanged`."""
    ids = lookup(conn, schema.activities, "event_id", frame["event_id"].to_list())
    seen: set[str] = set(known)
    for line, event_id in frame.sort(LINE).select(LINE, "event_id").iter_rows():
        report.note(line, "unchanged" if event_id in seen else "created", ids.get(event_id))
        seen.add(event_id)


def _insert(conn: Connection, frame: pl.DataFrame, now: dt.datetime, progress: Progress) -> int:
    sqlite = conn.dialect.name == "sqlite"
    existing = conn.execute(select(func.max(schema.activities.c.id))).scalar() or 0
    # Loading more rows than the table holds: build the secondary index once at the end
    # (a sorted build) instead of inserting into it row by row. PostgreSQL's "Populating a
    # Database" advice, applied only where it pays off.
    rebuild = sqlite and frame.height > max(existing, 10_000)
    index = next(i for i in schema.activities.indexes if i.name == "ix_activities_person_time")
    if rebuild:
        bulk.drop_index(conn, index)
    # In event_id order, the unique index (the costliest structure to keep up to date) takes
    # its new keys in order: mostly appends, each page filled once, instead of a random
    # insert per row. Half the insert time on a million rows. Among events with the same
    # time, ids still follow event_id, as they did when rows went in by time.
    rows = frame.select(
        "event_id", "person_id", "type", "program_id", "occurred_at", "attributes"
    ).sort("event_id")
    received = {"received_at": now.astimezone(dt.UTC)}
    inserted = bulk.insert_frame_ignoring_conflicts(
        conn, schema.activities, rows, "event_id", constants=received, progress=progress
    )
    if rebuild:
        bulk.create_index(conn, index)
    return inserted


def _touch_programs(conn: Connection, frame: pl.DataFrame) -> None:
    """A touch by a program's event makes the person a member, from their first touch.

    One row per (program, person) with the earliest touch in the file, upserted through
    the bulk path keeping the earlier time, so files give the same members in any order.
    A large file touches hundreds of thousands of pairs: a Core executemany of those was
    once the import's slowest step.
    """
    touched = (
        frame.select("program_id", "person_id", "occurred_at")
        .filter(pl.col("program_id").is_not_null())
        .group_by("program_id", "person_id")
        .agg(pl.col("occurred_at").min().alias("first_touch_at"))
        .sort("program_id", "person_id")
    )
    bulk.upsert_frame_keeping_earliest(
        conn,
        schema.program_members,
        touched,
        ("program_id", "person_id"),
        "first_touch_at",
        constants={"status": "touched"},
    )
