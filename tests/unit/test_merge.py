"""ingest.merge: how one person's record absorbs new versions of itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from revmachine.ingest.merge import (
    FIRST_TOUCH_FIELDS,
    FieldChange,
    PersonRecord,
    PersonState,
    merge,
)

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
