"""Numeric ids for activity types, as the Marketo-compatible API names them.

Built-in types keep the id in their registry entry (`model.activity_types`); a custom type
gets 100000 + its row in `api_activity_types`, assigned the first time the API lists or
creates it, and kept for good (clients store these ids).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from revmachine.model.activity_types import BUILTIN_ACTIVITY_TYPES, is_valid_type_name
from revmachine.services.imports.references import ensure_activity_types
from revmachine.store import schema
from revmachine.store.database import Database

CUSTOM_BASE = 100_000
DEFAULT_PRIMARY = "primary"
_T, _X = schema.activity_types, schema.api_activity_types


@dataclass(frozen=True)
class NumberedType:
    id: int
    name: str
    label: str
    category: str
    builtin: bool
    primary_attribute: str


def numbered_types(db: Database, now: dt.datetime) -> list[NumberedType]:
    """Every activity type with its id: built-ins, then custom types (numbered if new)."""
    with db.reading() as conn:
        missing = _unnumbered(conn)
    if missing:
        try:
            with db.transaction() as conn:
                for name in _unnumbered(conn):
                    conn.execute(
                        insert(_X).values(
                            name=name, primary_attribute=DEFAULT_PRIMARY, created_at=now
                        )
                    )
        except IntegrityError:  # a concurrent call numbered them first
            pass
    found = [
        NumberedType(t.marketo_id, t.name, t.label, t.category, True, DEFAULT_PRIMARY)
        for t in BUILTIN_ACTIVITY_TYPES.values()
    ]
    with db.reading() as conn:
        rows = conn.execute(
            select(_X.c.id, _X.c.name, _X.c.primary_attribute, _T.c.label, _T.c.category)
            .join(_T, _T.c.name == _X.c.name)
            .order_by(_X.c.id)
        )
        found += [
            NumberedType(
                CUSTOM_BASE + r.id, r.name, r.label, r.category, False, r.primary_attribute
            )
            for r in rows
        ]
    return found


def _unnumbered(conn: Connection) -> list[str]:
    stmt = (
        select(_T.c.name)
        .where(_T.c.builtin.is_(False), _T.c.name.not_in(select(_X.c.name)))
        .order_by(_T.c.created_at, _T.c.name)
    )
    return list(conn.execute(stmt).scalars())


class BadTypeName(ValueError):
    pass


def create_custom_type(
    db: Database, name: str, label: str, primary_attribute: str, now: dt.datetime
) -> NumberedType:
    """Register a custom type (idempotent: an existing one is returned as it is)."""
    if not is_valid_type_name(name) or name in BUILTIN_ACTIVITY_TYPES:
        raise BadTypeName(
            f"'{name}' cannot name a custom activity type (lower snake case, not a built-in)"
        )
    with db.transaction() as conn:
        ensure_activity_types(conn, [name], now)
        if conn.execute(select(_X.c.id).where(_X.c.name == name)).scalar() is None:
            conn.execute(
                insert(_X).values(name=name, primary_attribute=primary_attribute, created_at=now)
            )
        if label:
            from sqlalchemy import update

            conn.execute(
                update(_T).where(_T.c.name == name, _T.c.category == "custom").values(label=label)
            )
    return next(t for t in numbered_types(db, now) if t.name == name)
