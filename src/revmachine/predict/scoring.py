"""Predictions for people: on demand, in bulk into `prediction_history`, and read back.

`prediction_history` keeps every scoring run: each person's probability of converting
within the model's horizon, its decile in the run, the model version and the time it is
as of. The rep queue ranks by each person's latest; scoring rules (`predicted.probability`,
`predicted.decile`, read by the revenue cycle) and report segments see, as of any time,
the prediction that was in effect then. People already in a converting stage get no
prediction (there is nothing left to predict for them).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from sqlalchemy import Connection

from revmachine.predict.feature_catalogue import ID
from revmachine.predict.features import build_features
from revmachine.predict.model_store import StoredModel
from revmachine.store import schema
from revmachine.store.bulk import insert_frame_ignoring_conflicts
from revmachine.store.database import Database
from revmachine.store.reads import LatestPrediction, latest_predictions

PROBABILITY = "probability"
DECILE = "decile"
CHUNK = 5000


def deciles(probability: pl.Expr) -> pl.Expr:
    """1..10 by rank within the frame, 10 being the likeliest tenth (ties share a decile)."""
    rank = probability.rank("min").cast(pl.Int64)
    return ((rank - 1) * 10 // pl.len() + 1).cast(pl.Int32)


def predict_frame(
    source: Connection | Database,
    model: StoredModel,
    as_of: dt.datetime,
    person_ids: Sequence[int] | None = None,
    *,
    skip_converted: bool = False,
) -> pl.DataFrame:
    """`person_id` and `probability` of the people existing at `as_of` (of `person_ids`).

    `source` as in `build_features`: a connection reads on it, the store on several."""
    features = build_features(source, model.config, as_of, person_ids)
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
    """Add the model's probabilities as of `as_of` to `prediction_history`, in one
    transaction.

    The features are read before it, on several connections at once (`build_features`),
    so the store's write lock is held only while the run is written."""
    started = time.perf_counter()
    frame = predict_frame(db, model, as_of, skip_converted=True)
    with db.transaction() as conn:
        insert_frame_ignoring_conflicts(
            conn,
            schema.prediction_history,
            frame.with_columns(deciles(pl.col(PROBABILITY)).alias(DECILE)),
            "id",
            constants={"model_id": model.version, "as_of": as_of, "scored_at": now},
        )
    return ScoringRun(model.version, as_of, frame.height, time.perf_counter() - started)


StoredPrediction = LatestPrediction


def stored_predictions(
    conn: Connection, person_ids: Sequence[int], as_of: dt.datetime | None = None
) -> dict[int, StoredPrediction]:
    """The latest stored prediction (as of `as_of`, if given) of each of `person_ids`."""
    return latest_predictions(conn, person_ids, as_of)


def stored_prediction(
    conn: Connection, person_id: int, as_of: dt.datetime | None = None
) -> StoredPrediction | None:
    return stored_predictions(conn, [person_id], as_of).get(person_id)
