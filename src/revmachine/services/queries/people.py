"""People: search with filters and keyset paging, one person, their stage and score history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, String, func, select

from revmachine.store import schema
from revmachine.store.reads import PERSON_FIELDS

#: The largest id a 64-bit column holds: a larger number names no one.
MAX_ID = 2**63 - 1
_P, _J, _R = schema.people, schema.journey_states, schema.sales_reps

PERSON_COLUMNS = ("id", "email", *PERSON_FIELDS, "attributes", "created_at", "updated_at")


@dataclass(frozen=True)
class PeopleFilter:
    """What a people search may filter on; every field is optional and they combine (AND)."""

    email: str | None = None
    company: str | None = None
    country: str | None = None
    lead_source: str | None = None
    account_id: int | None = None
    owner_email: str | None = None
    stage: str | None = None
    min_score: float | None = None
    created_since: dt.datetime | None = None
    updated_since: dt.datetime | None = None


def _base() -> Select[Any]:
    return select(
        *[_P.c[c] for c in PERSON_COLUMNS],
        _R.c.email.label("owner_email"),
        _J.c.stage,
        _J.c.stage_entered_at,
        _J.c.fit,
        _J.c.behavior,
        _J.c.total,
    ).select_from(
        _P.outerjoin(_J, _J.c.person_id == _P.c.id).outerjoin(_R, _R.c.id == _P.c.owner_id)
    )


def _as_dict(row: Any) -> dict[str, Any]:
    m = dict(row._mapping)
    fit, behavior, total = m.pop("fit"), m.pop("behavior"), m.pop("total")
    m["score"] = None if total is None else {"fit": fit, "behavior": behavior, "total": total}
    m["attributes"] = dict(m["attributes"] or {})
    return m


def find_people(
    conn: Connection, f: PeopleFilter, *, after: int, limit: int, owner_id: int | None
) -> list[dict[str, Any]]:
    """Up to `limit` people with id > `after`, in id order."""
    stmt = _base().where(_P.c.id > after)
    if owner_id is not None:
        stmt = stmt.where(_P.c.owner_id == owner_id)
    if f.email is not None:
        stmt = stmt.where(_P.c.email == f.email.strip().lower())
    if f.company is not None:
        stmt = stmt.where(func.lower(_P.c.company) == f.company.strip().lower())
    if f.country is not None:
        stmt = stmt.where(_P.c.country == f.country)
    if f.lead_source is not None:
        stmt = stmt.where(_P.c.lead_source == f.lead_source)
    if f.account_id is not None:
        stmt = stmt.where(_P.c.account_id == f.account_id)
    if f.owner_email is not None:
        stmt = stmt.where(_R.c.email == f.owner_email.strip().lower())
    if f.stage is not None:
        stmt = stmt.where(_J.c.stage == f.stage)
    if f.min_score is not None:
        stmt = stmt.where(_J.c.total >= f.min_score)
    if f.created_since is not None:
        stmt = stmt.where(_P.c.created_at >= f.created_since)
    if f.updated_since is not None:
        stmt = stmt.where(_P.c.updated_at >= f.updated_since)
    return [_as_dict(r) for r in conn.execute(stmt.order_by(_P.c.id).limit(limit))]


def person_id_for(conn: Connection, ref: str, owner_id: int | None) -> int | None:
    """A person by id (digits) or email, None if unknown or outside `owner_id`'s leads."""
    stmt = select(_P.c.id)
    if ref.isdigit():
        if int(ref) > MAX_ID:
            return None
        stmt = stmt.where(_P.c.id == int(ref))
    else:
        stmt = stmt.where(_P.c.email == ref.strip().lower())
    if owner_id is not None:
        stmt = stmt.where(_P.c.owner_id == owner_id)
    found = conn.execute(stmt).scalar()
    return int(found) if found is not None else None


def get_person(conn: Connection, person_id: int) -> dict[str, Any] | None:
    row = conn.execute(_base().where(_P.c.id == person_id)).first()
    return _as_dict(row) if row is not None else None


def stage_history(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    st = schema.stage_transitions
    stmt = (
        select(
            st.c.id,
            st.c.from_stage,
            st.c.to_stage,
            st.c.occurred_at,
            st.c.rule,
            st.c.reason,
            st.c.model_version,
        )
        .where(st.c.person_id == person_id)
        .order_by(st.c.occurred_at, st.c.id)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def score_history(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    sc = schema.score_changes
    stmt = (
        select(
            sc.c.id,
            sc.c.occurred_at,
            sc.c.fit,
            sc.c.behavior,
            sc.c.total,
            sc.c.rule,
            sc.c.reason,
            sc.c.model_version,
        )
        .where(sc.c.person_id == person_id)
        .order_by(sc.c.occurred_at, sc.c.id)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def people_by_stage(conn: Connection, owner_id: int | None) -> dict[str, int]:
    """How many people are in each stage now (the revenue model's current state)."""
    stmt = select(_J.c.stage, func.count()).where(_J.c.stage.is_not(None))
    if owner_id is not None:
        stmt = stmt.join(_P, _P.c.id == _J.c.person_id).where(_P.c.owner_id == owner_id)
    return {
        stage: int(n) for stage, n in conn.execute(stmt.group_by(_J.c.stage).order_by(_J.c.stage))
    }


#: Columns people may be looked up by, besides the filters of `PeopleFilter`.
LOOKUP_COLUMNS = frozenset(PERSON_COLUMNS) - {"attributes"}


def people_matching(
    conn: Connection,
    column: str,
    values: list[Any],
    *,
    after: int,
    limit: int,
    owner_id: int | None,
) -> list[dict[str, Any]]:
    """People whose `column` is one of `values` (text compared without case), by id."""
    if column not in LOOKUP_COLUMNS:
        raise ValueError(f"people cannot be looked up by {column!r}")
    col = _P.c[column]
    if column == "email":
        where = col.in_([str(v).strip().lower() for v in values])
    elif isinstance(col.type, String):
        where = func.lower(col).in_([str(v).strip().lower() for v in values])
    else:
        where = col.in_(values)
    stmt = _base().where(where, _P.c.id > after)
    if owner_id is not None:
        stmt = stmt.where(_P.c.owner_id == owner_id)
    return [_as_dict(r) for r in conn.execute(stmt.order_by(_P.c.id).limit(limit))]
