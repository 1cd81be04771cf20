"""`revmachine demo`: the small company end to end, and its page equals the analytics."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import func, select
from test_cli import run

from revmachine.analytics import deal_report
from revmachine.analytics.spec import Scope, default_period
from revmachine.store import schema
from revmachine.store.database import Database


def test_small_demo_runs_the_cycle_and_prints_the_analytics(db: Database, tmp_path: Path) -> None:
    result = run("demo", str(tmp_path / "ws"), "--size", "small", "--db", db.url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert (tmp_path / "ws" / "revenue_model.yml").is_file()
    assert any((tmp_path / "ws" / "truth").iterdir())
    assert "0 rejected" in out and "Try next" in out
    with db.reading() as conn:
        people = conn.execute(select(func.count()).select_from(schema.people)).scalar_one()
        states = conn.execute(select(func.count()).select_from(schema.journey_states)).scalar_one()
        decisions = conn.execute(
            select(func.count()).select_from(schema.sales_decisions)
        ).scalar_one()
        end = conn.execute(select(func.max(schema.activities.c.occurred_at))).scalar_one()
    assert people > 1000 and states == people and decisions > 0
    assert f"{people:,} people processed" in out

    # the Deals row printed equals the deal report computed here from the database
    as_of_text = re.search(r"as of (\d{4}-\d{2}-\d{2})", out)
    assert as_of_text is not None
    as_of = dt.datetime.fromisoformat(as_of_text.group(1)).replace(tzinfo=dt.UTC)
    assert as_of >= end - dt.timedelta(days=1)
    with db.reading() as conn:
        deals = deal_report(conn, Scope(period=default_period(as_of), as_of=as_of))
    row = deals.tables()[0].rows[0]
    printed = re.search(r"│\s*([\d,]+)\s*│\s*([\d,]+)\s*│\s*([\d,]+)\s*│\s*([\d.]+)%", out)
    assert printed is not None, out
    created, won, lost = (int(x.replace(",", "")) for x in printed.groups()[:3])
    assert (created, won, lost) == tuple(row[1:4])

    again = run("demo", str(tmp_path / "ws"), "--size", "small", "--db", db.url)
    assert again.returncode == 2 and "already holds data" in again.stderr
