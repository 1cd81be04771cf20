"""Writing an assignment: the event, the current hand-off, and its notification, together.

Routing, escalation and manual assignment all end here, in their own transaction, so an
assignment never exists without its `lead.assigned` notification or the other way round.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert

from revmachine.config import Workspace
from revmachine.config.routing import WebhookEvent
from revmachine.engine.routing import Rep
from revmachine.services.handoff.leads import LeadSummary
from revmachine.services.handoff.outbox import enqueue
from revmachine.store import schema

ROUTED, REASSIGNED, MANUAL = "routed", "reassigned", "manual"


@dataclass(frozen=True)
class Assignment:
    assignment_id: int
    person_id: int
    email: str
    kind: str
    rep_id: int | None
    rep_email: str | None
    team: str | None
    queue: str | None
    rule: str
    reason: str
    stage_entered_at: dt.datetime
    due_at: dt.datetime | None
    occurred_at: dt.datetime

    def as_payload(self) -> dict[str, Any]:
        return {
            "assignment_id": self.assignment_id,
            "kind": self.kind,
            "rep": self.rep_email,
            "team": self.team,
            "queue": self.queue,
            "rule": self.rule,
            "reason": self.reason,
            "due_at": self.due_at.isoformat() if self.due_at else None,
        }


def sla_of(workspace: Workspace, stage: str) -> dt.timedelta | None:
    return next((s.sla for s in workspace.revenue.stages if s.name == stage), None)


def write_assignment(
    conn: Connection,
    workspace: Workspace,
    lead: LeadSummary,
    *,
    kind: str,
    rep: Rep | None,
    team: str | None,
    queue: str | None,
    rule: str,
    reason: str,
    entered_at: dt.datetime,
    due_at: dt.datetime | None,
    now: dt.datetime,
    team_ids: dict[str, int],
    by_rep_id: int | None = None,
) -> Assignment:
    """Append the assignment, make it the lead's current hand-off, queue its webhook."""
    stage = workspace.routing.stage
    team_id = team_ids.get(team) if team is not None else None
    la, h = schema.lead_assignments, schema.handoff_leads
    assignment_id = conn.execute(
        insert(la)
        .values(
            person_id=lead.person_id,
            kind=kind,
            rep_id=rep.rep_id if rep else None,
            team_id=team_id,
            queue=queue,
            rule=rule,
            reason=reason,
            routing_version=workspace.routing_version,
            stage=stage,
            stage_entered_at=entered_at,
            by_rep_id=by_rep_id,
            occurred_at=now,
            recorded_at=now,
        )
        .returning(la.c.id)
    ).scalar_one()
    conn.execute(delete(h).where(h.c.person_id == lead.person_id))
    conn.execute(
        insert(h).values(
            person_id=lead.person_id,
            stage=stage,
            entered_at=entered_at,
            assignment_id=assignment_id,
            rep_id=rep.rep_id if rep else None,
            team_id=team_id,
            queue=queue,
            assigned_at=now,
            due_at=due_at,
            status="open",
            updated_at=now,
        )
    )
    assignment = Assignment(
        int(assignment_id),
        lead.person_id,
        lead.email,
        kind,
        rep.rep_id if rep else None,
        rep.email if rep else None,
        team,
        queue,
        rule,
        reason,
        entered_at,
        due_at,
        now,
    )
    enqueue(
        conn,
        workspace.routing.webhooks,
        WebhookEvent.LEAD_ASSIGNED,
        assignment.assignment_id,
        {"lead": lead.as_payload(), "assignment": assignment.as_payload()},
        now,
    )
    return assignment
