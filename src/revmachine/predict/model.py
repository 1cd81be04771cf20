"""A trained predictive model: encoder, scorer (boosted trees or logistic), calibration.

Everything a model is can be written as JSON (the LightGBM booster as its own text
format), so the store keeps models as plain documents — no pickles, which would tie a
stored model to one library version and run code when loaded.

Both scorers give a raw log-odds score and its additive split over the features (for the
trees, LightGBM's TreeSHAP contributions; for the logistic model, coefficient times the
standardised value). Calibration is Platt scaling, p = σ(a·raw + b), fitted on data the
scorer was not trained on: it is strictly increasing, so it keeps the ranking (isotonic
regression would flatten it into ties) and it keeps contributions additive in the
calibrated log-odds (each is multiplied by `a`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from numpy.typing import NDArray

from revmachine.predict.encode import Encoder

Matrix = NDArray[np.float32]
CHUNK = 50_000
Vector = NDArray[np.float64]


class Algorithm(StrEnum):
    GRADIENT_BOOSTING = "lightgbm"
    LOGISTIC = "logistic_regression"


def sigmoid(x: Vector) -> Vector:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0))), dtype=np.float64)


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of a raw log-odds score."""

    slope: float = 1.0
    intercept: float = 0.0

    @classmethod
    def fit(cls, raw: Vector, labels: NDArray[Any]) -> Calibration:
        from sklearn.linear_model import LogisticRegression

        fitted = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), labels)
        return cls(float(fitted.coef_[0, 0]), float(fitted.intercept_[0]))

    def logit(self, raw: Vector) -> Vector:
        return self.slope * raw + self.intercept

    def to_dict(self) -> dict[str, float]:
        return {"slope": self.slope, "intercept": self.intercept}


@dataclass(frozen=True)
class LinearScorer:
    """Logistic regression over a fixed design: signed log1p of numbers, training-median
    imputation plus a missing flag, one-hot categories, every column standardised."""

    encoder: Encoder
    medians: list[float]
    missing_flags: list[int]  # feature indices that get a "was missing" column
    means: list[float]
    scales: list[float]
    coefficients: list[float]
    intercept: float

    def design(self, x: Matrix) -> tuple[Vector, list[int]]:
        """The standardised design matrix and, per column, the feature it comes from."""
        columns: list[Vector] = []
        owners: list[int] = []
        categories = set(self.encoder.category_indices())
        for i in range(x.shape[1]):
            col = x[:, i].astype(np.float64)
            if i in categories:
                size = len(self.encoder.vocabularies[self.encoder.features[i].name]) + 1
                for code in range(size):
                    columns.append((col == code).astype(np.float64))
                    owners.append(i)
                continue
            missing = np.isnan(col)
            value = np.sign(col) * np.log1p(np.abs(col))
            columns.append(np.where(missing, self.medians[i], value))
            owners.append(i)
            if i in self.missing_flags:
                columns.append(missing.astype(np.float64))
                owners.append(i)
        design = np.column_stack(columns) if columns else np.zeros((len(x), 0))
        if self.means:
            design = (design - np.asarray(self.means)) / np.asarray(self.scales)
        return design, owners

    def raw(self, x: Matrix) -> Vector:
        # In chunks: the one-hot design of a million people would not fit in memory.
        coefficients = np.asarray(self.coefficients)
        parts = [
            self.design(x[start : start + CHUNK])[0] @ coefficients
            for start in range(0, len(x), CHUNK)
        ]
        return np.concatenate(parts) + self.intercept if parts else np.zeros(0)

    def contributions(self, x: Matrix) -> Vector:
        design, owners = self.design(x)
        per_column = design * np.asarray(self.coefficients)
        out = np.zeros((len(x), x.shape[1] + 1))
        np.add.at(out.T, np.asarray(owners, dtype=np.int64), per_column.T)
        out[:, -1] = self.intercept
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "medians": self.medians,
            "missing_flags": self.missing_flags,
            "means": self.means,
            "scales": self.scales,
            "coefficients": self.coefficients,
            "intercept": self.intercept,
        }


SINGLE_THREAD_ROWS = 100_000


def auto_threads(rows: int) -> int:
    """One thread for small data (OpenMP workers spin while waiting, which costs more than
    they save below ~100k rows on a shared machine); 0, LightGBM's "every core", above."""
    return 1 if rows < SINGLE_THREAD_ROWS else 0


@dataclass(frozen=True)
class BoostedScorer:
    booster: lgb.Booster
    threads: int | None = None  # None: auto_threads

    def _threads(self, x: Matrix) -> int:
        return self.threads if self.threads is not None else auto_threads(len(x))

    def raw(self, x: Matrix) -> Vector:
        return np.asarray(
            self.booster.predict(x, raw_score=True, num_threads=self._threads(x)),
            dtype=np.float64,
        )

    def contributions(self, x: Matrix) -> Vector:
        return np.asarray(
            self.booster.predict(x, pred_contrib=True, num_threads=self._threads(x)),
            dtype=np.float64,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"booster": self.booster.model_to_string()}


@dataclass(frozen=True)
class Contributions:
    """Per person and feature, the push on the calibrated log-odds; `base` is the start."""

    values: Vector  # (people, features)
    base: Vector  # (people,)
    matrix: Matrix  # the encoded features, to say the values in words


@dataclass(frozen=True)
class PredictiveModel:
    encoder: Encoder
    algorithm: Algorithm
    scorer: LinearScorer | BoostedScorer
    calibration: Calibration

    def probabilities(self, frame: pl.DataFrame) -> Vector:
        return self.probabilities_of(self.encoder.matrix(frame))

    def probabilities_of(self, x: Matrix) -> Vector:
        return sigmoid(self.calibration.logit(self.scorer.raw(x)))

    def contributions(self, frame: pl.DataFrame) -> Contributions:
        x = self.encoder.matrix(frame)
        raw = self.scorer.contributions(x)
        a, b = self.calibration.slope, self.calibration.intercept
        return Contributions(raw[:, :-1] * a, raw[:, -1] * a + b, x)

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm.value,
            "encoder": self.encoder.to_dict(),
            "scorer": self.scorer.to_dict(),
            "calibration": self.calibration.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PredictiveModel:
        encoder = Encoder.from_dict(data["encoder"])
        algorithm = Algorithm(data["algorithm"])
        s = data["scorer"]
        scorer: LinearScorer | BoostedScorer
        if algorithm is Algorithm.GRADIENT_BOOSTING:
            scorer = BoostedScorer(lgb.Booster(model_str=s["booster"]))
        else:
            scorer = LinearScorer(encoder, **s)
        return cls(encoder, algorithm, scorer, Calibration(**data["calibration"]))
