"""Predictions in scoring rules and segments, read as of the time scored or reported.

A prediction as of T is in a person's facts from T on: a fit rule on
`predicted.probability` changes the fit at T, never before; processing in pieces (with a
prediction backdated before what was processed, and one arriving later) gives what one run
gives; reports split by the prediction band see the prediction in effect at their `as_of`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select

from revmachine.analytics import Period, Scope, funnel_report
from revmachine.config import RevenueModel, ScoringModel, Workspace, default_workspace
from revmachine.config.workspace import make_workspace
from revmachine.engine import Engine, from_dict
from revmachine.services.cycle import explain_person, process, replay_funnels
from revmachine.services.handoff.leads import load_leads
from revmachine.services.imports import import_accounts, import_activities, import_people
from revmachine.store import schema
from revmachine.store.database import Database
from revmachine.store.spells import rebuild_spells

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 1, tzinfo=UTC)
END = dt.datetime(2025, 6, 1, tzinfo=UTC)
PEOPLE = (
    b"email,title,industry,employee_count,country,created_at\n"
    b"vp@acme.com,VP Engineering,Software,800,United States,2025-03-01T09:00:00Z\n"
    b"mgr@initech.com,IT Manager,Manufacturing,300,Germany,2025-03-02T09:00:00Z\n"
    b"quiet@umbrella.com,Director of IT,Healthcare,1200,Canada,2025-03-04T09:00:00Z\n"
)
ACCOUNTS = b"domain,name,industry,employee_count\nacme.com,Acme,Software,800\n"


def _activities(rows: list[tuple[str, str, str, str]]) -> bytes:
    lines = ["event_id,email,type,occurred_at"] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


FIRST = _activities(
    [
        ("a1", "vp@acme.com", "web_visit", "2025-03-05T10:00:00Z"),
        ("a2", "vp@acme.com", "webinar_attended", "2025-03-06T10:00:00Z"),
        ("a3", "mgr@initech.com", "content_download", "2025-03-07T10:00:00Z"),
        ("a4", "vp@acme.com", "content_download", "2025-03-22T10:00:00Z"),
    ]
)
SECOND = _activities(
    [
        ("b1", "vp@acme.com", "web_visit", "2025-04-02T10:00:00Z"),
        ("b2", "mgr@initech.com", "webinar_attended", "2025-04-03T10:00:00Z"),
        ("b3", "vp@acme.com", "web_visit", "2025-04-20T10:00:00Z"),
    ]
)
P1_AT = dt.datetime(2025, 3, 20, tzinfo=UTC)  # backdated: before the first run's time
P2_AT = dt.datetime(2025, 4, 15, tzinfo=UTC)  # after the second run's time


def predicted_workspace() -> Workspace:
    """The default workspace plus `predicted.probability >= 0.3 → +20` fit points."""
    base = default_workspace()
    data = base.scoring.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["fit"]["rules"].append(
        {
            "name": "likely_buyer",
            "when": {"field": "predicted.probability", "at_least": 0.3},
            "points": 20,
        }
    )
    return make_workspace(base.revenue, ScoringModel.model_validate(data))


def _ids(db: Database) -> dict[str, int]:
    with db.reading() as conn:
        return dict(conn.execute(select(schema.people.c.email, schema.people.c.id)).all())


def _model(db: Database) -> int:
    with db.transaction() as conn:
        return int(
            conn.execute(
                insert(schema.prediction_models).returning(schema.prediction_models.c.id),
                {
                    "target": "opportunity",
                    "horizon_days": 30,
                    "algorithm": "lightgbm",
                    "trained_at": NOW,
                    "train_from": NOW,
                    "train_to": NOW,
                    "calibrated_at": NOW,
                    "validated_at": NOW,
                    "features": [],
                    "metrics": {},
                    "content": {},
                },
            ).scalar_one()
        )


def _predict(db: Database, model: int, rows: list[tuple[int, float, int, dt.datetime]]) -> None:
    with db.transaction() as conn:
        conn.execute(
            insert(schema.prediction_history),
            [
                {
                    "person_id": pid,
                    "model_id": model,
                    "probability": probability,
                    "decile": decile,
                    "as_of": at,
                    "scored_at": END,
                }
                for pid, probability, decile, at in rows
            ],
        )


def _p1(ids: dict[str, int]) -> list[tuple[int, float, int, dt.datetime]]:
    return [(ids["vp@acme.com"], 0.55, 10, P1_AT), (ids["mgr@initech.com"], 0.05, 4, P1_AT)]


def _p2(ids: dict[str, int]) -> list[tuple[int, float, int, dt.datetime]]:
    return [(ids["vp@acme.com"], 0.12, 7, P2_AT), (ids["mgr@initech.com"], 0.4, 10, P2_AT)]


def _derived(db: Database, engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    st, sc, js = schema.stage_transitions, schema.score_changes, schema.journey_states
    with db.reading() as conn:
        return {
            "transitions": sorted(
                tuple(str(v) for v in r)
                for r in conn.execute(
                    select(st.c.person_id, st.c.occurred_at, st.c.from_stage, st.c.to_stage)
                )
            ),
            "scores": sorted(
                (p, t, round(f, 9), round(b, 9), r)
                for p, t, f, b, r in conn.execute(
                    select(sc.c.person_id, sc.c.occurred_at, sc.c.fit, sc.c.behavior, sc.c.rule)
                )
            ),
            "states": sorted(
                (p, s, round(engine.score_at(from_dict(state), END).total, 9))
                for p, s, state in conn.execute(select(js.c.person_id, js.c.stage, js.c.state))
            ),
        }


def _fit_history(db: Database, person: int) -> list[tuple[dt.datetime, float]]:
    sc = schema.score_changes
    with db.reading() as conn:
        return [
            (t, f)
            for t, f in conn.execute(
                select(sc.c.occurred_at, sc.c.fit)
                .where(sc.c.person_id == person)
                .order_by(sc.c.occurred_at, sc.c.id)
            )
        ]


def _load(db: Database) -> None:
    import_accounts(db, ACCOUNTS, now=NOW)
    import_people(db, PEOPLE, now=NOW)


def test_a_prediction_counts_from_its_time_on_never_before(db: Database) -> None:
    workspace = predicted_workspace()
    assert workspace.uses_predictions and not default_workspace().uses_predictions
    _load(db)
    import_activities(db, FIRST, now=NOW)
    import_activities(db, SECOND, now=NOW)
    ids = _ids(db)
    model = _model(db)
    _predict(db, model, _p1(ids) + _p2(ids))
    process(db, workspace, END)

    vp = ids["vp@acme.com"]
    plain = explain_person(db, default_workspace(), "vp@acme.com", END).score.fit
    history = _fit_history(db, vp)
    assert history, "the vp scored"
    for at, fit in history:
        expected = plain + 20 if P1_AT <= at < P2_AT else plain
        assert fit == expected, (at, fit)
    # the fit moves exactly at the prediction times, by the rule's points
    moves = [(at, fit) for at, fit in history if at in (P1_AT, P2_AT)]
    assert moves == [(P1_AT, plain + 20), (P2_AT, plain)]

    before = explain_person(db, workspace, "vp@acme.com", P1_AT - dt.timedelta(seconds=1))
    during = explain_person(db, workspace, "vp@acme.com", P1_AT)
    after = explain_person(db, workspace, "vp@acme.com", END)
    assert "likely_buyer" not in {c.rule for c in before.score.contributions}
    assert "likely_buyer" in {c.rule for c in during.score.contributions}
    assert during.score.fit == plain + 20 and after.score.fit == plain
    # the manager's 0.4 at P2 gives the points from then on
    mgr = explain_person(db, workspace, "mgr@initech.com", END)
    assert (
        mgr.score.fit
        == explain_person(db, default_workspace(), "mgr@initech.com", END).score.fit + 20
    )

    # routing decides now: it reads the latest prediction
    with db.reading() as conn:
        facts = load_leads(conn, [vp])[vp].facts
    assert (facts.predicted_probability, facts.predicted_decile) == (0.12, 7)

    # a what-if replay sees the same: the plain model is unaffected by predictions
    with_rule, without = replay_funnels(db, [workspace, default_workspace()], END)
    assert without.mqls == replay_funnels(db, [default_workspace()], END)[0].mqls
    assert with_rule.version == workspace.version


def test_incremental_runs_with_predictions_equal_one_run(db: Database, reset_store: Any) -> None:
    workspace = predicted_workspace()
    engine = Engine(workspace)
    _load(db)
    import_activities(db, FIRST, now=NOW)
    import_activities(db, SECOND, now=NOW)
    ids = _ids(db)
    model = _model(db)
    _predict(db, model, _p1(ids) + _p2(ids))
    process(db, workspace, END)
    once = _derived(db, engine)

    reset_store(db)
    _load(db)
    import_activities(db, FIRST, now=NOW)
    ids = _ids(db)
    model = _model(db)
    process(db, workspace, dt.datetime(2025, 3, 25, tzinfo=UTC))
    _predict(db, model, _p1(ids))  # as of 20 March, learnt after the 25 March run
    import_activities(db, SECOND, now=NOW)
    second = process(db, workspace, dt.datetime(2025, 4, 5, tzinfo=UTC))
    # the backdated prediction makes the two people it scores replay
    assert second.replayed == 2
    # as of 15 April, after the last run: the manager continues incrementally; the vp's
    # history already reached 20 April (a visit processed early), so the vp replays
    _predict(db, model, _p2(ids))
    third = process(db, workspace, dt.datetime(2025, 5, 1, tzinfo=UTC))
    assert third.replayed == 1 and third.incremental == 1
    process(db, workspace, END)
    assert _derived(db, engine) == once

    # a workspace that does not test predictions ignores new ones
    _predict(db, model, [(ids["vp@acme.com"], 0.9, 10, END)])
    assert process(db, default_workspace(), END).people == 3  # the version change only
    _predict(db, model, [(ids["vp@acme.com"], 0.95, 10, END)])
    assert process(db, default_workspace(), END).people == 0


def test_reports_split_by_the_prediction_in_effect_at_their_as_of(db: Database) -> None:
    _load(db)
    ids = _ids(db)
    model = _model(db)
    with db.transaction() as conn:
        conn.execute(
            insert(schema.stage_transitions),
            [
                {
                    "person_id": pid,
                    "from_stage": None,
                    "to_stage": "known",
                    "occurred_at": dt.datetime(2025, 3, 10, tzinfo=UTC),
                    "reason": "test",
                    "rule": "entry",
                    "model_version": "v1",
                    "recorded_at": NOW,
                }
                for pid in ids.values()
            ],
        )
        # The reports read stage_spells, which processing keeps; these rows bypass it.
        rebuild_spells(conn)
    _predict(
        db,
        model,
        [
            (ids["vp@acme.com"], 0.6, 10, P1_AT),
            (ids["mgr@initech.com"], 0.1, 7, P1_AT),
            (ids["vp@acme.com"], 0.02, 2, P2_AT),  # later, the vp looks unlikely
        ],
    )
    revenue = default_workspace().revenue
    period = Period(dt.date(2025, 3, 1), dt.date(2025, 6, 1))

    def known(as_of: dt.datetime, **kw: Any) -> dict[str, int]:
        with db.reading() as conn:
            report = funnel_report(conn, revenue, Scope(period, as_of, **kw))
        return {g.segment: s.entered for g in report.groups for s in g.stages if s.stage == "known"}

    early = dt.datetime(2025, 3, 15, tzinfo=UTC)
    middle = dt.datetime(2025, 4, 1, tzinfo=UTC)
    assert known(early, group_by="prediction") == {"(none)": 3}
    assert known(middle, group_by="prediction") == {"high": 1, "medium": 1, "(none)": 1}
    assert known(END, group_by="prediction") == {"low": 1, "medium": 1, "(none)": 1}
    assert known(middle, group_by="predicted_decile") == {"10": 1, "7": 1, "(none)": 1}
    assert known(middle, filters={"prediction": ("high",)}) == {"(all)": 1}
    assert known(END, filters={"prediction": ("high",)}) == {}
    assert known(END, filters={"predicted_decile": ("2", "7")}) == {"(all)": 2}


def test_a_transition_condition_on_the_predicted_decile(db: Database) -> None:
    base = default_workspace()
    revenue = base.revenue.model_dump(mode="json", by_alias=True, exclude_none=True)
    revenue["transitions"].insert(
        0,
        {
            "name": "predicted_hot",
            "from": ["known", "engaged"],
            "to": "mql",
            "when": [{"person": {"field": "predicted.decile", "at_least": 10}}],
        },
    )
    workspace = make_workspace(RevenueModel.model_validate(revenue), base.scoring)
    assert workspace.uses_predictions
    _load(db)
    import_activities(db, FIRST, now=NOW)
    ids = _ids(db)
    _predict(db, _model(db), _p1(ids) + _p2(ids))
    process(db, workspace, END)
    st = schema.stage_transitions
    with db.reading() as conn:
        hot = conn.execute(
            select(st.c.person_id, st.c.occurred_at, st.c.reason).where(
                st.c.rule == "predicted_hot"
            )
        ).all()
    # decile 10: the vp as of P1, the manager as of P2; each moves then, not before
    assert sorted((p, at) for p, at, _ in hot) == sorted(
        [(ids["vp@acme.com"], P1_AT), (ids["mgr@initech.com"], P2_AT)]
    )
    assert all(reason.startswith("predicted.decile at least 10") for _, _, reason in hot)
