"""ingest.merge: how one person's record absorbs new versions of itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from revmachine.ingest.merge import (
    ATTR_PREFIX,
    FIRST_TOUCH_FIELDS,
    Batch,
    FieldChange,
    MergeResult,
    PersonRecord,
    PersonState,
    absorb,
    merge,
    needs_history,
)
from revmachine.model.person_history import FieldTimes, value_key, values_as_of

EMAIL = "ann@example.com"
BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def at(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2025, 1, day, hour, tzinfo=dt.UTC)


def record(
    record_time: dt.datetime,
    created_at: dt.datetime | None = None,
    attributes: dict[str, Any] | None = None,
    **values: Any,
) -> PersonRecord:
    return PersonRecord(EMAIL, values, attributes or {}, created_at, record_time)


def merge_all(records: list[PersonRecord]) -> PersonState:
    state: PersonState | None = None
    for rec in records:
        state = merge(state, rec).state
    assert state is not None
    return state


def test_first_record_creates_the_person_without_empty_values() -> None:
    result = merge(None, record(at(2), created_at=at(1), title="CEO", company=None))
    assert result.created and result.changed
    assert result.state.values == {"title": "CEO"}
    assert result.state.created_at == at(1)
    assert result.state.updated_at == at(2)
    assert result.state.times == {"title": at(2)}


def test_first_touch_fields_carry_their_origin_time() -> None:
    state = merge(None, record(at(5), created_at=at(1), lead_source="webinar")).state
    # lead_source is judged by when the record was created, not when it was updated.
    assert state.times["lead_source"] == at(1)


def test_later_values_win_and_earlier_values_do_not() -> None:
    state = merge_all([record(at(1), title="Manager"), record(at(3), title="Director")])
    assert state.values["title"] == "Director"
    stale = merge(state, record(at(2), title="Intern"))
    assert state.values["title"] == "Director"
    assert stale.changes == [] and not stale.changed


def test_update_reports_the_change_with_old_and_new_value() -> None:
    state = merge(None, record(at(1), title="Manager")).state
    result = merge(state, record(at(3), title="Director", company="Acme"))
    assert not result.created
    assert sorted(result.changes, key=lambda c: c.field) == [
        FieldChange("company", None, "Acme", at(3)),
        FieldChange("title", "Manager", "Director", at(3)),
    ]
    assert result.state.updated_at == at(3)


def test_empty_values_never_erase_known_ones() -> None:
    state = merge(None, record(at(1), title="Manager", attributes={"plan": "pro"})).state
    result = merge(state, record(at(9), title=None, attributes={"plan": None}))
    assert result.changes == []
    assert state.values == {"title": "Manager"}
    assert state.attributes == {"plan": "pro"}


def test_first_source_is_the_one_of_the_earliest_created_record() -> None:
    early = record(at(9), created_at=at(1), lead_source="webinar", acquisition_program_id=7)
    late = record(at(10), created_at=at(5), lead_source="paid_search", acquisition_program_id=8)
    for order in ([early, late], [late, early]):
        state = merge_all(order)
        assert state.values["lead_source"] == "webinar"
        assert state.values["acquisition_program_id"] == 7
        assert state.created_at == at(1)


def test_created_at_moves_to_the_earliest_seen() -> None:
    state = merge(None, record(at(5), created_at=at(4))).state
    result = merge(state, record(at(6), created_at=at(2)))
    assert state.created_at == at(2)
    assert result.changed  # moving created_at is a change worth saving
    assert merge(state, record(at(7), created_at=at(3))).changed is False
    assert state.created_at == at(2)


def test_attributes_are_last_writer_wins_per_key() -> None:
    state = merge_all(
        [
            record(at(1), attributes={"plan": "free", "region": "EU"}),
            record(at(3), attributes={"plan": "pro"}),
            record(at(2), attributes={"plan": "team", "seats": 5}),
        ]
    )
    assert state.attributes == {"plan": "pro", "region": "EU", "seats": 5}


def test_same_value_seen_again_later_keeps_the_newer_time() -> None:
    # x at day 1, x again at day 3, then y at day 2: the latest word (day 3) is x.
    state = merge_all(
        [record(at(1), title="x"), record(at(3), title="x"), record(at(2), title="y")]
    )
    assert state.values["title"] == "x"


# -- order independence --------------------------------------------------------------------

TITLES = st.sampled_from([None, "Manager", "Director"])
COMPANIES = st.sampled_from([None, "Acme", "Globex"])
SOURCES = st.sampled_from([None, "webinar", "paid_search"])
PROGRAMS = st.sampled_from([None, 1, 2])
OPT_IN = st.sampled_from([None, True, False])
PLANS = st.sampled_from([None, "free", "pro"])


@st.composite
def person_records(draw: st.DrawFn) -> list[PersonRecord]:
    """1-6 records of one person; every record_time and every origin time is distinct."""
    n = draw(st.integers(1, 6))
    minutes = draw(
        st.lists(st.integers(0, 60 * 24 * 60), min_size=2 * n, max_size=2 * n, unique=True)
    )
    records = []
    for i in range(n):
        record_time = BASE + dt.timedelta(minutes=minutes[i])
        created = BASE + dt.timedelta(minutes=minutes[n + i]) if draw(st.booleans()) else None
        values = {
            "title": draw(TITLES),
            "company": draw(COMPANIES),
            "lead_source": draw(SOURCES),
            "acquisition_program_id": draw(PROGRAMS),
            "email_opt_in": draw(OPT_IN),
        }
        attributes = {"plan": draw(PLANS), "tier": draw(PLANS)}
        records.append(PersonRecord(EMAIL, values, attributes, created, record_time))
    return records


def expected_person(records: list[PersonRecord]) -> dict[str, Any]:
    """The contract, computed directly: latest value per field, earliest for first touch."""
    values: dict[str, Any] = {}
    for key in records[0].values:
        known = [r for r in records if r.values[key] is not None]
        if not known:
            continue
        if key in FIRST_TOUCH_FIELDS:
            values[key] = min(known, key=lambda r: r.origin_time).values[key]
        else:
            values[key] = max(known, key=lambda r: r.record_time).values[key]
    attributes: dict[str, Any] = {}
    for key in records[0].attributes:
        known = [r for r in records if r.attributes[key] is not None]
        if known:
            attributes[key] = max(known, key=lambda r: r.record_time).attributes[key]
    return {
        "values": values,
        "attributes": attributes,
        "created_at": min(r.origin_time for r in records),
    }


def observed(state: PersonState) -> dict[str, Any]:
    return {"values": state.values, "attributes": state.attributes, "created_at": state.created_at}


@settings(max_examples=300)
@given(records=person_records(), data=st.data())
def test_merge_is_order_independent(records: list[PersonRecord], data: st.DataObject) -> None:
    expected = expected_person(records)
    in_file_order = merge_all(records)
    shuffled = data.draw(st.permutations(records))
    in_any_order = merge_all(list(shuffled))
    assert observed(in_file_order) == expected
    assert observed(in_any_order) == expected
    # The first source survives whatever order the records arrive in.
    assert in_any_order.values.get("lead_source") == expected["values"].get("lead_source")


@given(records=person_records())
def test_merging_a_record_again_changes_nothing(records: list[PersonRecord]) -> None:
    state = merge_all(records)
    before = observed(state)
    for rec in records:
        assert merge(state, rec).changes == []
    assert observed(state) == before


# -- field history: what the store keeps, read as of any time --------------------------------


class Store:
    """What `services.imports.person_store` keeps, in memory: the person's row (its field
    times through their JSON form, as saved) and the appended history rows."""

    def __init__(self) -> None:
        self.state: PersonState | None = None
        self.rows: list[FieldChange] = []

    def history(self) -> dict[str, list[tuple[dt.datetime, Any]]]:
        found: dict[str, list[tuple[dt.datetime, Any]]] = {}
        for row in self.rows:
            found.setdefault(row.field, []).append((row.occurred_at, row.new))
        return found

    def absorb(self, batch: Batch) -> MergeResult:
        state = self.state
        if state is not None:  # a round trip through the saved document
            doc = FieldTimes.from_json(state.field_times().to_json())
            state.times, state.initial = doc.times, doc.initial
            state.logged, state.stamped = doc.logged, doc.stamped
        # History is loaded only when the merge says it may be needed, like the store does.
        history = self.history() if needs_history(state, batch) else None
        result = absorb(state, batch, history)
        self.state = result.state
        self.rows.extend(result.history)
        return result

    def as_of(self, at: dt.datetime) -> dict[str, Any] | None:
        state = self.state
        assert state is not None
        if at < state.created_at:
            return None
        current = {**state.values, **{ATTR_PREFIX + k: v for k, v in state.attributes.items()}}
        return values_as_of(current, state.field_times(), self.history(), at)


def batches_of(records: list[PersonRecord]) -> Batch:
    batch = Batch.of(records[0])
    for rec in records[1:]:
        batch.add(rec)
    return batch


def expected_as_of(batches: list[list[PersonRecord]], at: dt.datetime) -> dict[str, Any] | None:
    """The contract, computed directly from the records (not from merges): within one import
    later lines win ties (the first line, for a first-touch field); between imports a tie
    goes to the larger value (the smaller for a first-touch field); a field's value at T is
    its latest observation at or before T (first-touch: its earliest); before its first
    observation, the value as first known if a record created earliest carried it."""
    records = [r for b in batches for r in b]
    created = min(r.origin_time for r in records)
    if at < created:
        return None
    initial = {k for r in records if r.origin_time == created for k in r.observations()}
    observed: dict[str, dict[tuple[dt.datetime, str], Any]] = {}
    for batch in batches:
        said: dict[tuple[str, dt.datetime], Any] = {}
        for rec in batch:
            for key, (t, value) in rec.observations().items():
                if key in FIRST_TOUCH_FIELDS and (key, t) in said:
                    continue
                said[key, t] = value
        for (key, t), value in said.items():
            observed.setdefault(key, {})[t, value_key(value)] = value
    then: dict[str, Any] = {}
    for key, values in observed.items():
        order = sorted(values)
        first_touch = key in FIRST_TOUCH_FIELDS
        known = [o for o in order if o[0] <= at]
        if known:
            then[key] = values[known[0] if first_touch else known[-1]]
        elif key in initial:
            first = order[0] if first_touch else [o for o in order if o[0] == order[0][0]][-1]
            then[key] = values[first]
    return then


DAY = dt.timedelta(days=1)


@st.composite
def imports(draw: st.DrawFn) -> list[list[PersonRecord]]:
    """1-5 imports of one person, 1-3 records each, on a few days: equal times are common,
    and so are values seen again after a different one."""
    batches = []
    for _ in range(draw(st.integers(1, 5))):
        batch = []
        for _ in range(draw(st.integers(1, 3))):
            record_time = BASE + DAY * draw(st.integers(0, 6))
            created = BASE + DAY * draw(st.integers(0, 6)) if draw(st.booleans()) else None
            values = {"title": draw(TITLES), "lead_source": draw(SOURCES)}
            batch.append(PersonRecord(EMAIL, values, {"plan": draw(PLANS)}, created, record_time))
        batches.append(batch)
    return batches


INSTANTS = [BASE + DAY * d + off for d in range(-1, 8) for off in (dt.timedelta(0), DAY / 2)]


@settings(max_examples=400)
@given(batches=imports(), data=st.data())
def test_history_read_as_of_any_time_does_not_depend_on_arrival_order(
    batches: list[list[PersonRecord]], data: st.DataObject
) -> None:
    store = Store()
    for batch in data.draw(st.permutations(batches)):
        store.absorb(batches_of(batch))
    for at in INSTANTS:
        assert store.as_of(at) == expected_as_of(batches, at), at
    # Every import again: nothing new to write, nothing changes.
    for batch in batches:
        result = store.absorb(batches_of(batch))
        assert (result.history, result.changes, result.changed) == ([], [], False)


def test_a_late_value_is_history_and_the_current_one_is_kept() -> None:
    store = Store()
    store.absorb(Batch.of(record(at(5), created_at=at(1), title="Director")))
    late = store.absorb(Batch.of(record(at(3), created_at=at(1), title="Manager")))
    assert late.changes == [] and not late.changed
    assert late.history == [FieldChange("title", None, "Manager", at(3))]
    assert store.as_of(at(2)) == {"title": "Manager"}  # as first known: it is initial
    assert store.as_of(at(4)) == {"title": "Manager"}
    assert store.as_of(at(5)) == {"title": "Director"}


def test_a_replaced_observation_is_kept_so_that_a_late_one_lands_in_the_right_place() -> None:
    # Manager on days 1, 3 and 5, Director on day 2 arriving last: Manager again from day 3.
    store = Store()
    for day in (1, 3, 5):
        store.absorb(Batch.of(record(at(day), title="Manager")))
    assert [(r.old, r.new, r.occurred_at) for r in store.rows] == [
        ("Manager", "Manager", at(1)),
        ("Manager", "Manager", at(3)),
    ]
    store.absorb(Batch.of(record(at(2), title="Director")))
    assert [store.as_of(at(d)) for d in (1, 2, 3, 5)] == [
        {"title": t} for t in ("Manager", "Director", "Manager", "Manager")
    ]


def test_a_field_first_seen_later_is_empty_before_it() -> None:
    store = Store()
    store.absorb(Batch.of(record(at(2), created_at=at(1), title="Manager")))
    store.absorb(Batch.of(record(at(4), attributes={"seats": 5})))
    assert store.as_of(at(1)) == {"title": "Manager"}
    assert store.as_of(at(4)) == {"title": "Manager", "attributes.seats": 5}


def test_ties_between_imports_go_to_the_larger_value_within_one_to_the_later_line() -> None:
    one_file = batches_of([record(at(2), title="Manager"), record(at(2), title="Director")])
    assert absorb(None, one_file).state.values["title"] == "Director"
    one_file = batches_of([record(at(2), title="Director"), record(at(2), title="Manager")])
    assert absorb(None, one_file).state.values["title"] == "Manager"
    for first, second in (("Manager", "Director"), ("Director", "Manager")):
        state = merge(None, record(at(2), title=first)).state
        merge(state, record(at(2), title=second))
        assert state.values["title"] == "Manager"


def test_a_timeless_value_imported_again_keeps_no_history() -> None:
    store = Store()
    first = PersonRecord(EMAIL, {"title": "CTO"}, {}, None, at(1), stamped=True)
    again = PersonRecord(EMAIL, {"title": "CTO"}, {}, None, at(9), stamped=True)
    store.absorb(Batch.of(first))
    result = store.absorb(Batch.of(again))
    assert (result.history, result.changed, result.retimed) == ([], False, True)
    assert store.state is not None and store.state.times["title"] == at(9)


def test_field_times_survive_their_json_form_and_old_documents_read_as_initial() -> None:
    doc = FieldTimes({"title": at(2), "attributes.plan": at(3)}, {"title"}, {"title"}, set())
    assert FieldTimes.from_json(doc.to_json()) == doc
    assert FieldTimes.from_json(FieldTimes().to_json()) == FieldTimes()
    # Written before the flags existed: every field with a time counts as initial.
    old = FieldTimes.from_json({"title": at(2).isoformat()})
    assert old == FieldTimes({"title": at(2)}, {"title"}, set(), set())
