"""A rep's queue (ranked, with interesting moments), accept and reject, and bad input that
changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from handoff_support import (
    HOUR,
    MQL_AT,
    NOW,
    add_activities,
    add_people,
    make_mqls,
    person_row,
    setup_org,
    workspace,
)
from sqlalchemy import select

from revmachine.services.handoff import (
    HandoffError,
    HandoffErrorCode,
    accept_lead,
    reject_lead,
    rep_queue,
    route_new_mqls,
)
from revmachine.store import schema
from revmachine.store.database import Database

A, B, C, D = "a@one.com", "b@two.com", "c@three.com", "d@four.com"
ANN, BOB = "ann@sales.example", "bob@sales.example"
State = Callable[[Database], dict[str, list[tuple[Any, ...]]]]


def routed(db: Database) -> None:
    """A and C go to Ann, B and D to Bob; C has been busy (webinar, pricing pages)."""
    ws = workspace()
    setup_org(db)
    add_people(db, [person_row(e) for e in (A, B, C, D)])
    add_activities(
        db,
        [
            (C, "webinar_attended", MQL_AT - dt.timedelta(days=3)),
            (C, "pricing_page_visit", MQL_AT - dt.timedelta(days=2)),
            (C, "web_visit", MQL_AT - dt.timedelta(days=2)),
            (C, "content_download", MQL_AT - dt.timedelta(days=60)),  # outside 30 days
        ],
    )
    make_mqls(db, ws, [A, B, C, D])
    run = route_new_mqls(db, ws, NOW)
    assert [a.rep_email for a in run.assignments] == [ANN, BOB, ANN, BOB]


def test_queue_is_ranked_by_score_with_interesting_moments(db: Database) -> None:
    routed(db)
    queue = rep_queue(db, workspace(), ANN, NOW)
    assert queue.is_rep and queue.owner == ANN
    assert [q.lead.email for q in queue.leads] == [C, A]  # C scores higher
    assert queue.leads[0].lead.total > queue.leads[1].lead.total
    c_moments = queue.leads[0].moments
    # at most 3 (routing.yml), the largest within 30 days, newest first; the content
    # download of two months ago is not one of them
    assert [(m.activity, m.points) for m in c_moments] == [
        ("demo_request", 40.0),
        ("pricing_page_visit", 10.0),
        ("webinar_attended", 15.0),
    ]
    assert all(0 < m.worth <= m.points for m in c_moments)
    assert [m.activity for m in queue.leads[1].moments] == ["demo_request"]
    assert queue.leads[0].due_at == MQL_AT + 2 * dt.timedelta(hours=1) + dt.timedelta(hours=24)
    assert not queue.leads[0].overdue(NOW)


def test_accept_moves_the_lead_to_sal_and_records_who_and_when(db: Database) -> None:
    routed(db)
    ws = workspace()
    when = NOW + dt.timedelta(hours=1)
    result = accept_lead(db, ws, A.upper(), ANN, when, note="called, good fit", source="api")
    assert (result.stage_before, result.stage_after, result.rule) == (
        "mql",
        "sal",
        "sales_accepted",
    )
    sd, r = schema.sales_decisions, schema.sales_reps
    with db.reading() as conn:
        row = conn.execute(
            select(
                sd.c.decision, sd.c.reason, r.c.email, sd.c.occurred_at, sd.c.source, sd.c.note
            ).join(r, r.c.id == sd.c.rep_id)
        ).one()
    assert tuple(row) == ("accept", None, ANN, when, "api", "called, good fit")
    assert [q.lead.email for q in rep_queue(db, ws, ANN, when).leads] == [C]


def test_reject_goes_where_the_revenue_model_sends_the_reason(db: Database) -> None:
    routed(db)
    ws = workspace()
    later = NOW + dt.timedelta(hours=1)
    recycled = reject_lead(db, ws, B, BOB, "bad_timing", later)
    disqualified = reject_lead(db, ws, D, BOB, "student", later)
    assert (recycled.stage_after, recycled.rule) == ("recycled", "sales_recycled")
    assert (disqualified.stage_after, disqualified.rule) == ("disqualified", "sales_disqualified")
    h, p = schema.handoff_leads, schema.people
    with db.reading() as conn:
        statuses = conn.execute(
            select(p.c.email, h.c.status, h.c.outcome)
            .join(p, p.c.id == h.c.person_id)
            .where(p.c.email.in_([B, D]))
            .order_by(p.c.email)
        ).all()
    assert [tuple(r) for r in statuses] == [
        (B, "rejected", "bad_timing"),
        (D, "rejected", "student"),
    ]


Call = Callable[[Database, Any, dt.datetime], object]
BAD: list[tuple[str, Call, str]] = [
    (
        "unknown_rep",
        lambda db, ws, t: accept_lead(db, ws, A, "nobody@x.example", t),
        "no sales rep",
    ),
    ("unknown_lead", lambda db, ws, t: accept_lead(db, ws, "who@nowhere.com", ANN, t), "no person"),
    ("not_in_queue", lambda db, ws, t: accept_lead(db, ws, B, ANN, t), f"assigned to {BOB}"),
    ("unknown_reason", lambda db, ws, t: reject_lead(db, ws, A, ANN, "too_pricey", t), "known:"),
    ("unknown_reason", lambda db, ws, t: reject_lead(db, ws, A, ANN, "bad_timng", t), "bad_timing"),
    ("reason_required", lambda db, ws, t: reject_lead(db, ws, A, ANN, " ", t), "needs a reason"),
    ("before_entry", lambda db, ws, t: accept_lead(db, ws, A, ANN, MQL_AT - HOUR), "come before"),
]


def test_bad_input_is_refused_and_changes_nothing(db: Database, state_of: State) -> None:
    routed(db)
    ws = workspace()
    before = state_of(db)
    for code, call, words in BAD:
        with pytest.raises(HandoffError) as caught:
            call(db, ws, NOW)
        assert caught.value.code is HandoffErrorCode(code), words
        assert words in str(caught.value)
        assert state_of(db) == before, code
    # a decided lead is no longer in the queue; an inactive rep decides nothing
    accept_lead(db, ws, A, ANN, NOW)
    decided = state_of(db)
    with pytest.raises(HandoffError) as caught:
        reject_lead(db, ws, A, ANN, "bad_timing", NOW + dt.timedelta(hours=1))
    assert caught.value.code is HandoffErrorCode.NOT_IN_QUEUE
    assert "already accepted" in str(caught.value)
    r = schema.sales_reps
    with db.transaction() as conn:
        conn.execute(r.update().where(r.c.email == ANN).values(active=False))
    with pytest.raises(HandoffError) as caught:
        accept_lead(db, ws, C, ANN, NOW)
    assert caught.value.code is HandoffErrorCode.INACTIVE_REP
    with db.transaction() as conn:
        conn.execute(r.update().where(r.c.email == ANN).values(active=True))
    assert state_of(db) == decided


def test_a_predicted_probability_ranks_the_queue_before_the_score(db: Database) -> None:
    routed(db)
    p = schema.people
    with db.transaction() as conn:
        ids = dict(conn.execute(select(p.c.email, p.c.id).where(p.c.email.in_([A, C]))).all())
        model = conn.execute(
            schema.prediction_models.insert().values(
                target="opportunity",
                horizon_days=90,
                algorithm="test",
                trained_at=NOW,
                train_from=NOW,
                train_to=NOW,
                calibrated_at=NOW,
                validated_at=NOW,
                features=[],
                metrics={},
                content={},
            )
        ).inserted_primary_key[0]
        # A scores lower than C but is predicted far likelier to buy (by the latest run;
        # an earlier one said the opposite)
        earlier = NOW - dt.timedelta(days=7)
        conn.execute(
            schema.prediction_history.insert(),
            [
                {
                    "person_id": ids[person],
                    "model_id": model,
                    "probability": probability,
                    "decile": decile,
                    "as_of": at,
                    "scored_at": at,
                }
                for person, probability, decile, at in (
                    (A, 0.9, 10, NOW),
                    (C, 0.2, 6, NOW),
                    (A, 0.1, 5, earlier),
                    (C, 0.95, 10, earlier),
                )
            ],
        )
    queue = rep_queue(db, workspace(), ANN, NOW)
    assert [q.lead.email for q in queue.leads] == [A, C]
    assert [q.probability for q in queue.leads] == [0.9, 0.2]
