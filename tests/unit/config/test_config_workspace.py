"""The default workspace, writing it, loading it, and what makes a new model version."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from config_samples import MINI_REVENUE, MINI_SCORING

from revmachine.config import (
    StageKind,
    WorkspaceError,
    default_workspace,
    load_workspace,
    read_workspace_texts,
    validate_workspace,
    write_default_workspace,
)
from revmachine.config.workspace import default_texts


def test_default_workspace_is_valid_without_warnings(tmp_path: Path) -> None:
    written = write_default_workspace(tmp_path)
    assert sorted(p.name for p in written) == ["revenue_model.yml", "routing.yml", "scoring.yml"]
    assert validate_workspace(tmp_path) == []


def test_default_model_is_the_b2b_waterfall() -> None:
    revenue = default_workspace().revenue
    stages = [s.name for s in revenue.stages]
    assert stages[:8] == [
        "anonymous",
        "known",
        "engaged",
        "mql",
        "sal",
        "opportunity",
        "customer",
        "expansion",
    ]
    kinds = {s.name: s.kind for s in revenue.stages}
    assert kinds["customer"] is StageKind.SUCCESS
    assert {n for n, k in kinds.items() if k is StageKind.DETOUR} == {
        "recycled",
        "disqualified",
        "lost",
    }
    assert revenue.entry == "anonymous"
    mql = revenue.thresholds["mql"]
    assert mql.fit is not None and mql.behavior is not None
    names = [t.name for t in revenue.transitions]
    assert {"fast_track_demo", "fast_track_pricing", "mql_by_score", "gone_quiet"} <= set(names)


def test_sla_fields_are_parsed_as_durations() -> None:
    stages = {s.name: s for s in default_workspace().revenue.stages}
    assert stages["mql"].sla == dt.timedelta(hours=24)
    assert stages["sal"].sla == dt.timedelta(days=5)
    assert stages["customer"].sla is None


def test_write_default_workspace_keeps_existing_files(tmp_path: Path) -> None:
    (tmp_path / "scoring.yml").write_text("# mine\n", encoding="utf-8")
    written = write_default_workspace(tmp_path)
    assert [p.name for p in written] == ["revenue_model.yml", "routing.yml"]
    assert (tmp_path / "scoring.yml").read_text(encoding="utf-8") == "# mine\n"
    write_default_workspace(tmp_path, overwrite=True)
    assert (tmp_path / "scoring.yml").read_text(encoding="utf-8") == default_texts()["scoring.yml"]


def test_load_workspace_raises_with_every_error(tmp_path: Path) -> None:
    (tmp_path / "revenue_model.yml").write_text(MINI_REVENUE.replace("to: mql", "to: x"))
    (tmp_path / "scoring.yml").write_text(MINI_SCORING.replace("web_visit", "web_vist"))
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(tmp_path)
    assert len(caught.value.issues) == 2
    assert "revenue_model.yml:" in str(caught.value)


def test_version_ignores_comments_and_layout_but_not_meaning() -> None:
    base, _ = read_workspace_texts({"revenue_model.yml": MINI_REVENUE, "scoring.yml": MINI_SCORING})
    commented = "# a comment\n" + MINI_REVENUE.replace(
        "mql: {fit: 10, behavior: 20}",
        ("mql:\n    fit: 10     # looks like a buyer\n    behavior: 20"),
    )
    same, _ = read_workspace_texts({"revenue_model.yml": commented, "scoring.yml": MINI_SCORING})
    changed_text = MINI_REVENUE.replace("behavior: 20", "behavior: 25")
    changed, _ = read_workspace_texts(
        {"revenue_model.yml": changed_text, "scoring.yml": MINI_SCORING}
    )
    assert base is not None and same is not None and changed is not None
    assert base.version == same.version
    assert base.version != changed.version
    assert len(base.version) == 16


def test_version_of_the_defaults_is_stable() -> None:
    assert default_workspace().version == default_workspace().version
