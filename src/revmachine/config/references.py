"""Name resolution shared by the workspace checks: how an issue finds its line, and the
checks of names that both files use (fields, lists, activity types, duplicate names)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from revmachine.config.fields import KNOWN_FIELDS, is_known_field
from revmachine.config.issues import IssueCode, Severity, ValidationIssue, closest, did_you_mean
from revmachine.config.predicates import AllOf, AnyOf, FieldTest, NotOf, ValueTest
from revmachine.config.revenue_model import RevenueModel
from revmachine.config.source import PathKey
from revmachine.model.activity_types import BUILTIN_ACTIVITY_TYPES

PredicateSpec = FieldTest | AllOf | AnyOf | NotOf


class Located(Protocol):
    @property
    def file(self) -> str: ...

    def line_of(self, loc: Sequence[str | int]) -> int | None: ...


class Report(Protocol):
    """Records one issue at a path of the document being checked."""

    def __call__(
        self,
        path: PathKey,
        code: IssueCode,
        message: str,
        suggestion: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None: ...


def reporter(doc: Located, issues: list[ValidationIssue]) -> Report:
    def report(
        path: PathKey,
        code: IssueCode,
        message: str,
        suggestion: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        issues.append(
            ValidationIssue(doc.file, doc.line_of(path), code, message, suggestion, severity)
        )

    return report


def known_activity_types(revenue: RevenueModel) -> set[str]:
    return set(BUILTIN_ACTIVITY_TYPES) | set(revenue.custom_activity_types)


def unknown_type_hint(name: str, types: set[str]) -> str:
    custom = f"if '{name}' is a type of your own, list it under `custom_activity_types:` in "
    custom += "revenue_model.yml"
    match = closest(name, types)
    return f"did you mean '{match}'? {custom[0].upper()}{custom[1:]}" if match else custom


def check_names(items: Iterable[tuple[str, PathKey]], what: str, report: Report) -> None:
    first: dict[str, PathKey] = {}
    for name, path in items:
        if name in first:
            report(
                path,
                IssueCode.DUPLICATE_NAME,
                f"{what} '{name}' is defined twice",
                "give each one its own name",
            )
        else:
            first[name] = path


def check_predicate(
    predicate: PredicateSpec, path: PathKey, lists: set[str], report: Report
) -> None:
    if isinstance(predicate, FieldTest):
        if not is_known_field(predicate.field):
            report(
                (*path, "field"),
                IssueCode.UNKNOWN_FIELD,
                f"unknown field '{predicate.field}'",
                did_you_mean(
                    predicate.field, KNOWN_FIELDS, "custom fields are written attributes.NAME"
                ),
            )
        check_value_lists(predicate, path, lists, report)
    elif isinstance(predicate, AllOf | AnyOf):
        key, parts = (
            ("all", predicate.all_) if isinstance(predicate, AllOf) else ("any", predicate.any_)
        )
        for i, part in enumerate(parts):
            check_predicate(part, (*path, key, i), lists, report)
    else:
        check_predicate(predicate.not_, (*path, "not"), lists, report)


def check_value_lists(test: ValueTest, path: PathKey, lists: set[str], report: Report) -> None:
    for key in ("in_list", "not_in_list"):
        name = getattr(test, key)
        if name is not None and name not in lists:
            report(
                (*path, key),
                IssueCode.UNKNOWN_LIST,
                f"unknown list '{name}'",
                did_you_mean(name, lists, "define it under `lists:` in scoring.yml"),
            )


def check_filters(filters: dict[str, Any], path: PathKey, lists: set[str], report: Report) -> None:
    for attribute, test in filters.items():
        if isinstance(test, ValueTest):
            check_value_lists(test, (*path, attribute), lists, report)
