"""Importing the reference records: sales reps and teams, programs, program costs, accounts.

These files are small (hundreds to tens of thousands of rows), so each row is applied in
Python with plain Core statements; what they share is keyed upsert and per-row rejection.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from revmachine.ingest.csvfile import LINE
from revmachine.ingest.errors import RejectCode, RowRejection
from revmachine.model.channels import Channel
from revmachine.services.imports.common import (
    Importer,
    ImportReport,
    Progress,
    Source,
    Stopwatch,
    finish_run,
    new_id,
    new_report,
    no_progress,
    prepare,
    start_run,
)
from revmachine.store import schema
from revmachine.store.database import Database

RowApplier = Callable[[Connection, dict[str, Any], dt.datetime, ImportReport], None]


def normalise_domain(text: str) -> str:
    """'https://www.Acme.com/about' -> 'acme.com'."""
    domain = re.sub(r"^[a-z]+://", "", text.strip().lower())
    domain = domain.split("/", 1)[0].split("?", 1)[0]
    return domain.removeprefix("www.").rstrip(".")


def row_importer(kind: str, apply: RowApplier) -> Importer:
    """The import of a small kind: each row, in file order, applied by `apply` in one
    transaction. The reference records and sales decisions differ only in `apply`."""

    def run(
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
        prepared = prepare(kind, source, name=name, mapping=mapping)
        report = new_report(kind, prepared, outcomes)
        frame = prepared.frame.sort(LINE)
        with db.transaction() as conn:
            start_run(conn, report, now)
            for i, row in enumerate(frame.iter_rows(named=True), 1):
                apply(conn, row, now, report)
                if i % 1000 == 0:
                    progress(i, frame.height)
            progress(frame.height, frame.height)
            finish_run(conn, report, now)
        report.seconds = clock.seconds()
        return report

    return run


def _reject(
    report: ImportReport, row: dict[str, Any], code: RejectCode, field: str, msg: str
) -> None:
    report.rejections.append(RowRejection(row[LINE], code, field, msg))


def _upsert(
    conn: Connection,
    table: Table,
    key: dict[str, Any],
    values: dict[str, Any],
    on_insert: dict[str, Any],
    report: ImportReport,
    line: int,
    *,
    touch: dict[str, Any] | None = None,
) -> int:
    """Insert, or update the non-empty values that differ; count the outcome in `report`.

    Empty values are left out of the insert too, so that a column's server default (a rep's
    role, a cost's currency) applies, and an empty cell never overwrites a known value.
    """
    where = [table.c[k] == v for k, v in key.items()]
    existing = conn.execute(select(table).where(*where)).mappings().first()
    if existing is None:
        given = {k: v for k, v in values.items() if v is not None}
        result = conn.execute(insert(table).values(**key, **given, **on_insert))
        report.inserted += 1
        new = int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0
        report.note(line, "created", new)
        return new
    changes = {k: v for k, v in values.items() if v is not None and existing[k] != v}
    found = int(existing["id"]) if "id" in existing else 0
    if changes:
        conn.execute(update(table).where(*where).values(**changes, **(touch or {})))
        report.updated += 1
        report.note(line, "updated", found)
    else:
        report.unchanged += 1
        report.note(line, "unchanged", found)
    return found


# -- reps and teams ---------------------------------------------------------------------


def _apply_rep(
    conn: Connection, row: dict[str, Any], now: dt.datetime, report: ImportReport
) -> None:
    role = row["role"].strip().lower() if row.get("role") else None
    if role is not None and role not in ("rep", "lead", "manager"):
        _reject(
            report, row, RejectCode.BAD_VALUE, "role", f"role '{role}' is not rep, lead or manager"
        )
        return
    team_id = None
    if row.get("team"):
        team = schema.sales_teams
        team_id = conn.execute(select(team.c.id).where(team.c.name == row["team"])).scalar()
        if team_id is None:
            team_id = new_id(
                conn.execute(
                    insert(team).values(name=row["team"], region=row.get("region"), created_at=now)
                )
            )
    _upsert(
        conn,
        schema.sales_reps,
        {"email": row["email"]},
        {
            "name": row["name"],
            "team_id": team_id,
            "role": role,
            "territory": row.get("territory"),
            "capacity": row.get("capacity"),
        },
        {"created_at": now},
        report,
        row[LINE],
    )


import_reps = row_importer("reps", _apply_rep)


# -- programs and costs -------------------------------------------------------------------


def _channel(row: dict[str, Any], report: ImportReport) -> Channel | None:
    try:
        return Channel.parse(row["channel"])
    except ValueError as exc:
        _reject(report, row, RejectCode.BAD_VALUE, "channel", str(exc))
        return None


def _apply_program(
    conn: Connection, row: dict[str, Any], now: dt.datetime, report: ImportReport
) -> None:
    channel = _channel(row, report)
    if channel is None:
        return
    _upsert(
        conn,
        schema.programs,
        {"name": row["name"]},
        {
            "channel": channel.value,
            "start_date": row.get("start_date"),
            "end_date": row.get("end_date"),
        },
        {
            "created_at": now,
            "attributes": json.loads(row["attributes"]) if row.get("attributes") else {},
        },
        report,
        row[LINE],
    )


import_programs = row_importer("programs", _apply_program)


def _end_of_month(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _apply_cost(
    conn: Connection, row: dict[str, Any], now: dt.datetime, report: ImportReport
) -> None:
    programs = schema.programs
    program_id = conn.execute(
        select(programs.c.id).where(programs.c.name == row["program"])
    ).scalar()
    if program_id is None:
        if not row.get("channel"):
            _reject(
                report,
                row,
                RejectCode.UNKNOWN_REFERENCE,
                "program",
                f"no program named '{row['program']}'; import programs first or give a "
                "channel column to create it",
            )
            return
        channel = _channel(row, report)
        if channel is None:
            return
        program_id = new_id(
            conn.execute(
                insert(programs).values(
                    name=row["program"], channel=channel.value, attributes={}, created_at=now
                )
            )
        )
    start: dt.date = row["period_start"]
    end: dt.date = row.get("period_end") or _end_of_month(start)
    if end < start:
        _reject(
            report,
            row,
            RejectCode.BAD_VALUE,
            "period_end",
            f"period_end {end} is before period_start {start}",
        )
        return
    amount = Decimal(row["amount"]).quantize(Decimal("0.01"))  # the column's scale
    if amount < 0:
        _reject(
            report, row, RejectCode.BAD_NUMBER, "amount", f"a cost cannot be negative ({amount})"
        )
        return
    _upsert(
        conn,
        schema.program_costs,
        {"program_id": program_id, "period_start": start, "period_end": end},
        {"amount": amount, "currency": row["currency"].upper() if row.get("currency") else None},
        {"created_at": now, "updated_at": now},
        report,
        row[LINE],
        touch={"updated_at": now},
    )


import_costs = row_importer("costs", _apply_cost)


# -- accounts ------------------------------------------------------------------------------


def _apply_account(
    conn: Connection, row: dict[str, Any], now: dt.datetime, report: ImportReport
) -> None:
    owner_id = None
    if row.get("owner"):
        reps = schema.sales_reps
        owner_id = conn.execute(select(reps.c.id).where(reps.c.email == row["owner"])).scalar()
        if owner_id is None:
            _reject(
                report,
                row,
                RejectCode.UNKNOWN_REFERENCE,
                "owner",
                f"no sales rep with email '{row['owner']}'; import reps first",
            )
            return
    domain = normalise_domain(row["domain"]) if row.get("domain") else None
    name_key = row["name"].strip().lower()
    values = {
        "name": row["name"].strip(),
        "name_key": name_key,
        "industry": row.get("industry"),
        "employee_count": row.get("employee_count"),
        "annual_revenue": (
            Decimal(row["annual_revenue"]).quantize(Decimal("0.01"))
            if row.get("annual_revenue")
            else None
        ),
        "segment": row.get("segment"),
        "country": row.get("country"),
        "owner_id": owner_id,
    }
    attributes = json.loads(row["attributes"]) if row.get("attributes") else {}
    table = schema.accounts
    where = (
        [table.c.domain == domain]
        if domain
        else [table.c.domain.is_(None), table.c.name_key == name_key]
    )
    existing = conn.execute(select(table).where(*where)).mappings().first()
    if existing is None:
        result = conn.execute(
            insert(table).values(
                domain=domain,
                **values,
                attributes=attributes,
                created_at=row.get("created_at") or now,
                updated_at=now,
            )
        )
        report.inserted += 1
        report.note(row[LINE], "created", new_id(result))
        return
    changes = {k: v for k, v in values.items() if v is not None and existing[k] != v}
    merged = {**existing["attributes"], **attributes}
    if merged != existing["attributes"]:
        changes["attributes"] = merged
    if changes:
        conn.execute(
            update(table).where(table.c.id == existing["id"]).values(**changes, updated_at=now)
        )
        report.updated += 1
        report.note(row[LINE], "updated", int(existing["id"]))
    else:
        report.unchanged += 1
        report.note(row[LINE], "unchanged", int(existing["id"]))


import_accounts = row_importer("accounts", _apply_account)
