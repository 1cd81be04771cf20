"""Importing sales decisions: a rep's accept or reject of a lead, from a CRM export.

Each row becomes a `sales_decisions` event, an input of the revenue model (MQL → SAL on
accept, → recycled or disqualified on reject, by the reasons in revenue_model.yml). A row
without an `event_id` gets one derived from its content, so the same file imported twice
records each decision once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import Connection, insert, select

from revmachine.ingest.csvfile import LINE
from revmachine.ingest.errors import RejectCode
from revmachine.services.imports.common import ImportReport, new_id
from revmachine.services.imports.records import _reject, row_importer
from revmachine.store import schema

DECISIONS = ("accept", "reject")


def decision_event_id(email: str, decision: str, occurred_at: dt.datetime) -> str:
    key = f"{email}|{decision}|{occurred_at.isoformat()}"
    return "decision:" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def _apply_decision(
    conn: Connection, row: dict[str, Any], now: dt.datetime, report: ImportReport
) -> None:
    decision = row["decision"].strip().lower()
    if decision not in DECISIONS:
        _reject(
            report, row, RejectCode.BAD_VALUE, "decision", f"'{decision}' is not accept or reject"
        )
        return
    p, r, d = schema.people, schema.sales_reps, schema.sales_decisions
    person = conn.execute(select(p.c.id).where(p.c.email == row["email"])).scalar()
    if person is None:
        _reject(report, row, RejectCode.UNKNOWN_REFERENCE, "email", f"no person {row['email']}")
        return
    rep = None
    if row.get("rep"):
        rep = conn.execute(select(r.c.id).where(r.c.email == row["rep"])).scalar()
        if rep is None:
            _reject(report, row, RejectCode.UNKNOWN_REFERENCE, "rep", f"no rep {row['rep']}")
            return
    event_id = row.get("event_id") or decision_event_id(row["email"], decision, row["occurred_at"])
    found = conn.execute(select(d.c.id).where(d.c.event_id == event_id)).scalar()
    if found is not None:
        report.unchanged += 1
        report.note(row[LINE], "unchanged", found)
        return
    result = conn.execute(
        insert(d).values(
            event_id=event_id,
            person_id=person,
            decision=decision,
            reason=(row.get("reason") or "").strip().lower() or None,
            rep_id=rep,
            note=row.get("note"),
            occurred_at=row["occurred_at"],
            recorded_at=now,
            source=report.source_name,
        )
    )
    report.inserted += 1
    report.note(row[LINE], "created", new_id(result))


import_decisions = row_importer("decisions", _apply_decision)
