"""The vocabulary of workspace problems: codes, one issue type, and suggestions.

Every issue names its file and line and, where a fix is guessable, says what to write
instead (a close spelling of an unknown name, the missing key, the rule it overlaps with).
The codes are a small documented enum reused by the CLI (`revmachine validate`), the API
and `--set` overrides.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class IssueCode(StrEnum):
    MISSING_FILE = "missing_file"  # revenue_model.yml or scoring.yml is not there
    YAML_SYNTAX = "yaml_syntax"  # the text is not YAML
    DUPLICATE_KEY = "duplicate_key"  # the same key twice in one mapping (YAML keeps the last)
    INVALID = "invalid"  # a key, value or type the schema refuses
    DUPLICATE_NAME = "duplicate_name"  # two stages, transitions or rules with one name
    UNKNOWN_STAGE = "unknown_stage"
    UNKNOWN_THRESHOLD = "unknown_threshold"
    UNKNOWN_LIST = "unknown_list"
    UNKNOWN_FIELD = "unknown_field"
    UNKNOWN_ACTIVITY_TYPE = "unknown_activity_type"
    BAD_ACTIVITY_TYPE = "bad_activity_type"  # a custom type spelled against the rules
    UNREACHABLE_STAGE = "unreachable_stage"  # no path from the entry stage
    CYCLE_WITHOUT_EXIT = "cycle_without_exit"  # stages that pass people around forever
    DEAD_END = "dead_end"  # an inventory stage nobody can leave
    OVERLAPPING_RULES = "overlapping_rules"  # two rules that always match together
    UNKNOWN_TEAM = "unknown_team"  # routing.yml: a rule names a team not under `teams:`
    UNKNOWN_REASON = "unknown_reason"  # a rejection reason not in routing.yml's list
    PRIVATE_ADDRESS = "private_address"  # a webhook to a private or loopback address


class Severity(StrEnum):
    ERROR = "error"  # the workspace is refused
    WARNING = "warning"  # allowed, but probably not what was meant


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    file: str
    line: int | None
    code: IssueCode
    message: str
    suggestion: str | None = None
    severity: Severity = Severity.ERROR

    def describe(self) -> str:
        """`file:line: error[code]: message` then the suggestion, like a compiler."""
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        text = f"{where}: {self.severity.value}[{self.code.value}]: {self.message}"
        if self.suggestion:
            text += f"\n  hint: {self.suggestion}"
        return text


def closest(name: str, known: Iterable[str]) -> str | None:
    """The one known name most like `name`, if any is close enough to be a typo."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, known: Iterable[str], otherwise: str | None = None) -> str | None:
    """A suggestion sentence for an unknown `name`."""
    candidates = sorted(set(known))
    match = closest(name, candidates)
    if match is not None:
        return f"did you mean '{match}'?"
    if otherwise is not None:
        return otherwise
    if candidates and len(candidates) <= 12:
        return "known: " + ", ".join(candidates)
    return None


def errors_in(issues: Iterable[ValidationIssue]) -> list[ValidationIssue]:
    return [i for i in issues if i.severity is Severity.ERROR]
