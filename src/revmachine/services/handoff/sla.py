"""SLA breaches: found, escalated by the workspace's rule, and reported by rep and team.

A lead breaches when its hand-off is still open at its due time (the routed stage's SLA
after the person entered it; after a reassignment, the SLA after the reassignment). Each
assignment breaches at most once (a unique key in `sla_breaches`), so running the check
again changes nothing. Escalation is `reassign` (to another rep of the team, chosen by the
team's method; the team lead is flagged when nobody else can take it) or `flag` (the lead
stays, the team lead is told). Both write the breach and its `lead.sla_breached` webhook,
and a reassignment its `lead.assigned`, in one transaction. `dry_run` plans the same
escalations from the same code and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select

from revmachine.config import Workspace
from revmachine.config.routing import Escalation, WebhookEvent
from revmachine.engine.routing import ESCALATION_RULE, EscalationDecision
from revmachine.services.handoff.assignments import (
    REASSIGNED,
    Assignment,
    sla_of,
    write_assignment,
)
from revmachine.services.handoff.leads import lead_summaries
from revmachine.services.handoff.outbox import enqueue
from revmachine.services.handoff.rates import Rate, rate
from revmachine.services.handoff.roster import load_roster, team_ids
from revmachine.services.handoff.routing import close_departed, router_for
from revmachine.store import schema
from revmachine.store.database import Database

FALLBACK_TEAM = "(fallback queue)"


@dataclass(frozen=True)
class Breach:
    person_id: int
    email: str
    rep: str | None
    team: str | None
    queue: str | None
    due_at: dt.datetime
    overdue: dt.timedelta
    action: Escalation
    new_rep: str | None
    flagged: str | None
    reason: str
    breach_id: int | None = None  # None in a dry run


@dataclass(frozen=True)
class OverdueLead:
    person_id: int
    email: str
    rep: str | None
    team: str | None
    queue: str | None
    due_at: dt.datetime
    overdue: dt.timedelta
    escalated: str | None  # what was done about it, if it breached before


@dataclass
class SlaRun:
    as_of: dt.datetime
    applied: bool
    breaches: list[Breach] = field(default_factory=list)  # found by this run
    reassignments: list[Assignment] = field(default_factory=list)
    overdue: list[OverdueLead] = field(default_factory=list)  # every open lead past due


def escalate_breaches(
    db: Database, workspace: Workspace, now: dt.datetime, *, dry_run: bool = False
) -> SlaRun:
    """Find the leads past their SLA that have not breached yet and escalate each."""
    run = SlaRun(now, not dry_run)
    opener = db.reading if dry_run else db.transaction
    with opener() as conn:
        if not dry_run:
            close_departed(conn, workspace.routing.stage, now)
        _escalate(conn, workspace, now, run, write=not dry_run)
        run.overdue = overdue_leads(conn, workspace, now)
    return run


def _escalate(
    conn: Connection, workspace: Workspace, now: dt.datetime, run: SlaRun, *, write: bool
) -> None:
    h, b, js, t, r = (
        schema.handoff_leads,
        schema.sla_breaches,
        schema.journey_states,
        schema.sales_teams,
        schema.sales_reps,
    )
    stage = workspace.routing.stage
    due = conn.execute(
        select(
            h.c.person_id,
            h.c.assignment_id,
            h.c.rep_id,
            h.c.team_id,
            h.c.queue,
            h.c.due_at,
            h.c.entered_at,
            t.c.name.label("team"),
            r.c.email.label("rep"),
        )
        .select_from(
            h.join(js, js.c.person_id == h.c.person_id)
            .outerjoin(t, t.c.id == h.c.team_id)
            .outerjoin(r, r.c.id == h.c.rep_id)
        )
        .where(
            h.c.status == "open",
            h.c.stage == stage,
            js.c.stage == stage,
            h.c.due_at <= now,
            ~select(b.c.id).where(b.c.assignment_id == h.c.assignment_id).exists(),
        )
        .order_by(h.c.due_at, h.c.person_id)
    ).all()
    if not due:
        return
    summaries = lead_summaries(conn, [d.person_id for d in due])
    roster, teams = load_roster(conn, workspace.routing), team_ids(conn)
    router = router_for(workspace)
    sla = sla_of(workspace, stage)
    for d in due:
        decision = router.escalate(d.team, d.rep_id, roster)
        lead = summaries[d.person_id]
        breach_id: int | None = None
        if write:
            reassignment = None
            if decision.action is Escalation.REASSIGN and decision.rep is not None:
                reassignment = write_assignment(
                    conn,
                    workspace,
                    lead,
                    kind=REASSIGNED,
                    rep=decision.rep,
                    team=d.team,
                    queue=None,
                    rule=ESCALATION_RULE,
                    reason=f"SLA breached by {d.rep or d.queue}: {decision.reason}",
                    entered_at=d.entered_at,
                    due_at=now + sla if sla is not None else None,
                    now=now,
                    team_ids=teams,
                )
                run.reassignments.append(reassignment)
            breach_id = _record(conn, workspace, d, decision, reassignment, lead.email, now)
        run.breaches.append(
            Breach(
                d.person_id,
                lead.email,
                d.rep,
                d.team,
                d.queue,
                d.due_at,
                now - d.due_at,
                decision.action,
                decision.rep.email if decision.rep else None,
                decision.flagged.email if decision.flagged else None,
                decision.reason,
                breach_id,
            )
        )


def _record(
    conn: Connection,
    workspace: Workspace,
    due: Any,  # a row of the due-leads query in _escalate
    decision: EscalationDecision,
    reassignment: Assignment | None,
    email: str,
    now: dt.datetime,
) -> int:
    b = schema.sla_breaches
    breach_id = int(
        conn.execute(
            insert(b)
            .values(
                person_id=due.person_id,
                assignment_id=due.assignment_id,
                rep_id=due.rep_id,
                team_id=due.team_id,
                stage=workspace.routing.stage,
                due_at=due.due_at,
                action=decision.action.value,
                escalated_to_id=decision.flagged.rep_id if decision.flagged else None,
                reassignment_id=reassignment.assignment_id if reassignment else None,
                reason=decision.reason,
                detected_at=now,
            )
            .returning(b.c.id)
        ).scalar_one()
    )
    enqueue(
        conn,
        workspace.routing.webhooks,
        WebhookEvent.SLA_BREACHED,
        breach_id,
        {
            "lead": {"person_id": due.person_id, "email": email},
            "breach": {
                "breach_id": breach_id,
                "rep": due.rep,
                "team": due.team,
                "queue": due.queue,
                "due_at": due.due_at.isoformat(),
                "action": decision.action.value,
                "reassigned_to": decision.rep.email if decision.rep else None,
                "flagged": decision.flagged.email if decision.flagged else None,
                "reason": decision.reason,
            },
        },
        now,
    )
    return breach_id


def overdue_leads(conn: Connection, workspace: Workspace, now: dt.datetime) -> list[OverdueLead]:
    """Every open lead past its due time, with what its breach led to, most overdue first."""
    h, b, js, t, r, p = (
        schema.handoff_leads,
        schema.sla_breaches,
        schema.journey_states,
        schema.sales_teams,
        schema.sales_reps,
        schema.people,
    )
    stage = workspace.routing.stage
    rows = conn.execute(
        select(
            h.c.person_id,
            p.c.email,
            r.c.email.label("rep"),
            t.c.name.label("team"),
            h.c.queue,
            h.c.due_at,
            b.c.action,
        )
        .select_from(
            h.join(js, js.c.person_id == h.c.person_id)
            .join(p, p.c.id == h.c.person_id)
            .outerjoin(t, t.c.id == h.c.team_id)
            .outerjoin(r, r.c.id == h.c.rep_id)
            .outerjoin(b, b.c.assignment_id == h.c.assignment_id)
        )
        .where(h.c.status == "open", js.c.stage == stage, h.c.due_at <= now)
        .order_by(h.c.due_at, h.c.person_id)
    ).all()
    return [
        OverdueLead(
            x.person_id, x.email, x.rep, x.team, x.queue, x.due_at, now - x.due_at, x.action
        )
        for x in rows
    ]


@dataclass(frozen=True)
class SlaLine:
    """One rep's or team's hand-off over a period."""

    name: str
    assigned: int
    breaches: int
    overdue_now: int

    @property
    def breach_rate(self) -> Rate:
        return rate(self.breaches, self.assigned)


@dataclass(frozen=True)
class SlaReport:
    since: dt.datetime
    until: dt.datetime
    by_rep: list[SlaLine]
    by_team: list[SlaLine]


def sla_report(
    db: Database, workspace: Workspace, since: dt.datetime, until: dt.datetime, now: dt.datetime
) -> SlaReport:
    """Per rep and per team: leads assigned in [since, until), breaches that fell due in it,
    and open leads overdue at `now`."""
    la, b, h, r, t = (
        schema.lead_assignments,
        schema.sla_breaches,
        schema.handoff_leads,
        schema.sales_reps,
        schema.sales_teams,
    )
    js = schema.journey_states
    stage = workspace.routing.stage
    lines: dict[str, list[SlaLine]] = {}
    with db.reading() as conn:
        for level, names_query, fallback in (
            ("rep", select(r.c.id, r.c.email), "(no rep)"),
            ("team", select(t.c.id, t.c.name), FALLBACK_TEAM),
        ):
            by_rep = level == "rep"
            assigned = _grouped(
                conn,
                select(la.c.rep_id if by_rep else la.c.team_id, func.count()).where(
                    la.c.occurred_at >= since, la.c.occurred_at < until
                ),
            )
            breaches = _grouped(
                conn,
                select(b.c.rep_id if by_rep else b.c.team_id, func.count()).where(
                    b.c.due_at >= since, b.c.due_at < until
                ),
            )
            overdue = _grouped(
                conn,
                select(h.c.rep_id if by_rep else h.c.team_id, func.count())
                .select_from(h.join(js, js.c.person_id == h.c.person_id))
                .where(h.c.status == "open", js.c.stage == stage, h.c.due_at <= now),
            )
            names = {int(i): str(n) for i, n in conn.execute(names_query)}
            keys = set(assigned) | set(breaches) | set(overdue)
            lines[level] = sorted(
                (
                    SlaLine(
                        names.get(k, fallback) if k is not None else fallback,
                        assigned.get(k, 0),
                        breaches.get(k, 0),
                        overdue.get(k, 0),
                    )
                    for k in keys
                ),
                key=lambda line: (-line.breaches, line.name),
            )
    return SlaReport(since, until, lines["rep"], lines["team"])


def _grouped(conn: Connection, query: Select[tuple[Any, int]]) -> dict[int | None, int]:
    """Counts by the query's first column (grouped by it here)."""
    key = query.selected_columns[0]
    return {int(k) if k is not None else None: int(n) for k, n in conn.execute(query.group_by(key))}
