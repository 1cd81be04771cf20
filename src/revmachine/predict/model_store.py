"""Trained models in the store (`prediction_models`): versioned, never overwritten.

A model's id is its version. It is kept with its target and horizon, its training window
(the cut-offs of every part), the features it reads, the evaluation of both candidates on
the validation part, and the model itself as a JSON document. The newest model of a target
is the live one, unless a version is named.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from revmachine.predict.dataset import Plan, Target
from revmachine.predict.feature_catalogue import FeatureConfig
from revmachine.predict.metrics import Evaluation
from revmachine.predict.model import Algorithm, PredictiveModel
from revmachine.store import schema


@dataclass(frozen=True)
class StoredModel:
    version: int
    target: Target
    horizon: dt.timedelta
    algorithm: Algorithm
    trained_at: dt.datetime
    plan: Plan
    config: FeatureConfig
    #: Per candidate ("lightgbm", "logistic_regression"): its evaluation on the validation
    #: part, plus `rounds` and `importance` where they apply.
    metrics: dict[str, Any]
    model: PredictiveModel

    def validation(self, algorithm: Algorithm | None = None) -> Evaluation:
        name = (algorithm or self.algorithm).value
        return Evaluation.from_dict(self.metrics[name]["validation"])


class NoModel(LookupError):
    pass


def save_model(
    conn: Connection,
    *,
    target: Target,
    plan: Plan,
    config: FeatureConfig,
    model: PredictiveModel,
    metrics: dict[str, Any],
    trained_at: dt.datetime,
) -> int:
    t = schema.prediction_models
    row = conn.execute(
        insert(t)
        .values(
            target=target.stage,
            horizon_days=plan.horizon.days,
            algorithm=model.algorithm.value,
            trained_at=trained_at,
            train_from=plan.train[0],
            train_to=plan.train[-1],
            calibrated_at=plan.calibrate,
            validated_at=plan.validate,
            features={
                "config": config.to_dict(),
                "converting_stages": list(target.stages),
                "names": model.encoder.names,
                "train_cutoffs": [c.isoformat() for c in plan.train],
            },
            metrics=metrics,
            content=model.to_dict(),
        )
        .returning(t.c.id)
    ).scalar_one()
    return int(row)


def load_model(
    conn: Connection, version: int | None = None, target: str | None = None
) -> StoredModel:
    """The model of that version, else the newest one (of `target`, if given)."""
    t = schema.prediction_models
    stmt = select(t)
    if version is not None:
        stmt = stmt.where(t.c.id == version)
    elif target is not None:
        stmt = stmt.where(t.c.target == target)
    row = conn.execute(stmt.order_by(t.c.id.desc()).limit(1)).mappings().first()
    if row is None:
        what = f"version {version}" if version is not None else "a trained model"
        raise NoModel(f"no {what} in the store: run `revmachine predict train` first")
    features = row["features"]
    horizon = dt.timedelta(days=row["horizon_days"])
    plan = Plan(
        horizon,
        tuple(dt.datetime.fromisoformat(c) for c in features["train_cutoffs"]),
        row["calibrated_at"],
        row["validated_at"],
    )
    return StoredModel(
        version=int(row["id"]),
        target=Target(row["target"], tuple(features["converting_stages"])),
        horizon=horizon,
        algorithm=Algorithm(row["algorithm"]),
        trained_at=row["trained_at"],
        plan=plan,
        config=FeatureConfig.from_dict(features["config"]),
        metrics=row["metrics"],
        model=PredictiveModel.from_dict(row["content"]),
    )


@dataclass(frozen=True)
class ModelSummary:
    version: int
    target: str
    horizon_days: int
    algorithm: str
    trained_at: dt.datetime
    validation_auc: float


def list_models(conn: Connection) -> list[ModelSummary]:
    t = schema.prediction_models
    rows = conn.execute(
        select(
            t.c.id, t.c.target, t.c.horizon_days, t.c.algorithm, t.c.trained_at, t.c.metrics
        ).order_by(t.c.id)
    ).all()
    return [
        ModelSummary(
            int(r.id),
            r.target,
            r.horizon_days,
            r.algorithm,
            r.trained_at,
            float(r.metrics[r.algorithm]["validation"]["auc"]),
        )
        for r in rows
    ]
