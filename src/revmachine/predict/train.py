"""`revmachine predict train`: learn who converts soon from the workspace's own history.

One use case: read the labelled examples at the planned cut-offs (dataset.py), fit both
candidates (learn.py), evaluate each on the validation part, save the chosen model with
its window, features and metrics, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from revmachine.config import Workspace
from revmachine.predict.dataset import (
    DEFAULT_TARGET,
    LABEL,
    NotEnoughHistory,
    Plan,
    Target,
    data_span,
    examples,
    examples_at,
)
from revmachine.predict.feature_catalogue import FeatureConfig
from revmachine.predict.features import common_activity_types
from revmachine.predict.learn import LearningSettings, fit
from revmachine.predict.metrics import Evaluation, evaluate
from revmachine.predict.model_store import StoredModel, load_model, save_model
from revmachine.store.database import Database

DEFAULT_HORIZON = dt.timedelta(days=30)


@dataclass(frozen=True)
class TrainingReport:
    model: StoredModel
    examples: dict[str, int]  # per part: train, calibrate, validate
    converters: dict[str, int]


def train(
    db: Database,
    workspace: Workspace,
    now: dt.datetime,
    *,
    horizon: dt.timedelta = DEFAULT_HORIZON,
    as_of: dt.datetime | None = None,
    target_stage: str = DEFAULT_TARGET,
    settings: LearningSettings | None = None,
    max_train_cutoffs: int = 12,
) -> TrainingReport:
    """Train on history up to `as_of` (default: the last event), save, return the report."""
    target = Target.from_model(workspace.revenue, target_stage)
    with db.reading() as conn:
        span = data_span(conn, as_of or now)
        if span is None:
            raise NotEnoughHistory("the store holds no people and activities to learn from")
        plan = Plan.backwards(
            as_of or span[1], horizon, span[0], max_train_cutoffs=max_train_cutoffs
        )
        # The activity types that get their own features are picked from history before the
        # calibration cut-off, like everything else the model learns.
        config = FeatureConfig(common_activity_types(conn, plan.calibrate))
        parts = {
            "train": examples_at(conn, config, target, plan.train, horizon),
            "calibrate": examples(conn, config, target, plan.calibrate, horizon),
            "validate": examples(conn, config, target, plan.validate, horizon),
        }
    fitted = fit(parts["train"], parts["calibrate"], config.specs(), LABEL, settings)
    held_out = parts["validate"]
    labels = held_out.get_column(LABEL).to_numpy()
    metrics: dict[str, Any] = {}
    for algorithm, candidate in fitted.candidates.items():
        metrics[algorithm.value] = {
            "validation": evaluate(labels, candidate.model.probabilities(held_out)).to_dict(),
            "calibration_part": candidate.inner.to_dict(),
            "rounds": candidate.rounds,
            "importance": candidate.importance,
        }
    with db.transaction() as conn:
        version = save_model(
            conn,
            target=target,
            plan=plan,
            config=config,
            model=fitted.model,
            metrics=metrics,
            trained_at=now,
        )
        stored = load_model(conn, version)
    return TrainingReport(
        stored,
        {name: part.height for name, part in parts.items()},
        {name: int(part.get_column(LABEL).sum()) for name, part in parts.items()},
    )


@dataclass(frozen=True)
class ModelEvaluation:
    model: StoredModel
    cutoff: dt.datetime
    evaluation: Evaluation


def evaluate_model(
    db: Database, model: StoredModel, now: dt.datetime, cutoff: dt.datetime | None = None
) -> ModelEvaluation:
    """The model's figures on the people not yet converted at `cutoff`, judged by what
    happened within the horizon after it. The default cut-off is the latest one whose
    horizon has fully passed (the last event minus the horizon)."""
    with db.reading() as conn:
        if cutoff is None:
            span = data_span(conn, now)
            if span is None:
                raise NotEnoughHistory("the store holds no people and activities")
            cutoff = span[1] - model.horizon
        held_out = examples(conn, model.config, model.target, cutoff, model.horizon)
    labels = held_out.get_column(LABEL).to_numpy()
    return ModelEvaluation(model, cutoff, evaluate(labels, model.model.probabilities(held_out)))
