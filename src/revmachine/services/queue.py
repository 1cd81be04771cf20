"""A rep's queue: their leads waiting for a sales decision, and the decision itself.

Which stages wait for sales comes from the revenue model: every stage a transition with a
`sales` condition leaves from (MQL in the default model). A decision is an input of the
revenue model (`sales_decisions`, append-only, idempotent by `event_id`); the next
`process` run moves the person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from revmachine.config import Workspace
from revmachine.config.revenue_model import SalesDecisionKind
from revmachine.store import schema
from revmachine.store.database import Database

_P, _J, _D = schema.people, schema.journey_states, schema.sales_decisions


def queue_stages(workspace: Workspace) -> list[str]:
    stages = {s.name for s in workspace.revenue.stages}
    found: list[str] = []
    for rule in workspace.revenue.transitions:
        if any(c.sales is not None for c in rule.when):
            found.extend(s for s in rule.from_ if s in stages and s not in found)
    return found


def sales_queue(conn: Connection, workspace: Workspace, rep_id: int) -> list[dict[str, Any]]:
    """The rep's leads in a stage that waits for sales, longest waiting first."""
    stmt = (
        select(
            _P.c.id,
            _P.c.email,
            _P.c.first_name,
            _P.c.last_name,
            _P.c.company,
            _J.c.stage,
            _J.c.stage_entered_at,
            _J.c.total.label("score"),
        )
        .join(_J, _J.c.person_id == _P.c.id)
        .where(_P.c.owner_id == rep_id, _J.c.stage.in_(queue_stages(workspace)))
        .order_by(_J.c.stage_entered_at, _P.c.id)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


@dataclass(frozen=True)
class Decision:
    event_id: str
    person_id: int
    decision: SalesDecisionKind
    recorded: bool  # False when this event id was already recorded


def record_decision(
    db: Database,
    *,
    person_id: int,
    rep_id: int | None,
    decision: SalesDecisionKind,
    now: dt.datetime,
    reason: str | None = None,
    note: str | None = None,
    event_id: str | None = None,
    occurred_at: dt.datetime | None = None,
    source: str = "api",
) -> Decision:
    """Append a sales decision (once per `event_id`)."""
    when = occurred_at or now
    if event_id is None:
        key = f"{person_id}\x1f{decision.value}\x1f{when.isoformat()}\x1f{rep_id}"
        event_id = "decision:" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    with db.transaction() as conn:
        known = conn.execute(select(_D.c.id).where(_D.c.event_id == event_id)).scalar()
        if known is None:
            conn.execute(
                insert(_D).values(
                    event_id=event_id,
                    person_id=person_id,
                    decision=decision.value,
                    reason=reason,
                    rep_id=rep_id,
                    note=note,
                    occurred_at=when,
                    recorded_at=now,
                    source=source,
                )
            )
    return Decision(event_id, person_id, decision, known is None)
