"""`--set key=value` and sweeps (`key=30..90:10`): candidate models for what-if runs.

A key is a dotted path into the workspace. Short forms come first so that the everyday
ones read like the vocabulary: `mql.behavior` is the MQL threshold's behaviour minimum,
`mql.sla` the MQL stage's SLA, `pricing_page.points` a scoring rule's points. In full,
`revenue_model.thresholds.mql.behavior` or `scoring.behavior.half_life`; list items are
addressed by their `name` (or an index). Resolution order: a `revenue_model.`/`scoring.`
prefix; a threshold name followed by fit/behavior/total; a top-level key of
revenue_model.yml, then of scoring.yml; a stage, transition, then rule name.

The result is validated exactly like the files (schema and workspace checks), and gets its
own model version, so a what-if run records which candidate it was.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from revmachine.config.checks import check_workspace
from revmachine.config.issues import closest, errors_in
from revmachine.config.revenue_model import RevenueModel
from revmachine.config.scoring import ScoringModel
from revmachine.config.spec import key_names
from revmachine.config.workspace import (
    REVENUE_MODEL_FILE,
    SCORING_FILE,
    Workspace,
    canonical_content,
    make_workspace,
)

_FILES = {"revenue_model": "revenue_model", "revenue": "revenue_model", "scoring": "scoring"}
_METRICS = ("fit", "behavior", "total")
_NUMBER = r"-?\d+(?:\.\d+)?"
_SWEEP = re.compile(
    rf"^\s*(?P<low>{_NUMBER})\s*\.\.\s*(?P<high>{_NUMBER})\s*(?::\s*(?P<step>{_NUMBER}))?\s*$"
)


class OverrideError(ValueError):
    """A `--set` or sweep that cannot be applied; the message says why and what to write."""


@dataclass(frozen=True)
class Sweep:
    key: str
    values: tuple[int | float, ...]


@dataclass(frozen=True)
class _NoSource:
    file: str

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        return None


def parse_assignment(text: str) -> tuple[str, Any]:
    """`mql.behavior=60` → ("mql.behavior", 60); the value is read as YAML (60, 2d, [a, b])."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise OverrideError(f"'{text}' is not KEY=VALUE, for example mql.behavior=60")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise OverrideError(f"the value in '{text}' is not readable: {exc}") from exc
    return key.strip(), value


def parse_sweep(text: str) -> Sweep:
    """`mql.behavior=30..90:10` → the values 30, 40, …, 90 (the step defaults to 1)."""
    key, _, spec = text.partition("=")
    match = _SWEEP.match(spec)
    if not key.strip() or match is None:
        raise OverrideError(
            f"'{text}' is not KEY=LOW..HIGH:STEP, for example mql.behavior=30..90:10"
        )
    low, high = _number(match["low"]), _number(match["high"])
    step = _number(match["step"]) if match["step"] else 1
    if step <= 0 or high < low:
        raise OverrideError(f"'{text}': the step must be positive and HIGH at least LOW")
    count = round((high - low) / step)
    if all(isinstance(v, int) for v in (low, high, step)):
        return Sweep(key.strip(), tuple(int(low + i * step) for i in range(count + 1)))
    # Multiply rather than accumulate, and round off the binary noise (0.30000000000000004).
    return Sweep(key.strip(), tuple(round(low + i * step, 10) for i in range(count + 1)))


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


def sweep_overrides(sweeps: Sequence[Sweep]) -> list[dict[str, Any]]:
    """Every combination of the sweeps' values, as override mappings."""
    keys = [s.key for s in sweeps]
    return [
        dict(zip(keys, combo, strict=True))
        for combo in itertools.product(*(s.values for s in sweeps))
    ]


def apply_overrides(workspace: Workspace, overrides: Mapping[str, Any]) -> Workspace:
    """A new workspace with each value set; raises OverrideError on any problem."""
    content = copy.deepcopy(canonical_content(workspace.revenue, workspace.scoring))
    for key, value in overrides.items():
        file, path = _resolve(content, key)
        _assign(content[file], path, value, key)
    try:
        revenue = RevenueModel.model_validate(content["revenue_model"])
        scoring = ScoringModel.model_validate(content["scoring"])
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise OverrideError(f"the overridden model is not valid: {problems}") from exc
    issues = errors_in(
        check_workspace(revenue, scoring, _NoSource(REVENUE_MODEL_FILE), _NoSource(SCORING_FILE))
    )
    if issues:
        raise OverrideError("; ".join(f"{i.file}: {i.message}" for i in issues))
    return make_workspace(
        revenue, scoring, {**workspace.overrides, **overrides}, routing=workspace.routing
    )


def _names(items: Any) -> list[str]:
    return [i["name"] for i in items if isinstance(i, dict) and "name" in i]


def _resolve(content: dict[str, Any], key: str) -> tuple[str, list[str]]:
    parts = key.split(".")
    head, rest = parts[0], parts[1:]
    revenue, scoring = content["revenue_model"], content["scoring"]
    if head in _FILES and rest:
        return _FILES[head], rest
    if head in revenue.get("thresholds", {}) and rest and rest[0] in _METRICS:
        return "revenue_model", ["thresholds", *parts]
    if head in RevenueModel.model_fields:
        return "revenue_model", parts
    if head in ScoringModel.model_fields:
        return "scoring", parts
    if head in _names(revenue["stages"]):
        return "revenue_model", ["stages", *parts]
    if head in _names(revenue.get("transitions", [])):
        return "revenue_model", ["transitions", *parts]
    for section in ("fit", "behavior"):
        if head in _names(scoring.get(section, {}).get("rules", [])):
            return "scoring", [section, "rules", *parts]
    known = [
        *revenue.get("thresholds", {}),
        *_names(revenue["stages"]),
        *_names(revenue.get("transitions", [])),
        *RevenueModel.model_fields,
        *ScoringModel.model_fields,
    ]
    match = closest(head, known)
    hint = f"; did you mean '{match}'?" if match else ""
    raise OverrideError(f"'{key}' names nothing in the workspace{hint}")


def _assign(node: Any, path: list[str], value: Any, key: str) -> None:
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            index = _index(node, part, key)
            if last:
                node[index] = value
                return
            node = node[index]
        elif isinstance(node, dict):
            if last and part not in node and part not in key_names():
                match = closest(part, key_names())
                hint = f"; did you mean '{match}'?" if match else ""
                raise OverrideError(f"'{key}': '{part}' is not a setting{hint}")
            if last:
                node[part] = value
                return
            if part not in node:
                match = closest(part, node)
                hint = f"; did you mean '{match}'?" if match else ""
                raise OverrideError(f"'{key}': there is no '{part}' here{hint}")
            node = node[part]
        else:
            raise OverrideError(f"'{key}': '{path[i - 1]}' is a single value, not a section")


def _index(items: list[Any], part: str, key: str) -> int:
    if part.isdigit() and int(part) < len(items):
        return int(part)
    names = _names(items)
    if part in names:
        return names.index(part)
    match = closest(part, names)
    hint = f"; did you mean '{match}'?" if match else ""
    raise OverrideError(f"'{key}': no item named '{part}'{hint}")
