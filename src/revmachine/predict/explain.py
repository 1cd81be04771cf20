"""Why the model gives a person their probability, in words a rep understands.

The model's own additive split of the calibrated log-odds (TreeSHAP contributions for the
boosted trees, coefficient × standardised value for the logistic model) says how much
each feature pushed the prediction up or down from the average person's. Each push is
told as the feature's value in words and the points of probability it is worth: how much
lower (or higher) the probability would be without that push, all else kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from revmachine.predict.feature_catalogue import ID
from revmachine.predict.features import build_features
from revmachine.predict.model import sigmoid
from revmachine.predict.model_store import StoredModel
from revmachine.store import schema
from revmachine.store.database import Database


@dataclass(frozen=True)
class Reason:
    feature: str
    value: str  # the feature's value in words
    effect: float  # on the calibrated log-odds
    points: float  # percentage points of probability this push is worth

    @property
    def raises(self) -> bool:
        return self.effect > 0

    def describe(self) -> str:
        verb = "raises" if self.raises else "lowers"
        size = abs(self.points)
        points = f"{size:.1f}" if size >= 0.05 else f"{size:.2f}"
        return f"{self.value}: {verb} the chance by {points} points"


@dataclass(frozen=True)
class PredictionExplanation:
    person_id: int
    email: str
    as_of: dt.datetime
    model_version: int
    target: str
    horizon_days: int
    probability: float
    average: float  # the probability with no feature pushing either way
    raising: list[Reason]  # strongest first
    lowering: list[Reason]

    def summary(self) -> str:
        return (
            f"{self.probability:.0%} chance of becoming {self.target} within "
            f"{self.horizon_days} days (as of {self.as_of:%Y-%m-%d})"
        )


class UnknownPerson(LookupError):
    pass


def explain_prediction(
    db: Database, model: StoredModel, email: str, as_of: dt.datetime, *, top: int = 5
) -> PredictionExplanation:
    """The probability as of `as_of` and the `top` features that raised and lowered it."""
    p = schema.people
    with db.reading() as conn:
        found = conn.execute(
            select(p.c.id, p.c.email).where(p.c.email == email.strip().lower())
        ).first()
        if found is None:
            raise UnknownPerson(f"no person with email {email!r}")
        features = build_features(conn, model.config, as_of, [found.id])
    if features.height == 0:
        raise UnknownPerson(f"{email} was not known yet on {as_of:%Y-%m-%d}")
    split = model.model.contributions(features)
    pushes = split.values[0]
    logit = float(split.base[0] + pushes.sum())
    probability = float(sigmoid(np.asarray([logit]))[0])
    encoder = model.model.encoder
    reasons = []
    for i, effect in enumerate(pushes):
        if abs(effect) < 1e-9:
            continue
        without = float(sigmoid(np.asarray([logit - effect]))[0])
        value = encoder.features[i].describe(encoder.decode(i, float(split.matrix[0, i])))
        reasons.append(
            Reason(encoder.names[i], value, float(effect), 100 * (probability - without))
        )
    reasons.sort(key=lambda r: -abs(r.points))
    return PredictionExplanation(
        person_id=int(features.get_column(ID)[0]),
        email=found.email,
        as_of=as_of,
        model_version=model.version,
        target=model.target.stage,
        horizon_days=model.horizon.days,
        probability=probability,
        average=float(sigmoid(np.asarray([split.base[0]]))[0]),
        raising=[r for r in reasons if r.raises][:top],
        lowering=[r for r in reasons if not r.raises][:top],
    )
