"""Exports are spreadsheet-safe; importing a whole company twice changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

from revmachine.ingest.export import FORMULA_PREFIXES
from revmachine.services.exports import PEOPLE_COLUMNS, export_activities, export_people
from revmachine.services.imports import IMPORTERS, import_activities, import_people
from revmachine.store.database import Database

NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2025, 9, 1, 12, 0, tzinfo=dt.UTC)


def read_back(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_people_neutralises_formulas_but_the_store_keeps_them(db: Database) -> None:
    data = (
        b"email,first_name,last_name,company,employees,Note,created_at\n"
        b'ann@acme.com,Ann,-Smith,"=HYPERLINK(""http://x"")",-5,@cmd,2025-01-01T00:00:00Z\n'
        b"bo@acme.com,Bo,Lee,Acme,12,plain,2025-01-02T00:00:00Z\n"
    )
    import_people(db, data, now=NOW)
    out = io.StringIO()
    assert export_people(db, out) == 2
    rows = read_back(out.getvalue())
    assert list(rows[0]) == list(PEOPLE_COLUMNS)
    ann, bo = rows
    assert ann["company"] == '\'=HYPERLINK("http://x")'
    assert ann["last_name"] == "'-Smith"
    assert ann["employee_count"] == "-5"  # a negative number is not a formula
    assert ann["attributes"] == '{"Note": "@cmd"}'  # JSON text starts with '{'
    assert ann["created_at"].startswith("2025-01-01 00:00:00")
    assert (bo["company"], bo["unsubscribed"]) == ("Acme", "false")
    for row in rows:
        for value in row.values():
            if value.startswith(FORMULA_PREFIXES):
                float(value)


def test_export_activities(db: Database) -> None:
    import_people(db, b"email\nann@acme.com\n", now=NOW)
    import_activities(
        db,
        b"event_id,email,type,occurred_at,page\n"
        b"=1+1,ann@acme.com,web_visit,2025-02-01T10:00:00Z,+44 20\n"
        b"e2,ann@acme.com,email_open,2025-01-01T10:00:00Z,\n",
        now=NOW,
    )
    out = io.StringIO()
    assert export_activities(db, out) == 2
    rows = read_back(out.getvalue())
    by_type = {r["type"]: r for r in rows}
    assert by_type["web_visit"]["event_id"] == "'=1+1"
    assert by_type["web_visit"]["email"] == "ann@acme.com"
    assert by_type["web_visit"]["attributes"] == '{"page": "+44 20"}'
    assert by_type["email_open"]["attributes"] == ""


COMPANY: dict[str, bytes] = {
    "reps": b"email,name,team,region,role,territory,capacity\n"
    b"olivia@acme.com,Olivia Stone,Enterprise,Americas,lead,NA,40\n"
    b"liam@acme.com,Liam Chen,Enterprise,Americas,,NA,35\n",
    "programs": b"name,channel,start_date,end_date,attributes\n"
    b'Spring Webinar,webinar,2025-03-01,2025-03-31,"{""host"": ""Kim""}"\n'
    b"Brand Ads,paid_search,2025-01-01,\n",
    "accounts": b"name,domain,industry,employee_count,annual_revenue,owner,Tier\n"
    b"Contoso,contoso.com,Tech,8500,1000000.50,olivia@acme.com,gold\n"
    b"Initech,,Software,,,,\n",
    "costs": b"program,period_start,period_end,amount,currency,channel\n"
    b"Spring Webinar,2025-03-01,,4000,,\n"
    b"Trade Show,2025-04-01,2025-04-03,2500.50,EUR,trade_show\n",
    "people": b"email,first_name,title,company,lead_source,program,owner,email_opt_in,"
    b"created_at,updated_at,Plan\n"
    b"ben@contoso.com,Ben,Manager,Contoso,webinar,Spring Webinar,liam@acme.com,yes,"
    b"2025-03-05,2025-03-05,free\n"
    b"ben@contoso.com,,Director,,paid_search,Brand Ads,,,2025-03-01,2025-05-01,pro\n"
    b"cy@gmail.com,Cy,,Initech,,,,no,2025-04-01,,\n",
    "activities": b"event_id,email,type,occurred_at,program,url\n"
    b"e1,ben@contoso.com,webinar_registered,2025-03-02T10:00:00Z,Spring Webinar,\n"
    b",ben@contoso.com,web_visit,2025-03-03T10:00:00Z,,/pricing\n"
    b",cy@gmail.com,unsubscribe,2025-04-02T10:00:00Z,,\n"
    b"e4,cy@gmail.com,partner_login,2025-04-03T10:00:00Z,,\n",
    "opportunities": b"opportunity_id,name,account,amount,stage,created_at,close_date,owner,"
    b"contacts\n"
    b"OPP-1,Contoso Platform,contoso.com,120000,Closed Won,2025-03-10,2025-06-30,"
    b"olivia@acme.com,ben@contoso.com:Champion\n"
    b"OPP-2,Initech Pilot,Initech,5000,Discovery,2025-04-10,2025-09-30,Liam Chen,\n",
}


def test_importing_the_same_files_twice_leaves_identical_state(
    db: Database, state_of: Callable[[Database], dict[str, Any]]
) -> None:
    for kind, data in COMPANY.items():
        report = IMPORTERS[kind](db, data, now=NOW, name=f"{kind}.csv")
        assert report.rejected == 0, (kind, report.rejections)
    first = state_of(db)
    assert all(
        first[t]
        for t in (
            "people",
            "activities",
            "opportunity_history",
            "program_members",
            "person_changes",
            "program_costs",
        )
    )
    for kind, data in COMPANY.items():
        report = IMPORTERS[kind](db, data, now=LATER, name=f"{kind}.csv")
        assert (report.inserted, report.updated, report.rejected) == (0, 0, 0), kind
    assert state_of(db) == first
