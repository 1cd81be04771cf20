"""Importing opportunities: snapshots kept as history, references, contacts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from revmachine.ingest.errors import RejectCode
from revmachine.services.imports import (
    import_accounts,
    import_opportunities,
    import_people,
    import_reps,
)
from revmachine.store import schema
from revmachine.store.database import Database

NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2025, 8, 1, 12, 0, tzinfo=dt.UTC)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def setup_refs(db: Database) -> None:
    import_reps(db, b"email,name\nolivia@acme.com,Olivia Stone\n", now=NOW)
    import_accounts(db, b"name,domain\nContoso Ltd,contoso.com\nFabrikam,fabrikam.de\n", now=NOW)
    import_people(db, b"email\nben@contoso.com\nchloe@fabrikam.de\n", now=NOW)


def opportunities(db: Database) -> dict[str, dict[str, Any]]:
    with db.reading() as conn:
        return {
            r["external_id"]: dict(r) for r in conn.execute(select(schema.opportunities)).mappings()
        }


def history(db: Database, external_id: str) -> list[tuple[Any, ...]]:
    h, o = schema.opportunity_history, schema.opportunities
    with db.reading() as conn:
        rows = conn.execute(
            select(h.c.occurred_at, h.c.stage, h.c.status, h.c.amount, h.c.close_date)
            .join(o, o.c.id == h.c.opportunity_id)
            .where(o.c.external_id == external_id)
            .order_by(h.c.occurred_at, h.c.id)
        ).all()
    return [tuple(r) for r in rows]


OPPS = (
    b"opportunity_id,name,account,amount,stage,status,created_at,close_date,owner,contacts\n"
    b"OPP-1,Contoso Platform,contoso.com,120000,Proposal,,2025-03-10,2025-07-31,"
    b"olivia@acme.com,ben@contoso.com:Champion\n"
    b"OPP-2,Fabrikam Expansion,Fabrikam,64000.5,Closed Won,,2025-02-02,2025-05-20,"
    b"Olivia Stone,chloe@fabrikam.de:Economic Buyer;ben@contoso.com:\n"
    b"OPP-3,Lost Deal,,18000,Negotiation,lost,2025-01-20,2025-04-02,,\n"
    b"OPP-4,Unknown Account,nowhere.com,1,,,2025-01-01,,,\n"
    b"OPP-5,Unknown Owner,,1,,,2025-01-01,,nobody@acme.com,\n"
    b"OPP-6,Unknown Contact,,1,,,2025-01-01,,,ghost@contoso.com:User\n"
    b"OPP-7,Bad Status,,1,,pending,2025-01-01,,,\n"
    b"OPP-8,No Created Date,,1,,,,,,\n"
)


def test_counts_rejections_and_stored_deals(db: Database) -> None:
    setup_refs(db)
    report = import_opportunities(db, OPPS, now=NOW)
    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    assert sorted((r.line, r.code, r.field) for r in report.rejections) == [
        (5, RejectCode.UNKNOWN_REFERENCE, "account"),
        (6, RejectCode.UNKNOWN_REFERENCE, "owner"),
        (7, RejectCode.UNKNOWN_REFERENCE, "contacts"),
        (8, RejectCode.BAD_VALUE, "status"),
        (9, RejectCode.MISSING_REQUIRED, "created_at"),
    ]
    opps = opportunities(db)
    assert sorted(opps) == ["OPP-1", "OPP-2", "OPP-3"]
    one, two, three = opps["OPP-1"], opps["OPP-2"], opps["OPP-3"]
    assert (one["status"], one["stage"], one["amount"]) == ("open", "Proposal", Decimal("120000"))
    assert one["closed_at"] is None and one["currency"] == "USD"
    # Status read from the stage when not given; closed at the start of the close date.
    assert (two["status"], two["amount"]) == ("won", Decimal("64000.50"))
    assert two["closed_at"] == utc("2025-05-20T00:00:00")
    assert three["status"] == "lost"
    assert one["owner_id"] == two["owner_id"] is not None  # by email and by name
    assert one["account_id"] != two["account_id"]

    with db.reading() as conn:
        contacts = (
            conn.execute(
                select(schema.opportunity_contacts, schema.people.c.email).join(schema.people)
            )
            .mappings()
            .all()
        )
    by_opp = {(c["opportunity_id"], c["email"]): (c["role"], c["is_primary"]) for c in contacts}
    assert by_opp == {
        (one["id"], "ben@contoso.com"): ("Champion", True),
        (two["id"], "chloe@fabrikam.de"): ("Economic Buyer", True),
        (two["id"], "ben@contoso.com"): (None, False),
    }


def test_a_deal_imported_closed_is_open_from_creation_until_its_close(db: Database) -> None:
    setup_refs(db)
    import_opportunities(db, OPPS, now=NOW)
    assert history(db, "OPP-2") == [
        (utc("2025-02-02T00:00:00"), None, "open", Decimal("64000.50"), dt.date(2025, 5, 20)),
        (
            utc("2025-05-20T00:00:00"),
            "Closed Won",
            "won",
            Decimal("64000.50"),
            dt.date(2025, 5, 20),
        ),
    ]
    assert history(db, "OPP-1") == [
        (
            utc("2025-03-10T00:00:00"),
            "Proposal",
            "open",
            Decimal("120000.00"),
            dt.date(2025, 7, 31),
        ),
    ]


def test_reimport_is_unchanged_and_changes_append_history(db: Database) -> None:
    setup_refs(db)
    import_opportunities(db, OPPS, now=NOW)
    again = import_opportunities(db, OPPS, now=LATER)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert len(history(db, "OPP-1")) == 1

    moved = (
        b"opportunity_id,stage,amount,created_at,updated_at,close_date\n"
        b"OPP-1,Negotiation,150000,2025-03-10,2025-05-01,2025-07-31\n"
    )
    report = import_opportunities(db, moved, now=LATER)
    assert (report.inserted, report.updated) == (0, 1)
    one = opportunities(db)["OPP-1"]
    assert (one["stage"], one["amount"], one["updated_at"]) == (
        "Negotiation",
        Decimal("150000"),
        utc("2025-05-01T00:00:00"),
    )
    assert one["name"] == "Contoso Platform"  # not in the file: kept
    assert [h[1] for h in history(db, "OPP-1")] == ["Proposal", "Negotiation"]

    # An older snapshot arriving late goes into history but does not become current.
    late = (
        b"opportunity_id,stage,amount,created_at,updated_at,close_date\n"
        b"OPP-1,Discovery,100000,2025-03-10,2025-04-01,2025-07-31\n"
    )
    import_opportunities(db, late, now=LATER)
    assert opportunities(db)["OPP-1"]["stage"] == "Negotiation"
    assert [h[1] for h in history(db, "OPP-1")] == ["Proposal", "Discovery", "Negotiation"]


def test_a_file_without_currency_keeps_the_known_currency(db: Database) -> None:
    import_opportunities(
        db, b"opportunity_id,amount,currency,created_at\nOPP-9,100,eur,2025-01-01\n", now=NOW
    )
    assert opportunities(db)["OPP-9"]["currency"] == "EUR"
    report = import_opportunities(
        db, b"opportunity_id,amount,created_at\nOPP-9,100,2025-01-01\n", now=LATER
    )
    assert (report.updated, report.unchanged) == (0, 1)
    assert opportunities(db)["OPP-9"]["currency"] == "EUR"
