"""How a person's record absorbs new versions of itself: a pure, order-independent merge.

Rules (the contract the README states):
- identity is the normalised email;
- `created_at` is the earliest ever seen, and the *first source* (`lead_source`,
  `acquisition_program_id`) is the one carried by the record created earliest;
- every other field, and every custom attribute, is last-writer-wins by the record's own
  time (its `updated_at`, else its `created_at`, else the import time), and an empty value
  never erases a known one. Within one import, later lines win ties; between imports, a tie
  goes to the larger value (`model.person_history.value_key`), never to the import that
  came last.

Each field keeps the time of the value it holds, so the same records merged in any order
give the same person. The merge also says which observations must be appended to the
field history (`MergeResult.history`): every observation the person no longer holds —
one arriving late, one replaced by a newer one — so that the store keeps the whole set and
`store.reads.person_as_of` does not depend on import order either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from revmachine.model.person_history import (
    ATTR_PREFIX,
    FIRST_TOUCH_FIELDS,
    TRACKED_FIELDS,
    FieldTimes,
    Observation,
    beats,
    compare,
    is_first_touch,
    same_value,
    sort_key,
)

__all__ = [
    "ATTR_PREFIX",
    "FIRST_TOUCH_FIELDS",
    "TRACKED_FIELDS",
    "Batch",
    "FieldChange",
    "History",
    "MergeResult",
    "PersonRecord",
    "PersonState",
    "absorb",
    "merge",
    "needs_history",
]

#: The rows of `person_changes` already stored for one person, by field.
History = Mapping[str, Sequence[Observation]]


@dataclass(frozen=True)
class PersonRecord:
    """One incoming version of a person (a CSV row, an API record, an activity's effect)."""

    email: str
    values: Mapping[str, Any]
    attributes: Mapping[str, Any]
    created_at: dt.datetime | None
    record_time: dt.datetime
    #: `record_time` is the import's time: the row carried no time of its own.
    stamped: bool = False

    @property
    def origin_time(self) -> dt.datetime:
        return self.created_at or self.record_time

    def observations(self) -> dict[str, Observation]:
        """Each non-empty field and attribute, at the time this record states it."""
        seen: dict[str, Observation] = {}
        for key, value in self.values.items():
            if value is not None:
                at = self.origin_time if is_first_touch(key) else self.record_time
                seen[key] = (at, value)
        for key, value in self.attributes.items():
            if value is not None:
                seen[ATTR_PREFIX + key] = (self.record_time, value)
        return seen


@dataclass
class Batch:
    """Everything one import says about one person: its observations, and its creation."""

    email: str
    seen: dict[str, dict[dt.datetime, Any]]
    created_at: dt.datetime
    latest: dt.datetime
    #: Fields carried by the records created at `created_at`.
    initial: set[str]
    stamped: set[tuple[str, dt.datetime]] = field(default_factory=set)

    @classmethod
    def of(cls, record: PersonRecord) -> Batch:
        batch = cls(record.email, {}, record.origin_time, record.record_time, set())
        batch.add(record)
        return batch

    def add(self, record: PersonRecord) -> None:
        """Fold in the next record of the same import; later lines win ties, except that
        the first line keeps a first-touch value (it is the *first* source)."""
        seen = record.observations()
        origin = record.origin_time
        if origin < self.created_at:
            self.created_at, self.initial = origin, set(seen)
        elif origin == self.created_at:
            self.initial |= set(seen)
        self.latest = max(self.latest, record.record_time)
        for key, (at, value) in seen.items():
            by_time = self.seen.setdefault(key, {})
            if is_first_touch(key) and at in by_time:
                continue
            by_time[at] = value
            if record.stamped:
                self.stamped.add((key, at))
            else:
                self.stamped.discard((key, at))


@dataclass
class PersonState:
    email: str
    values: dict[str, Any]
    attributes: dict[str, Any]
    times: dict[str, dt.datetime]
    created_at: dt.datetime
    updated_at: dt.datetime
    id: int | None = None
    #: See `model.person_history.FieldTimes`.
    initial: set[str] = field(default_factory=set)
    logged: set[str] = field(default_factory=set)
    stamped: set[str] = field(default_factory=set)

    def field_times(self) -> FieldTimes:
        return FieldTimes(dict(self.times), set(self.initial), set(self.logged), set(self.stamped))

    def stored(self, key: str) -> Any:
        if key.startswith(ATTR_PREFIX):
            return self.attributes.get(key.removeprefix(ATTR_PREFIX))
        return self.values.get(key)

    def current(self, key: str) -> Observation | None:
        """The field's winning observation (None if the field was never observed; a stored
        default such as `unsubscribed = false` has no time and is not an observation)."""
        at, value = self.times.get(key), self.stored(key)
        return None if at is None or value is None else (at, value)

    def hold(self, key: str, obs: Observation, stamped: bool) -> None:
        at, value = obs
        if key.startswith(ATTR_PREFIX):
            self.attributes[key.removeprefix(ATTR_PREFIX)] = value
        else:
            self.values[key] = value
        self.times[key] = at
        if stamped:
            self.stamped.add(key)
        else:
            self.stamped.discard(key)


@dataclass(frozen=True)
class FieldChange:
    """One row of field history: `new` observed at `occurred_at`, replacing `old`. A row
    with `old == new` records an observation that changed nothing when it was written."""

    field: str
    old: Any
    new: Any
    occurred_at: dt.datetime


@dataclass
class MergeResult:
    state: PersonState
    #: Changes of the person's current values (what `updated` counts).
    changes: list[FieldChange] = field(default_factory=list)
    created: bool = False
    #: Nothing of the person changed, but what `field_times` holds did (a known value seen
    #: again later; a new initial field): the row must be saved for later merges.
    retimed: bool = False
    #: Rows to append to the field history: the changes, plus each observation the person
    #: no longer holds (one that arrived late, one a newer observation replaced).
    history: list[FieldChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes) or self._moved_created

    _moved_created: bool = False


def merge(
    state: PersonState | None, record: PersonRecord, history: History | None = None
) -> MergeResult:
    """Merge `record` into `state` (None for a person not seen before).

    `history` is the person's stored field history; it is needed (see `needs_history`) to
    avoid appending a late observation that is already there.
    """
    return absorb(state, Batch.of(record), history)


def needs_history(state: PersonState | None, batch: Batch) -> bool:
    """Whether absorbing `batch` may append a late observation, and so needs `history`."""
    if state is None:
        return False
    for key, by_time in batch.seen.items():
        current = state.current(key)
        if current is None or is_first_touch(key):
            continue
        if any(compare((at, value), current) < 0 for at, value in by_time.items()):
            return True
    return False


def absorb(state: PersonState | None, batch: Batch, history: History | None = None) -> MergeResult:
    """Fold one import's observations of a person into the stored person."""
    if state is None:
        state = PersonState(
            batch.email, {}, {}, {}, batch.created_at, batch.latest, initial=set(batch.initial)
        )
        result = MergeResult(state, created=True)
        before = None
    else:
        result = MergeResult(state)
        before = _held(state)
        if batch.created_at < state.created_at:
            state.created_at, state.initial = batch.created_at, set(batch.initial)
            result._moved_created = True
        elif batch.created_at == state.created_at:
            state.initial |= batch.initial
    known = {key: list(rows) for key, rows in (history or {}).items()}
    for key in sorted(batch.seen):
        by_time = batch.seen[key]
        ordered = by_time.items() if len(by_time) == 1 else sorted(by_time.items(), key=sort_key)
        for obs in ordered:
            _observe(result, key, obs, (key, obs[0]) in batch.stamped, known)
    if before is not None and not result.changed:
        result.retimed = _held(state) != before
    return result


def _held(state: PersonState) -> tuple[Any, ...]:
    """What `people.field_times` saves, to tell whether it must be saved again."""
    return dict(state.times), set(state.initial), set(state.logged), set(state.stamped)


def _observe(
    result: MergeResult,
    key: str,
    obs: Observation,
    stamped: bool,
    known: dict[str, list[Observation]],
) -> None:
    state = result.state
    current = state.current(key)
    if current is None:
        default = state.stored(key)
        state.hold(key, obs, stamped)
        if not result.created and (default is None or not same_value(default, obs[1])):
            _change(result, key, default, obs)
        return
    order = compare(obs, current)
    if order == 0:
        return
    if beats(obs, current, key):
        same = same_value(obs[1], current[1])
        if (
            not is_first_touch(key)
            and key not in state.logged
            and not (same and key in state.stamped)
        ):
            # The replaced observation becomes history: a late one may yet land between it
            # and the new one.
            result.history.append(FieldChange(key, current[1], current[1], current[0]))
        if same:
            state.logged.discard(key)
        else:
            _change(result, key, current[1], obs)
        state.hold(key, obs, stamped)
    elif not is_first_touch(key):
        # A late observation: the current value stands, but the value at its time may not.
        # (A first-touch field only ever shows its earliest value: a later one never matters.)
        rows = known.setdefault(key, [])
        if any(compare(obs, row) == 0 for row in rows):
            return
        before = [o for o in (*rows, current) if compare(o, obs) < 0]
        old = max(before, key=sort_key)[1] if before else None
        result.history.append(FieldChange(key, old, obs[1], obs[0]))
        rows.append(obs)


def _change(result: MergeResult, key: str, old: Any, obs: Observation) -> None:
    change = FieldChange(key, old, obs[1], obs[0])
    result.changes.append(change)
    result.history.append(change)
    state = result.state
    state.logged.add(key)
    state.updated_at = max(state.updated_at, obs[0])
