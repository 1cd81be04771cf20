"""Loading and saving people as merge states: the store side of `ingest.merge`.

`absorb_batches` is the one way records reach `people`: load the stored people, load the
field history of those a late observation touches (only those, in chunks), merge, save.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, insert, select, update

from revmachine.ingest.merge import (
    ATTR_PREFIX,
    FIRST_TOUCH_FIELDS,
    TRACKED_FIELDS,
    Batch,
    History,
    MergeResult,
    PersonState,
    absorb,
    needs_history,
)
from revmachine.model.person_history import FieldTimes, Observation
from revmachine.services.imports.common import CHUNK, LOOKUP_CHUNK, chunks
from revmachine.store import schema

_P = schema.people
_STATE_FIELDS = (*TRACKED_FIELDS, *FIRST_TOUCH_FIELDS)


class Saved(NamedTuple):
    inserted: int
    updated: int
    unchanged: int


def absorb_batches(
    conn: Connection,
    batches: Sequence[Batch],
    now: dt.datetime,
    source: str,
    *,
    create: bool = True,
    results: list[MergeResult] | None = None,
) -> Saved:
    """Merge each batch (one per email) into the stored person and save the result; with
    `create=False`, batches of people not in the store are ignored."""
    states = load_states(conn, [b.email for b in batches])
    if not create:
        batches = [b for b in batches if b.email in states]
    late = [
        state.id
        for b in batches
        if (state := states.get(b.email)) is not None and needs_history(state, b)
    ]
    history = load_history(conn, [i for i in late if i is not None])
    merged = [] if results is None else results
    for b in batches:
        state = states.get(b.email)
        rows = history.get(state.id, {}) if state is not None and state.id is not None else {}
        merged.append(absorb(state, b, rows))
    return save_results(conn, merged, now, source)


def load_history(conn: Connection, person_ids: Iterable[int]) -> dict[int, History]:
    """The stored field history of these people, as observations by field."""
    ch = schema.person_changes
    found: dict[int, dict[str, list[Observation]]] = {}
    for batch in chunks(sorted(set(person_ids)), LOOKUP_CHUNK):
        stmt = select(ch.c.person_id, ch.c.field, ch.c.occurred_at, ch.c.new_value).where(
            ch.c.person_id.in_(batch)
        )
        for pid, key, at, new in conn.execute(stmt):
            found.setdefault(pid, {}).setdefault(key, []).append((at, (new or {}).get("v")))
    return dict(found)


def load_states(conn: Connection, emails: Iterable[str]) -> dict[str, PersonState]:
    cols = [_P.c.id, _P.c.email, *[_P.c[f] for f in _STATE_FIELDS]]
    cols += [_P.c.attributes, _P.c.field_times, _P.c.created_at, _P.c.updated_at]
    states: dict[str, PersonState] = {}
    for batch in chunks(sorted(set(emails)), LOOKUP_CHUNK):
        for row in conn.execute(select(*cols).where(_P.c.email.in_(batch))).mappings():
            doc = FieldTimes.from_json(row["field_times"])
            states[row["email"]] = PersonState(
                email=row["email"],
                values={f: row[f] for f in _STATE_FIELDS if row[f] is not None},
                attributes=dict(row["attributes"] or {}),
                times=doc.times,
                created_at=row["created_at"],
                updated_at=row["updated_at"],
                id=row["id"],
                initial=doc.initial,
                logged=doc.logged,
                stamped=doc.stamped,
            )
    return states


def _row(state: PersonState) -> dict[str, Any]:
    row: dict[str, Any] = {f: state.values.get(f) for f in _STATE_FIELDS}
    if row["unsubscribed"] is None:
        row["unsubscribed"] = False
    row.update(
        email=state.email,
        attributes=state.attributes,
        field_times=state.field_times().to_json(),
        created_at=state.created_at,
        updated_at=state.updated_at,
    )
    return row


def save_results(
    conn: Connection, results: Sequence[MergeResult], now: dt.datetime, source: str
) -> Saved:
    """Write merged people and their field history."""
    created = [r for r in results if r.created]
    changed = [r for r in results if not r.created and r.changed]
    unchanged = len(results) - len(created) - len(changed)
    # Same values, newer field times: saved (merges depend on them), counted as unchanged.
    rewrite = changed + [r for r in results if not r.created and not r.changed and r.retimed]
    for batch in chunks(created, CHUNK):
        conn.execute(insert(_P), [_row(r.state) for r in batch])
    if created:
        ids = {}
        for batch in chunks([r.state.email for r in created], LOOKUP_CHUNK):
            ids.update(
                {
                    e: i
                    for e, i in conn.execute(
                        select(_P.c.email, _P.c.id).where(_P.c.email.in_(batch))
                    )
                }
            )
        for r in created:
            r.state.id = ids[r.state.email]
    if rewrite:
        stmt = (
            update(_P)
            .where(_P.c.id == bindparam("pid"))
            .values(
                {
                    c: bindparam(c)
                    for c in (
                        *_STATE_FIELDS,
                        "attributes",
                        "field_times",
                        "created_at",
                        "updated_at",
                    )
                }
            )
        )
        for batch in chunks(rewrite, CHUNK):
            params = []
            for r in batch:
                row = _row(r.state)
                row.pop("email")
                row["pid"] = r.state.id
                params.append(row)
            conn.execute(stmt, params)
    history = [
        {
            "person_id": r.state.id,
            "field": c.field,
            "old_value": _jsonable(c.old),
            "new_value": _jsonable(c.new),
            "occurred_at": c.occurred_at,
            "recorded_at": now,
            "source": source,
        }
        for r in results
        for c in r.history
    ]
    for batch in chunks(history, CHUNK):
        conn.execute(insert(schema.person_changes), batch)
    return Saved(len(created), len(changed), unchanged)


def _jsonable(value: Any) -> Any:
    """History keeps values as JSON documents: {"v": value} so that None stays distinct."""
    return {"v": value}


def field_of(change_field: str) -> tuple[str, str | None]:
    """('attributes.plan') -> ('attributes', 'plan'); ('title') -> ('title', None)."""
    if change_field.startswith(ATTR_PREFIX):
        return "attributes", change_field.removeprefix(ATTR_PREFIX)
    return change_field, None
