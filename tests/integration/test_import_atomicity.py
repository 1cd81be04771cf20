"""Every import is one transaction: a rejected file or a crash half-way writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from revmachine.ingest.errors import FileRejected
from revmachine.services.imports import (
    IMPORTERS,
    activities,
    common,
    opportunities,
    people,
    records,
)
from revmachine.store import schema
from revmachine.store.database import Database

NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2025, 8, 1, 12, 0, tzinfo=dt.UTC)

BASE: dict[str, bytes] = {
    "reps": b"email,name,team\nolivia@acme.com,Olivia Stone,Enterprise\n",
    "programs": b"name,channel\nSpring Webinar,webinar\n",
    "accounts": b"name,domain,owner\nContoso,contoso.com,olivia@acme.com\n",
    "costs": b"program,period_start,amount\nSpring Webinar,2025-01-01,100\n",
    "people": b"email,title,created_at\nben@contoso.com,Manager,2025-01-01\n",
    "activities": b"event_id,email,type,occurred_at\ne1,ben@contoso.com,web_visit,2025-02-01\n",
    "opportunities": b"opportunity_id,account,amount,created_at\nOPP-1,contoso.com,10,2025-02-01\n",
}

#: A second file per kind that would insert, update and touch side tables.
CHANGES: dict[str, bytes] = {
    "reps": b"email,name,team,role\nolivia@acme.com,Olivia Stone,Enterprise,lead\n"
    b"liam@acme.com,Liam Chen,New Team,rep\n",
    "programs": b"name,channel\nSpring Webinar,email\nBrand Ads,paid_search\n",
    "accounts": b"name,domain,industry\nContoso,contoso.com,Tech\nFabrikam,fabrikam.de,\n",
    "costs": b"program,period_start,amount,channel\nSpring Webinar,2025-01-01,200,\n"
    b"Trade Show,2025-02-01,50,trade_show\n",
    "people": b"email,title,updated_at,plan\nben@contoso.com,Director,2025-03-01,pro\n"
    b"ann@contoso.com,CEO,2025-03-01,\n",
    "activities": b"event_id,email,type,occurred_at,program\n"
    b"e2,ben@contoso.com,unsubscribe,2025-03-01,Spring Webinar\n"
    b"e3,ben@contoso.com,custom_thing,2025-03-02,\n",
    "opportunities": b"opportunity_id,account,amount,stage,created_at,close_date,contacts\n"
    b"OPP-1,contoso.com,20,Closed Won,2025-02-01,2025-03-01,ben@contoso.com\n"
    b"OPP-2,contoso.com,5,,2025-03-01,,\n",
}

SERVICE_MODULES: dict[str, ModuleType] = {
    "reps": records,
    "programs": records,
    "accounts": records,
    "costs": records,
    "people": people,
    "activities": activities,
    "opportunities": opportunities,
}

KINDS = list(BASE)


def load_base(db: Database) -> None:
    for kind in KINDS:
        report = IMPORTERS[kind](db, BASE[kind], now=NOW)
        assert report.rejected == 0 and report.inserted >= 1, kind


def run_count(db: Database) -> int:
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.import_runs)).scalar_one())


def test_changes_files_really_write(
    db: Database, state_of: Callable[[Database], dict[str, Any]]
) -> None:
    """The failure tests below are only meaningful if these imports change the store."""
    load_base(db)
    for kind in KINDS:
        before = state_of(db)
        report = IMPORTERS[kind](db, CHANGES[kind], now=LATER)
        assert report.rejected == 0, (kind, report.rejections)
        assert report.inserted + report.updated >= 2, kind
        assert state_of(db) != before, kind


@pytest.mark.parametrize("kind", KINDS)
def test_failure_after_writing_leaves_no_trace(
    db: Database,
    state_of: Callable[[Database], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    load_base(db)
    before, runs = state_of(db), run_count(db)
    calls: list[str] = []

    def boom(*args: Any, **kwargs: Any) -> None:
        calls.append(kind)
        raise RuntimeError("disk on fire")

    # Services import `finish_run` by name, so it is replaced where they look it up.
    monkeypatch.setattr(common, "finish_run", boom)
    monkeypatch.setattr(SERVICE_MODULES[kind], "finish_run", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        IMPORTERS[kind](db, CHANGES[kind], now=LATER)
    assert calls == [kind]
    assert state_of(db) == before
    assert run_count(db) == runs


def test_failure_during_a_large_activity_load_keeps_the_index(
    db: Database, state_of: Callable[[Database], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loads larger than the table drop and rebuild an index on SQLite; a crash restores it."""
    load_base(db)
    before = state_of(db)
    rows = "".join(
        f"big-{i},ben@contoso.com,web_visit,2025-04-01T00:00:{i % 60:02d}Z\n" for i in range(10_050)
    )
    data = ("event_id,email,type,occurred_at\n" + rows).encode()

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("crash after the bulk insert")

    monkeypatch.setattr(activities, "finish_run", boom)
    with pytest.raises(RuntimeError):
        activities.import_activities(db, data, now=LATER)
    assert state_of(db) == before
    indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("activities")}
    assert "ix_activities_person_time" in indexes

    monkeypatch.undo()
    report = activities.import_activities(db, data, now=LATER)
    assert report.inserted == 10_050
    indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("activities")}
    assert "ix_activities_person_time" in indexes


FILE_PROBLEMS = {
    "empty": b"",
    "xlsx": b"PK\x03\x04\x14\x00\x06\x00rest-of-a-workbook",
    "duplicate header": b"email,email\na@x.com,b@x.com\n",
    "no required column": b"who,what\na,b\n",
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("problem", list(FILE_PROBLEMS))
def test_file_level_rejection_writes_nothing(db: Database, kind: str, problem: str) -> None:
    with pytest.raises(FileRejected):
        IMPORTERS[kind](db, FILE_PROBLEMS[problem], now=NOW, name=f"{kind}.csv")
    assert run_count(db) == 0
    with db.reading() as conn:
        for table in schema.metadata.sorted_tables:
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0, (
                table.name
            )


def test_file_level_rejection_message_names_the_file(db: Database) -> None:
    with pytest.raises(FileRejected, match=r"^leads\.csv: missing required column\(s\) email"):
        IMPORTERS["people"](db, b"name\nAnn\n", now=NOW, name="leads.csv")
