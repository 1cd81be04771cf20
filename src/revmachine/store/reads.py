"""Reads that can be asked "as of" a time: the state the business knew at that moment.

`as_of` is inclusive and compares with each fact's own time (`occurred_at`, `created_at`):
the event log is read in valid time, which is what "what did the funnel look like last
quarter" means, even for history that was imported later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from revmachine.model.person_history import (
    ATTR_PREFIX,
    FieldTimes,
    Observation,
    keys_after,
    values_as_of,
)
from revmachine.store import schema

PERSON_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "seniority",
    "company",
    "account_id",
    "industry",
    "employee_count",
    "country",
    "lead_source",
    "acquisition_program_id",
    "email_opt_in",
    "unsubscribed",
    "owner_id",
)


@dataclass(frozen=True)
class PersonSnapshot:
    id: int
    email: str
    fields: dict[str, Any]
    attributes: dict[str, Any]
    created_at: dt.datetime


def person_as_of(
    conn: Connection, email: str, as_of: dt.datetime | None = None
) -> PersonSnapshot | None:
    """The person as known at `as_of` (None if they did not exist yet); now if omitted.

    Each field is read from its observations (`model.person_history`): the `people` row
    holds the latest, `person_changes` the others, which are loaded only for the fields
    whose latest observation is after `as_of`. The answer depends on which records were
    imported, not on the order they were imported in.
    """
    p = schema.people
    row = conn.execute(select(p).where(p.c.email == email.strip().lower())).mappings().first()
    if row is None or (as_of is not None and row["created_at"] > as_of):
        return None
    fields = {f: row[f] for f in PERSON_FIELDS}
    attributes = dict(row["attributes"] or {})
    if as_of is not None:
        doc = FieldTimes.from_json(row["field_times"])
        current: dict[str, Any] = {f: v for f, v in fields.items() if v is not None}
        current.update({ATTR_PREFIX + k: v for k, v in attributes.items()})
        history = _history(conn, row["id"], keys_after(current, doc, as_of))
        then = values_as_of(current, doc, history, as_of)
        fields = {f: then.get(f) for f in PERSON_FIELDS}
        attributes = {
            k.removeprefix(ATTR_PREFIX): v for k, v in then.items() if k.startswith(ATTR_PREFIX)
        }
    fields["unsubscribed"] = bool(fields["unsubscribed"])
    return PersonSnapshot(row["id"], row["email"], fields, attributes, row["created_at"])


def _history(conn: Connection, person_id: int, keys: list[str]) -> dict[str, list[Observation]]:
    if not keys:
        return {}
    ch = schema.person_changes
    stmt = select(ch.c.field, ch.c.occurred_at, ch.c.new_value).where(
        ch.c.person_id == person_id, ch.c.field.in_(sorted(keys))
    )
    found: dict[str, list[Observation]] = {}
    for key, at, new in conn.execute(stmt):
        found.setdefault(key, []).append((at, (new or {}).get("v")))
    return found


def people_count_as_of(conn: Connection, as_of: dt.datetime) -> int:
    p = schema.people
    return int(conn.execute(select(func.count()).where(p.c.created_at <= as_of)).scalar_one())


def activities_as_of(
    conn: Connection, person_id: int, as_of: dt.datetime, limit: int | None = None
) -> list[dict[str, Any]]:
    a = schema.activities
    stmt = (
        select(a.c.event_id, a.c.type, a.c.occurred_at, a.c.program_id, a.c.attributes)
        .where(a.c.person_id == person_id, a.c.occurred_at <= as_of)
        .order_by(a.c.occurred_at.desc(), a.c.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [dict(r) for r in conn.execute(stmt).mappings()]


@dataclass(frozen=True)
class OpportunityState:
    id: int
    external_id: str
    stage: str | None
    status: str
    amount: Decimal | None
    close_date: dt.date | None
    as_of: dt.datetime


def opportunities_as_of(
    conn: Connection, as_of: dt.datetime, *, status: str | None = None
) -> list[OpportunityState]:
    """Every opportunity that existed at `as_of`, in the state its latest snapshot gave."""
    h, o = schema.opportunity_history, schema.opportunities
    latest = (
        select(
            h.c.opportunity_id,
            func.max(h.c.occurred_at).label("at"),
        )
        .where(h.c.occurred_at <= as_of)
        .group_by(h.c.opportunity_id)
        .subquery()
    )
    # Ties on time are broken by the snapshot recorded last.
    last_id = (
        select(h.c.opportunity_id, func.max(h.c.id).label("hid"))
        .join(
            latest,
            and_(latest.c.opportunity_id == h.c.opportunity_id, latest.c.at == h.c.occurred_at),
        )
        .group_by(h.c.opportunity_id)
        .subquery()
    )
    stmt = (
        select(o.c.id, o.c.external_id, h.c.stage, h.c.status, h.c.amount, h.c.close_date)
        .join(last_id, last_id.c.opportunity_id == o.c.id)
        .join(h, h.c.id == last_id.c.hid)
        .where(o.c.created_at <= as_of)
        .order_by(o.c.id)
    )
    if status is not None:
        stmt = stmt.where(h.c.status == status)
    return [
        OpportunityState(r.id, r.external_id, r.stage, r.status, r.amount, r.close_date, as_of)
        for r in conn.execute(stmt)
    ]


@dataclass(frozen=True)
class StoreCounts:
    people: int
    accounts: int
    activities: int
    opportunities: int
    programs: int
    reps: int


def counts(conn: Connection, as_of: dt.datetime | None = None) -> StoreCounts:
    def n(table: Any, time_col: str | None) -> int:
        stmt = select(func.count()).select_from(table)
        if as_of is not None and time_col is not None:
            stmt = stmt.where(table.c[time_col] <= as_of)
        return int(conn.execute(stmt).scalar_one())

    return StoreCounts(
        people=n(schema.people, "created_at"),
        accounts=n(schema.accounts, "created_at"),
        activities=n(schema.activities, "occurred_at"),
        opportunities=n(schema.opportunities, "created_at"),
        programs=n(schema.programs, "created_at"),
        reps=n(schema.sales_reps, "created_at"),
    )


@dataclass(frozen=True)
class LatestPrediction:
    person_id: int
    probability: float
    decile: int
    model_version: int
    as_of: dt.datetime
    scored_at: dt.datetime


def latest_predictions(
    conn: Connection, person_ids: Sequence[int], as_of: dt.datetime | None = None
) -> dict[int, LatestPrediction]:
    """Each person's latest prediction (`prediction_history`) as of `as_of` (all if None):
    the one with the latest as-of time, the later run on a tie."""
    ph = schema.prediction_history
    ids = sorted(set(person_ids))
    out: dict[int, LatestPrediction] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        stmt = (
            select(ph.c.person_id, ph.c.probability, ph.c.decile, ph.c.model_id, ph.c.as_of)
            .add_columns(ph.c.scored_at)
            .where(ph.c.person_id.in_(ids[start : start + 900]))
            .order_by(ph.c.person_id, ph.c.as_of, ph.c.id)
        )
        if as_of is not None:
            stmt = stmt.where(ph.c.as_of <= as_of)
        for pid, probability, decile, model, at, scored in conn.execute(stmt):
            out[pid] = LatestPrediction(pid, float(probability), int(decile), model, at, scored)
    return out
