"""Which model version is live, since when, and what changed: the `model_versions` log.

A workspace whose version differs from the live one is adopted at the processing time
(`now`): from then on it scores and moves people, while the stage history made under the
older version stays as it was (principle: history is not rewritten by a model change).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from revmachine.config import Workspace, describe_change, render_workspace
from revmachine.store import schema


@dataclass(frozen=True)
class LiveVersion:
    version: str
    adopted_at: dt.datetime
    first: bool  # the first version ever: it owns all of history
    changed_now: bool


def live_version(conn: Connection) -> tuple[str, dt.datetime, str | None] | None:
    mv = schema.model_versions
    row = conn.execute(
        select(mv.c.version, mv.c.adopted_at, mv.c.previous_version)
        .order_by(mv.c.adopted_at.desc(), mv.c.id.desc())
        .limit(1)
    ).first()
    return (row.version, row.adopted_at, row.previous_version) if row else None


def adopt(conn: Connection, workspace: Workspace, now: dt.datetime) -> LiveVersion:
    """Make `workspace` the live version (recording the change if it is one)."""
    live = live_version(conn)
    if live is not None and live[0] == workspace.version:
        return LiveVersion(live[0], live[1], live[2] is None, False)
    previous = _workspace_of(conn, live[0]) if live is not None else None
    change = describe_change(previous, workspace, now)
    diff = change.diff if change is not None else ""
    conn.execute(
        insert(schema.model_versions).values(
            version=workspace.version,
            previous_version=live[0] if live else None,
            adopted_at=now,
            diff=diff,
            content=render_workspace(workspace),
        )
    )
    return LiveVersion(workspace.version, now, live is None, True)


def _workspace_of(conn: Connection, version: str) -> Workspace | None:
    """The stored workspace of a past version (to diff against), if it still validates."""
    from revmachine.config import read_workspace_texts

    mv = schema.model_versions
    content = conn.execute(
        select(mv.c.content).where(mv.c.version == version).order_by(mv.c.id.desc()).limit(1)
    ).scalar()
    if not content:
        return None
    workspace, _ = read_workspace_texts(content)
    return workspace


def history(conn: Connection) -> list[dict[str, object]]:
    mv = schema.model_versions
    rows = conn.execute(
        select(mv.c.version, mv.c.previous_version, mv.c.adopted_at, mv.c.diff).order_by(
            mv.c.adopted_at, mv.c.id
        )
    ).mappings()
    return [dict(r) for r in rows]
