"""Accounts, opportunities, programs, costs and reps: keyset-paged lists and look-ups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, exists, select

from revmachine.store import schema

_O, _OC, _P = schema.opportunities, schema.opportunity_contacts, schema.people


def _page(
    conn: Connection, table: Table, after: int, limit: int, *where: Any
) -> list[dict[str, Any]]:
    stmt = select(table).where(table.c.id > after, *where).order_by(table.c.id).limit(limit)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def list_accounts(conn: Connection, *, after: int, limit: int) -> list[dict[str, Any]]:
    return _page(conn, schema.accounts, after, limit)


def list_programs(conn: Connection, *, after: int, limit: int) -> list[dict[str, Any]]:
    return _page(conn, schema.programs, after, limit)


def list_reps(conn: Connection, *, after: int, limit: int) -> list[dict[str, Any]]:
    return _page(conn, schema.sales_reps, after, limit)


def list_costs(
    conn: Connection, *, after: int, limit: int, program_id: int | None = None
) -> list[dict[str, Any]]:
    c = schema.program_costs
    where = [] if program_id is None else [c.c.program_id == program_id]
    return _page(conn, c, after, limit, *where)


def _visible_to(owner_id: int) -> Any:
    """A rep sees the deals they own and the deals one of their leads is a contact of."""
    contact_of_theirs = exists(
        select(_OC.c.person_id)
        .join(_P, _P.c.id == _OC.c.person_id)
        .where(_OC.c.opportunity_id == _O.c.id, _P.c.owner_id == owner_id)
    )
    return (_O.c.owner_id == owner_id) | contact_of_theirs


def list_opportunities(
    conn: Connection,
    *,
    after: int,
    limit: int,
    status: str | None = None,
    owner_id: int | None = None,
) -> list[dict[str, Any]]:
    where = []
    if status is not None:
        where.append(_O.c.status == status)
    if owner_id is not None:
        where.append(_visible_to(owner_id))
    return _page(conn, _O, after, limit, *where)


def get_opportunity(
    conn: Connection, external_id: str, owner_id: int | None
) -> dict[str, Any] | None:
    stmt = select(_O).where(_O.c.external_id == external_id)
    if owner_id is not None:
        stmt = stmt.where(_visible_to(owner_id))
    row = conn.execute(stmt).first()
    if row is None:
        return None
    found = dict(row._mapping)
    h = schema.opportunity_history
    found["history"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(h.c.occurred_at, h.c.stage, h.c.status, h.c.amount, h.c.close_date)
            .where(h.c.opportunity_id == row.id)
            .order_by(h.c.occurred_at, h.c.id)
        )
    ]
    found["contacts"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(_P.c.id.label("person_id"), _P.c.email, _OC.c.role, _OC.c.is_primary)
            .join(_P, _P.c.id == _OC.c.person_id)
            .where(_OC.c.opportunity_id == row.id)
            .order_by(_P.c.id)
        )
    ]
    return found
