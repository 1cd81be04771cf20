"""The column-wise people import equals the person-by-person merge, on random batches.

`import_people(..., column_wise=False)` sends every person through `merge.absorb` (the
exact rules); the default builds new people column-wise (`ingest.merge_frame`) and
falls back to `absorb` for the rest. Both are run on the same batches — new people,
updates, late and timeless records, duplicates within a batch, custom attributes, implied
and unknown references — and must leave the same store (every people and person_changes
row, ids included), answer the same as-of questions and give the same per-record results
in input order. The column-wise store is the `db` fixture (SQLite and PostgreSQL); the
reference is always a SQLite file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revmachine.ingest.fields import KIND_FIELDS
from revmachine.ingest.records import records_table
from revmachine.services.imports import import_accounts, import_people, import_programs
from revmachine.services.imports.batch import results_in_order
from revmachine.services.imports.records import import_reps
from revmachine.store import migrate
from revmachine.store.database import Database
from revmachine.store.reads import person_as_of

NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
EMAILS = ["ann@acme.com", "bo@acme.com", "cy@gmail.com", "di@initech.io", "ed@example.org"]
INSTANTS = [BASE + DAY * d + h for d in range(-1, 9) for h in (dt.timedelta(0), DAY / 2)]


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[Database]:
    store = Database(f"sqlite:///{tmp_path / 'reference.db'}")
    migrate.upgrade(store)
    yield store
    store.dispose()


def _references(db: Database) -> None:
    import_accounts(db, b"name,domain\nAcme Inc,acme.com\nInitech,initech.io\n", now=NOW)
    import_programs(db, b"name,channel\nSpring Webinar,webinar\n", now=NOW)
    import_reps(db, b"email,name\nrep@us.com,Rep One\n", now=NOW)


def _time(draw: st.DrawFn) -> str | None:
    day = draw(st.one_of(st.none(), st.integers(0, 7)))
    if day is None:
        return None
    hours = draw(st.sampled_from([0, 0, 12]))
    return (BASE + DAY * day + dt.timedelta(hours=hours)).isoformat()


@st.composite
def record(draw: st.DrawFn, attributes: bool = True) -> dict[str, Any]:
    optional = {
        "first_name": st.sampled_from(["Ann", "Bo", "ann", "  "]),
        "title": st.sampled_from(["VP", "CMO", "Analyst"]),
        "company": st.sampled_from(["Acme Inc", "acme inc ", "Globex", "Initech"]),
        "employee_count": st.sampled_from([10, 250, "1,000"]),
        "unsubscribed": st.booleans(),
        "email_opt_in": st.sampled_from([True, False, "yes"]),
        "lead_source": st.sampled_from(["webinar", "paid_search"]),
        "program": st.sampled_from(["Spring Webinar", "Spring Webinar", "No Such Program"]),
        "owner": st.sampled_from(["rep@us.com", "rep@us.com", "nobody@us.com"]),
        "account": st.sampled_from(["acme.com", "Initech", "unknown.example"]),
        "attributes": st.dictionaries(
            st.sampled_from(["plan", "tier", "é"]),
            st.one_of(st.none(), st.sampled_from(["free", "pro", 3])),
            max_size=2,
        ),
    }
    if not attributes:
        del optional["attributes"]
    rec: dict[str, Any] = {"email": draw(st.sampled_from(EMAILS))}
    for name, values in optional.items():
        if draw(st.integers(0, 3)) == 0:
            rec[name] = draw(values)
    for name in ("created_at", "updated_at"):
        value = _time(draw)
        if value is not None:
            rec[name] = value
    return rec


@settings(max_examples=40)
@given(imports=st.lists(st.lists(record(), min_size=1, max_size=6), min_size=1, max_size=4))
def test_column_wise_import_equals_the_exact_merge(
    db: Database,
    reference: Database,
    reset_store: Callable[[Database], None],
    state_of: Callable[[Database], dict[str, list[tuple[Any, ...]]]],
    imports: list[list[dict[str, Any]]],
) -> None:
    _both_paths_agree(db, reference, reset_store, state_of, imports)


@settings(max_examples=25)
@given(
    first=st.lists(record(attributes=False), min_size=1, max_size=8),
    imports=st.lists(
        st.lists(st.one_of(record(attributes=False), record()), min_size=1, max_size=10),
        min_size=1,
        max_size=3,
    ),
)
def test_column_wise_updates_of_stored_people_equal_the_exact_merge(
    db: Database,
    reference: Database,
    reset_store: Callable[[Database], None],
    state_of: Callable[[Database], dict[str, list[tuple[Any, ...]]]],
    first: list[dict[str, Any]],
    imports: list[list[dict[str, Any]]],
) -> None:
    """Mostly stored people named once without custom attributes (what
    `merge_frame.updated_people` merges), mixed with new people, duplicates, rejected and
    timeless rows, and records that change nothing (each batch is imported twice)."""
    batches = [first, *[b for batch in imports for b in (batch, batch)]]
    _both_paths_agree(db, reference, reset_store, state_of, batches)


def _both_paths_agree(
    db: Database,
    reference: Database,
    reset_store: Callable[[Database], None],
    state_of: Callable[[Database], dict[str, list[tuple[Any, ...]]]],
    batches: list[list[dict[str, Any]]],
) -> None:
    """Import `batches` column-wise into `db` and through `merge.absorb` into `reference`
    (fresh stores): the same counts and per-record results for every batch, then the same
    stored rows and the same answers as of every instant."""
    for store in (db, reference):
        reset_store(store)
        _references(store)
    for i, batch in enumerate(batches):
        now = NOW + dt.timedelta(hours=i)
        answers = []
        for store, column_wise in ((db, True), (reference, False)):
            table = records_table(batch, KIND_FIELDS["people"])
            report = import_people(store, table, now=now, outcomes=True, column_wise=column_wise)
            counts = (report.inserted, report.updated, report.unchanged, report.rejected)
            answers.append((counts, results_in_order(len(batch), report)))
        assert answers[0] == answers[1]
    assert state_of(db) == state_of(reference)
    with db.reading() as a, reference.reading() as b:
        for email in EMAILS:
            for at in [*INSTANTS, None]:
                assert person_as_of(a, email, at) == person_as_of(b, email, at), (email, at)


def test_stored_people_are_updated_column_wise(db: Database) -> None:
    """Guards the test above: a stored person named once, with newer values, is merged by
    `merge_frame.updated_people` (not sent to `merge.absorb`); the same row again is
    unchanged, and an older one (a late observation) goes through `absorb`."""
    import revmachine.services.imports.people as people_module

    merged: list[tuple[int, int]] = []
    real = people_module.updated_people

    def counting(frame: Any) -> Any:
        people, history = real(frame)
        merged.append((people.height, int((~people["__hard__"]).sum())))
        return people, history

    jan, feb = "2025-01-01T00:00:00+00:00", "2025-02-01T00:00:00+00:00"
    people_module.updated_people = counting  # type: ignore[assignment]
    try:
        for rows in (
            [{"email": "a@x.com", "title": "VP", "created_at": jan}],
            [{"email": "a@x.com", "title": "CMO", "created_at": jan, "updated_at": feb}],
            [{"email": "a@x.com", "title": "CMO", "created_at": jan, "updated_at": feb}],
            [{"email": "a@x.com", "title": "CTO", "created_at": jan, "updated_at": jan}],
        ):
            table = records_table(rows, KIND_FIELDS["people"])
            report = import_people(db, table, now=NOW, outcomes=True)
            merged.append((-1, report.updated))
    finally:
        people_module.updated_people = real  # type: ignore[assignment]
    # (rows, merged column-wise) from `updated_people`, then (-1, updated) per import.
    assert merged == [(-1, 0), (1, 1), (-1, 1), (1, 1), (-1, 0), (1, 0), (-1, 0)]


def test_the_column_wise_path_is_taken_for_new_people(db: Database) -> None:
    """Guards the test above: new people of one row each are built column-wise."""
    import revmachine.services.imports.people as people_module

    built: list[int] = []
    real = people_module.new_people

    def counting(frame: Any) -> Any:
        built.append(frame.height)
        return real(frame)

    people_module.new_people = counting  # type: ignore[assignment]
    try:
        table = records_table(
            [{"email": "a@x.com"}, {"email": "b@x.com"}, {"email": "b@x.com"}],
            KIND_FIELDS["people"],
        )
        report = import_people(db, table, now=NOW, outcomes=True)
    finally:
        people_module.new_people = real  # type: ignore[assignment]
    assert built == [1]  # a@x.com; b@x.com, named twice, goes through merge.absorb
    assert report.inserted == 2
