"""A workspace directory (`revenue_model.yml`, `scoring.yml`, `routing.yml`) → one
validated `Workspace`.

`validate_workspace` reports every problem it can find in one pass (a schema error in one
file does not hide name errors in the other); `load_workspace` returns the typed models or
raises with the same list. The model version is a hash of the validated content, not of
the bytes: editing a comment or re-indenting does not make a new version (and does not ask
for a re-score), while any change of meaning does.

`routing.yml` is optional (workspaces written before it existed get the default routing)
and stays out of the model version on purpose: the version decides who is re-scored and
replayed, and a routing change (a rep joins a team) must not re-score anyone. Routing has
its own version, `Workspace.routing_version`, recorded on every assignment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from revmachine.config.checks import check_workspace
from revmachine.config.fields import PREDICTION_FIELDS
from revmachine.config.issues import IssueCode, ValidationIssue, did_you_mean, errors_in
from revmachine.config.predicates import walk_field_tests
from revmachine.config.revenue_model import RevenueModel
from revmachine.config.routing import RoutingModel
from revmachine.config.routing_checks import check_routing
from revmachine.config.scoring import ScoringModel
from revmachine.config.source import SourceDocument, YamlSyntaxError, parse_yaml
from revmachine.config.spec import key_names

REVENUE_MODEL_FILE = "revenue_model.yml"
SCORING_FILE = "scoring.yml"
ROUTING_FILE = "routing.yml"
WORKSPACE_FILES: tuple[str, ...] = (REVENUE_MODEL_FILE, SCORING_FILE)  # required
OPTIONAL_FILES: tuple[str, ...] = (ROUTING_FILE,)  # a built-in default when missing

M = TypeVar("M", bound=BaseModel)


class WorkspaceError(ValueError):
    """A workspace with errors; `issues` lists all of them."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        super().__init__("\n".join(i.describe() for i in issues))
        self.issues = issues


@cache
def default_routing() -> RoutingModel:
    """The shipped `routing.yml`, for workspaces that have none (parsed once)."""
    package = resources.files("revmachine.config") / "defaults"
    doc = parse_yaml((package / ROUTING_FILE).read_text(encoding="utf-8"), ROUTING_FILE)
    issues: list[ValidationIssue] = []
    routing = _typed(RoutingModel, doc, issues)
    if routing is None:  # a packaging bug, not a user error
        raise WorkspaceError(issues)
    return routing


@dataclass(frozen=True)
class Workspace:
    """The validated revenue model and scoring rules, and the version they make together;
    the sales hand-off rules with their own version."""

    revenue: RevenueModel
    scoring: ScoringModel
    version: str
    overrides: Mapping[str, Any] = field(default_factory=dict)  # `--set` values applied
    routing: RoutingModel = field(default_factory=default_routing)

    @cached_property
    def uses_predictions(self) -> bool:
        """True when a fit rule or a transition's person condition tests `predicted.*`: only
        then does the revenue cycle read the prediction history as inputs."""
        predicates = [r.when for r in self.scoring.fit.rules]
        predicates += [
            c.person for t in self.revenue.transitions for c in t.when if c.person is not None
        ]
        return any(t.field in PREDICTION_FIELDS for p in predicates for t in walk_field_tests(p))

    @cached_property
    def routing_version(self) -> str:
        return content_hash({"routing": self.routing.model_dump(mode="json", exclude_none=True)})


