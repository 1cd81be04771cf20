"""Importing activities: dedupe by event_id, derived ids, references, side effects."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from revmachine.ingest.errors import RejectCode
from revmachine.services.imports import import_activities, import_people, import_programs
from revmachine.store import reads, schema
from revmachine.store.database import Database

NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2025, 8, 1, 12, 0, tzinfo=dt.UTC)
PEOPLE_CSV = (
    b"email,first_name,created_at\n"
    b"ann@acme.com,Ann,2025-01-01T00:00:00Z\n"
    b"bo@acme.com,Bo,2025-01-01T00:00:00Z\n"
)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def activity_rows(db: Database) -> set[tuple[Any, ...]]:
    """(event_id, email, type, occurred_at, program, attributes) for every stored event."""
    a, p, g = schema.activities, schema.people, schema.programs
    with db.reading() as conn:
        rows = conn.execute(
            select(a.c.event_id, p.c.email, a.c.type, a.c.occurred_at, g.c.name, a.c.attributes)
            .join(p, p.c.id == a.c.person_id)
            .outerjoin(g, g.c.id == a.c.program_id)
        ).all()
    return {
        (eid, email, type_, occurred, program, tuple(sorted((attrs or {}).items())))
        for eid, email, type_, occurred, program, attrs in rows
    }


def setup_people(db: Database) -> None:
    import_people(db, PEOPLE_CSV, now=NOW)
    import_programs(db, b"name,channel\nSpring Webinar,webinar\n", now=NOW)


def test_counts_and_rejections(db: Database) -> None:
    setup_people(db)
    data = (
        b"event_id,email,type,occurred_at,program\n"
        b"e1,ann@acme.com,web_visit,2025-02-01T10:00:00Z,\n"
        b"e2,ANN@acme.com ,Webinar Registered,2025-02-02T10:00:00+02:00,Spring Webinar\n"
        b"e3,stranger@acme.com,web_visit,2025-02-03T10:00:00Z,\n"
        b"e4,bo@acme.com,web_visit,2025-02-04T10:00:00Z,Autumn Webinar\n"
        b"e5,bo@acme.com,partner:login,2025-02-05T10:00:00Z,\n"
        b"e6,bo@acme.com,email_open,next tuesday,\n"
        b"e7,bo@acme.com,email_open,2025-02-07,\n"
    )
    report = import_activities(db, data, now=NOW, name="events.csv")
    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    assert sorted((r.line, r.code, r.field) for r in report.rejections) == [
        (4, RejectCode.UNKNOWN_REFERENCE, "email"),
        (5, RejectCode.UNKNOWN_REFERENCE, "program"),
        (6, RejectCode.BAD_VALUE, "type"),
        (7, RejectCode.BAD_DATE, "occurred_at"),
    ]
    by_line = {r.line: r.message for r in report.rejections}
    assert "stranger@acme.com" in by_line[4] and "import people before" in by_line[4]
    assert "Autumn Webinar" in by_line[5]
    assert activity_rows(db) == {
        ("e1", "ann@acme.com", "web_visit", utc("2025-02-01T10:00:00+00:00"), None, ()),
        # Email matched after normalising; type spelled in snake case; time in UTC.
        (
            "e2",
            "ann@acme.com",
            "webinar_registered",
            utc("2025-02-02T08:00:00+00:00"),
            "Spring Webinar",
            (),
        ),
        ("e7", "bo@acme.com", "email_open", utc("2025-02-07T00:00:00+00:00"), None, ()),
    }
    with db.reading() as conn:
        received = set(conn.execute(select(schema.activities.c.received_at)).scalars())
        runs = schema.import_runs
        run = conn.execute(select(runs).where(runs.c.kind == "activities")).mappings().one()
    assert received == {NOW}
    assert (run["inserted"], run["rejected"]) == (3, 4)


def test_same_event_id_is_stored_once(db: Database) -> None:
    setup_people(db)
    data = (
        b"event_id,email,type,occurred_at\n"
        b"e1,ann@acme.com,web_visit,2025-02-01T10:00:00Z\n"
        b"e1,ann@acme.com,web_visit,2025-02-01T10:00:00Z\n"
        b"e1,bo@acme.com,email_open,2025-03-01T10:00:00Z\n"
    )
    report = import_activities(db, data, now=NOW)
    assert (report.inserted, report.unchanged, report.rejected) == (1, 2, 0)
    # The first line with an id is the one kept.
    assert activity_rows(db) == {
        ("e1", "ann@acme.com", "web_visit", utc("2025-02-01T10:00:00+00:00"), None, ())
    }
    again = import_activities(
        db, b"event_id,email,type,occurred_at\ne1,bo@acme.com,email_click,2025-04-01\n", now=LATER
    )
    assert (again.inserted, again.unchanged) == (0, 1)
    assert len(activity_rows(db)) == 1


def test_events_without_id_get_a_derived_id_and_reimport_is_idempotent(db: Database) -> None:
    setup_people(db)
    data = (
        b"email,type,occurred_at,url,referrer\n"
        b"ann@acme.com,web_visit,2025-02-01T10:00:00Z,/pricing,google\n"
        b"ann@acme.com,web_visit,2025-02-01T10:00:00Z,/docs,google\n"  # other content
        b"ann@acme.com,web_visit,2025-02-01T10:00:00Z,/pricing,google\n"  # the same event
        b"bo@acme.com,web_visit,2025-02-01T10:00:00Z,/pricing,\n"
    )
    report = import_activities(db, data, now=NOW)
    assert (report.inserted, report.unchanged) == (3, 1)
    stored = activity_rows(db)
    assert all(row[0].startswith("derived:") for row in stored)
    assert len({row[0] for row in stored}) == 3
    assert {row[5] for row in stored} == {
        (("referrer", "google"), ("url", "/pricing")),
        (("referrer", "google"), ("url", "/docs")),
        (("url", "/pricing"),),
    }

    again = import_activities(db, data, now=LATER)
    assert (again.inserted, again.unchanged) == (0, 4)
    assert activity_rows(db) == stored

    # The same events exported with other spellings and another column order.
    reordered = (
        b"referrer,url,occurred_at,type,email\n"
        b"google,/docs,2025-02-01T12:00:00+02:00,Web Visit,ANN@ACME.COM\n"
        b",/pricing,2025-02-01 10:00:00,web_visit,bo@acme.com\n"
    )
    third = import_activities(db, reordered, now=LATER)
    assert (third.inserted, third.unchanged) == (0, 2)
    assert activity_rows(db) == stored


def test_custom_types_are_registered_once_and_builtins_carry_their_label(db: Database) -> None:
    setup_people(db)
    data = (
        b"event_id,email,type,occurred_at\n"
        b"e1,ann@acme.com,partner_portal_login,2025-02-01\n"
        b"e2,ann@acme.com,web_visit,2025-02-02\n"
    )
    import_activities(db, data, now=NOW)
    import_activities(db, data.replace(b"e1", b"e3").replace(b"e2", b"e4"), now=LATER)
    with db.reading() as conn:
        types = {r.name: r for r in conn.execute(select(schema.activity_types))}
    assert set(types) == {"partner_portal_login", "web_visit"}
    assert (types["web_visit"].builtin, types["web_visit"].label) == (True, "Visit web page")
    assert types["partner_portal_login"].builtin is False
    assert types["partner_portal_login"].category == "custom"
    assert types["partner_portal_login"].created_at == NOW


def test_a_program_touch_makes_the_person_a_member_from_the_first_touch(db: Database) -> None:
    setup_people(db)
    import_activities(
        db,
        b"event_id,email,type,occurred_at,program\n"
        b"e1,ann@acme.com,webinar_attended,2025-03-05,Spring Webinar\n"
        b"e2,ann@acme.com,webinar_registered,2025-03-01,Spring Webinar\n",
        now=NOW,
    )
    import_activities(
        db,
        b"event_id,email,type,occurred_at,program\n"
        b"e0,ann@acme.com,email_click,2025-02-20,Spring Webinar\n"
        b"e9,ann@acme.com,email_click,2025-04-20,Spring Webinar\n",
        now=NOW,
    )
    with db.reading() as conn:
        members = conn.execute(select(schema.program_members)).mappings().all()
    assert len(members) == 1
    assert members[0]["status"] == "touched"
    assert members[0]["first_touch_at"] == utc("2025-02-20T00:00:00+00:00")


def test_unsubscribe_sets_the_flag_as_of_the_event_time(db: Database) -> None:
    setup_people(db)
    report = import_activities(
        db,
        b"event_id,email,type,occurred_at\n"
        b"u1,ann@acme.com,unsubscribe,2025-03-01T09:00:00Z\n"
        b"v1,bo@acme.com,web_visit,2025-03-01T09:00:00Z\n",
        now=NOW,
    )
    assert report.inserted == 2
    with db.reading() as conn:
        flags = dict(
            conn.execute(select(schema.people.c.email, schema.people.c.unsubscribed)).all()
        )
        before = reads.person_as_of(conn, "ann@acme.com", utc("2025-02-28T00:00:00+00:00"))
        after = reads.person_as_of(conn, "ann@acme.com", utc("2025-03-01T09:00:00+00:00"))
    assert flags == {"ann@acme.com": True, "bo@acme.com": False}
    assert before is not None and before.fields["unsubscribed"] is False
    assert after is not None and after.fields["unsubscribed"] is True

    # A people file saying 'subscribed' as of an older time does not undo it...
    import_people(db, b"email,unsubscribed,updated_at\nann@acme.com,no,2025-02-01\n", now=NOW)
    with db.reading() as conn:
        assert reads.person_as_of(conn, "ann@acme.com").fields["unsubscribed"] is True  # type: ignore[union-attr]
    # ...one as of a later time does (last writer wins, by the record's own time).
    import_people(db, b"email,unsubscribed,updated_at\nann@acme.com,no,2025-04-01\n", now=NOW)
    with db.reading() as conn:
        assert reads.person_as_of(conn, "ann@acme.com").fields["unsubscribed"] is False  # type: ignore[union-attr]


def test_every_unsubscribe_counts_as_of_its_time_whatever_the_order(
    db: Database, reset_store: Callable[[Database], None]
) -> None:
    events = (
        b"event_id,email,type,occurred_at\n"
        b"u1,ann@acme.com,unsubscribe,2025-03-01T00:00:00Z\n"
        b"u2,ann@acme.com,unsubscribe,2025-05-01T00:00:00Z\n"
    )
    resubscribed = b"email,unsubscribed,updated_at\nann@acme.com,no,2025-04-01\n"
    days = ["2025-02-15", "2025-03-15", "2025-04-15", "2025-05-15"]
    for people_first in (True, False):
        reset_store(db)
        setup_people(db)
        steps = [
            lambda: import_people(db, resubscribed, now=NOW),
            lambda: import_activities(db, events, now=NOW),
        ]
        for step in steps if people_first else steps[::-1]:
            step()
        with db.reading() as conn:
            flags = [
                reads.person_as_of(conn, "ann@acme.com", utc(f"{d}T00:00:00+00:00")) for d in days
            ]
        assert [f and f.fields["unsubscribed"] for f in flags] == [False, True, False, True]


def test_activities_attributes_from_unmapped_columns_and_json(db: Database) -> None:
    setup_people(db)
    data = (
        b"event_id,email,type,occurred_at,attributes,utm_source\n"
        b'e1,ann@acme.com,form_fill,2025-02-01,"{""form"": ""Contact us""}",google\n'
        b"e2,ann@acme.com,form_fill,2025-02-02,,\n"
    )
    import_activities(db, data, now=NOW)
    attrs = {row[0]: dict(row[5]) for row in activity_rows(db)}
    assert attrs == {"e1": {"form": "Contact us", "utm_source": "google"}, "e2": {}}


# -- order independence ---------------------------------------------------------------------

EVENT_TYPES = ["web_visit", "email_open", "partner_portal_login"]


@st.composite
def event_lines(draw: st.DrawFn) -> list[str]:
    """CSV lines of events: ids unique per content (or absent), exact duplicates included."""
    n = draw(st.integers(1, 12))
    lines = []
    for i in range(n):
        event_id = f"evt-{i}" if draw(st.booleans()) else ""
        email = draw(st.sampled_from(["ann@acme.com", "Bo@Acme.com "]))
        type_ = draw(st.sampled_from(EVENT_TYPES))
        moment = dt.datetime(2025, 2, 1, tzinfo=dt.UTC) + dt.timedelta(
            minutes=draw(st.integers(0, 3))
        )
        url = draw(st.sampled_from(["", "/a", "/b"]))
        lines.append(f"{event_id},{email},{type_},{moment.isoformat()},{url}\n")
    duplicates = draw(st.lists(st.sampled_from(lines), max_size=3))
    return lines + duplicates


def _file(lines: list[str]) -> bytes:
    return ("event_id,email,type,occurred_at,url\n" + "".join(lines)).encode()


@settings(max_examples=15)
@given(lines=event_lines(), seed=st.integers(0, 2**32 - 1))
def test_activities_in_any_order_or_twice_give_the_same_rows(
    db: Database, reset_store: Callable[[Database], None], lines: list[str], seed: int
) -> None:
    reset_store(db)
    import_people(db, PEOPLE_CSV, now=NOW)
    import_activities(db, _file(lines), now=NOW)
    expected = activity_rows(db)

    reset_store(db)
    import_people(db, PEOPLE_CSV, now=NOW)
    shuffled = lines[:]
    random.Random(seed).shuffle(shuffled)
    first = import_activities(db, _file(shuffled), now=NOW)
    second = import_activities(db, _file(lines), now=LATER)
    assert activity_rows(db) == expected
    assert second.inserted == 0 and second.unchanged == len(lines)
    assert first.inserted == len(expected)
    # One row per distinct event: an explicit id, or else the content.
    distinct = {line.split(",", 1)[0] or line.lower().replace(" ", "") for line in lines}
    assert len(expected) == len(distinct)
