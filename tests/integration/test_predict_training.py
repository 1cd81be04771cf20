"""Training on a workspace's history: time-ordered parts, a calibrated model that beats the
baseline, saved with its window; predictions stored, read back and explained."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from revmachine.config import default_workspace
from revmachine.predict import (
    NotEnoughHistory,
    UnknownStage,
    evaluate_model,
    explain_prediction,
    list_models,
    load_model,
    predict_people,
    score_everyone,
    stored_prediction,
    synthetic,
    train,
)
from revmachine.predict.model import Algorithm
from revmachine.store import schema
from revmachine.store.database import Database

DAYS = dt.timedelta(days=1)


def test_train_evaluate_score_and_explain(db: Database) -> None:
    data = synthetic.company(2500, days=300, seed=11)
    with db.transaction() as conn:
        synthetic.load(conn, data)
    report = train(db, default_workspace(), data.end + 5 * DAYS)
    model = report.model

    # The parts follow each other in time; labels of one end before the next begins.
    last_event = data.activities.get_column("occurred_at").max()
    assert isinstance(last_event, dt.datetime)
    plan = model.plan
    assert plan.validate == last_event - 30 * DAYS
    assert plan.calibrate == plan.validate - 30 * DAYS
    assert plan.train[-1] <= plan.calibrate - 30 * DAYS
    assert model.target.stages == ("opportunity", "customer", "expansion")
    assert min(report.converters.values()) > 10

    trees = model.validation(Algorithm.GRADIENT_BOOSTING)
    baseline = model.validation(Algorithm.LOGISTIC)
    assert trees.auc > baseline.auc
    assert model.algorithm is Algorithm.GRADIENT_BOOSTING
    assert trees.ece <= 0.02
    assert trees.capture[0].converters_share > 0.5  # the top 10 % hold most converters

    with db.reading() as conn:
        assert [m.version for m in list_models(conn)] == [model.version]
        assert load_model(conn).version == model.version

    # `evaluate` at the validation cut-off gives the figures saved at training.
    again = evaluate_model(db, model, data.end + 5 * DAYS)
    assert again.cutoff == plan.validate
    assert again.evaluation.auc == pytest.approx(trees.auc)

    as_of = data.end
    run = score_everyone(db, model, as_of, as_of)
    with db.reading() as conn:
        stored = conn.execute(
            select(func.count()).select_from(schema.prediction_history)
        ).scalar_one()
        converted = conn.execute(
            select(func.count(func.distinct(schema.stage_transitions.c.person_id))).where(
                schema.stage_transitions.c.to_stage == "opportunity"
            )
        ).scalar_one()
    assert stored == run.people == 2500 - converted
    # deciles by rank within the run (10: the likeliest tenth)
    ph = schema.prediction_history
    with db.reading() as conn:
        kept = conn.execute(select(ph.c.probability, ph.c.decile, ph.c.as_of)).all()
    assert len(kept) == run.people and {at for _, _, at in kept} == {as_of}
    by_decile: dict[int, list[float]] = {}
    for probability, decile, _ in kept:
        by_decile.setdefault(decile, []).append(probability)
    assert sorted(by_decile) == list(range(1, 11))
    for d in range(1, 10):  # every decile's probabilities are at or below the next one's
        assert max(by_decile[d]) <= min(by_decile[d + 1])
    assert abs(len(by_decile[10]) - run.people / 10) <= 1 + run.people / 100
    some = data.people.get_column("id").to_list()[:50]
    fresh = predict_people(db, model, some, as_of)
    with db.reading() as conn:
        for person, probability in fresh.items():
            saved = stored_prediction(conn, person)
            if saved is not None:
                assert saved.probability == pytest.approx(probability)
                assert saved.model_version == model.version

    # a backdated run is kept beside it: the latest stays the latest, as of reads see both
    score_everyone(db, model, as_of - 10 * DAYS, as_of)
    with db.reading() as conn:
        someone = conn.execute(select(schema.prediction_history.c.person_id)).scalar()
        assert someone is not None
        latest = stored_prediction(conn, someone)
        earlier = stored_prediction(conn, someone, as_of - 5 * DAYS)
    assert latest is not None and latest.as_of == as_of
    assert earlier is not None and earlier.as_of == as_of - 10 * DAYS

    best = max(fresh, key=lambda p: fresh[p])
    email = data.people.filter(data.people["id"] == best).get_column("email")[0]
    why = explain_prediction(db, model, email, as_of)
    assert why.probability == pytest.approx(fresh[best])
    assert why.raising and all(r.raises for r in why.raising)
    assert "raises the chance" in why.raising[0].describe()


def test_training_needs_enough_history_and_a_known_stage(db: Database) -> None:
    data = synthetic.company(100, days=60, seed=2)
    with db.transaction() as conn:
        synthetic.load(conn, data)
    with pytest.raises(NotEnoughHistory, match="three horizons"):
        train(db, default_workspace(), data.end)
    with pytest.raises(UnknownStage, match="no stage 'opp'"):
        train(db, default_workspace(), data.end, target_stage="opp")
