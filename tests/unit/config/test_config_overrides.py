"""`--set` overrides, sweeps, and the record of a model change."""

from __future__ import annotations

import datetime as dt

import pytest

from revmachine.config import (
    OverrideError,
    Sweep,
    apply_overrides,
    default_workspace,
    describe_change,
    parse_assignment,
    parse_sweep,
    sweep_overrides,
)


def test_parse_assignment_reads_the_value_as_yaml() -> None:
    assert parse_assignment("mql.behavior=60") == ("mql.behavior", 60)
    assert parse_assignment("mql.sla=12h") == ("mql.sla", "12h")
    assert parse_assignment("a.b=[x, y]") == ("a.b", ["x", "y"])
    with pytest.raises(OverrideError):
        parse_assignment("mql.behavior")


def test_parse_sweep() -> None:
    assert parse_sweep("mql.behavior=30..90:10") == Sweep(
        "mql.behavior", (30, 40, 50, 60, 70, 80, 90)
    )
    assert parse_sweep("mql.fit=1..3") == Sweep("mql.fit", (1, 2, 3))
    assert parse_sweep("x=0.1..0.3:0.1").values == (0.1, 0.2, 0.3)
    for bad in ("mql.behavior=30..", "mql.behavior=90..30:10", "=1..2", "x=1..5:0"):
        with pytest.raises(OverrideError):
            parse_sweep(bad)


def test_sweep_overrides_is_every_combination() -> None:
    grid = sweep_overrides([parse_sweep("a=1..2"), parse_sweep("b=5..6")])
    assert grid == [{"a": 1, "b": 5}, {"a": 1, "b": 6}, {"a": 2, "b": 5}, {"a": 2, "b": 6}]


def test_short_and_full_keys() -> None:
    base = default_workspace()
    changed = apply_overrides(
        base,
        {
            "mql.behavior": 60,
            "mql.sla": "12h",
            "pricing_page.points": 20,
            "behavior.half_life": "14d",
            "revenue_model.thresholds.engaged.behavior": 10,
        },
    )
    assert changed.revenue.thresholds["mql"].behavior == 60
    assert changed.revenue.thresholds["engaged"].behavior == 10
    assert {s.name: s.sla for s in changed.revenue.stages}["mql"] == dt.timedelta(hours=12)
    rules = {r.name: r for r in changed.scoring.behavior.rules}
    assert rules["pricing_page"].points == 20
    assert changed.scoring.behavior.half_life == dt.timedelta(days=14)
    assert changed.version != base.version
    assert changed.overrides["mql.behavior"] == 60
    assert base.revenue.thresholds["mql"].behavior == 50  # the original is untouched


def test_overriding_with_the_current_value_keeps_the_version() -> None:
    base = default_workspace()
    assert apply_overrides(base, {"mql.behavior": 50}).version == base.version


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mqll.behavior": 60}, "did you mean 'mql'?"),
        ({"mql.behaviour": 60}, "did you mean 'behavior'?"),
        ({"mql.behavior": "lots"}, "not valid"),
        ({"gone_quiet.to": "nowhere"}, "unknown stage 'nowhere'"),
        ({"stages.mqll.sla": "1d"}, "no item named 'mqll'"),
    ],
)
def test_bad_overrides_say_why(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(OverrideError, match=message):
        apply_overrides(default_workspace(), overrides)


def test_model_change_record() -> None:
    base = default_workspace()
    at = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    assert describe_change(base, base, at) is None
    changed = apply_overrides(base, {"mql.behavior": 60})
    change = describe_change(base, changed, at)
    assert change is not None
    assert (change.version, change.previous_version, change.changed_at) == (
        changed.version,
        base.version,
        at,
    )
    assert "-    behavior: 50.0\n+    behavior: 60.0\n" in change.diff
    first = describe_change(None, base, at)
    assert first is not None and first.previous_version is None
    assert "+name: Default B2B waterfall" in first.diff
