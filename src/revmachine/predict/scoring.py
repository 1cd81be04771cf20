"""Predictions for people: on demand, in bulk into `predictions`, and read back.

`predictions` holds each person's latest probability of converting within the model's
horizon, with the model version and the time it is as of: the rep queue ranks by it.
`prediction_history` keeps every run's predictions with their decile in the run, so that
scoring rules (`predicted.probability`, `predicted.decile`, read by the revenue cycle) and
report segments see, as of any time, the prediction that was in effect then. People
already in a converting stage get no prediction (there is nothing left to predict for them).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from sqlalchemy import Connection, delete, func, insert, select

from revmachine.predict.feature_catalogue import ID
from revmachine.predict.features import build_features
from revmachine.predict.model_store import StoredModel
from revmachine.store import schema
from revmachine.store.bulk import insert_frame_ignoring_conflicts
from revmachine.store.database import Database

PROBABILITY = "probability"
DECILE = "decile"
CHUNK = 5000


def deciles(probability: pl.Expr) -> pl.Expr:
    """1..10 by rank within the frame, 10 being the likeliest tenth (ties share a decile)."""
    rank = probability.rank("min").cast(pl.Int64)
    return ((rank - 1) * 10 // pl.len() + 1).cast(pl.Int32)


def predict_frame(
    conn: Connection,
    model: StoredModel,
    as_of: dt.datetime,
    person_ids: Sequence[int] | None = None,
    *,
    skip_converted: bool = False,
) -> pl.DataFrame:
    """`person_id` and `probability` of the people existing at `as_of` (of `person_ids`)."""
    features = build_features(conn, model.config, as_of, person_ids)
    if skip_converted:
        features = features.filter(
            pl.col("stage").is_null() | ~pl.col("stage").is_in(list(model.target.stages))
        )
    probabilities = (
        model.model.probabilities(features) if features.height else np.zeros(0, np.float64)
    )
    return pl.DataFrame(
        {ID: features.get_column(ID), PROBABILITY: probabilities},
        schema={ID: pl.Int64, PROBABILITY: pl.Float64},
    )


def predict_people(
    db: Database, model: StoredModel, person_ids: Sequence[int], as_of: dt.datetime
) -> dict[int, float]:
    """Probability per person (those who did not exist at `as_of` are left out)."""
    ids = sorted(set(person_ids))
    result: dict[int, float] = {}
    with db.reading() as conn:
        # In chunks: an IN list has a bounded number of parameters on SQLite.
        for start in range(0, len(ids), CHUNK):
            frame = predict_frame(conn, model, as_of, ids[start : start + CHUNK])
            result.update(zip(frame.get_column(ID), frame.get_column(PROBABILITY), strict=True))
    return result


@dataclass(frozen=True)
class ScoringRun:
    model_version: int
    as_of: dt.datetime
    people: int
    seconds: float


def score_everyone(
    db: Database, model: StoredModel, as_of: dt.datetime, now: dt.datetime
) -> ScoringRun:
    """Replace `predictions` with the model's probabilities as of `as_of` and add them to
    `prediction_history`, in one transaction."""
    started = time.perf_counter()
    ph, pr = schema.prediction_history, schema.predictions
    with db.transaction() as conn:
        frame = predict_frame(conn, model, as_of, skip_converted=True)
        conn.execute(delete(pr))
        first = conn.execute(select(func.coalesce(func.max(ph.c.id), 0))).scalar_one()
        rows = frame.with_columns(deciles(pl.col(PROBABILITY)).alias(DECILE))
        insert_frame_ignoring_conflicts(
            conn,
            ph,
            rows,
            "id",
            constants={"model_id": model.version, "as_of": as_of, "scored_at": now},
        )
        # the latest run copied inside the database (no second trip through the driver)
        columns = [ph.c.person_id, ph.c.model_id, ph.c.probability, ph.c.as_of, ph.c.scored_at]
        conn.execute(
            insert(pr).from_select(
                [c.name for c in columns], select(*columns).where(ph.c.id > first)
            )
        )
    return ScoringRun(model.version, as_of, frame.height, time.perf_counter() - started)


@dataclass(frozen=True)
class StoredPrediction:
    person_id: int
    probability: float
    model_version: int
    as_of: dt.datetime
    scored_at: dt.datetime


def stored_predictions(conn: Connection, person_ids: Sequence[int]) -> dict[int, StoredPrediction]:
    """The latest stored prediction of each of `person_ids` that has one."""
    pr = schema.predictions
    rows = conn.execute(select(pr).where(pr.c.person_id.in_(list(person_ids)))).mappings()
    return {
        r["person_id"]: StoredPrediction(
            r["person_id"], r["probability"], r["model_id"], r["as_of"], r["scored_at"]
        )
        for r in rows
    }


def stored_prediction(conn: Connection, person_id: int) -> StoredPrediction | None:
    return stored_predictions(conn, [person_id]).get(person_id)