def canonical_content(revenue: RevenueModel, scoring: ScoringModel) -> dict[str, Any]:
    """The meaning of the workspace as plain data (the same dict gives the same version)."""
    return {
        "revenue_model": revenue.model_dump(mode="json", by_alias=True, exclude_none=True),
        "scoring": scoring.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


def model_version(revenue: RevenueModel, scoring: ScoringModel) -> str:
    """16 hex digits of SHA-256 over the canonical content."""
    return content_hash(canonical_content(revenue, scoring))


def content_hash(content: Mapping[str, Any]) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_workspace(
    revenue: RevenueModel,
    scoring: ScoringModel,
    overrides: Mapping[str, Any] | None = None,
    routing: RoutingModel | None = None,
) -> Workspace:
    return Workspace(
        revenue,
        scoring,
        model_version(revenue, scoring),
        dict(overrides or {}),
        routing if routing is not None else default_routing(),
    )


def read_workspace_texts(
    texts: Mapping[str, str], origin: str | Path = ""
) -> tuple[Workspace | None, list[ValidationIssue]]:
    """Validate workspace files given as text (keyed by file name); `origin` prefixes the
    file names in issues. Returns the workspace when there are no errors."""
    issues: list[ValidationIssue] = []
    docs: dict[str, SourceDocument] = {}
    for name in WORKSPACE_FILES + OPTIONAL_FILES:
        shown = str(Path(origin) / name) if str(origin) else name
        if name not in texts and name in OPTIONAL_FILES:
            continue
        if name not in texts:
            issues.append(
                ValidationIssue(
                    shown,
                    None,
                    IssueCode.MISSING_FILE,
                    f"{name} is missing",
                    "run `revmachine init DIR` to write the default files",
                )
            )
            continue
        try:
            docs[name] = parse_yaml(texts[name], shown)
        except YamlSyntaxError as exc:
            issues.append(ValidationIssue(shown, exc.line, IssueCode.YAML_SYNTAX, exc.message))
            continue
        for path, line in docs[name].duplicate_keys:
            issues.append(
                ValidationIssue(
                    shown,
                    line,
                    IssueCode.DUPLICATE_KEY,
                    f"'{path[-1]}' is written twice here; YAML would keep only the last one",
                    "remove or merge one of them",
                )
            )
    revenue = _typed(RevenueModel, docs.get(REVENUE_MODEL_FILE), issues)
    scoring = _typed(ScoringModel, docs.get(SCORING_FILE), issues)
    routing_doc = docs.get(ROUTING_FILE)
    routing = _typed(RoutingModel, routing_doc, issues) if routing_doc else default_routing()
    if revenue is None or scoring is None:
        return None, issues
    issues.extend(check_workspace(revenue, scoring, docs[REVENUE_MODEL_FILE], docs[SCORING_FILE]))
    if routing is not None and routing_doc is not None:
        issues.extend(
            check_routing(routing, revenue, scoring, routing_doc, docs[REVENUE_MODEL_FILE])
        )
    if errors_in(issues) or routing is None:
        return None, issues
    return make_workspace(revenue, scoring, routing=routing), issues


def _typed(model: type[M], doc: SourceDocument | None, issues: list[ValidationIssue]) -> M | None:
    if doc is None:
        return None
    if not isinstance(doc.data, dict):
        issues.append(
            ValidationIssue(
                doc.file, 1, IssueCode.INVALID, "the file must be a mapping of keys to values"
            )
        )
        return None
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        for error in exc.errors():
            issues.append(_schema_issue(doc, error))
        return None


def _schema_issue(doc: SourceDocument, error: Any) -> ValidationIssue:
    loc = tuple(error["loc"])
    path = ".".join(str(p) for p in loc) or "(top level)"
    suggestion = None
    if error["type"] == "extra_forbidden":
        suggestion = did_you_mean(str(loc[-1]), key_names(), "remove it")
        message = f"unknown key '{loc[-1]}' at {path}"
    elif error["type"] == "missing":
        message = f"'{loc[-1]}' is required at {path}"
    else:
        message = f"{path}: {error['msg']}"
    return ValidationIssue(doc.file, doc.line_of(loc), IssueCode.INVALID, message, suggestion)


def _read_directory(directory: str | Path) -> dict[str, str]:
    root = Path(directory)
    return {
        n: (root / n).read_text(encoding="utf-8")
        for n in WORKSPACE_FILES + OPTIONAL_FILES
        if (root / n).is_file()
    }


def validate_workspace(directory: str | Path) -> list[ValidationIssue]:
    """Every issue in the workspace at `directory`, errors and warnings, in file order."""
    _, issues = read_workspace_texts(_read_directory(directory), directory)
    return issues


def load_workspace(directory: str | Path) -> Workspace:
    """The validated workspace at `directory`; raises WorkspaceError listing every error."""
    workspace, issues = read_workspace_texts(_read_directory(directory), directory)
    if workspace is None:
        raise WorkspaceError(errors_in(issues))
    return workspace


def default_texts() -> dict[str, str]:
    """The default workspace files shipped with revmachine."""
    package = resources.files("revmachine.config") / "defaults"
    return {n: (package / n).read_text(encoding="utf-8") for n in WORKSPACE_FILES + OPTIONAL_FILES}


def default_workspace() -> Workspace:
    workspace, issues = read_workspace_texts(default_texts(), "defaults")
    if workspace is None:  # a packaging bug, not a user error
        raise WorkspaceError(issues)
    return workspace


def write_default_workspace(directory: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write the default files into `directory` (created if needed); existing files are
    kept unless `overwrite`, so `init` never destroys someone's model."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in default_texts().items():
        target = root / name
        if target.exists() and not overwrite:
            continue
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
