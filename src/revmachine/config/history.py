"""Changes of the model, recorded as version, time and a readable diff.

The diff is taken between canonical renderings of the two workspaces, so it shows changes
of meaning (a threshold, a rule, a stage) and not of comments or layout, matching how the
version itself is computed. Storing the record is the caller's job (append-only, like
every other history).
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass

import yaml

from revmachine.config.workspace import REVENUE_MODEL_FILE, SCORING_FILE, Workspace


@dataclass(frozen=True)
class ModelChange:
    version: str
    previous_version: str | None
    changed_at: dt.datetime
    diff: str  # unified diff of the canonical YAML; the whole model for a first version


def render_workspace(workspace: Workspace) -> dict[str, str]:
    """Canonical YAML of each file: keys in model order, no comments, defaults omitted."""
    dump = {
        REVENUE_MODEL_FILE: workspace.revenue.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude_defaults=True
        ),
        SCORING_FILE: workspace.scoring.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude_defaults=True
        ),
    }
    return {
        name: yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=100)
        for name, content in dump.items()
    }


def describe_change(
    previous: Workspace | None, current: Workspace, changed_at: dt.datetime
) -> ModelChange | None:
    """The change from `previous` to `current`, or None when the version is the same."""
    if previous is not None and previous.version == current.version:
        return None
    before = render_workspace(previous) if previous is not None else {}
    after = render_workspace(current)
    chunks: list[str] = []
    for name in (REVENUE_MODEL_FILE, SCORING_FILE):
        chunks.extend(
            difflib.unified_diff(
                before.get(name, "").splitlines(keepends=True),
                after[name].splitlines(keepends=True),
                fromfile=f"a/{name}",
                tofile=f"b/{name}",
            )
        )
    return ModelChange(
        current.version, previous.version if previous else None, changed_at, "".join(chunks)
    )
