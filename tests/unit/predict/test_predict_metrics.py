"""The evaluation figures, checked against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from revmachine.predict.metrics import (
    Evaluation,
    NotEvaluable,
    calibration_table,
    evaluate,
    expected_calibration_error,
)


def test_ece_is_the_weighted_gap_per_equal_width_bin() -> None:
    # Bin [0.1, 0.2): predictions 0.1, 0.1, observed 1 of 2 → gap 0.4, weight 2/4.
    # Bin [0.9, 1.0]: predictions 0.9, 0.9, observed 2 of 2 → gap 0.1, weight 2/4.
    p = np.array([0.1, 0.1, 0.9, 0.9])
    y = np.array([1, 0, 1, 1])
    assert expected_calibration_error(y, p) == pytest.approx(0.5 * 0.4 + 0.5 * 0.1)


def test_perfectly_calibrated_scores_have_no_calibration_error() -> None:
    p = np.repeat([0.2, 0.5], 10)
    y = np.array([1, 1] + [0] * 8 + [1] * 5 + [0] * 5)
    assert expected_calibration_error(y, p) == pytest.approx(0.0)


def test_capture_and_lift_follow_the_ranking() -> None:
    # 20 people, 4 converters; the model ranks two of them first, two last.
    p = np.linspace(1.0, 0.0, 20)
    y = np.zeros(20, dtype=int)
    y[[0, 1, 18, 19]] = 1
    ev = evaluate(y, p)
    assert ev.people == 20 and ev.converters == 4 and ev.base_rate == pytest.approx(0.2)
    top10, top20, top50 = ev.capture
    assert (top10.people, top10.converters, top10.converters_share) == (2, 2, 0.5)
    assert (top20.people, top20.converters) == (4, 2)
    assert (top50.people, top50.converters) == (10, 2)
    assert ev.top_decile_lift == pytest.approx(1.0 / 0.2)
    # 2 converters beat all 16 non-converters, 2 beat none: AUC = 32 / 64.
    assert ev.auc == pytest.approx(0.5)


def test_calibration_table_has_deciles_in_score_order() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(1000)
    y = (rng.random(1000) < p).astype(int)
    table = calibration_table(y, p)
    assert len(table) == 10 and sum(b.people for b in table) == 1000
    assert [b.mean_predicted for b in table] == sorted(b.mean_predicted for b in table)
    assert table[-1].observed_rate > table[0].observed_rate


def test_one_outcome_only_is_a_clear_error() -> None:
    with pytest.raises(NotEvaluable, match="both converters and non-converters"):
        evaluate(np.zeros(5, dtype=int), np.linspace(0, 1, 5))


def test_an_evaluation_survives_a_round_trip_through_plain_data() -> None:
    ev = evaluate(np.array([0, 1, 0, 1, 1, 0]), np.array([0.1, 0.8, 0.3, 0.6, 0.9, 0.2]))
    assert Evaluation.from_dict(ev.to_dict()) == ev
