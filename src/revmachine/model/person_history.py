"""A person's fields as a set of observations, and what that set says at a time.

Every import says, for some fields of a person, "this field had value v at time t" (the
record's own time; for the first-touch fields, the time the record was created). The
`people` row keeps the winning observation of each field and `person_changes` keeps every
other one that can still matter, so the store holds the same set whatever order the files
arrived in. This module is the one definition of how such a set is read:

- a field's value at T is its latest observation at or before T; a first-touch field's is
  its earliest (it never changes once known);
- observations at the same time are ordered by their value (its JSON text), never by
  arrival, so that ties cannot depend on import order;
- before a field's first observation, it shows the value as first known if a record that
  created the person carried it (an *initial* field), else nothing: a record created on
  10 January and exported on 1 February describes the person from 10 January, while a field
  first seen in a later record did not exist before it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
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

#: (time, value): one field's value as a record stated it at a time.
Observation = tuple[dt.datetime, Any]


def value_key(value: Any) -> str:
    """A total order on stored values, the same for a value read from a file or from JSON."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same_value(a: Any, b: Any) -> bool:
    # The common case without JSON; the type check keeps True apart from 1.
    return (type(a) is type(b) and a == b) or value_key(a) == value_key(b)


def compare(a: Observation, b: Observation) -> int:
    """-1, 0 or 1 as `a` comes before, with or after `b`: by time, then by value."""
    if a[0] != b[0]:
        return -1 if a[0] < b[0] else 1
    if type(a[1]) is type(b[1]) and a[1] == b[1]:
        return 0
    ka, kb = value_key(a[1]), value_key(b[1])
    return (ka > kb) - (ka < kb)


def sort_key(obs: Observation) -> tuple[dt.datetime, str]:
    return obs[0], value_key(obs[1])


def is_first_touch(key: str) -> bool:
    return key in FIRST_TOUCH_FIELDS


def beats(new: Observation, old: Observation, key: str) -> bool:
    """Whether `new` replaces `old` as the field's current value (the merge rule)."""
    order = compare(new, old)
    return order < 0 if is_first_touch(key) else order > 0


def value_as_of(
    observed: Iterable[Observation], as_of: dt.datetime, *, key: str, initial: bool
) -> Any:
    """The value a field had at `as_of`, from all its observations (None if unknown)."""
    ordered = sorted(observed, key=sort_key)
    if not ordered:
        return None
    known = [o for o in ordered if o[0] <= as_of]
    if known:
        return (known[0] if is_first_touch(key) else known[-1])[1]
    if not initial:
        return None
    if is_first_touch(key):
        return ordered[0][1]
    first = ordered[0][0]
    return [o for o in ordered if o[0] == first][-1][1]


def keys_after(current: Mapping[str, Any], doc: FieldTimes, as_of: dt.datetime) -> list[str]:
    """The fields whose history `values_as_of` needs: those observed last after `as_of`
    (a first-touch field needs none: only its current, earliest value can matter)."""
    return sorted(
        k for k in current if not is_first_touch(k) and k in doc.times and doc.times[k] > as_of
    )


def values_as_of(
    current: Mapping[str, Any],
    doc: FieldTimes,
    history: Mapping[str, Sequence[Observation]],
    as_of: dt.datetime,
) -> dict[str, Any]:
    """A person's values at `as_of`, from the current values (by field key, attributes as
    'attributes.NAME'), their `FieldTimes` and the history of the `keys_after` fields.

    A value stored without a time (a column default) was never observed: it is left out.
    """
    then: dict[str, Any] = {}
    for key, value in current.items():
        at = doc.times.get(key)
        if at is None:
            continue
        if at <= as_of:
            then[key] = value
            continue
        observed = [*history.get(key, ()), (at, value)]
        found = value_as_of(observed, as_of, key=key, initial=key in doc.initial)
        if found is not None:
            then[key] = found
    return then


@dataclass
class FieldTimes:
    """What the `people.field_times` document holds beside the values.

    - `times`: the time of each field's current (winning) observation; merges need it.
    - `initial`: the fields carried by the records that created the person (those with the
      earliest creation time); see the module docstring.
    - `logged`: fields whose current observation is already a `person_changes` row (it
      arrived as a change), so that it is not written again when a newer one replaces it.
    - `stamped`: fields whose current observation carries the import's time because its row
      had no time of its own; when the same value is imported again later, the older
      import time is dropped rather than kept as history.
    """

    times: dict[str, dt.datetime] = field(default_factory=dict)
    initial: set[str] = field(default_factory=set)
    logged: set[str] = field(default_factory=set)
    stamped: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {k: v.isoformat() for k, v in sorted(self.times.items())}
        doc["@initial"] = sorted(self.initial)  # always: its absence marks an old document
        for name, keys in (("@logged", self.logged), ("@stamped", self.stamped)):
            if keys:
                doc[name] = sorted(keys)
        return doc

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | None) -> FieldTimes:
        doc = doc or {}
        times = {k: dt.datetime.fromisoformat(v) for k, v in doc.items() if not k.startswith("@")}
        # A document written before the flags existed: every field counts as initial,
        # which is how reads treated values without history then.
        initial = set(doc["@initial"]) if "@initial" in doc else set(times)
        return cls(times, initial, set(doc.get("@logged", ())), set(doc.get("@stamped", ())))
