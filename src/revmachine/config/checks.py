"""Checks that need the whole workspace: names that must resolve and the stage graph's shape.

Schema checks (types, required keys, typos in keys) are pydantic's; these run on the typed
models and point back to lines through a `Located` document. `--set` overrides run the same
checks without a document (lines are then None). Scoring checks are in `scoring_checks`.
"""

from __future__ import annotations

from typing import Any

from revmachine.config.issues import IssueCode, Severity, ValidationIssue, did_you_mean
from revmachine.config.references import (
    Located,
    Report,
    check_filters,
    check_names,
    check_predicate,
    known_activity_types,
    reporter,
    unknown_type_hint,
)
from revmachine.config.revenue_model import RevenueModel, StageKind
from revmachine.config.scoring import ScoringModel
from revmachine.config.scoring_checks import check_scoring
from revmachine.config.source import PathKey
from revmachine.config.stage_graph import Edge, StageGraph
from revmachine.model.activity_types import is_valid_type_name


def check_workspace(
    revenue: RevenueModel, scoring: ScoringModel, revenue_doc: Located, scoring_doc: Located
) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    types = known_activity_types(revenue)
    lists = set(scoring.lists)
    _check_revenue(revenue, types, lists, reporter(revenue_doc, issues))
    check_scoring(scoring, types, reporter(scoring_doc, issues))
    return issues


def _check_revenue(model: RevenueModel, types: set[str], lists: set[str], report: Report) -> None:
    stages = [s.name for s in model.stages]
    check_names(
        ((s.name, ("stages", i, "name")) for i, s in enumerate(model.stages)), "stage", report
    )
    check_names(
        ((t.name, ("transitions", i, "name")) for i, t in enumerate(model.transitions)),
        "transition",
        report,
    )
    known = set(stages)
    unknown: list[str] = []

    def stage_ref(name: str, path: PathKey) -> bool:
        if name in known:
            return True
        unknown.append(name)
        report(path, IssueCode.UNKNOWN_STAGE, f"unknown stage '{name}'", did_you_mean(name, stages))
        return False

    if model.entry_stage is not None:
        stage_ref(model.entry_stage, ("entry_stage",))
    for i, name in enumerate(model.custom_activity_types):
        if not is_valid_type_name(name):
            report(
                ("custom_activity_types", i),
                IssueCode.BAD_ACTIVITY_TYPE,
                f"'{name}' is not a valid activity type name",
                "use lower snake case: letters, digits and _, starting with a letter",
            )
    for i, name in enumerate(model.engagement.ignore):
        if name not in types:
            report(
                ("engagement", "ignore", i),
                IssueCode.UNKNOWN_ACTIVITY_TYPE,
                f"unknown activity type '{name}'",
                unknown_type_hint(name, types),
            )
    edges: list[Edge] = []
    for i, transition in enumerate(model.transitions):
        here: PathKey = ("transitions", i)
        target_ok = stage_ref(transition.to, (*here, "to"))
        for j, source in enumerate(transition.from_):
            if stage_ref(source, (*here, "from", j)) and target_ok:
                edges.append(Edge(source, transition.to, i))
        for k, condition in enumerate(transition.when):
            _check_condition(model, condition, (*here, "when", k), types, lists, report)
    if not unknown:  # with a stage name wrong the graph is incomplete; avoid knock-on errors
        _check_graph(model, StageGraph(tuple(stages), tuple(edges)), report)


def _check_condition(
    model: RevenueModel,
    condition: Any,
    path: PathKey,
    types: set[str],
    lists: set[str],
    report: Report,
) -> None:
    if isinstance(condition.score, str) and condition.score not in model.thresholds:
        report(
            (*path, "score"),
            IssueCode.UNKNOWN_THRESHOLD,
            f"unknown threshold '{condition.score}'",
            did_you_mean(
                condition.score,
                model.thresholds,
                "define it under `thresholds:` or write {fit: …, behavior: …}",
            ),
        )
    if condition.activity is not None:
        activity = condition.activity
        many = isinstance(activity.type, list)
        for j, name in enumerate(activity.types()):
            if name not in types:
                where = (*path, "activity", "type", j) if many else (*path, "activity", "type")
                report(
                    where,
                    IssueCode.UNKNOWN_ACTIVITY_TYPE,
                    f"unknown activity type '{name}'",
                    unknown_type_hint(name, types),
                )
        check_filters(activity.where, (*path, "activity", "where"), lists, report)
    if condition.person is not None:
        check_predicate(condition.person, (*path, "person"), lists, report)


def _check_graph(model: RevenueModel, graph: StageGraph, report: Report) -> None:
    position = {s.name: i for i, s in enumerate(model.stages)}
    reachable = graph.reachable_from(model.entry)
    for stage in model.stages:
        if stage.name not in reachable:
            report(
                ("stages", position[stage.name], "name"),
                IssueCode.UNREACHABLE_STAGE,
                f"no transition leads from '{model.entry}' to stage '{stage.name}'",
                f"add a transition with `to: {stage.name}`, or remove the stage",
            )
    successes = [s.name for s in model.stages if s.kind is StageKind.SUCCESS]
    trapped: set[str] = set()
    for members in graph.traps(successes):
        if not set(members) & reachable:
            continue
        trapped |= set(members)
        edge = graph.first_edge_within(members)
        path: PathKey = ("transitions", edge.transition) if edge else ("stages",)
        loop = " → ".join([*members, members[0]])
        report(
            path,
            IssueCode.CYCLE_WITHOUT_EXIT,
            f"stages {loop} pass people around with no transition leading out",
            "add a transition from one of them to a stage outside the cycle, "
            "such as a success or detour stage",
        )
    for stage in model.stages:
        if (
            stage.kind is StageKind.INVENTORY
            and stage.name in reachable
            and stage.name not in trapped
            and not graph.successors(stage.name)
        ):
            report(
                ("stages", position[stage.name], "name"),
                IssueCode.DEAD_END,
                f"people who reach inventory stage '{stage.name}' can never leave it",
                f"add a transition `from: [{stage.name}]`, or make it a success or detour stage",
                Severity.WARNING,
            )
