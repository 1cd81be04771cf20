"""Importing opportunities: each row is a snapshot of a deal at a time, kept as history.

The current row of `opportunities` is always the latest snapshot by its own time; older
snapshots that arrive late are still kept in `opportunity_history`, so the pipeline as of
any date is read from history. A deal that arrives already closed gets two snapshots: open
from its creation, closed at its close date, so that "open pipeline as of" is right for the
months in between.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Connection, insert, select, update

from revmachine.ingest.csvfile import LINE
from revmachine.ingest.errors import RejectCode, RowRejection
from revmachine.services.imports.common import (
    CHUNK,
    LOOKUP_CHUNK,
    ImportReport,
    Progress,
    Source,
    Stopwatch,
    chunks,
    finish_run,
    new_id,
    new_report,
    no_progress,
    prepare,
    start_run,
)
from revmachine.services.imports.records import normalise_domain
from revmachine.store import schema
from revmachine.store.database import Database

STATUSES = ("open", "won", "lost")


def status_from_stage(stage: str | None) -> str:
    """'Closed Won' -> won, 'Closed Lost' / 'Lost' -> lost, anything else -> open."""
    text = (stage or "").lower()
    if "won" in text:
        return "won"
    if "lost" in text:
        return "lost"
    return "open"


@dataclass(frozen=True)
class Snapshot:
    occurred_at: dt.datetime
    stage: str | None
    status: str
    amount: Decimal | None
    close_date: dt.date | None

    def same_state(self, other: Snapshot) -> bool:
        return (self.stage, self.status, self.amount, self.close_date) == (
            other.stage,
            other.status,
            other.amount,
            other.close_date,
        )


def import_opportunities(
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
    prepared = prepare("opportunities", source, name=name, mapping=mapping)
    report = new_report("opportunities", prepared, outcomes)
    frame = prepared.frame.sort(LINE)
    with db.transaction() as conn:
        run_id = start_run(conn, report, now)
        refs = _Refs(conn, frame)
        for i, row in enumerate(frame.iter_rows(named=True), 1):
            _apply(conn, refs, row, now, report, f"import:{run_id}")
            if i % 1000 == 0:
                progress(i, frame.height)
        refs.flush(conn)
        progress(frame.height, frame.height)
        finish_run(conn, report, now)
    report.seconds = clock.seconds()
    return report


class _Refs:
    """Everything the rows refer to, read once up front in a few set-based queries (a
    query per row made this import ~1 ms a row); kept current as rows are applied."""

    def __init__(self, conn: Connection, frame: pl.DataFrame) -> None:
        acc, reps, p = schema.accounts, schema.sales_reps, schema.people
        opp, h, oc = schema.opportunities, schema.opportunity_history, schema.opportunity_contacts
        self.domains: dict[str, int] = {}
        self.names: dict[str, int] = {}
        for aid, domain, key in conn.execute(select(acc.c.id, acc.c.domain, acc.c.name_key)):
            if domain:
                self.domains[domain] = aid
            self.names.setdefault(key, aid)
        self.reps: dict[str, int] = {}
        for rid, email, rep_name in conn.execute(select(reps.c.id, reps.c.email, reps.c.name)):
            self.reps[email.lower()] = rid
            self.reps.setdefault(rep_name.strip().lower(), rid)
        emails = sorted(
            {
                part.partition(":")[0].strip().lower()
                for cell in frame.get_column("contacts").drop_nulls().to_list()
                for part in cell.split(";")
                if part.strip()
            }
            if "contacts" in frame.columns
            else set()
        )
        self.people: dict[str, int] = {}
        for batch in chunks(emails, LOOKUP_CHUNK):
            known = conn.execute(select(p.c.email, p.c.id).where(p.c.email.in_(batch)))
            self.people.update({email: pid for email, pid in known})
        externals = sorted(set(frame.get_column("opportunity_id").to_list()))
        self.opps: dict[str, int] = {}
        for batch in chunks(externals, LOOKUP_CHUNK):
            found = conn.execute(
                select(opp.c.external_id, opp.c.id).where(opp.c.external_id.in_(batch))
            )
            self.opps.update({ext: oid for ext, oid in found})
        ids = sorted(self.opps.values())
        self.fixed: dict[int, dict[str, Any]] = {}
        self.history: dict[int, list[Snapshot]] = defaultdict(list)
        self.contacts: dict[int, set[int]] = defaultdict(set)
        for batch in chunks(ids, LOOKUP_CHUNK):
            for row in conn.execute(
                select(opp.c.id, *[opp.c[k] for k in FIXED]).where(opp.c.id.in_(batch))
            ).mappings():
                self.fixed[row["id"]] = {k: row[k] for k in FIXED}
            for r in conn.execute(
                select(
                    h.c.opportunity_id,
                    h.c.occurred_at,
                    h.c.stage,
                    h.c.status,
                    h.c.amount,
                    h.c.close_date,
                )
                .where(h.c.opportunity_id.in_(batch))
                .order_by(h.c.opportunity_id, h.c.occurred_at, h.c.id)
            ):
                self.history[r.opportunity_id].append(
                    Snapshot(r.occurred_at, r.stage, r.status, r.amount, r.close_date)
                )
            for oid, pid in conn.execute(
                select(oc.c.opportunity_id, oc.c.person_id).where(oc.c.opportunity_id.in_(batch))
            ):
                self.contacts[oid].add(pid)
        self.new_history: list[dict[str, Any]] = []
        self.new_contacts: list[dict[str, Any]] = []

    def person(self, email: str) -> int | None:
        return self.people.get(email)

    def flush(self, conn: Connection) -> None:
        for batch in chunks(self.new_history, CHUNK):
            conn.execute(insert(schema.opportunity_history), batch)
        for batch in chunks(self.new_contacts, CHUNK):
            conn.execute(insert(schema.opportunity_contacts), batch)
        self.new_history.clear()
        self.new_contacts.clear()


FIXED = ("name", "account_id", "currency", "owner_id", "lost_reason", "product")


def _problem(row: dict[str, Any], code: RejectCode, field: str, msg: str) -> RowRejection:
    return RowRejection(row[LINE], code, field, msg)


def _apply(
    conn: Connection,
    refs: _Refs,
    row: dict[str, Any],
    now: dt.datetime,
    report: ImportReport,
    source: str,
) -> None:
    problems: list[RowRejection] = []
    account_id = None
    if row.get("account"):
        key = row["account"].strip().lower()
        account_id = refs.domains.get(normalise_domain(key)) or refs.names.get(key)
        if account_id is None:
            problems.append(
                _problem(
                    row,
                    RejectCode.UNKNOWN_REFERENCE,
                    "account",
                    f"no account with domain or name '{row['account']}'; import accounts first",
                )
            )
    owner_id = None
    if row.get("owner"):
        owner_id = refs.reps.get(row["owner"].strip().lower())
        if owner_id is None:
            problems.append(
                _problem(
                    row,
                    RejectCode.UNKNOWN_REFERENCE,
                    "owner",
                    f"no sales rep with email or name '{row['owner']}'; import reps first",
                )
            )
    status = (row.get("status") or status_from_stage(row.get("stage"))).strip().lower()
    if status not in STATUSES:
        problems.append(
            _problem(
                row,
                RejectCode.BAD_VALUE,
                "status",
                f"status '{row.get('status')}' is not open, won or lost",
            )
        )
    contacts: list[tuple[int, str | None]] = []
    for part in (row.get("contacts") or "").split(";"):
        if not part.strip():
            continue
        email, _, role = part.partition(":")
        person_id = refs.person(email.strip().lower())
        if person_id is None:
            problems.append(
                _problem(
                    row,
                    RejectCode.UNKNOWN_REFERENCE,
                    "contacts",
                    f"no person with email '{email.strip()}'",
                )
            )
        elif all(person_id != known for known, _ in contacts):  # a repeated email: once
            contacts.append((person_id, role.strip() or None))
    if problems:
        report.rejections.extend(problems)
        return
    created: dt.datetime = row["created_at"]
    amount = Decimal(row["amount"]).quantize(Decimal("0.01")) if row.get("amount") else None
    close_date: dt.date | None = row.get("close_date")
    closed_at = None
    if status != "open":
        closed_at = (
            dt.datetime.combine(close_date, dt.time(), dt.UTC)
            if close_date
            else row.get("updated_at") or now
        )
    record_time = closed_at or row.get("updated_at") or created
    incoming = Snapshot(record_time, row.get("stage"), status, amount, close_date)

    opp = schema.opportunities
    existing = refs.opps.get(row["opportunity_id"])
    fixed = {
        "name": row.get("name"),
        "account_id": account_id,
        "currency": row["currency"].upper() if row.get("currency") else None,
        "owner_id": owner_id,
        "lost_reason": row.get("lost_reason"),
        "product": row.get("product"),
    }
    attributes = json.loads(row["attributes"]) if row.get("attributes") else {}
    if existing is None:
        opp_id = new_id(
            conn.execute(
                insert(opp).values(
                    external_id=row["opportunity_id"],
                    **{**fixed, "currency": fixed["currency"] or "USD"},
                    amount=amount,
                    stage=incoming.stage,
                    status=status,
                    created_at=created,
                    close_date=close_date,
                    closed_at=closed_at,
                    attributes=attributes,
                    updated_at=record_time,
                )
            )
        )
        snapshots = [incoming]
        if status != "open" and record_time > created:
            snapshots.insert(0, Snapshot(created, None, "open", amount, close_date))
        refs.opps[row["opportunity_id"]] = opp_id
        refs.fixed[opp_id] = {**fixed, "currency": fixed["currency"] or "USD"}
        _add_history(refs, opp_id, snapshots, now, source)
        _set_contacts(refs, opp_id, contacts)
        report.inserted += 1
        report.note(row[LINE], "created", opp_id)
        return
    history = refs.history[existing]
    before = [s for s in history if s.occurred_at <= incoming.occurred_at]
    as_of = before[-1] if before else None
    new_fixed = {k: v for k, v in fixed.items() if v is not None}
    current_fixed = refs.fixed[existing]
    fixed_changes = {k: v for k, v in new_fixed.items() if current_fixed.get(k) != v}
    current_fixed.update(fixed_changes)
    state_changed = as_of is None or not as_of.same_state(incoming)
    if state_changed:
        _add_history(refs, existing, [incoming], now, source)
        history = refs.history[existing]
    latest = history[-1]
    if state_changed or fixed_changes:
        conn.execute(
            update(opp)
            .where(opp.c.id == existing)
            .values(
                **fixed_changes,
                stage=latest.stage,
                status=latest.status,
                amount=latest.amount,
                close_date=latest.close_date,
                closed_at=latest.occurred_at if latest.status != "open" else None,
                updated_at=latest.occurred_at,
            )
        )
        report.updated += 1
        report.note(row[LINE], "updated", existing)
    else:
        report.unchanged += 1
        report.note(row[LINE], "unchanged", existing)
    _set_contacts(refs, existing, contacts)


def _add_history(
    refs: _Refs, opp_id: int, snapshots: list[Snapshot], now: dt.datetime, source: str
) -> None:
    """Queue the snapshots for one insert at the end, and keep the cached history sorted
    (stable: equal times keep their arrival order, as the store's id order does)."""
    history = refs.history[opp_id]
    history.extend(snapshots)
    history.sort(key=lambda s: s.occurred_at)
    refs.new_history.extend(
        {
            "opportunity_id": opp_id,
            "occurred_at": s.occurred_at,
            "stage": s.stage,
            "status": s.status,
            "amount": s.amount,
            "close_date": s.close_date,
            "source": source,
            "recorded_at": now,
        }
        for s in snapshots
    )


def _set_contacts(refs: _Refs, opp_id: int, contacts: list[tuple[int, str | None]]) -> None:
    known = refs.contacts[opp_id]
    first = not known
    for i, (pid, role) in enumerate(contacts):
        if pid in known:
            continue
        known.add(pid)
        refs.new_contacts.append(
            {
                "opportunity_id": opp_id,
                "person_id": pid,
                "role": role,
                "is_primary": i == 0 and first,
            }
        )


def add_contacts(db: Database, links: list[tuple[str, int, str | None]]) -> list[int | None]:
    """Link people to deals as contacts, without a new snapshot of the deal.

    `links` are (opportunity external id, person id, role); the answer is each link's
    opportunity row id, None where no deal has that external id. A link that exists is
    left as it is.
    """
    opp = schema.opportunities
    found: list[int | None] = []
    with db.transaction() as conn:
        wanted = sorted({e for e, _, _ in links})
        stmt = select(opp.c.external_id, opp.c.id).where(opp.c.external_id.in_(wanted))
        ids = {external_id: int(opp_id) for external_id, opp_id in conn.execute(stmt)}
        oc = schema.opportunity_contacts
        for external_id, person_id, role in links:
            opp_id = ids.get(external_id)
            found.append(opp_id)
            if opp_id is None:
                continue
            known = conn.execute(
                select(oc.c.person_id).where(oc.c.opportunity_id == opp_id)
            ).scalars()
            existing = set(known)
            if person_id not in existing:
                conn.execute(
                    insert(oc).values(
                        opportunity_id=opp_id,
                        person_id=person_id,
                        role=role,
                        is_primary=not existing,
                    )
                )
    return found
