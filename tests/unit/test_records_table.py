"""JSON records become the same table of text cells a CSV file does."""

from __future__ import annotations

import pytest

from revmachine.ingest.csvfile import LINE
from revmachine.ingest.errors import FileRejected, RejectCode
from revmachine.ingest.fields import PEOPLE
from revmachine.ingest.records import records_table


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
