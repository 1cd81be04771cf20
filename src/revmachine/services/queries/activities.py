"""The event log as a feed: activities after a row id, in id (arrival) order.

Ids become visible in order because writers take the event log's append lock
(`store.locks`), so a reader that continues after the last id it saw misses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from revmachine.store import schema

_A, _P = schema.activities, schema.people


def activity_feed(
    conn: Connection,
    *,
    after: int,
    limit: int,
    owner_id: int | None = None,
    person_ids: Sequence[int] | None = None,
    types: Sequence[str] | None = None,
    upto: int | None = None,
) -> list[dict[str, Any]]:
    """Up to `limit` activities with `after` < id (<= `upto`), oldest arrival first."""
    stmt = (
        select(
            _A.c.id,
            _A.c.event_id,
            _A.c.person_id,
            _P.c.email,
            _A.c.type,
            _A.c.program_id,
            _A.c.occurred_at,
            _A.c.received_at,
            _A.c.attributes,
        )
        .join(_P, _P.c.id == _A.c.person_id)
        .where(_A.c.id > after)
    )
    if upto is not None:
        stmt = stmt.where(_A.c.id <= upto)
    if owner_id is not None:
        stmt = stmt.where(_P.c.owner_id == owner_id)
    if person_ids is not None:
        stmt = stmt.where(_A.c.person_id.in_(list(person_ids)))
    if types is not None:
        stmt = stmt.where(_A.c.type.in_(list(types)))
    rows = conn.execute(stmt.order_by(_A.c.id).limit(limit))
    return [dict(r._mapping) | {"attributes": dict(r.attributes or {})} for r in rows]


def feed_head(conn: Connection) -> int:
    """The newest id in the log. Read it before a filtered page: every id up to it is
    committed (appends take the log's lock), so a page that finds nothing more can move the
    cursor to the head instead of scanning the same non-matching rows again next time."""
    return int(conn.execute(select(func.coalesce(func.max(_A.c.id), 0))).scalar_one())


def position_at(conn: Connection, since: dt.datetime) -> int:
    """The feed position just before the first activity received at or after `since`."""
    first = conn.execute(select(func.min(_A.c.id)).where(_A.c.received_at >= since)).scalar()
    if first is not None:
        return int(first) - 1
    return int(conn.execute(select(func.coalesce(func.max(_A.c.id), 0))).scalar_one())


def activity_type_names(conn: Connection) -> list[dict[str, Any]]:
    t = schema.activity_types
    return [
        dict(r._mapping)
        for r in conn.execute(
            select(t.c.name, t.c.label, t.c.category, t.c.builtin).order_by(t.c.name)
        )
    ]
