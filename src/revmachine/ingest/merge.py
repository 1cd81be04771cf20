"""How a person's record absorbs a new version of itself: a pure, order-independent merge.

Rules (the contract the README states):
- identity is the normalised email;
- `created_at` is the earliest ever seen, and the *first source* (`lead_source`,
  `acquisition_program_id`) is the one carried by the record created earliest;
- every other field, and every custom attribute, is last-writer-wins by the record's own
  time (its `updated_at`, else its `created_at`, else the import time), and an empty value
  never erases a known one.

Because each field keeps the time of the value it holds, the same records merged in any
order give the same person (ties on time go to the record merged last). That property is
what makes re-importing a file, or importing files out of order, safe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TRACKED_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "seniority",
    "company",
    "account_id",
    "industry",
    "employee_count",
    "country",
    "email_opt_in",
    "unsubscribed",
    "owner_id",
)
FIRST_TOUCH_FIELDS = ("lead_source", "acquisition_program_id")
ATTR_PREFIX = "attributes."


@dataclass(frozen=True)
class PersonRecord:
    """One incoming version of a person (a CSV row, an API record, an activity's effect)."""

    email: str
    values: Mapping[str, Any]
    attributes: Mapping[str, Any]
    created_at: dt.datetime | None
    record_time: dt.datetime

    @property
    def origin_time(self) -> dt.datetime:
        return self.created_at or self.record_time


@dataclass
class PersonState:
    email: str
    values: dict[str, Any]
    attributes: dict[str, Any]
    times: dict[str, dt.datetime]
    created_at: dt.datetime
    updated_at: dt.datetime
    id: int | None = None


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    occurred_at: dt.datetime


@dataclass
class MergeResult:
    state: PersonState
    changes: list[FieldChange] = field(default_factory=list)
    created: bool = False
    #: A field kept its value but the time it was last asserted moved (a known value seen
    #: again later; a first-touch value seen with an earlier origin). Not a change of the
    #: person, but the new time must be saved for later merges to stay order-independent.
    retimed: bool = False

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes) or self._moved_created

    _moved_created: bool = False


def new_state(record: PersonRecord) -> PersonState:
    values = {k: v for k, v in record.values.items() if v is not None}
    times = {k: record.record_time for k in values}
    for key in FIRST_TOUCH_FIELDS:
        if key in values:
            times[key] = record.origin_time
    attributes = {k: v for k, v in record.attributes.items() if v is not None}
    times.update({ATTR_PREFIX + k: record.record_time for k in attributes})
    return PersonState(
        record.email, values, attributes, times, record.origin_time, record.record_time
    )


def merge(state: PersonState | None, record: PersonRecord) -> MergeResult:
    """Merge `record` into `state` (None for a person not seen before)."""
    if state is None:
        return MergeResult(new_state(record), created=True)
    result = MergeResult(state)
    t = record.record_time
    for key, value in record.values.items():
        if value is None:
            continue
        old = state.values.get(key)
        known = state.times.get(key)
        if key in FIRST_TOUCH_FIELDS:
            origin = record.origin_time
            wins = old is None or known is None or origin < known
            at = origin
        else:
            wins = old is None or known is None or t >= known
            at = t
        if wins and old != value:
            state.values[key] = value
            state.times[key] = at
            result.changes.append(FieldChange(key, old, value, at))
        elif wins and known != at:
            # The same value again: it now holds since `at`, so that an older value merged
            # later cannot win over it.
            state.times[key] = at
            result.retimed = True
    for key, value in record.attributes.items():
        if value is None:
            continue
        tkey = ATTR_PREFIX + key
        old = state.attributes.get(key)
        known = state.times.get(tkey)
        wins = old is None or known is None or t >= known
        if wins and old != value:
            state.attributes[key] = value
            state.times[tkey] = t
            result.changes.append(FieldChange(tkey, old, value, t))
        elif wins and known != t:
            state.times[tkey] = t
            result.retimed = True
    if record.origin_time < state.created_at:
        state.created_at = record.origin_time
        result._moved_created = True
    if result.changes:
        state.updated_at = max(state.updated_at, t)
    return result
