"""Checks of `scoring.yml` beyond its schema: names resolve, and no two rules overlap.

Two behaviour rules with the same activity type, filters and program would both award
points for every such activity, and two fit rules with the same predicate would both add
their points; either is almost always a copy-paste slip, so it is an error.
"""

from __future__ import annotations

import json
from typing import Any

from revmachine.config.issues import IssueCode
from revmachine.config.references import (
    Report,
    check_filters,
    check_names,
    check_predicate,
    unknown_type_hint,
)
from revmachine.config.scoring import ScoringModel
from revmachine.config.source import PathKey


def _canonical(value: Any) -> str:
    dumped = (
        value.model_dump(mode="json", by_alias=True, exclude_none=True)
        if hasattr(value, "model_dump")
        else value
    )
    return json.dumps(dumped, sort_keys=True, default=str)


def check_scoring(model: ScoringModel, types: set[str], report: Report) -> None:
    lists = set(model.lists)
    named = [(r.name, ("fit", "rules", i, "name")) for i, r in enumerate(model.fit.rules)]
    named += [
        (r.name, ("behavior", "rules", i, "name")) for i, r in enumerate(model.behavior.rules)
    ]
    check_names(named, "rule", report)
    seen: dict[str, tuple[str, PathKey]] = {}
    for i, fit in enumerate(model.fit.rules):
        path: PathKey = ("fit", "rules", i)
        check_predicate(fit.when, (*path, "when"), lists, report)
        _overlap(seen, "fit:" + _canonical(fit.when), fit.name, path, report)
    for i, rule in enumerate(model.behavior.rules):
        path = ("behavior", "rules", i)
        if rule.activity not in types:
            report(
                (*path, "activity"),
                IssueCode.UNKNOWN_ACTIVITY_TYPE,
                f"unknown activity type '{rule.activity}'",
                unknown_type_hint(rule.activity, types),
            )
        check_filters(rule.where, (*path, "where"), lists, report)
        where = {k: _canonical(v) for k, v in rule.where.items()}
        key = "behavior:" + json.dumps([rule.activity, where, rule.program], sort_keys=True)
        _overlap(seen, key, rule.name, path, report)


def _overlap(
    seen: dict[str, tuple[str, PathKey]], key: str, name: str, path: PathKey, report: Report
) -> None:
    if key not in seen:
        seen[key] = (name, path)
        return
    other, _ = seen[key]
    report(
        path,
        IssueCode.OVERLAPPING_RULES,
        f"rule '{name}' matches exactly what rule '{other}' matches, so both always apply",
        f"merge it into '{other}', or tell them apart with a different condition or filter",
    )
