"""Importing reference records: sales reps and teams, programs, program costs, accounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from revmachine.ingest.errors import RejectCode
from revmachine.services.imports import (
    import_accounts,
    import_costs,
    import_programs,
    import_reps,
)
from revmachine.store import schema
from revmachine.store.database import Database

NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2025, 8, 1, 12, 0, tzinfo=dt.UTC)


def rows(db: Database, table: Any, key: str) -> dict[Any, dict[str, Any]]:
    with db.reading() as conn:
        return {r[key]: dict(r) for r in conn.execute(select(table)).mappings()}


def counts(report: Any) -> tuple[int, int, int, int]:
    return report.inserted, report.updated, report.unchanged, report.rejected


# -- reps -----------------------------------------------------------------------------------

REPS = (
    b"email,name,team,region,role,territory,capacity\n"
    b"olivia@acme.com,Olivia Stone,Enterprise,Americas,lead,NA-East,40\n"
    b"liam@acme.com,Liam Chen,Enterprise,Americas,,NA-East,35\n"
    b"maya@acme.com,Maya Singh,Mid-Market,EMEA,Manager,,\n"
    b"noah@acme.com,Noah King,,,boss,,\n"
    b"bad-email,No One,,,rep,,\n"
)


def test_reps_and_teams(db: Database) -> None:
    report = import_reps(db, REPS, now=NOW)
    assert counts(report) == (3, 0, 0, 2)
    assert sorted((r.line, r.code, r.field) for r in report.rejections) == [
        (5, RejectCode.BAD_VALUE, "role"),
        (6, RejectCode.BAD_EMAIL, "email"),
    ]
    reps = rows(db, schema.sales_reps, "email")
    teams = {t["id"]: t for t in rows(db, schema.sales_teams, "name").values()}
    assert {e: r["role"] for e, r in reps.items()} == {
        "olivia@acme.com": "lead",
        "liam@acme.com": "rep",  # the default
        "maya@acme.com": "manager",
    }
    assert {e: teams[r["team_id"]]["name"] for e, r in reps.items()} == {
        "olivia@acme.com": "Enterprise",
        "liam@acme.com": "Enterprise",
        "maya@acme.com": "Mid-Market",
    }
    assert len(teams) == 2
    assert reps["olivia@acme.com"]["capacity"] == 40

    assert counts(import_reps(db, REPS, now=LATER)) == (0, 0, 3, 2)
    changed = b"email,name,territory\nliam@acme.com,Liam Chen,NA-West\n"
    assert counts(import_reps(db, changed, now=LATER)) == (0, 1, 0, 0)
    assert rows(db, schema.sales_reps, "email")["liam@acme.com"]["territory"] == "NA-West"


def test_a_reps_file_without_roles_keeps_the_known_roles(db: Database) -> None:
    import_reps(db, REPS, now=NOW)
    update = b"email,name,capacity\nolivia@acme.com,Olivia Stone,45\nmaya@acme.com,Maya Singh,\n"
    report = import_reps(db, update, now=LATER)
    assert counts(report) == (0, 1, 1, 0)
    reps = rows(db, schema.sales_reps, "email")
    assert (reps["olivia@acme.com"]["role"], reps["olivia@acme.com"]["capacity"]) == ("lead", 45)
    assert reps["maya@acme.com"]["role"] == "manager"


# -- programs and costs ---------------------------------------------------------------------


def test_programs(db: Database) -> None:
    data = (
        b"name,channel,start_date,end_date,attributes\n"
        b'Spring Webinar,Webinar,2025-03-01,2025-03-31,"{""owner"": ""Kim""}"\n'
        b"Brand Ads,paid search,2025-01-01,\n"
        b"Mystery,carrier pigeon,,\n"
        b"Bad Dates,email,2025-31-01,\n"
    )
    report = import_programs(db, data, now=NOW)
    assert counts(report) == (2, 0, 0, 2)
    problems = {r.line: r for r in report.rejections}
    assert (problems[4].code, problems[4].field) == (RejectCode.BAD_VALUE, "channel")
    assert "carrier pigeon" in problems[4].message and "webinar" in problems[4].message
    assert problems[5].code is RejectCode.BAD_DATE
    programs = rows(db, schema.programs, "name")
    assert programs["Spring Webinar"]["channel"] == "webinar"
    assert programs["Brand Ads"]["channel"] == "paid_search"
    assert programs["Spring Webinar"]["start_date"] == dt.date(2025, 3, 1)
    assert programs["Spring Webinar"]["attributes"] == {"owner": "Kim"}
    assert programs["Brand Ads"]["end_date"] is None
    assert counts(import_programs(db, data, now=LATER)) == (0, 0, 2, 2)


def test_costs(db: Database) -> None:
    import_programs(db, b"name,channel\nSpring Webinar,webinar\n", now=NOW)
    data = (
        b"program,period_start,period_end,amount,currency,channel\n"
        b'Spring Webinar,2025-02-01,,"$4,000.00",usd,\n'  # period_end: end of month
        b"Spring Webinar,2025-03-01,2025-03-15,1500,EUR,\n"
        b"Unknown Program,2025-02-01,,100,,\n"
        b"New Trade Show,2025-02-01,,2500.50,,trade show\n"  # creates the program
        b"Spring Webinar,2025-04-10,2025-04-01,10,,\n"
        b"Spring Webinar,2025-05-01,,-10,,\n"
        b"Spring Webinar,2025-06-01,,ten,,\n"
    )
    report = import_costs(db, data, now=NOW)
    assert counts(report) == (3, 0, 0, 4)
    assert sorted((r.line, r.code, r.field) for r in report.rejections) == [
        (4, RejectCode.UNKNOWN_REFERENCE, "program"),
        (6, RejectCode.BAD_VALUE, "period_end"),
        (7, RejectCode.BAD_NUMBER, "amount"),
        (8, RejectCode.BAD_NUMBER, "amount"),
    ]
    programs = {p["id"]: name for name, p in rows(db, schema.programs, "name").items()}
    assert rows(db, schema.programs, "name")["New Trade Show"]["channel"] == "trade_show"
    with db.reading() as conn:
        costs = conn.execute(select(schema.program_costs)).mappings().all()
    assert sorted(
        (programs[c["program_id"]], c["period_start"], c["period_end"], c["amount"], c["currency"])
        for c in costs
    ) == [
        ("New Trade Show", dt.date(2025, 2, 1), dt.date(2025, 2, 28), Decimal("2500.50"), "USD"),
        ("Spring Webinar", dt.date(2025, 2, 1), dt.date(2025, 2, 28), Decimal("4000.00"), "USD"),
        ("Spring Webinar", dt.date(2025, 3, 1), dt.date(2025, 3, 15), Decimal("1500.00"), "EUR"),
    ]
    assert counts(import_costs(db, data, now=LATER)) == (0, 0, 3, 4)

    update = b"program,period_start,amount\nSpring Webinar,2025-02-01,4200\n"
    assert counts(import_costs(db, update, now=LATER)) == (0, 1, 0, 0)
    with db.reading() as conn:
        cost = (
            conn.execute(
                select(schema.program_costs).where(schema.program_costs.c.amount == Decimal("4200"))
            )
            .mappings()
            .one()
        )
    assert (cost["created_at"], cost["updated_at"]) == (NOW, LATER)


def test_a_costs_file_without_currency_keeps_the_known_currency(db: Database) -> None:
    import_programs(db, b"name,channel\nSpring Webinar,webinar\n", now=NOW)
    import_costs(
        db, b"program,period_start,amount,currency\nSpring Webinar,2025-02-01,10,EUR\n", now=NOW
    )
    report = import_costs(
        db, b"program,period_start,amount\nSpring Webinar,2025-02-01,10\n", now=LATER
    )
    assert counts(report) == (0, 0, 1, 0)
    with db.reading() as conn:
        assert conn.execute(select(schema.program_costs.c.currency)).scalar_one() == "EUR"


def test_amounts_with_more_than_two_decimals_are_idempotent(db: Database) -> None:
    import_programs(db, b"name,channel\nSpring Webinar,webinar\n", now=NOW)
    data = b"program,period_start,amount\nSpring Webinar,2025-02-01,10.005\n"
    assert counts(import_costs(db, data, now=NOW)) == (1, 0, 0, 0)
    assert counts(import_costs(db, data, now=LATER)) == (0, 0, 1, 0)
    with db.reading() as conn:
        [amount] = conn.execute(select(schema.program_costs.c.amount)).scalars()
    # Stored in cents, the same on both backends.
    assert amount in (Decimal("10.00"), Decimal("10.01"))


# -- accounts -------------------------------------------------------------------------------


def test_accounts(db: Database) -> None:
    import_reps(db, b"email,name\nmaya@acme.com,Maya Singh\n", now=NOW)
    data = (
        b"name,domain,industry,employee_count,annual_revenue,segment,country,owner,created_at\n"
        b'Acme Corp,https://www.Acme.com/about,Tech,1200,"$5,000,000",Enterprise,US,'
        b"maya@acme.com,2024-01-15\n"
        b"Globex,globex.com,Retail,,,,,,\n"
        b"Initech,,,,,,,,\n"
        b"Hooli,hooli.com,,,,,,nobody@acme.com,\n"
        b"Umbrella,umbrella.com,,lots,,,,,\n"
    )
    report = import_accounts(db, data, now=NOW)
    assert counts(report) == (3, 0, 0, 2)
    assert sorted((r.line, r.code, r.field) for r in report.rejections) == [
        (5, RejectCode.UNKNOWN_REFERENCE, "owner"),
        (6, RejectCode.BAD_NUMBER, "employee_count"),
    ]
    accounts = rows(db, schema.accounts, "name")
    acme = accounts["Acme Corp"]
    assert (acme["domain"], acme["name_key"]) == ("acme.com", "acme corp")
    assert acme["annual_revenue"] == Decimal("5000000")
    assert acme["owner_id"] == rows(db, schema.sales_reps, "email")["maya@acme.com"]["id"]
    assert acme["created_at"] == dt.datetime(2024, 1, 15, tzinfo=dt.UTC)
    assert accounts["Globex"]["created_at"] == NOW
    assert accounts["Initech"]["domain"] is None

    assert counts(import_accounts(db, data, now=LATER)) == (0, 0, 3, 2)

    # Matched by domain (any spelling), else by name among accounts without a domain.
    update = (
        b"name,domain,industry,segment,Tier\n"
        b"Acme Corporation,ACME.COM,,,gold\n"
        b"INITECH ,,Software,,\n"
        b"Globex,,,,\n"  # no domain: a new account named Globex without one
    )
    report = import_accounts(db, update, now=LATER)
    assert counts(report) == (1, 2, 0, 0)
    accounts = rows(db, schema.accounts, "name")
    assert "Acme Corp" not in accounts
    acme2 = accounts["Acme Corporation"]
    assert (acme2["id"], acme2["industry"], acme2["attributes"]) == (
        acme["id"],
        "Tech",
        {"Tier": "gold"},
    )
    assert acme2["updated_at"] == LATER and acme2["created_at"] == acme["created_at"]
    assert rows(db, schema.accounts, "name_key")["initech"]["industry"] == "Software"
