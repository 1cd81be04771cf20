"""A fixture that writes small workspaces to a temporary directory and validates them."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_samples import MINI_REVENUE, MINI_SCORING, Validate

from revmachine.config import ValidationIssue, validate_workspace


@pytest.fixture
def validate(tmp_path: Path) -> Validate:
    """Write the given files (defaults: the mini workspace) and validate the directory."""

    def run(
        revenue: str | None = MINI_REVENUE, scoring: str | None = MINI_SCORING
    ) -> list[ValidationIssue]:
        for name, text in (("revenue_model.yml", revenue), ("scoring.yml", scoring)):
            if text is not None:
                (tmp_path / name).write_text(text, encoding="utf-8")
        return validate_workspace(tmp_path)

    return run
