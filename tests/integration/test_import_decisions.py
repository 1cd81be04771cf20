"""Sales decisions import: accept/reject rows become revenue model inputs, bad rows reported."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from revmachine.services.imports import import_decisions, import_people, import_reps
from revmachine.store import schema
from revmachine.store.database import Database

NOW = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)


def test_decisions_import_rejects_bad_rows_and_is_idempotent(db: Database) -> None:
    import_people(db, b"email\nann@acme.com\nbob@acme.com\n", now=NOW)
    import_reps(db, b"email,name\nrep@us.com,Rep One\n", now=NOW)
    data = (
        b"email,decision,reason,occurred_at,rep\n"
        b"ann@acme.com,accept,,2025-05-01T10:00:00Z,rep@us.com\n"
        b"bob@acme.com,Reject,Bad Timing,2025-05-02T10:00:00Z,\n"
        b"nobody@acme.com,accept,,2025-05-03T10:00:00Z,\n"
        b"ann@acme.com,maybe,,2025-05-04T10:00:00Z,\n"
        b"ann@acme.com,accept,,2025-05-05T10:00:00Z,ghost@us.com\n"
    )
    report = import_decisions(db, data, now=NOW)
    assert report.inserted == 2
    assert sorted((r.line, r.field) for r in report.rejections) == [
        (4, "email"),
        (5, "decision"),
        (6, "rep"),
    ]
    with db.reading() as conn:
        d = schema.sales_decisions
        rows = conn.execute(select(d.c.decision, d.c.reason).order_by(d.c.occurred_at)).all()
    assert [tuple(r) for r in rows] == [("accept", None), ("reject", "bad timing")]
    again = import_decisions(db, data, now=NOW)
    assert again.inserted == 0 and again.unchanged == 2
    with db.reading() as conn:
        total = conn.execute(select(func.count()).select_from(schema.sales_decisions))
        assert total.scalar_one() == 2
