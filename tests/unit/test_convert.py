"""ingest.convert: text cells to typed values, each failure a row rejection with a reason."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revmachine.ingest.convert import Converted, convert
from revmachine.ingest.csvfile import LINE, read_csv
from revmachine.ingest.errors import RejectCode, RowRejection
from revmachine.ingest.fields import KIND_FIELDS, MAX_JSON, FieldKind, FieldSpec
from revmachine.ingest.mapping import resolve_mapping
from revmachine.model.emails import EmailError, normalise_email

UTC = dt.UTC


def csv_bytes(header: Sequence[str], body: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue().encode()


def run(
    header: Sequence[str],
    body: Sequence[Sequence[str]],
    specs: Sequence[FieldSpec],
    *,
    keep_extra: bool = True,
) -> Converted:
    table = read_csv(csv_bytes(header, body))
    mapping = resolve_mapping(table.header, specs, keep_extra=keep_extra, source_name="t.csv")
    return convert(table, mapping, specs)


def one_column(kind: FieldKind, values: Sequence[str], **spec: Any) -> Converted:
    """Convert a single non-required column `v` holding `values` (one per row)."""
    return run(["v"], [[v] for v in values], [FieldSpec("v", kind, **spec)])


def by_line(converted: Converted) -> dict[int, dict[str, Any]]:
    return {row[LINE]: row for row in converted.frame.to_dicts()}


def rejected(converted: Converted) -> dict[int, list[RowRejection]]:
    out: dict[int, list[RowRejection]] = {}
    for r in converted.rejections:
        out.setdefault(r.line, []).append(r)
    return out


# -- timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01T10:00:00Z", dt.datetime(2025, 3, 1, 10, 0, tzinfo=UTC)),
        ("2025-03-01T10:00:00z", dt.datetime(2025, 3, 1, 10, 0, tzinfo=UTC)),
        ("2025-03-01T10:00:00+00:00", dt.datetime(2025, 3, 1, 10, 0, tzinfo=UTC)),
        # An offset east of UTC is earlier in UTC, west is later.
        ("2025-03-01T10:00:00+02:00", dt.datetime(2025, 3, 1, 8, 0, tzinfo=UTC)),
        ("2025-03-01 10:00:00-05:30", dt.datetime(2025, 3, 1, 15, 30, tzinfo=UTC)),
        ("2025-03-01T01:00:00+0300", dt.datetime(2025, 2, 28, 22, 0, tzinfo=UTC)),
        ("2025-03-01T10:00:00.250+01:00", dt.datetime(2025, 3, 1, 9, 0, 0, 250000, tzinfo=UTC)),
        ("2025-03-01T10:00:00.123456Z", dt.datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        # Without an offset a time is read as UTC (documented), never as local time.
        ("2025-03-01T10:00:00", dt.datetime(2025, 3, 1, 10, 0, tzinfo=UTC)),
        ("2025-03-01 10:00", dt.datetime(2025, 3, 1, 10, 0, tzinfo=UTC)),
        ("2025-03-01T10:00", dt.datetime(2025, 3, 1, 10, 0, tzinfo=UTC)),
        ("2025-03-01", dt.datetime(2025, 3, 1, 0, 0, tzinfo=UTC)),
        ("  2025-03-01  ", dt.datetime(2025, 3, 1, 0, 0, tzinfo=UTC)),
        ("2024-02-29T23:59:59Z", dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_timestamps_in_iso_forms_become_utc(text: str, expected: dt.datetime) -> None:
    converted = one_column(FieldKind.TIMESTAMP, [text])
    assert converted.rejections == []
    [row] = converted.frame.to_dicts()
    value = row["v"]
    assert value == expected
    assert value.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-30",
        "2025-13-01",
        "2025-03-01T25:00:00",
        "2025-03-01T10:61",
        "03/01/2025",
        "yesterday",
        "2025-03-01garbage",
        "1740823200",
    ],
)
def test_bad_timestamps_are_rejected_with_the_value_and_a_hint(text: str) -> None:
    converted = one_column(FieldKind.TIMESTAMP, ["2025-01-01", text])
    assert list(by_line(converted)) == [2]
    [[rejection]] = rejected(converted).values()
    assert (rejection.line, rejection.code, rejection.field) == (3, RejectCode.BAD_DATE, "v")
    assert f"'{text}'" in rejection.message and "ISO 8601" in rejection.message


OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
MOMENTS = st.datetimes(
    min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2199, 12, 30), timezones=OFFSETS
)


@settings(max_examples=60)
@given(
    moments=st.lists(MOMENTS, min_size=1, max_size=20),
    timespec=st.sampled_from(["minutes", "seconds", "milliseconds", "microseconds"]),
    sep=st.sampled_from(["T", " "]),
)
def test_any_iso_timestamp_is_read_as_the_same_instant(
    moments: list[dt.datetime], timespec: str, sep: str
) -> None:
    texts = [m.isoformat(sep=sep, timespec=timespec) for m in moments]
    converted = one_column(FieldKind.TIMESTAMP, texts)
    assert converted.rejections == []
    got = [row["v"] for row in converted.frame.sort(LINE).to_dicts()]
    for text, moment, value in zip(texts, moments, got, strict=True):
        truncated = dt.datetime.fromisoformat(text)  # what the text says (timespec cut)
        assert value == truncated.astimezone(UTC), (text, moment)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01", dt.date(2025, 3, 1)),
        ("2025-03-01T10:00:00Z", dt.date(2025, 3, 1)),
        # A date-time is truncated to its UTC day.
        ("2025-03-01T23:30:00-05:00", dt.date(2025, 3, 2)),
    ],
)
def test_dates(text: str, expected: dt.date) -> None:
    converted = one_column(FieldKind.DATE, [text])
    assert converted.rejections == []
    assert converted.frame["v"].to_list() == [expected]


def test_bad_date_is_rejected() -> None:
    converted = one_column(FieldKind.DATE, ["2025-04-31"])
    [rejection] = converted.rejections
    assert rejection.code is RejectCode.BAD_DATE
    assert "'2025-04-31' is not a date" in rejection.message


# -- numbers and booleans -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        ("1,200", 1200),
        ("1 200", 1200),
        ("1_000", 1000),
        ("-7", -7),
        ("12.0", 12),
        ("2147483647", 2_147_483_647),
    ],
)
def test_whole_numbers(text: str, expected: int) -> None:
    converted = one_column(FieldKind.INT, [text], max_length=None)
    assert converted.rejections == []
    assert converted.frame["v"].to_list() == [expected]


@pytest.mark.parametrize(
    "text", ["12.5", "abc", "1.2.3", "nan", "inf", "3000000000", "-2147483649"]
)
def test_bad_whole_numbers_are_rejected(text: str) -> None:
    converted = one_column(FieldKind.INT, [text], max_length=None)
    assert converted.frame.height == 0
    [rejection] = converted.rejections
    assert rejection.code is RejectCode.BAD_NUMBER
    assert f"'{text}'" in rejection.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.50", "1234.50"),
        ("$1,234.50", "1234.50"),
        ("€ 99", "99"),
        ("£0.5", "0.5"),
        ("-12.5", "-12.5"),
        ("12345678901234.99", "12345678901234.99"),
    ],
)
def test_decimals_are_kept_exact(text: str, expected: str) -> None:
    converted = one_column(FieldKind.DECIMAL, [text], max_length=None)
    assert converted.rejections == []
    [value] = converted.frame["v"].to_list()
    assert Decimal(value) == Decimal(expected)


@pytest.mark.parametrize("text", ["1.2.3", "12e3", "ten", "1-2", "123456789012345", "1" * 40])
def test_bad_decimals_are_rejected(text: str) -> None:
    converted = one_column(FieldKind.DECIMAL, [text], max_length=None)
    assert converted.frame.height == 0
    [rejection] = converted.rejections
    assert rejection.code is RejectCode.BAD_NUMBER
    assert f"'{text}'" in rejection.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("y", True),
        ("1", True),
        ("x", True),
        ("t", True),
        ("false", False),
        ("No", False),
        ("n", False),
        ("0", False),
        ("F", False),
    ],
)
def test_booleans(text: str, expected: bool) -> None:
    converted = one_column(FieldKind.BOOL, [text], max_length=None)
    assert converted.rejections == []
    assert converted.frame["v"].to_list() == [expected]


def test_bad_boolean_is_rejected() -> None:
    converted = one_column(FieldKind.BOOL, ["maybe"], max_length=None)
    [rejection] = converted.rejections
    assert rejection.code is RejectCode.BAD_VALUE
    assert "'maybe' is not yes/no" in rejection.message


# -- emails ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ann@x.com", "ann@x.com"),
        ("  Ann@X.com ", "ann@x.com"),
        ("ANN.LEE+NEWS@Example.CO.UK", "ann.lee+news@example.co.uk"),
        ("o'brien@x.com", "o'brien@x.com"),
        ("Zoë@Exämple.com", "zoë@exämple.com"),
        # Punycode and Unicode spellings of one domain are one identity.
        ("x@xn--bcher-kva.com", normalise_email("x@bücher.com")),
    ],
)
def test_emails_are_normalised_to_lower_case(text: str, expected: str) -> None:
    converted = one_column(FieldKind.EMAIL, [text])
    assert converted.rejections == []
    assert converted.frame["v"].to_list() == [expected]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("bad@", "There must be something after the @-sign"),
        ("no-at-sign.com", "An email address must have an @-sign"),
        ("x@y.test", "special-use or reserved name"),
        ("x@mail.localhost", "special-use or reserved name"),
        ("x@corp.local", "special-use or reserved name"),
        ("x..y@x.com", "two periods in a row"),
        ("x@ab--c.com", "two dashes"),
        # Each part within its limits, but 312 characters in all (the limit is 254).
        ("a" * 64 + "@" + ("b" * 60 + ".") * 4 + "com", "The email address is too long"),
    ],
)
def test_bad_emails_get_email_validator_reasons(text: str, reason: str) -> None:
    converted = one_column(FieldKind.EMAIL, [text])
    assert converted.frame.height == 0
    [rejection] = converted.rejections
    assert (rejection.code, rejection.field) == (RejectCode.BAD_EMAIL, "v")
    assert reason in rejection.message
    assert rejection.message.startswith(f"'{text.strip()}' is not a valid email")


LOCAL_CHARS = "abcdefghijklmnopqrstuvwxyzABCZ0123456789.+-_'!#$%&*/=?^`{|}~"
LABEL_CHARS = "abcxyzXN0189-"


@st.composite
def email_like(draw: st.DrawFn) -> str:
    """Mostly plausible addresses, with lengths and labels near the limits."""
    local = draw(st.text(LOCAL_CHARS, min_size=0, max_size=70))
    labels = draw(
        st.lists(
            st.one_of(
                st.text(LABEL_CHARS, min_size=1, max_size=8),
                st.sampled_from(["xn--bcher-kva", "ab--c", "xn--abc", "test", "local", "com"]),
                st.text(LABEL_CHARS, min_size=55, max_size=66),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return f"{local}@{'.'.join(labels)}"


@settings(max_examples=80)
@given(addresses=st.lists(email_like(), min_size=1, max_size=25))
def test_fast_email_check_agrees_with_email_validator(addresses: list[str]) -> None:
    """The vectorised path accepts exactly what email-validator accepts, normalised alike."""
    converted = one_column(FieldKind.EMAIL, addresses)
    accepted = by_line(converted)
    problems = rejected(converted)
    for line, address in enumerate(addresses, start=2):
        try:
            expected = normalise_email(address)
        except EmailError:
            assert line in problems, f"{address!r} was accepted but email-validator rejects it"
            assert problems[line][0].code is RejectCode.BAD_EMAIL
        else:
            assert line in accepted, f"{address!r} was rejected: {problems.get(line)}"
            assert accepted[line]["v"] == expected


# -- text limits, required values -----------------------------------------------------------


def test_text_longer_than_the_limit_is_rejected_counting_characters() -> None:
    converted = one_column(FieldKind.TEXT, ["a" * 200, "é" * 200, "b" * 201], max_length=200)
    assert list(by_line(converted)) == [2, 3]
    [rejection] = converted.rejections
    assert (rejection.line, rejection.code) == (4, RejectCode.OVERSIZED_FIELD)
    assert rejection.message == "the value has 201 characters; the limit is 200"


def test_text_is_trimmed() -> None:
    converted = one_column(FieldKind.TEXT, ["  Acme Inc.  "])
    assert converted.frame["v"].to_list() == ["Acme Inc."]


def test_missing_required_values_are_rejected_and_other_rows_kept() -> None:
    specs = KIND_FIELDS["activities"]
    converted = run(
        ["email", "type", "occurred_at"],
        [
            ["a@x.com", "web_visit", "2025-01-01"],
            ["", "web_visit", "2025-01-01"],
            ["c@x.com", "", ""],
        ],
        specs,
    )
    assert list(by_line(converted)) == [2]
    problems = rejected(converted)
    assert [(r.code, r.field) for r in problems[3]] == [(RejectCode.MISSING_REQUIRED, "email")]
    assert sorted((r.code, r.field) for r in problems[4]) == [
        (RejectCode.MISSING_REQUIRED, "occurred_at"),
        (RejectCode.MISSING_REQUIRED, "type"),
    ]
    assert problems[3][0].message == "the required value 'email' is empty"


def test_every_problem_of_a_row_is_reported() -> None:
    converted = run(
        ["email", "employee_count", "email_opt_in"],
        [["not-an-email", "many", "perhaps"]],
        KIND_FIELDS["people"],
    )
    assert converted.frame.height == 0
    assert sorted((r.line, r.code) for r in converted.rejections) == [
        (2, RejectCode.BAD_EMAIL),
        (2, RejectCode.BAD_NUMBER),
        (2, RejectCode.BAD_VALUE),
    ]


def test_rejection_names_the_csv_column_not_the_field() -> None:
    specs = KIND_FIELDS["people"]
    converted = run(["Email Address", "Employees"], [["a@x.com", "lots"]], specs)
    [rejection] = converted.rejections
    assert rejection.field == "Employees"


# -- attributes -----------------------------------------------------------------------------

PEOPLE = KIND_FIELDS["people"]


def attributes_of(converted: Converted) -> dict[int, Any]:
    return {
        line: None if row["attributes"] is None else json.loads(row["attributes"])
        for line, row in by_line(converted).items()
    }


def test_attributes_json_object_is_accepted_and_others_rejected() -> None:
    converted = run(
        ["email", "attributes"],
        [
            ["a@x.com", '{"plan": "pro", "seats": 5, "tags": ["x"]}'],
            ["b@x.com", "[1, 2]"],
            ["c@x.com", '"text"'],
            ["d@x.com", "{not json"],
            ["e@x.com", ""],
        ],
        PEOPLE,
    )
    assert attributes_of(converted) == {
        2: {"plan": "pro", "seats": 5, "tags": ["x"]},
        6: None,
    }
    problems = rejected(converted)
    assert sorted(problems) == [3, 4, 5]
    for line in (3, 4):
        [r] = problems[line]
        assert (r.code, r.field) == (RejectCode.BAD_VALUE, "attributes")
        assert "must be a JSON object" in r.message
    assert "not valid JSON" in problems[5][0].message


def test_oversized_attributes_are_rejected() -> None:
    big = json.dumps({"blob": "x" * MAX_JSON})
    converted = run(["email", "attributes"], [["a@x.com", big]], PEOPLE)
    [r] = converted.rejections
    assert r.code is RejectCode.OVERSIZED_FIELD


def test_unmapped_columns_become_attributes() -> None:
    converted = run(
        ["email", "Plan Tier", "utm_source", "first_name"],
        [["a@x.com", "pro", "google", "Ann"], ["b@x.com", "", "", "Bo"]],
        PEOPLE,
    )
    assert attributes_of(converted) == {2: {"Plan Tier": "pro", "utm_source": "google"}, 3: None}
    assert by_line(converted)[2]["first_name"] == "Ann"


def test_unmapped_columns_merge_with_the_attributes_column() -> None:
    converted = run(
        ["email", "attributes", "utm_source"],
        [["a@x.com", '{"plan": "pro"}', "google"], ["b@x.com", '{"plan": "free"}', ""]],
        PEOPLE,
    )
    assert attributes_of(converted) == {
        2: {"plan": "pro", "utm_source": "google"},
        3: {"plan": "free"},
    }


def test_unmapped_columns_are_dropped_when_the_kind_keeps_none() -> None:
    converted = run(
        ["name", "channel", "budget owner"],
        [["P", "webinar", "Kim"]],
        KIND_FIELDS["programs"],
        keep_extra=False,
    )
    assert converted.frame["attributes"].to_list() == [None]


def test_attribute_json_does_not_depend_on_column_order() -> None:
    first = run(["email", "b", "a"], [["x@x.com", "2", "1"]], PEOPLE)
    second = run(["a", "email", "b"], [["1", "x@x.com", "2"]], PEOPLE)
    # Derived event ids hash this text: the same values must give the same text.
    assert first.frame["attributes"].to_list() == second.frame["attributes"].to_list()


CELL_TEXT = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00\ufffd"),
    min_size=1,
    max_size=30,
    # csv.writer leaves a trailing "\r" unquoted, and "\r\n" at the end of a line is a
    # Windows line ending to every CSV reader: that file does not hold the value.
).filter(lambda s: s.strip() != "" and not s.endswith("\r"))


@settings(max_examples=60)
@given(values=st.lists(CELL_TEXT, min_size=1, max_size=5))
def test_any_cell_text_survives_into_attributes_as_written(values: list[str]) -> None:
    header = ["email", *[f"c{i}" for i in range(len(values))]]
    converted = run(header, [["a@x.com", *values]], PEOPLE)
    assert converted.rejections == []
    [attributes] = attributes_of(converted).values()
    assert attributes == {f"c{i}": v for i, v in enumerate(values)}
