"""The generated company as import files: one frame per kind, columns named as the imports'
fields (`ingest/fields.py`), so the demo goes in exactly as a user's CSV exports would.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from revmachine.demo.acquisition import Acquisition
from revmachine.demo.deals import Deal
from revmachine.demo.org import SEGMENTS, Accounts, Reps
from revmachine.demo.people import (
    COMPETITOR,
    DEPARTMENT_NAMES,
    REGULAR,
    SENIORITY_NAMES,
    STUDENT,
    Population,
)
from revmachine.demo.programs import Program
from revmachine.demo.timeline import DAY, Timeline
from revmachine.demo.vocab import COUNTRIES, INDUSTRIES

#: Import order: each kind's references are loaded before it.
KINDS = ("reps", "programs", "accounts", "costs", "people", "activities", "opportunities")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc(seconds: pl.Expr) -> pl.Expr:
    return pl.from_epoch(seconds, time_unit="s").dt.replace_time_zone("UTC")


def reps_table(reps: Reps) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "email": reps.email,
            "name": reps.name,
            "team": reps.team,
            "region": reps.region,
            "role": reps.role,
            "territory": [", ".join(t) or None for t in reps.territories],
            "capacity": reps.capacity,
        }
    )


def programs_table(programs: list[Program]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "name": [p.name for p in programs],
            "channel": [p.channel.value for p in programs],
            "start_date": [p.start for p in programs],
            "end_date": [p.end for p in programs],
        }
    )


def accounts_table(
    rng: np.random.Generator, tl: Timeline, accounts: Accounts, reps: Reps
) -> pl.DataFrame:
    created = tl.start_s - rng.integers(30 * DAY, 4 * 365 * DAY, accounts.count)
    return pl.DataFrame(
        {
            "name": accounts.name,
            "domain": accounts.domain,
            "industry": [INDUSTRIES[i].name for i in accounts.industry.tolist()],
            "employee_count": accounts.employees,
            "annual_revenue": accounts.annual_revenue,
            "segment": [SEGMENTS[s] for s in accounts.segment.tolist()],
            "country": [COUNTRIES[c].name for c in accounts.country.tolist()],
            "owner": [reps.email[o] for o in accounts.owner.tolist()],
            "created_at": created,
        }
    ).with_columns(utc(pl.col("created_at")).alias("created_at"))


def people_table(
    rng: np.random.Generator,
    people: Population,
    accounts: Accounts,
    acq: Acquisition,
    programs: list[Program],
) -> pl.DataFrame:
    """What a marketing database holds: some fields missing, as in real exports."""
    n = people.count
    acct = np.maximum(people.account, 0)
    regular = people.kind == REGULAR
    company = [
        accounts.name[a] if k == REGULAR else "Competitor Example Inc" if k == COMPETITOR else None
        for a, k in zip(acct.tolist(), people.kind.tolist(), strict=True)
    ]
    industry = [INDUSTRIES[i].name for i in accounts.industry[acct].tolist()]
    seniority = [
        SENIORITY_NAMES[s] if s >= 0 else "Student" if k == STUDENT else None
        for s, k in zip(people.seniority.tolist(), people.kind.tolist(), strict=True)
    ]
    return pl.DataFrame(
        {
            "email": people.email,
            "first_name": people.first_name,
            "last_name": people.last_name,
            "title": people.title,
            "seniority": seniority,
            "company": company,
            "industry": pl.Series(industry).set(pl.Series(~regular | (rng.random(n) < 0.2)), None),
            "employee_count": pl.Series(accounts.employees[acct]).set(
                pl.Series(~regular | (rng.random(n) < 0.3)), None
            ),
            "country": [COUNTRIES[c].name for c in people.country.tolist()],
            "lead_source": acq.lead_source,
            "program": [programs[p].name if p >= 0 else None for p in acq.program.tolist()],
            "email_opt_in": people.opt_in,
            "created_at": acq.created_s,
            "department": [
                DEPARTMENT_NAMES[d] if d >= 0 else None for d in people.department.tolist()
            ],
        }
    ).with_columns(utc(pl.col("created_at")).alias("created_at"))


def activities_table(
    activities: pl.DataFrame, people: Population, programs: list[Program]
) -> pl.DataFrame:
    """Numbered in time order: `evt-00000001` is the first thing that happened."""
    emails = pl.Series("email", people.email)
    names = pl.Series("program_name", [p.name for p in programs])
    return activities.with_row_index("n", offset=1).select(
        pl.format("evt-{}", pl.col("n").cast(pl.String).str.zfill(8)).alias("event_id"),
        pl.col("person")
        .map_batches(lambda s: emails.gather(s), return_dtype=pl.String)
        .alias("email"),
        "type",
        utc(pl.col("at")).alias("occurred_at"),
        pl.col("program")
        .map_batches(lambda s: names.gather(s), return_dtype=pl.String)
        .alias("program"),
        "url",
        "bounce",
        "rep",
        "opportunity",
    )


def opportunities_table(
    deals: list[Deal], tl: Timeline, people: Population, accounts: Accounts, reps: Reps
) -> pl.DataFrame:
    """A CRM history export: one row per snapshot, plus a row where a contact joined."""
    rows: list[dict[str, object]] = []
    end = tl.end_s
    for deal in deals:
        if deal.created >= end:
            continue
        product = deal.product
        account = accounts.name[deal.account]
        name = f"{account} - " + (
            "Renewal"
            if deal.kind == "renewal"
            else "Expansion"
            if deal.kind == "expansion"
            else product
        )
        common = {
            "opportunity_id": deal.id,
            "name": name,
            "account": accounts.domain[deal.account],
            "currency": "USD",
            "created_at": deal.created,
            "owner": reps.email[deal.owner],
            "product": product,
            "opportunity_type": deal.kind,
        }
        joined: dict[int, list[str]] = {}
        first = deal.snapshots[0].at
        for person, role, added in deal.contacts:
            joined.setdefault(max(added, first), []).append(f"{people.email[person]}:{role}")
        times = {s.at for s in deal.snapshots} | set(joined)
        for at in sorted(t for t in times if t < end):
            state = deal.state_at(at)
            closing = state.status != "open"
            rows.append(
                {
                    **common,
                    "amount": state.amount,
                    "stage": state.stage,
                    "status": state.status,
                    "close_date": state.close_date,
                    "lost_reason": deal.lost_reason if closing else None,
                    "won_reason": deal.won_reason if closing and deal.won else None,
                    "contacts": ";".join(joined.get(at, [])) or None,
                    "updated_at": at,
                }
            )
    frame = pl.DataFrame(
        rows,
        schema={
            "opportunity_id": pl.String, "name": pl.String, "account": pl.String,
            "currency": pl.String, "created_at": pl.Int64, "owner": pl.String,
            "product": pl.String, "opportunity_type": pl.String, "amount": pl.Float64,
            "stage": pl.String, "status": pl.String, "close_date": pl.Date,
            "lost_reason": pl.String, "won_reason": pl.String, "contacts": pl.String,
            "updated_at": pl.Int64,
        },
    )  # fmt: skip
    return frame.sort("updated_at", "opportunity_id").with_columns(
        utc(pl.col("created_at")).alias("created_at"), utc(pl.col("updated_at")).alias("updated_at")
    )


def decisions_table(decisions: pl.DataFrame, people: Population) -> pl.DataFrame:
    emails = pl.Series("email", people.email)
    return decisions.select(
        pl.col("person")
        .map_batches(lambda s: emails.gather(s), return_dtype=pl.String)
        .alias("email"),
        "decision",
        "reason",
        utc(pl.col("at")).alias("occurred_at"),
        "rep",
    )


def to_csv(frame: pl.DataFrame) -> bytes:
    return frame.write_csv(datetime_format=TIME_FORMAT, date_format="%Y-%m-%d").encode()


def date_of(seconds: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=seconds // DAY)
