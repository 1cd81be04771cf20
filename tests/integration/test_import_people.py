"""Importing people: counts, row rejections, dedupe on email, merge rules, references."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from revmachine.ingest.errors import RejectCode
from revmachine.services.imports import (
    import_accounts,
    import_people,
    import_programs,
    import_reps,
)
from revmachine.store import schema
from revmachine.store.database import Database

NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2025, 8, 1, 12, 0, tzinfo=dt.UTC)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def people(db: Database) -> dict[str, dict[str, Any]]:
    with db.reading() as conn:
        rows = conn.execute(select(schema.people)).mappings().all()
    return {row["email"]: dict(row) for row in rows}


def count(db: Database, table: Any) -> int:
    with db.reading() as conn:
        return len(conn.execute(select(table)).all())


def test_counts_and_row_rejections(db: Database) -> None:
    data = (
        b"email,first_name,employees,created_at\n"
        b"ann@acme.com,Ann,120,2025-01-10T09:00:00Z\n"
        b"not-an-email,Bad,1,2025-01-10\n"
        b"bo@acme.com,Bo,many,2025-01-10\n"
        b",NoEmail,1,2025-01-10\n"
        b"cy@globex.com,Cy,,2025-02-30\n"
        b"di@globex.com,Di,,\n"
    )
    report = import_people(db, data, now=NOW, name="leads.csv")
    assert (report.inserted, report.updated, report.unchanged) == (2, 0, 0)
    assert report.rejected == 4
    assert [(r.line, r.code, r.field) for r in report.sorted_rejections()] == [
        (3, RejectCode.BAD_EMAIL, "email"),
        (4, RejectCode.BAD_NUMBER, "employees"),
        (5, RejectCode.MISSING_REQUIRED, "email"),
        (6, RejectCode.BAD_DATE, "created_at"),
    ]
    stored = people(db)
    assert sorted(stored) == ["ann@acme.com", "di@globex.com"]
    assert stored["ann@acme.com"]["first_name"] == "Ann"
    assert stored["ann@acme.com"]["employee_count"] == 120
    assert stored["ann@acme.com"]["created_at"] == utc("2025-01-10T09:00:00")
    # No created_at: the person exists from the import on.
    assert stored["di@globex.com"]["created_at"] == NOW

    with db.reading() as conn:
        run = conn.execute(select(schema.import_runs)).mappings().one()
        saved = (
            conn.execute(select(schema.import_rejections).order_by(schema.import_rejections.c.line))
            .mappings()
            .all()
        )
    assert (run["kind"], run["source_name"]) == ("people", "leads.csv")
    assert (run["inserted"], run["updated"], run["unchanged"], run["rejected"]) == (2, 0, 0, 4)
    assert run["finished_at"] == NOW
    assert [(r["line"], r["code"]) for r in saved] == [
        (3, "bad_email"),
        (4, "bad_number"),
        (5, "missing_required"),
        (6, "bad_date"),
    ]
    assert all(r["run_id"] == run["id"] for r in saved)


def test_reimport_is_unchanged_and_a_change_is_an_update(db: Database) -> None:
    first = (
        b"email,title,updated_at\n"
        b"ann@acme.com,Manager,2025-01-01\n"
        b"bo@acme.com,Engineer,2025-01-01\n"
    )
    import_people(db, first, now=NOW)
    again = import_people(db, first, now=LATER)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 0)

    second = (
        b"email,title,updated_at\n"
        b"ann@acme.com,Director,2025-03-01\n"
        b"bo@acme.com,Engineer,2025-03-01\n"
        b"cy@acme.com,Intern,2025-03-01\n"
    )
    report = import_people(db, second, now=LATER)
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 1)
    assert people(db)["ann@acme.com"]["title"] == "Director"
    with db.reading() as conn:
        changes = conn.execute(
            select(schema.person_changes, schema.people.c.email).join(schema.people)
        ).mappings()
        rows = {
            (c["email"], c["field"], c["old_value"]["v"], c["new_value"]["v"], c["occurred_at"])
            for c in changes
            if c["source"] == f"import:{report.run_id}"
        }
    jan, mar = utc("2025-01-01T00:00:00"), utc("2025-03-01T00:00:00")
    assert rows == {
        # The change, and the observation it replaced: a record dated between the two, if
        # one arrives later, must be placed after Manager's time, not just before March.
        ("ann@acme.com", "title", "Manager", "Director", mar),
        ("ann@acme.com", "title", "Manager", "Manager", jan),
        # Engineer seen again in March: January's sighting is kept for the same reason.
        ("bo@acme.com", "title", "Engineer", "Engineer", jan),
    }
    assert count(db, schema.person_changes) == 3


def test_people_are_deduplicated_on_the_normalised_email(db: Database) -> None:
    data = (
        b"email,first_name,last_name,updated_at\n"
        b"  Ann@X.com,Ann,,2025-01-01\n"
        b"ann@x.com,,Lee,2025-01-02\n"
        b"ANN@X.COM ,Anne,,2025-01-03\n"
    )
    report = import_people(db, data, now=NOW)
    assert (report.inserted, report.rejected) == (1, 0)
    [(email, row)] = people(db).items()
    assert email == "ann@x.com"
    assert (row["first_name"], row["last_name"]) == ("Anne", "Lee")

    report = import_people(db, b"email,title\n Ann@x.COM ,CEO\n", now=LATER)
    assert (report.inserted, report.updated) == (0, 1)
    assert list(people(db)) == ["ann@x.com"]
    assert people(db)["ann@x.com"]["title"] == "CEO"


def test_merge_keeps_first_source_and_earliest_creation_and_updates_the_rest(
    db: Database,
) -> None:
    import_programs(db, b"name,channel\nSpring Webinar,webinar\nBrand Ads,paid_search\n", now=NOW)
    first = (
        b"email,title,company,lead_source,program,created_at,updated_at\n"
        b"ann@acme.com,Manager,Acme,webinar,Spring Webinar,2025-03-01,2025-03-01\n"
    )
    import_people(db, first, now=NOW)
    # Created later, updated later: updates title, but the first source stays; the empty
    # company does not erase the known one.
    later = (
        b"email,title,company,lead_source,program,created_at,updated_at\n"
        b"ann@acme.com,Director,,paid_search,Brand Ads,2025-04-01,2025-05-01\n"
    )
    report = import_people(db, later, now=NOW)
    assert report.updated == 1
    ann = people(db)["ann@acme.com"]
    assert (ann["title"], ann["company"], ann["lead_source"]) == ("Director", "Acme", "webinar")
    assert ann["created_at"] == utc("2025-03-01T00:00:00")

    # A record created before every other one carries the true first source, and moves
    # created_at back; its older title does not overwrite the newer one.
    earliest = (
        b"email,title,lead_source,program,created_at\n"
        b"ann@acme.com,Intern,paid_search,Brand Ads,2025-01-15\n"
    )
    import_people(db, earliest, now=NOW)
    ann = people(db)["ann@acme.com"]
    assert ann["lead_source"] == "paid_search"
    assert ann["created_at"] == utc("2025-01-15T00:00:00")
    assert ann["title"] == "Director"
    with db.reading() as conn:
        programs = dict(conn.execute(select(schema.programs.c.name, schema.programs.c.id)).all())
    assert ann["acquisition_program_id"] == programs["Brand Ads"]


def test_unknown_references_reject_the_row_and_the_rest_go_in(db: Database) -> None:
    import_reps(db, b"email,name\nrep@acme.com,Rita Rep\n", now=NOW)
    import_programs(db, b"name,channel\nSpring Webinar,webinar\n", now=NOW)
    import_accounts(db, b"name,domain\nAcme,acme.com\n", now=NOW)
    data = (
        b"email,owner,program,account\n"
        b"a@x.com,rep@acme.com,Spring Webinar,acme.com\n"
        b"b@x.com,nobody@acme.com,,\n"
        b"c@x.com,,Autumn Webinar,\n"
        b"d@x.com,,,nowhere.com\n"
        b"e@x.com,nobody@acme.com,Autumn Webinar,\n"
    )
    report = import_people(db, data, now=NOW)
    assert report.inserted == 1
    assert report.rejected == 4
    assert sorted((r.line, r.code, r.field) for r in report.rejections) == [
        (3, RejectCode.UNKNOWN_REFERENCE, "owner"),
        (4, RejectCode.UNKNOWN_REFERENCE, "program"),
        (5, RejectCode.UNKNOWN_REFERENCE, "account"),
        (6, RejectCode.UNKNOWN_REFERENCE, "owner"),
        (6, RejectCode.UNKNOWN_REFERENCE, "program"),
    ]
    messages = {r.field: r.message for r in report.rejections if r.line in (3, 4, 5)}
    assert "nobody@acme.com" in messages["owner"] and "import reps first" in messages["owner"]
    assert "Autumn Webinar" in messages["program"]
    assert "nowhere.com" in messages["account"]
    assert list(people(db)) == ["a@x.com"]
    a = people(db)["a@x.com"]
    assert a["owner_id"] is not None and a["acquisition_program_id"] is not None
    assert a["account_id"] is not None


def test_people_are_linked_to_accounts(db: Database) -> None:
    import_accounts(db, b"name,domain\nAcme Corp,acme.com\nGlobex,globex.com\nInitech,\n", now=NOW)
    with db.reading() as conn:
        ids = dict(conn.execute(select(schema.accounts.c.name, schema.accounts.c.id)).all())
    data = (
        b"email,company,account\n"
        b"ann@acme.com,,\n"  # business email domain
        b"bo@gmail.com,Initech,\n"  # personal domain: by company name
        b"cy@gmail.com,Unknown Co,\n"  # nothing to link to
        b"di@whatever.org,,Globex\n"  # explicit account by name
        b"ed@whatever.org,,GLOBEX.COM\n"  # explicit account by domain
    )
    report = import_people(db, data, now=NOW)
    assert report.rejected == 0
    linked = {email: row["account_id"] for email, row in people(db).items()}
    assert linked == {
        "ann@acme.com": ids["Acme Corp"],
        "bo@gmail.com": ids["Initech"],
        "cy@gmail.com": None,
        "di@whatever.org": ids["Globex"],
        "ed@whatever.org": ids["Globex"],
    }


def test_unmapped_columns_and_attributes_are_merged_per_key(db: Database) -> None:
    first = (
        b"email,Plan,attributes,updated_at\n"
        b'ann@acme.com,free,"{""seats"": 3, ""region"": ""EU""}",2025-01-01\n'
    )
    import_people(db, first, now=NOW)
    assert people(db)["ann@acme.com"]["attributes"] == {"Plan": "free", "seats": 3, "region": "EU"}
    second = b"email,Plan,seats,updated_at\nann@acme.com,pro,,2025-02-01\n"
    report = import_people(db, second, now=NOW)
    assert report.updated == 1
    assert people(db)["ann@acme.com"]["attributes"] == {"Plan": "pro", "seats": 3, "region": "EU"}


def test_column_mapping_with_overrides(db: Database) -> None:
    data = b"Work Mail,Given,Job Title\nann@acme.com,Ann,CTO\n"
    report = import_people(db, data, now=NOW, mapping={"Work Mail": "email", "Given": "first_name"})
    assert report.inserted == 1
    ann = people(db)["ann@acme.com"]
    assert (ann["first_name"], ann["title"]) == ("Ann", "CTO")
    assert ann["attributes"] == {}


def test_a_formula_cell_is_stored_verbatim(db: Database) -> None:
    data = b'email,company\nann@acme.com,"=HYPERLINK(""http://evil.example"",""x"")"\n'
    import_people(db, data, now=NOW)
    assert people(db)["ann@acme.com"]["company"] == '=HYPERLINK("http://evil.example","x")'


def test_timeless_rows_reimported_later_are_unchanged(db: Database) -> None:
    data = b"email,title,Plan\nann@acme.com,CTO,pro\n"
    import_people(db, data, now=NOW)
    before = people(db)["ann@acme.com"]
    report = import_people(db, data, now=LATER)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 1)
    after = people(db)["ann@acme.com"]
    for key in ("title", "attributes", "created_at", "updated_at", "lead_source"):
        assert after[key] == before[key]
    assert count(db, schema.person_changes) == 0


# -- order independence through the store --------------------------------------------------

EMAILS = ["ann@acme.com", "bo@acme.com"]


@st.composite
def person_files(draw: st.DrawFn) -> list[bytes]:
    """Rows for two people with distinct times, spread over 1-3 files."""
    n = draw(st.integers(1, 6))
    days = draw(st.lists(st.integers(1, 300), min_size=2 * n, max_size=2 * n, unique=True))
    base = dt.date(2024, 1, 1)
    rows = []
    for i in range(n):
        updated = base + dt.timedelta(days=days[i])
        created = base + dt.timedelta(days=days[n + i]) if draw(st.booleans()) else None
        rows.append(
            ",".join(
                [
                    draw(st.sampled_from(EMAILS)),
                    draw(st.sampled_from(["", "Manager", "Director"])),
                    draw(st.sampled_from(["", "webinar", "paid_search"])),
                    draw(st.sampled_from(["", "free", "pro"])),
                    created.isoformat() if created else "",
                    updated.isoformat(),
                ]
            )
        )
    files = draw(st.integers(1, 3))
    groups: list[list[str]] = [[] for _ in range(files)]
    for row in rows:
        groups[draw(st.integers(0, files - 1))].append(row)
    header = "email,title,lead_source,plan,created_at,updated_at\n"
    return [(header + "".join(r + "\n" for r in g)).encode() for g in groups if g]


def _people_state(db: Database) -> dict[str, tuple[Any, ...]]:
    return {
        email: (row["title"], row["lead_source"], row["attributes"], row["created_at"])
        for email, row in people(db).items()
    }


@settings(max_examples=15)
@given(files=person_files(), data=st.data())
def test_files_imported_in_any_order_or_twice_give_the_same_people(
    db: Database, reset_store: Callable[[Database], None], files: list[bytes], data: st.DataObject
) -> None:
    reset_store(db)
    for f in files:
        import_people(db, f, now=NOW)
    expected = _people_state(db)

    reset_store(db)
    shuffled = data.draw(st.permutations(files))
    for f in [*shuffled, *files]:
        import_people(db, f, now=NOW)
    assert _people_state(db) == expected
