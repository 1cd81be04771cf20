"""Fitting: a gradient-boosted model and a logistic-regression baseline, both calibrated.

Pure (no database, no clock): it takes feature frames and labels, so the same code trains
on a workspace's history and on the public data sets of the validation scripts.

The data come in two parts, both earlier than anything the result will be judged on:
`train` fits the scorers; `inner` (later than `train` for a time-ordered split) stops the
boosting and fits the calibration, and picks the model with the better AUC on it. The
caller keeps a third, later part to report on, which no step here sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from revmachine.predict.encode import Encoder, FeatureKind, FeatureSpec
from revmachine.predict.metrics import Evaluation, evaluate
from revmachine.predict.model import (
    Algorithm,
    BoostedScorer,
    Calibration,
    LinearScorer,
    Matrix,
    PredictiveModel,
    auto_threads,
)


@dataclass(frozen=True)
class LearningSettings:
    """Defaults that work across the data sets in docs/predict.md; all can be changed."""

    #: LightGBM's own default. 0.05 gave the same validation figures (±0.003 AUC on the
    #: public data sets) with twice the trees, and prediction time grows with the trees.
    learning_rate: float = 0.1
    num_leaves: int = 31
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    l2: float = 1.0
    max_rounds: int = 2000
    early_stopping_rounds: int = 100
    #: LightGBM threads; None: one below `SINGLE_THREAD_ROWS` rows, else every core. OpenMP
    #: threads spin while they wait, so on a busy machine small data are much faster on one.
    threads: int | None = None
    seed: int = 7
    #: The baseline is fit on at most this many rows (a random sample): its one-hot design
    #: of a million rows would cost gigabytes and it does not need them to converge.
    logistic_max_rows: int = 200_000
    logistic_c: float = 1.0

    def lightgbm_params(self, rows: int) -> dict[str, Any]:
        threads = self.threads if self.threads is not None else auto_threads(rows)
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.l2,
            "num_threads": threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }


@dataclass(frozen=True)
class Candidate:
    model: PredictiveModel
    inner: Evaluation  # on the `inner` part: what the choice was made on
    rounds: int | None = None  # boosting rounds kept by early stopping
    importance: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Fitted:
    chosen: Algorithm
    candidates: dict[Algorithm, Candidate]

    @property
    def model(self) -> PredictiveModel:
        return self.candidates[self.chosen].model


class NotEnoughData(ValueError):
    """Too few people, or no converters, to learn from."""


def fit(
    train: pl.DataFrame,
    inner: pl.DataFrame,
    features: tuple[FeatureSpec, ...],
    label: str,
    settings: LearningSettings | None = None,
) -> Fitted:
    """Both candidates, calibrated on `inner`; the one with the higher inner AUC is chosen."""
    settings = settings or LearningSettings()
    for name, part in (("training", train), ("calibration", inner)):
        positives = int(part.get_column(label).sum())
        if positives == 0 or positives == part.height:
            raise NotEnoughData(
                f"the {name} part has {part.height:,} people and {positives:,} converters: "
                "both outcomes are needed (more history or a longer horizon)"
            )
    encoder = Encoder.fit(train, features)
    x_train, y_train = encoder.matrix(train), _labels(train, label)
    x_inner, y_inner = encoder.matrix(inner), _labels(inner, label)
    boosted, rounds = fit_boosted(encoder, x_train, y_train, x_inner, y_inner, settings)
    linear = fit_logistic(encoder, x_train, y_train, settings)
    candidates = {}
    for algorithm, scorer in (
        (Algorithm.GRADIENT_BOOSTING, boosted),
        (Algorithm.LOGISTIC, linear),
    ):
        calibration = Calibration.fit(scorer.raw(x_inner), y_inner)
        model = PredictiveModel(encoder, algorithm, scorer, calibration)
        importance = (
            _importance(encoder, boosted.booster) if isinstance(scorer, BoostedScorer) else {}
        )
        candidates[algorithm] = Candidate(
            model,
            evaluate(y_inner, model.probabilities_of(x_inner)),
            rounds if algorithm is Algorithm.GRADIENT_BOOSTING else None,
            importance,
        )
    chosen = max(candidates, key=lambda a: candidates[a].inner.auc)
    return Fitted(chosen, candidates)


def fit_boosted(
    encoder: Encoder,
    x_train: Matrix,
    y_train: NDArray[np.int8],
    x_inner: Matrix,
    y_inner: NDArray[np.int8],
    settings: LearningSettings,
) -> tuple[BoostedScorer, int]:
    """LightGBM with native categories; rounds chosen by early stopping on `inner`."""
    params = settings.lightgbm_params(len(x_train))
    categories = encoder.category_indices()
    train_set = lgb.Dataset(
        x_train,
        label=y_train,
        feature_name=encoder.names,
        categorical_feature=categories or "auto",
        free_raw_data=True,
    )
    inner_set = lgb.Dataset(x_inner, label=y_inner, reference=train_set)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=settings.max_rounds,
        valid_sets=[inner_set],
        callbacks=[lgb.early_stopping(settings.early_stopping_rounds, verbose=False)],
    )
    rounds = int(booster.best_iteration or booster.current_iteration())
    # Keep only the rounds early stopping chose, so that the saved text is the model used.
    kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=rounds))
    return BoostedScorer(kept, settings.threads), rounds


def fit_logistic(
    encoder: Encoder, x: Matrix, y: NDArray[np.int8], settings: LearningSettings
) -> LinearScorer:
    """The baseline: L2-regularised logistic regression on a standardised design."""
    from sklearn.linear_model import LogisticRegression

    if len(x) > settings.logistic_max_rows:
        pick = np.random.default_rng(settings.seed).choice(
            len(x), settings.logistic_max_rows, replace=False
        )
        x, y = x[np.sort(pick)], y[np.sort(pick)]
    numbers = [i for i, f in enumerate(encoder.features) if f.kind is FeatureKind.NUMBER]
    medians = [0.0] * x.shape[1]
    flags = []
    for i in numbers:
        col = x[:, i].astype(np.float64)
        present = col[~np.isnan(col)]
        transformed = np.sign(present) * np.log1p(np.abs(present))
        medians[i] = float(np.median(transformed)) if len(transformed) else 0.0
        if len(present) < len(col):
            flags.append(i)
    unscaled = LinearScorer(encoder, medians, flags, [], [], [], 0.0)
    design, _ = unscaled.design(x)
    means = design.mean(axis=0)
    scales = design.std(axis=0)
    scales[scales == 0] = 1.0
    # One BLAS thread: on a shared two-core machine threaded BLAS ran ten times slower here.
    with threadpool_limits(limits=1, user_api="blas"):
        fitted = LogisticRegression(C=settings.logistic_c, max_iter=2000).fit(
            (design - means) / scales, y
        )
    return LinearScorer(
        encoder,
        medians,
        flags,
        means.tolist(),
        scales.tolist(),
        fitted.coef_[0].tolist(),
        float(fitted.intercept_[0]),
    )


def _labels(frame: pl.DataFrame, label: str) -> NDArray[np.int8]:
    return frame.get_column(label).cast(pl.Int8).to_numpy()


def _importance(encoder: Encoder, booster: lgb.Booster) -> dict[str, float]:
    gains = booster.feature_importance(importance_type="gain")
    total = float(gains.sum()) or 1.0
    ranked = sorted(zip(encoder.names, gains, strict=True), key=lambda t: -t[1])
    return {name: round(float(g) / total, 4) for name, g in ranked if g > 0}
