"""Routing new MQLs: rules → team, round robin and capacity, account owners, the fallback
queue, assignments as events with their rule, and webhooks in the same transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from handoff_support import (
    MQL_AT,
    NOW,
    ROUTING,
    add_activities,
    add_people,
    make_mqls,
    person_row,
    setup_org,
    workspace,
)
from sqlalchemy import func, select

from revmachine.services.cycle import process
from revmachine.services.handoff import assign_lead, rep_queue, route_new_mqls
from revmachine.services.handoff.errors import HandoffError, HandoffErrorCode
from revmachine.store import schema
from revmachine.store.database import Database

US = [f"us{i}@buyer{i}.com" for i in range(1, 6)]


def assignments(db: Database) -> list[tuple[str, str | None, str | None, str]]:
    la, p, r = schema.lead_assignments, schema.people, schema.sales_reps
    with db.reading() as conn:
        return [
            (row.email, row.rep, row.queue, row.rule)
            for row in conn.execute(
                select(p.c.email, r.c.email.label("rep"), la.c.queue, la.c.rule)
                .select_from(
                    la.join(p, p.c.id == la.c.person_id).outerjoin(r, r.c.id == la.c.rep_id)
                )
                .order_by(la.c.id)
            )
        ]


def test_round_robin_with_capacity_then_fallback(db: Database) -> None:
    ws = workspace()
    setup_org(db)
    add_people(db, [person_row(e) for e in US])
    make_mqls(db, ws, US)
    run = route_new_mqls(db, ws, NOW)
    # oldest MQL first; Ann and Bob alternate (Lena is a lead, not routed to) until both
    # hold their capacity of 2; the fifth waits in the fallback queue
    assert [(a.email, a.rep_email, a.queue, a.rule) for a in run.assignments] == [
        (US[0], "ann@sales.example", None, "everyone_else"),
        (US[1], "bob@sales.example", None, "everyone_else"),
        (US[2], "ann@sales.example", None, "everyone_else"),
        (US[3], "bob@sales.example", None, "everyone_else"),
        (US[4], None, "unassigned", "fallback"),
    ]
    assert "at capacity" in run.assignments[4].reason
    assert "round robin" in run.assignments[0].reason
    # the SLA clock runs from the MQL entry: the default MQL SLA is 24h
    assert run.assignments[0].due_at == MQL_AT + dt.timedelta(hours=24)
    assert run.assignments[0].stage_entered_at == MQL_AT
    # every assignment is an event with its rule and the routing version
    assert assignments(db) == [(a.email, a.rep_email, a.queue, a.rule) for a in run.assignments]
    la, o = schema.lead_assignments, schema.webhook_outbox
    with db.reading() as conn:
        versions = set(conn.execute(select(la.c.routing_version)).scalars())
        hooks = conn.execute(
            select(o.c.idempotency_key, o.c.endpoint, o.c.payload).order_by(o.c.id)
        ).all()
    assert versions == {ws.routing_version}
    # each assignment's webhook was written with it, keyed by the assignment
    assert [(k, e) for k, e, _ in hooks] == [
        (f"lead.assigned:{a.assignment_id}", "crm") for a in run.assignments
    ]
    payload = hooks[0][2]
    assert payload["event"] == "lead.assigned"
    assert payload["data"]["lead"]["email"] == US[0]
    assert payload["data"]["assignment"]["rep"] == "ann@sales.example"
    assert payload["data"]["assignment"]["rule"] == "everyone_else"
    # more activity and another processing run: same MQL entries, nobody routed twice
    add_activities(db, [(US[0], "webinar_attended", NOW)])
    process(db, ws, NOW + dt.timedelta(minutes=5))
    again = route_new_mqls(db, ws, NOW + dt.timedelta(minutes=10))
    assert again.assignments == [] and again.closed == 0
    assert len(assignments(db)) == 5


def test_account_owner_and_rules_pick_the_team(db: Database) -> None:
    ws = workspace()
    setup_org(db)
    add_people(
        db,
        [
            person_row("cto@bigco.com"),  # linked to bigco.com by its email domain
            person_row("anna@firma.de", country="Germany"),
            person_row("max@firma2.de", country="Germany"),
        ],
    )
    make_mqls(db, ws, ["cto@bigco.com", "anna@firma.de", "max@firma2.de"])
    run = route_new_mqls(db, ws, NOW)
    got = [(a.email, a.rep_email, a.team, a.rule) for a in run.assignments]
    assert got == [
        ("cto@bigco.com", "otto@sales.example", "Enterprise East", "account_owner"),
        ("anna@firma.de", "eve@sales.example", "EMEA", "emea"),
        ("max@firma2.de", "eve@sales.example", "EMEA", "emea"),
    ]
    assert "owns the account of BigCo" in run.assignments[0].reason
    # with the owner rule off, the rules decide
    ws_rules = workspace(**{"account_owner: true": "account_owner: false"})
    assert ws_rules.routing_version != ws.routing_version
    assert ws_rules.version == ws.version  # routing never changes the model version


def test_a_failed_routing_run_leaves_no_assignment_and_no_webhook(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace()
    setup_org(db)
    add_people(db, [person_row(e) for e in US[:3]])
    make_mqls(db, ws, US[:3])
    from revmachine.services.handoff import routing as routing_module

    real = routing_module.write_assignment
    calls = {"n": 0}

    def failing(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("crash half-way")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(routing_module, "write_assignment", failing)
    with pytest.raises(RuntimeError):
        route_new_mqls(db, ws, NOW)
    with db.reading() as conn:
        for table in (schema.lead_assignments, schema.handoff_leads, schema.webhook_outbox):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
    monkeypatch.undo()
    assert len(route_new_mqls(db, ws, NOW).assignments) == 3


def test_a_recycled_lead_that_returns_is_routed_again(db: Database) -> None:
    ws = workspace()
    setup_org(db)
    add_people(db, [person_row(e) for e in US[:2]])
    make_mqls(db, ws, US[:2])
    first = route_new_mqls(db, ws, NOW).assignments
    assert [a.rep_email for a in first] == ["ann@sales.example", "bob@sales.example"]
    # US[0] asks again right away: still the same MQL entry, not a new hand-off
    add_activities(db, [(US[0], "demo_request", NOW)])
    process(db, ws, NOW + dt.timedelta(minutes=1))
    assert route_new_mqls(db, ws, NOW + dt.timedelta(minutes=1)).assignments == []
    # 90 days without engagement: both recycled. US[1] comes back before routing runs
    # again: its hand-off is still open, and the exit in between makes the entry new
    later = NOW + dt.timedelta(days=100)
    process(db, ws, later)
    back = later + dt.timedelta(days=1)
    add_activities(db, [(US[1], "demo_request", back)])
    process(db, ws, back + dt.timedelta(hours=1))
    run = route_new_mqls(db, ws, back + dt.timedelta(hours=1))
    assert run.closed == 1  # US[0], recycled and gone from the stage
    assert [(a.email, a.stage_entered_at) for a in run.assignments] == [(US[1], back)]
    h, p = schema.handoff_leads, schema.people
    with db.reading() as conn:
        states = conn.execute(
            select(p.c.email, h.c.status, h.c.outcome)
            .join(p, p.c.id == h.c.person_id)
            .order_by(p.c.email)
        ).all()
    assert [tuple(r) for r in states] == [(US[0], "closed", "recycled"), (US[1], "open", None)]
    # US[0] comes back after its hand-off was closed: routed anew too
    again = back + dt.timedelta(days=1)
    add_activities(db, [(US[0], "demo_request", again)])
    process(db, ws, again + dt.timedelta(hours=1))
    second = route_new_mqls(db, ws, again + dt.timedelta(hours=1)).assignments
    assert [(a.email, a.stage_entered_at) for a in second] == [(US[0], again)]
    assert second[0].assignment_id not in {a.assignment_id for a in first}


def test_manual_assignment_from_the_fallback_queue(db: Database) -> None:
    """Leads nobody can take wait in the fallback queue until someone assigns them."""
    ws = workspace(**{"capacity: 2": "capacity: 1"})
    setup_org(db)
    add_people(db, [person_row(e) for e in US[:3]])
    make_mqls(db, ws, US[:3])
    run = route_new_mqls(db, ws, NOW)
    assert [a.queue for a in run.assignments] == [None, None, "unassigned"]
    waiting = rep_queue(db, ws, "unassigned", NOW)
    assert [q.lead.email for q in waiting.leads] == [US[2]]
    with pytest.raises(HandoffError) as caught:
        assign_lead(db, ws, US[2], "nobody@sales.example", NOW)
    assert caught.value.code is HandoffErrorCode.UNKNOWN_REP
    done = assign_lead(db, ws, US[2], "eve@sales.example", NOW, by="lena@sales.example")
    assert (done.kind, done.rule, done.rep_email) == ("manual", "manual", "eve@sales.example")
    assert done.due_at == NOW + dt.timedelta(hours=24)
    assert rep_queue(db, ws, "unassigned", NOW).leads == []
    assert [q.lead.email for q in rep_queue(db, ws, "eve@sales.example", NOW).leads] == [US[2]]


def test_without_rules_everyone_waits_in_the_fallback_queue(db: Database) -> None:
    bare = ROUTING[: ROUTING.index("rules:")] + "sla:\n  escalation: flag\n"
    ws = workspace(bare)
    setup_org(db)
    add_people(db, [person_row(US[0]), person_row("cto@bigco.com")])
    make_mqls(db, ws, [US[0], "cto@bigco.com"])
    first, owned = route_new_mqls(db, ws, NOW).assignments
    assert (first.queue, first.rule, first.reason) == (
        "unassigned",
        "fallback",
        "no routing rule matched; waits in queue unassigned",
    )
    assert (owned.rep_email, owned.rule) == ("otto@sales.example", "account_owner")
