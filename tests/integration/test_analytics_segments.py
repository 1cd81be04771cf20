"""Segments and model versions: which people a report reads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from revmachine.analytics import Period, Scope, funnel_report
from revmachine.config import default_workspace
from revmachine.services.imports import import_accounts, import_people
from revmachine.store import schema
from revmachine.store.database import Database
from revmachine.store.spells import refresh_spells

MODEL = default_workspace().revenue
NOW = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
PERIOD = Period(dt.date(2025, 1, 1), dt.date(2025, 7, 1))


def _setup(db: Database) -> dict[str, int]:
    import_accounts(
        db, b"name,domain,employee_count,industry\nBig Co,big.example,12000,Banking\n", now=NOW
    )
    import_people(
        db,
        b"email,employee_count,industry,created_at\n"
        b"a@big.example,,,2025-01-05\n"  # size and industry from the account
        b"b@small.example,8,Retail,2025-01-05\n"
        b"c@mid.example,300,,2025-01-05\n"
        b"d@nowhere.example,,,2025-01-05\n",
        now=NOW,
    )
    with db.transaction() as conn:
        ids = dict(conn.execute(select(schema.people.c.email, schema.people.c.id)).all())
        rows = []
        for pid in ids.values():
            for version in ("v1", "v2"):
                rows.append(
                    {
                        "person_id": pid,
                        "from_stage": None,
                        "to_stage": "known" if version == "v1" else "engaged",
                        "occurred_at": dt.datetime(2025, 2, 1, tzinfo=dt.UTC),
                        "reason": "test",
                        "rule": "entry",
                        "model_version": version,
                        "recorded_at": NOW,
                    }
                )
        conn.execute(insert(schema.stage_transitions), rows)
        # Written directly, so the spells are refreshed the way processing does it.
        refresh_spells(conn, sorted({r["person_id"] for r in rows}))
    return ids


def _entered(db: Database, scope: Scope) -> dict[tuple[str, str], int]:
    with db.reading() as conn:
        report = funnel_report(conn, MODEL, scope)
    return {(g.segment, s.stage): s.entered for g in report.groups for s in g.stages if s.entered}


def test_company_size_bands_fall_back_to_the_account(db: Database) -> None:
    _setup(db)
    scope = Scope(PERIOD, NOW, group_by="company_size", model_version="v1")
    assert _entered(db, scope) == {
        ("5001+", "known"): 1,
        ("1-10", "known"): 1,
        ("201-1000", "known"): 1,
        ("(none)", "known"): 1,
    }
    industry = Scope(PERIOD, NOW, filters={"industry": ("Banking", "(none)")}, model_version="v1")
    assert _entered(db, industry) == {("(all)", "known"): 3}  # Big Co's person, c and d


def test_model_version_selects_one_history(db: Database) -> None:
    _setup(db)
    assert _entered(db, Scope(PERIOD, NOW, model_version="v2")) == {("(all)", "engaged"): 4}
    both = _entered(db, Scope(PERIOD, NOW))
    assert both == {("(all)", "known"): 4, ("(all)", "engaged"): 4}
