"""store.reads: the state the business knew at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revmachine.services.imports import (
    import_activities,
    import_opportunities,
    import_people,
)
from revmachine.store import migrate, reads
from revmachine.store.database import Database

NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def load_ann(db: Database) -> None:
    import_people(
        db,
        b"email,title,company,Plan,created_at,updated_at\n"
        b"ann@acme.com,Manager,Acme,free,2025-01-10T00:00:00Z,2025-02-01T00:00:00Z\n",
        now=NOW,
    )
    import_people(
        db,
        b"email,title,Plan,Seats,updated_at\nann@acme.com,Director,pro,5,2025-04-01T00:00:00Z\n",
        now=NOW,
    )


def test_person_as_of_before_and_after_a_change(db: Database) -> None:
    load_ann(db)
    with db.reading() as conn:
        before_created = reads.person_as_of(conn, "ann@acme.com", utc("2025-01-09T23:59:59Z"))
        at_creation = reads.person_as_of(conn, "ann@acme.com", utc("2025-01-10T00:00:00Z"))
        before = reads.person_as_of(conn, "ann@acme.com", utc("2025-03-31T23:59:59Z"))
        at_change = reads.person_as_of(conn, "ann@acme.com", utc("2025-04-01T00:00:00Z"))
        now = reads.person_as_of(conn, " ANN@acme.com ")
        nobody = reads.person_as_of(conn, "nobody@acme.com")
    assert before_created is None and nobody is None
    assert at_creation is not None and before is not None
    assert at_change is not None and now is not None
    for snap in (at_creation, before):
        assert (snap.fields["title"], snap.fields["company"]) == ("Manager", "Acme")
        assert snap.attributes == {"Plan": "free"}  # Seats did not exist yet
    for snap in (at_change, now):
        assert (snap.fields["title"], snap.fields["company"]) == ("Director", "Acme")
        assert snap.attributes == {"Plan": "pro", "Seats": "5"}
    assert now.email == "ann@acme.com"
    assert now.created_at == utc("2025-01-10T00:00:00Z")
    assert now.id == before.id


def test_people_count_and_counts_as_of(db: Database) -> None:
    import_people(
        db,
        b"email,created_at\na@x.com,2025-01-01\nb@x.com,2025-02-01\nc@x.com,2025-03-01\n",
        now=NOW,
    )
    with db.reading() as conn:
        assert reads.people_count_as_of(conn, utc("2024-12-31T00:00:00Z")) == 0
        assert reads.people_count_as_of(conn, utc("2025-02-01T00:00:00Z")) == 2
        assert reads.counts(conn, utc("2025-02-15T00:00:00Z")).people == 2
        assert reads.counts(conn).people == 3


def test_activities_as_of_excludes_later_events(db: Database) -> None:
    load_ann(db)
    import_activities(
        db,
        b"event_id,email,type,occurred_at\n"
        b"e1,ann@acme.com,web_visit,2025-02-01T10:00:00Z\n"
        b"e2,ann@acme.com,email_open,2025-02-05T10:00:00Z\n"
        b"e3,ann@acme.com,demo_request,2025-03-01T10:00:00Z\n",
        now=NOW,
    )
    with db.reading() as conn:
        person = reads.person_as_of(conn, "ann@acme.com")
        assert person is not None
        early = reads.activities_as_of(conn, person.id, utc("2025-02-05T10:00:00Z"))
        latest = reads.activities_as_of(conn, person.id, utc("2025-12-31T00:00:00Z"), limit=2)
        none = reads.activities_as_of(conn, person.id, utc("2025-01-01T00:00:00Z"))
    assert [a["event_id"] for a in early] == ["e2", "e1"]  # newest first, inclusive
    assert [a["event_id"] for a in latest] == ["e3", "e2"]
    assert none == []
    assert early[0]["occurred_at"] == utc("2025-02-05T10:00:00Z")


def test_a_deal_imported_won_is_open_until_its_close_date(db: Database) -> None:
    import_opportunities(
        db,
        b"opportunity_id,amount,stage,created_at,close_date\n"
        b"OPP-W,64000,Closed Won,2025-02-02T00:00:00Z,2025-05-20\n"
        b"OPP-O,1000,Discovery,2025-03-01T00:00:00Z,2025-09-30\n",
        now=NOW,
    )

    def states(at: str, status: str | None = None) -> dict[str, str]:
        with db.reading() as conn:
            return {
                s.external_id: s.status
                for s in reads.opportunities_as_of(conn, utc(at), status=status)
            }

    assert states("2025-02-01T23:59:59Z") == {}
    assert states("2025-02-02T00:00:00Z") == {"OPP-W": "open"}
    assert states("2025-04-01T00:00:00Z") == {"OPP-W": "open", "OPP-O": "open"}
    assert states("2025-05-19T23:59:59Z", "open") == {"OPP-W": "open", "OPP-O": "open"}
    assert states("2025-05-20T00:00:00Z") == {"OPP-W": "won", "OPP-O": "open"}
    assert states("2025-06-01T00:00:00Z", "open") == {"OPP-O": "open"}
    assert states("2025-06-01T00:00:00Z", "won") == {"OPP-W": "won"}


def test_person_as_of_does_not_depend_on_import_order(db: Database) -> None:
    older = b"email,title,created_at,updated_at\nann@acme.com,Manager,2025-01-01,2025-02-01\n"
    newer = b"email,title,created_at,updated_at\nann@acme.com,Director,2025-01-01,2025-04-01\n"
    for f in (older, newer):
        import_people(db, f, now=NOW)
    with db.reading() as conn:
        in_order = reads.person_as_of(conn, "ann@acme.com", utc("2025-03-01T00:00:00Z"))
    assert in_order is not None and in_order.fields["title"] == "Manager"

    for table in ("person_changes", "people"):
        with db.transaction() as conn:
            conn.exec_driver_sql(f"DELETE FROM {table}")
    for f in (newer, older):
        import_people(db, f, now=NOW)
    with db.reading() as conn:
        late = reads.person_as_of(conn, "ann@acme.com", utc("2025-03-01T00:00:00Z"))
        current = reads.person_as_of(conn, "ann@acme.com")
    assert current is not None and current.fields["title"] == "Director"
    assert late is not None and late.fields["title"] == "Manager"


def snapshots(db: Database, emails: list[str], instants: list[dt.datetime]) -> list[Any]:
    """Every person at every instant, without the store's ids (they follow arrival order)."""
    with db.reading() as conn:
        found = [(e, at, reads.person_as_of(conn, e, at)) for e in emails for at in instants]
    return [(e, at, s and (s.fields, s.attributes, s.created_at)) for e, at, s in found]


