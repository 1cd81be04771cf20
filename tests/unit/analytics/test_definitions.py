"""The vocabulary: one definition per metric, every report column traced to one, and
docs/metrics.md generated from it (so the docs cannot drift)."""

from __future__ import annotations

from pathlib import Path

import pytest

from revmachine.analytics.definitions import (
    METRICS,
    cost_stages,
    detour_stages,
    funnel_stages,
    markdown,
    metric,
    velocity_pairs,
    won_stage,
)
from revmachine.config import default_workspace

DOCS = Path(__file__).resolve().parents[3] / "docs" / "metrics.md"


def test_docs_are_generated_from_the_definitions() -> None:
    assert DOCS.read_text(encoding="utf-8") == markdown(), (
        "docs/metrics.md is stale: run `make docs-metrics`"
    )


def test_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="win_rate"):
        metric("winrate")


def test_stages_come_from_the_model() -> None:
    model = default_workspace().revenue
    renamed = model.model_copy(
        update={
            "stages": [s.model_copy(update={"name": f"x_{s.name}"}) for s in model.stages],
            "entry_stage": None,
        }
    )
    assert funnel_stages(renamed) == [f"x_{s}" for s in funnel_stages(model)]
    assert won_stage(model) == "customer" and won_stage(renamed) == "x_customer"
    assert detour_stages(model) == ["recycled", "disqualified", "lost"]
    assert velocity_pairs(model)[-1] == ("opportunity", "customer")
    assert cost_stages(model)[0] == "known" and cost_stages(model)[-1] == "customer"


def test_every_metric_has_a_rule() -> None:
    assert all(len(m.rule) > 40 for m in METRICS.values())
