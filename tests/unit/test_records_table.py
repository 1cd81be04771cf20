"""JSON records become the same table of text cells a CSV file does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revmachine.ingest.csvfile import LINE
from revmachine.ingest.errors import FileRejected, RejectCode
from revmachine.ingest.fields import PEOPLE
from revmachine.ingest.records import _column_wise, _record_wise, records_table


def test_values_become_text_and_lines_are_positions() -> None:
    table = records_table(
        [
            {"email": "a@x.co", "employee_count": 12, "email_opt_in": True, "score": 1.5},
            {"Email": "b@x.co", "attributes": {"b": 1, "a": "x"}, "blank": "  "},
        ],
        PEOPLE,
    )
    rows = table.frame.sort(LINE).to_dicts()
    assert [r[LINE] for r in rows] == [1, 2]
    assert rows[0]["email"] == "a@x.co" and rows[1]["email"] == "b@x.co"  # one column
    assert (rows[0]["employee_count"], rows[0]["email_opt_in"], rows[0]["score"]) == (
        "12",
        "true",
        "1.5",
    )
    assert rows[1]["attributes"] == '{"a":"x","b":1}' and rows[1]["blank"] is None
    assert table.rejections == []


def test_bad_records_are_rejected_alone() -> None:
    table = records_table(
        [{"email": "a@x.co"}, ["list"], {"email": {"nested": 1}}, {"tags": [1]}, {"x": "\x00"}],
        PEOPLE,
    )
    assert table.frame[LINE].to_list() == [1]
    assert [(r.line, r.code, r.field) for r in table.rejections] == [
        (2, RejectCode.BAD_VALUE, None),
        (3, RejectCode.BAD_VALUE, "email"),
        (4, RejectCode.BAD_VALUE, "tags"),
        (5, RejectCode.BAD_VALUE, "x"),
    ]
    assert "only 'attributes' may be an object" in table.rejections[1].message


def test_a_required_field_no_record_names_still_gets_a_column() -> None:
    table = records_table([{"first_name": "Ann"}], PEOPLE)
    assert "email" in table.header and table.frame["email"].to_list() == [None]
    aliased = records_table([{"Email Address": "a@x.co"}], PEOPLE)
    assert "email" not in aliased.header  # the alias already provides it


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(FileRejected, match="empty"):
        records_table([], PEOPLE)


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "  ", "x", " y ", "a\x00b", "é", "\u2003"]),
    st.lists(st.integers(), max_size=1),
    st.dictionaries(st.sampled_from(["k", "é"]), st.integers(), max_size=1),
)
_KEYS = st.sampled_from(["email", "Email", " email", "title", "attributes", "", "x" * 101, "n"])


@given(
    records=st.lists(
        st.one_of(st.dictionaries(_KEYS, _VALUES, max_size=4), st.integers()),
        min_size=1,
        max_size=5,
    )
)
def test_the_column_wise_table_equals_the_record_wise_one(records: list[Any]) -> None:
    """Batches the column-wise path takes give what the per-record path gives; the others
    are handed to the per-record path (which this compares against itself)."""
    fast = records_table(records, PEOPLE)
    slow = _record_wise(records, PEOPLE, name="<api>")
    assert fast.header == slow.header
    assert fast.frame.to_dicts() == slow.frame.to_dicts()
    assert fast.rejections == slow.rejections


def test_flat_batches_take_the_column_wise_path() -> None:
    assert _column_wise([{"email": "a@x.co", "n": 1}, {"email": "b@x.co", "ok": True}]) == {
        "email": ["a@x.co", "b@x.co"],
        "n": ["1", None],
        "ok": [None, "true"],
    }
    assert _column_wise([{"email": "a@x.co"}, "not an object"]) is None
    assert _column_wise([{"email": "a@x.co", "Email": "b@x.co"}]) is None
