"""Exports: streaming the store out as spreadsheet-safe CSV."""

from __future__ import annotations

from typing import IO

from sqlalchemy import select

from revmachine.ingest.export import write_csv
from revmachine.store import schema
from revmachine.store.database import Database

PEOPLE_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "company",
    "industry",
    "employee_count",
    "country",
    "lead_source",
    "email_opt_in",
    "unsubscribed",
    "attributes",
    "created_at",
)


def export_people(db: Database, out: IO[str]) -> int:
    p = schema.people
    with db.reading() as conn:
        rows = conn.execute(select(*[p.c[c] for c in PEOPLE_COLUMNS]).order_by(p.c.id))
        return write_csv(out, PEOPLE_COLUMNS, rows)


def export_activities(db: Database, out: IO[str]) -> int:
    a, p = schema.activities, schema.people
    header = ("event_id", "email", "type", "occurred_at", "attributes")
    with db.reading() as conn:
        rows = conn.execute(
            select(a.c.event_id, p.c.email, a.c.type, a.c.occurred_at, a.c.attributes)
            .join(p, p.c.id == a.c.person_id)
            .order_by(a.c.id)
            .execution_options(yield_per=10_000)
        )
        return write_csv(out, header, rows)
