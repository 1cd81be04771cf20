"""Fitting on a frame with a known signal: the trees beat the baseline, calibrated."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from revmachine.predict.encode import FeatureKind, FeatureSpec
from revmachine.predict.learn import NotEnoughData, fit
from revmachine.predict.metrics import evaluate
from revmachine.predict.model import Algorithm, PredictiveModel, sigmoid

SPECS = (
    FeatureSpec("visits", FeatureKind.NUMBER, "{value} visits", "no visits"),
    FeatureSpec("days_since", FeatureKind.NUMBER, "{value} days since", "never"),
    FeatureSpec("segment", FeatureKind.CATEGORY, "segment {value}", "no segment"),
    FeatureSpec("noise", FeatureKind.NUMBER),
)


def people(n: int, seed: int) -> pl.DataFrame:
    """Conversion needs recent visits AND the right segment for the visit count: a
    crossover interaction (in segment b, few visits convert) that is not additive."""
    rng = np.random.default_rng(seed)
    visits = rng.poisson(3, n).astype(float)
    days = rng.exponential(30, n)
    segment = rng.choice(["a", "b", "c"], n)
    logit = np.where(segment == "b", 1.2 - 0.8 * visits, -3.5 + 0.8 * visits) - days / 15
    converted = (rng.random(n) < sigmoid(logit)).astype(np.int8)
    days[rng.random(n) < 0.1] = np.nan  # never visited: missing, as the features give it
    return pl.DataFrame(
        {
            "visits": visits,
            "days_since": days,
            "segment": segment,
            "noise": rng.normal(size=n),
            "converted": converted,
        }
    )


@pytest.fixture(scope="module")
def fitted_and_held_out() -> tuple[object, pl.DataFrame]:
    return fit(people(6000, 1), people(3000, 2), SPECS, "converted"), people(4000, 3)


def test_trees_beat_the_logistic_baseline_and_are_calibrated(
    fitted_and_held_out: tuple[object, pl.DataFrame],
) -> None:
    fitted, held_out = fitted_and_held_out
    y = held_out.get_column("converted").to_numpy()
    figures = {
        a: evaluate(y, c.model.probabilities(held_out))
        for a, c in fitted.candidates.items()  # type: ignore[attr-defined]
    }
    trees, baseline = figures[Algorithm.GRADIENT_BOOSTING], figures[Algorithm.LOGISTIC]
    assert trees.auc > baseline.auc + 0.02
    assert trees.ece <= 0.02
    assert fitted.chosen is Algorithm.GRADIENT_BOOSTING  # type: ignore[attr-defined]


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_a_model_survives_json_and_its_contributions_add_up(
    fitted_and_held_out: tuple[object, pl.DataFrame], algorithm: Algorithm
) -> None:
    fitted, held_out = fitted_and_held_out
    model = fitted.candidates[algorithm].model  # type: ignore[attr-defined]
    sample = held_out.head(200)
    again = PredictiveModel.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_allclose(again.probabilities(sample), model.probabilities(sample))
    split = model.contributions(sample)
    np.testing.assert_allclose(
        sigmoid(split.base + split.values.sum(axis=1)), model.probabilities(sample), rtol=1e-6
    )
    if algorithm is Algorithm.GRADIENT_BOOSTING:
        # The trees see the interaction: the segment moves their predictions a lot (the
        # additive baseline cannot use it: its average effect is small).
        assert np.abs(split.values[:, 2]).max() > 0.5


def test_unknown_categories_and_missing_values_are_scored_not_rejected(
    fitted_and_held_out: tuple[object, pl.DataFrame],
) -> None:
    fitted, held_out = fitted_and_held_out
    odd = held_out.head(3).with_columns(
        pl.Series("segment", ["z", None, "a"]), pl.Series("visits", [None, 1.0, 2.0])
    )
    p = fitted.model.probabilities(odd)  # type: ignore[attr-defined]
    assert np.all((p > 0) & (p < 1))


def test_training_without_converters_says_what_is_missing() -> None:
    flat = people(500, 4).with_columns(pl.lit(0).cast(pl.Int8).alias("converted"))
    with pytest.raises(NotEnoughData, match="both outcomes"):
        fit(flat, flat, SPECS, "converted")
