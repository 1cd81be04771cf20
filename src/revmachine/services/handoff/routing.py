"""Routing new MQLs (after each processing run) and assigning a lead by hand.

A person is routed once per entry into the routed stage. "New" is read from history, not
from a flag: someone in the stage with no hand-off, or whose hand-off belongs to an earlier
entry (decided, or left the stage since). A replay that moves the entry time of a lead
already routed does not route it again. Hand-offs of people who left the stage without a
decision (an opportunity opened, they went quiet) are closed with the stage they went to.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, exists, or_, select, update

from revmachine.config import Workspace
from revmachine.engine.routing import MANUAL_RULE, Router
from revmachine.services.handoff.assignments import (
    MANUAL,
    ROUTED,
    Assignment,
    sla_of,
    write_assignment,
)
from revmachine.services.handoff.errors import HandoffError, HandoffErrorCode
from revmachine.services.handoff.leads import find_person, lead_summaries, load_leads
from revmachine.services.handoff.roster import find_rep, load_roster, team_ids
from revmachine.store import schema
from revmachine.store.database import Database


@dataclass
class RoutingRun:
    routing_version: str
    assignments: list[Assignment] = field(default_factory=list)
    closed: int = 0  # hand-offs closed because the person left the stage undecided

    @property
    def to_reps(self) -> int:
        return sum(a.rep_id is not None for a in self.assignments)

    @property
    def to_queue(self) -> int:
        return sum(a.rep_id is None for a in self.assignments)

    def by_rule(self) -> dict[str, int]:
        return dict(Counter(a.rule for a in self.assignments).most_common())


def router_for(workspace: Workspace) -> Router:
    return Router(workspace.routing, {**workspace.scoring.lists, **workspace.routing.lists})


def route_new_mqls(db: Database, workspace: Workspace, now: dt.datetime) -> RoutingRun:
    """Route everyone who newly entered the routed stage; one transaction, with the
    assignments' webhooks."""
    routing = workspace.routing
    run = RoutingRun(workspace.routing_version)
    sla = sla_of(workspace, routing.stage)
    with db.transaction() as conn:
        run.closed = close_departed(conn, routing.stage, now)
        entrants = new_entrants(conn, routing.stage)
        if not entrants:
            return run
        ids = [pid for pid, _ in entrants]
        leads, summaries = load_leads(conn, ids), lead_summaries(conn, ids)
        roster, teams = load_roster(conn, routing), team_ids(conn)
        router = router_for(workspace)
        for pid, entered in entrants:
            decision = router.route(leads[pid], roster)
            run.assignments.append(
                write_assignment(
                    conn,
                    workspace,
                    summaries[pid],
                    kind=ROUTED,
                    rep=decision.rep,
                    team=decision.team,
                    queue=decision.queue,
                    rule=decision.rule,
                    reason=decision.reason,
                    entered_at=entered,
                    due_at=entered + sla if sla is not None else None,
                    now=now,
                    team_ids=teams,
                )
            )
    return run


def new_entrants(conn: Connection, stage: str) -> list[tuple[int, dt.datetime]]:
    """(person, entry time) of everyone in `stage` not yet routed for this entry, oldest
    entry first (so leads reach reps in the order they became MQLs)."""
    js, h, st = schema.journey_states, schema.handoff_leads, schema.stage_transitions
    left_since = exists().where(
        st.c.person_id == js.c.person_id,
        st.c.from_stage == stage,
        st.c.occurred_at >= h.c.entered_at,
        st.c.occurred_at < js.c.stage_entered_at,
    )
    query = (
        select(js.c.person_id, js.c.stage_entered_at)
        .select_from(js.outerjoin(h, h.c.person_id == js.c.person_id))
        .where(
            js.c.stage == stage,
            js.c.stage_entered_at.is_not(None),
            or_(
                h.c.person_id.is_(None),
                and_(
                    js.c.stage_entered_at > h.c.entered_at,
                    or_(h.c.status != "open", left_since),
                ),
            ),
        )
        .order_by(js.c.stage_entered_at, js.c.person_id)
    )
    return [(int(pid), entered) for pid, entered in conn.execute(query)]


def close_departed(conn: Connection, stage: str, now: dt.datetime) -> int:
    """Close open hand-offs of people no longer in the stage; the outcome is where they
    went."""
    h, js = schema.handoff_leads, schema.journey_states
    gone = conn.execute(
        select(h.c.person_id, js.c.stage)
        .select_from(h.outerjoin(js, js.c.person_id == h.c.person_id))
        .where(h.c.status == "open", or_(js.c.stage.is_(None), js.c.stage != h.c.stage))
    ).all()
    for pid, where in gone:
        conn.execute(
            update(h)
            .where(h.c.person_id == pid)
            .values(status="closed", closed_at=now, outcome=where, updated_at=now)
        )
    return len(gone)


def assign_lead(
    db: Database,
    workspace: Workspace,
    email: str,
    rep_email: str,
    now: dt.datetime,
    *,
    by: str | None = None,
) -> Assignment:
    """Hand an open lead (from the fallback queue or another rep) to a rep; their SLA
    clock starts now."""
    stage = workspace.routing.stage
    with db.transaction() as conn:
        rep = find_rep(conn, rep_email)
        by_rep = find_rep(conn, by, active=False) if by else None
        pid = find_person(conn, email)
        h = schema.handoff_leads
        current = conn.execute(
            select(h.c.status, h.c.entered_at, h.c.stage)
            .where(h.c.person_id == pid)
            .with_for_update()
        ).first()
        summary = lead_summaries(conn, [pid])[pid]
        if summary.stage != stage or current is None or current.status != "open":
            raise HandoffError(
                HandoffErrorCode.NOT_ROUTABLE,
                f"{summary.email} is not an open {stage} lead (stage: {summary.stage or '-'}"
                + (f", hand-off {current.status}" if current is not None else ", not routed")
                + ")",
            )
        sla = sla_of(workspace, stage)
        return write_assignment(
            conn,
            workspace,
            summary,
            kind=MANUAL,
            rep=rep,
            team=rep.team,
            queue=None,
            rule=MANUAL_RULE,
            reason=f"assigned to {rep.email}" + (f" by {by_rep.email}" if by_rep else ""),
            entered_at=current.entered_at,
            due_at=now + sla if sla is not None else None,
            now=now,
            team_ids=team_ids(conn),
            by_rep_id=by_rep.rep_id if by_rep else None,
        )