MANAGER_ON = [
    f"email,title,updated_at\nann@acme.com,Manager,2025-0{m}-01\n".encode() for m in (1, 3, 5)
]
DIRECTOR_IN_FEBRUARY = b"email,title,updated_at\nann@acme.com,Director,2025-02-01\n"


def test_a_late_value_between_two_sightings_of_another_is_placed_between_them(
    db: Database, reset_store: Callable[[Database], None]
) -> None:
    instants = [utc(f"2025-0{m}-15T00:00:00Z") for m in range(1, 7)]
    in_order = [MANAGER_ON[0], DIRECTOR_IN_FEBRUARY, *MANAGER_ON[1:]]
    seen = []
    for files in (in_order, [*MANAGER_ON, DIRECTOR_IN_FEBRUARY], in_order[::-1]):
        reset_store(db)
        for f in files:
            import_people(db, f, now=NOW)
        seen.append(snapshots(db, ["ann@acme.com"], instants))
    titles = [s and s[0]["title"] for _, _, s in seen[0]]
    assert titles == ["Manager", "Director", "Manager", "Manager", "Manager", "Manager"]
    assert seen[1] == seen[0] and seen[2] == seen[0]


# -- any order of the same files reads the same at every instant ------------------------------

EMAILS = ["ann@acme.com", "bo@acme.com"]
DAYS = [dt.date(2025, 1, 1) + dt.timedelta(days=d) for d in range(0, 50, 7)]


@st.composite
def people_files(draw: st.DrawFn) -> list[bytes]:
    """2-4 small files about two people on a few days: equal times, blanks, values seen
    again after another, creation dates earlier or later than the other files'."""
    files = []
    for _ in range(draw(st.integers(2, 4))):
        lines = ["email,title,lead_source,Plan,created_at,updated_at"]
        for _ in range(draw(st.integers(1, 3))):
            created = draw(st.sampled_from([None, *DAYS]))
            updated = draw(st.sampled_from([None, *DAYS]))
            cells = [
                draw(st.sampled_from(EMAILS)),
                draw(st.sampled_from(["", "Manager", "Director"])),
                draw(st.sampled_from(["", "webinar", "paid_search"])),
                draw(st.sampled_from(["", "free", "pro"])),
                created.isoformat() if created else "",
                updated.isoformat() if updated else "",
            ]
            lines.append(",".join(cells))
        files.append("".join(line + "\n" for line in lines).encode())
    return files


INSTANTS = [
    dt.datetime.combine(d, dt.time(h), dt.UTC) for d in [*DAYS, DAYS[-1] + DAY] for h in (0, 12)
]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    store = Database(f"sqlite:///{tmp_path / 'store.db'}")
    migrate.upgrade(store)
    yield store
    store.dispose()


@settings(max_examples=40)
@given(files=people_files(), data=st.data())
def test_person_as_of_is_the_same_for_any_import_order(
    sqlite_db: Database,
    reset_store: Callable[[Database], None],
    files: list[bytes],
    data: st.DataObject,
) -> None:
    reset_store(sqlite_db)
    for f in files:
        import_people(sqlite_db, f, now=NOW)
    expected = snapshots(sqlite_db, EMAILS, INSTANTS)

    reset_store(sqlite_db)
    for f in data.draw(st.permutations(files)):
        import_people(sqlite_db, f, now=NOW)
    assert snapshots(sqlite_db, EMAILS, INSTANTS) == expected
