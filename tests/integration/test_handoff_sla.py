"""SLA breaches: listed, escalated by the workspace's rule (once), reported by rep and team."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from handoff_support import (
    MQL_AT,
    NOW,
    add_people,
    make_mqls,
    person_row,
    setup_org,
    workspace,
)
from sqlalchemy import select

from revmachine.config.routing import Escalation
from revmachine.services.handoff import (
    accept_lead,
    escalate_breaches,
    rep_queue,
    route_new_mqls,
    sla_report,
)
from revmachine.store import schema
from revmachine.store.database import Database

US = ["a@one.com", "b@two.com", "c@three.com"]
ANN, BOB, LENA = "ann@sales.example", "bob@sales.example", "lena@sales.example"
DAY = dt.timedelta(days=1)
State = Callable[[Database], dict[str, list[tuple[Any, ...]]]]


def outbox_events(db: Database) -> list[str]:
    o = schema.webhook_outbox
    with db.reading() as conn:
        return list(conn.execute(select(o.c.event_type).order_by(o.c.id)).scalars())


def test_breach_reassigns_within_the_team_once_and_is_reported(
    db: Database, state_of: State
) -> None:
    ws = workspace(**{"capacity: 2": "capacity: 3"})
    setup_org(db)
    add_people(db, [person_row(e) for e in US[:2]])
    make_mqls(db, ws, US[:2])  # MQL at MQL_AT and MQL_AT + 1h: due 24h later
    assert [a.rep_email for a in route_new_mqls(db, ws, NOW).assignments] == [ANN, BOB]
    assert escalate_breaches(db, ws, NOW).breaches == []

    first_due = MQL_AT + DAY
    t1 = first_due + dt.timedelta(minutes=30)
    before = state_of(db)
    plan = escalate_breaches(db, ws, t1, dry_run=True)
    assert state_of(db) == before  # a dry run writes nothing
    assert [(b.email, b.action, b.new_rep) for b in plan.breaches] == [
        (US[0], Escalation.REASSIGN, BOB)
    ]

    run = escalate_breaches(db, ws, t1)
    (breach,) = run.breaches
    assert (breach.email, breach.rep, breach.team, breach.due_at) == (
        US[0],
        ANN,
        "Mid-Market",
        first_due,
    )
    assert (breach.action, breach.new_rep, breach.flagged) == (Escalation.REASSIGN, BOB, LENA)
    assert breach.overdue == dt.timedelta(minutes=30) and breach.breach_id is not None
    (moved,) = run.reassignments
    assert (moved.kind, moved.rule, moved.rep_email) == ("reassigned", "sla_escalation", BOB)
    assert moved.due_at == t1 + DAY  # the new rep gets the stage's SLA from now
    assert sorted(q.lead.email for q in rep_queue(db, ws, BOB, t1).leads) == US[:2]
    assert rep_queue(db, ws, ANN, t1).leads == []
    assert outbox_events(db)[-2:] == ["lead.assigned", "lead.sla_breached"]
    # the same check again: nothing breaches twice
    assert escalate_breaches(db, ws, t1 + dt.timedelta(minutes=1)).breaches == []

    t2 = MQL_AT + dt.timedelta(hours=26)  # Bob's own lead is now past due too
    second = escalate_breaches(db, ws, t2)
    assert [(b.email, b.rep, b.new_rep) for b in second.breaches] == [(US[1], BOB, ANN)]

    report = sla_report(db, ws, MQL_AT - DAY, t2 + DAY, t2)
    by_rep = {line.name: (line.assigned, line.breaches, line.overdue_now) for line in report.by_rep}
    assert by_rep == {ANN: (2, 1, 0), BOB: (2, 1, 0)}
    (team,) = report.by_team
    assert (team.name, team.assigned, team.breaches) == ("Mid-Market", 4, 2)
    assert team.breach_rate.value == 0.5
    assert team.breach_rate.low is not None and team.breach_rate.low < 0.5


def test_flag_escalation_the_fallback_queue_and_decided_leads(db: Database) -> None:
    ws = workspace(
        **{
            "    capacity: 2": "    capacity: 1\n    escalation: flag",
        }
    )
    setup_org(db)
    add_people(db, [person_row(e) for e in US])
    make_mqls(db, ws, US)
    run = route_new_mqls(db, ws, NOW)
    assert [(a.rep_email, a.queue) for a in run.assignments] == [
        (ANN, None),
        (BOB, None),
        (None, "unassigned"),
    ]
    accept_lead(db, ws, US[1], BOB, NOW)  # decided in time: never a breach
    later = MQL_AT + 3 * DAY
    result = escalate_breaches(db, ws, later)
    got = [(b.email, b.rep, b.queue, b.action, b.new_rep, b.flagged) for b in result.breaches]
    assert got == [
        (US[0], ANN, None, Escalation.FLAG, None, LENA),
        # the rule's team is full, so the lead waits in the queue; its team lead hears
        (US[2], None, "unassigned", Escalation.FLAG, None, LENA),
    ]
    assert "flags" in result.breaches[0].reason
    # flagged leads stay where they are, listed as overdue with what was done
    assert [(o.email, o.rep, o.escalated) for o in result.overdue] == [
        (US[0], ANN, "flag"),
        (US[2], None, "flag"),
    ]
    assert [q.lead.email for q in rep_queue(db, ws, ANN, later).leads] == [US[0]]
    b = schema.sla_breaches
    with db.reading() as conn:
        flagged_to = conn.execute(
            select(schema.sales_reps.c.email)
            .select_from(
                b.outerjoin(schema.sales_reps, schema.sales_reps.c.id == b.c.escalated_to_id)
            )
            .order_by(b.c.id)
        ).all()
    assert [r[0] for r in flagged_to] == [LENA, LENA]
    report = sla_report(db, ws, MQL_AT - DAY, later, later)
    teams = {line.name: (line.assigned, line.breaches, line.overdue_now) for line in report.by_team}
    assert teams == {"Mid-Market": (3, 2, 2)}
    reps = {line.name: (line.assigned, line.breaches, line.overdue_now) for line in report.by_rep}
    assert reps == {ANN: (1, 1, 1), BOB: (1, 0, 0), "(no rep)": (1, 1, 1)}
