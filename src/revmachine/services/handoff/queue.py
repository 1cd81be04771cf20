"""A rep's queue: their open leads, best first, each with its interesting moments.

Ranked by the lead's total score (the prediction issue will rank by predicted probability
through `rank`). Interesting moments are the recent activities that moved the score most:
the demo request, the pricing page, the webinar — what a rep wants to know before the
call. They come from the scoring engine's own explanation (points as awarded, after caps,
and their worth now), not from differences of stored totals, which decay in between.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from revmachine.config import Workspace
from revmachine.engine import Contribution, Engine, Event
from revmachine.services.cycle.inputs import load_people_inputs
from revmachine.services.handoff.leads import LeadSummary, lead_summaries
from revmachine.services.handoff.roster import find_rep
from revmachine.store import schema
from revmachine.store.database import Database
from revmachine.store.reads import latest_predictions


@dataclass(frozen=True)
class Moment:
    occurred_at: dt.datetime
    activity: str  # the activity type
    event_id: str
    points: float  # as awarded then
    worth: float  # what they are worth now, after decay
    rules: str  # the scoring rules that awarded them


@dataclass(frozen=True)
class QueuedLead:
    lead: LeadSummary
    assigned_at: dt.datetime
    due_at: dt.datetime | None
    rule: str
    reason: str
    moments: list[Moment] = field(default_factory=list)
    probability: float | None = None  # the latest predicted probability, when scored

    def overdue(self, now: dt.datetime) -> bool:
        return self.due_at is not None and self.due_at <= now


@dataclass(frozen=True)
class RepQueue:
    owner: str  # the rep's email, or the fallback queue's name
    is_rep: bool
    leads: list[QueuedLead]
    as_of: dt.datetime


def rep_queue(db: Database, workspace: Workspace, owner: str, now: dt.datetime) -> RepQueue:
    """The open leads of rep `owner` (an email), or of the fallback queue when `owner` is
    its name; unknown reps are a HandoffError."""
    routing = workspace.routing
    h, la = schema.handoff_leads, schema.lead_assignments
    with db.reading() as conn:
        query = (
            select(h.c.person_id, h.c.assigned_at, h.c.due_at, la.c.rule, la.c.reason)
            .select_from(h.join(la, la.c.id == h.c.assignment_id))
            .where(h.c.status == "open", h.c.stage == routing.stage)
        )
        if owner == routing.fallback.queue:
            is_rep, name = False, owner
            query = query.where(h.c.rep_id.is_(None), h.c.queue == owner)
        else:
            rep = find_rep(conn, owner, active=False)
            is_rep, name = True, rep.email
            query = query.where(h.c.rep_id == rep.rep_id)
        rows = conn.execute(query).all()
        ids = [r.person_id for r in rows]
        summaries = lead_summaries(conn, ids)
        predicted = {pid: p.probability for pid, p in latest_predictions(conn, ids).items()}
        moments = interesting_moments(
            conn, workspace, ids, now - routing.queue.within, now, routing.queue.moments
        )
    leads = [
        QueuedLead(
            summaries[r.person_id],
            r.assigned_at,
            r.due_at,
            r.rule,
            r.reason,
            moments.get(r.person_id, []),
            predicted.get(r.person_id),
        )
        for r in rows
        if summaries[r.person_id].stage == routing.stage
    ]
    leads.sort(key=rank)
    return RepQueue(name, is_rep, leads, now)


def rank(lead: QueuedLead) -> tuple[int, float, float, dt.datetime, int]:
    """Best first: the highest predicted probability of buying (`revmachine predict`),
    leads without a prediction after those with one; then the highest score, then the one
    waiting longest."""
    p = lead.probability
    return (
        0 if p is not None else 1,
        -(p or 0.0),
        -lead.lead.total,
        lead.assigned_at,
        lead.lead.person_id,
    )


def interesting_moments(
    conn: Connection,
    workspace: Workspace,
    person_ids: Sequence[int],
    since: dt.datetime,
    until: dt.datetime,
    limit: int,
) -> dict[int, list[Moment]]:
    """Per person, the `limit` activities in (since, until] that awarded the most points
    (either sign), newest first, explained by the same scoring code that scored them."""
    if not person_ids or limit <= 0:
        return {}
    engine = Engine(workspace)
    out: dict[int, list[Moment]] = {}
    people = load_people_inputs(conn, list(person_ids), predictions=workspace.uses_predictions)
    for pid, person in people.items():
        inputs = [i for i in person.inputs if i.occurred_at <= until]
        events = {i.event_id: i for i in inputs if isinstance(i, Event)}
        explanation = engine.explain_score(person.facts, inputs, until)
        by_event: dict[str, list[Contribution]] = defaultdict(list)
        for c in explanation.contributions:
            recent = c.occurred_at is not None and c.occurred_at > since
            if c.kind == "behavior" and c.event_id in events and recent:
                by_event[c.event_id].append(c)
        moments = [
            Moment(
                events[event_id].occurred_at,
                events[event_id].type,
                event_id,
                sum(c.points for c in parts),
                sum(c.value for c in parts),
                ", ".join(c.rule for c in parts),
            )
            for event_id, parts in by_event.items()
        ]
        top = sorted(moments, key=lambda m: (-abs(m.points), -m.occurred_at.timestamp()))
        out[pid] = sorted(top[:limit], key=lambda m: m.occurred_at, reverse=True)
    return out
