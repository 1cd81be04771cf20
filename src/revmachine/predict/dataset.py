"""Labelled examples from the workspace's history: who converted within the horizon.

An example is a person at a cut-off T: their features as of T, and the label "entered a
converting stage in (T, T + horizon]". Converting stages come from the revenue model: the
target stage (`opportunity` by default) and every later stage that is not a detour
(`customer`, `expansion`). People already in a converting stage at T are not examples:
there is nothing left to predict for them.

Cut-offs are laid out backwards from the end of the data so that the parts never overlap
in time — the labels of one part are all observed before the next part's cut-off:

    ... train cut-offs ... | calibrate at end − 2H | validate at end − H | end

so the validation part is later than anything the model or its calibration saw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, func, select

from revmachine.config import RevenueModel, StageKind
from revmachine.predict.feature_catalogue import ID, FeatureConfig
from revmachine.predict.features import build_features
from revmachine.store import schema

LABEL = "converted"
CUTOFF = "cutoff"
DEFAULT_TARGET = "opportunity"


class UnknownStage(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    """What counts as converting: entering `stage` or a later non-detour stage."""

    stage: str
    stages: tuple[str, ...]

    @classmethod
    def from_model(cls, model: RevenueModel, stage: str = DEFAULT_TARGET) -> Target:
        names = [s.name for s in model.stages]
        if stage not in names:
            raise UnknownStage(
                f"the revenue model has no stage {stage!r}; its stages: {', '.join(names)}"
            )
        later = model.stages[names.index(stage) :]
        return cls(stage, tuple(s.name for s in later if s.kind is not StageKind.DETOUR))


@dataclass(frozen=True)
class Plan:
    """Where the cut-offs fall (see the module docstring)."""

    horizon: dt.timedelta
    train: tuple[dt.datetime, ...]  # oldest first
    calibrate: dt.datetime
    validate: dt.datetime

    @classmethod
    def backwards(
        cls,
        end: dt.datetime,
        horizon: dt.timedelta,
        first: dt.datetime,
        *,
        step: dt.timedelta | None = None,
        max_train_cutoffs: int = 12,
    ) -> Plan:
        step = step or horizon
        validate = end - horizon
        calibrate = validate - horizon
        train: list[dt.datetime] = []
        cut = calibrate - horizon
        while cut > first and len(train) < max_train_cutoffs:
            train.append(cut)
            cut -= step
        if not train:
            raise NotEnoughHistory(
                f"training needs history from before {calibrate - horizon:%Y-%m-%d} "
                f"(three horizons of {horizon.days} days before {end:%Y-%m-%d}); "
                f"the data start on {first:%Y-%m-%d}"
            )
        return cls(horizon, tuple(reversed(train)), calibrate, validate)


class NotEnoughHistory(ValueError):
    pass


def data_span(conn: Connection, until: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The first person's creation and the last activity or stage move at or before `until`."""
    p, a, st = schema.people, schema.activities, schema.stage_transitions
    first = conn.execute(select(func.min(p.c.created_at)).where(p.c.created_at <= until))
    start = first.scalar_one()
    last = [
        conn.execute(select(func.max(t.c.occurred_at)).where(t.c.occurred_at <= until)).scalar()
        for t in (a, st)
    ]
    ends = [t for t in last if t is not None]
    if start is None or not ends:
        return None
    return start, max(ends)


def examples(
    conn: Connection,
    config: FeatureConfig,
    target: Target,
    cutoff: dt.datetime,
    horizon: dt.timedelta,
    person_ids: Sequence[int] | None = None,
) -> pl.DataFrame:
    """Features as of `cutoff` of the people not yet converted, with their label."""
    features = build_features(conn, config, cutoff, person_ids)
    st = schema.stage_transitions
    converted = {
        r[0]
        for r in conn.execute(
            select(st.c.person_id)
            .where(
                st.c.to_stage.in_(target.stages),
                st.c.occurred_at > cutoff,
                st.c.occurred_at <= cutoff + horizon,
            )
            .distinct()
        )
    }
    return features.filter(
        pl.col("stage").is_null() | ~pl.col("stage").is_in(list(target.stages))
    ).with_columns(
        pl.col(ID).is_in(list(converted)).cast(pl.Int8).alias(LABEL),
        pl.lit(cutoff).alias(CUTOFF),
    )


def examples_at(
    conn: Connection,
    config: FeatureConfig,
    target: Target,
    cutoffs: Sequence[dt.datetime],
    horizon: dt.timedelta,
) -> pl.DataFrame:
    parts = [examples(conn, config, target, c, horizon) for c in cutoffs]
    return pl.concat(parts) if parts else pl.DataFrame()
