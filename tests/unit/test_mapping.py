"""ingest.mapping: which CSV column feeds which field."""

from __future__ import annotations

import pytest

from revmachine.ingest.errors import FileRejected, MappingError
from revmachine.ingest.fields import KIND_FIELDS
from revmachine.ingest.mapping import parse_map_options, resolve_mapping

PEOPLE = KIND_FIELDS["people"]
ACTIVITIES = KIND_FIELDS["activities"]


def resolve(
    header: list[str],
    overrides: dict[str, str] | None = None,
    *,
    kind: str = "people",
    keep_extra: bool = True,
):  # type: ignore[no-untyped-def]
    return resolve_mapping(
        header, KIND_FIELDS[kind], overrides, keep_extra=keep_extra, source_name="leads.csv"
    )


def test_exact_field_names_map_to_themselves() -> None:
    mapping = resolve(["email", "first_name", "created_at"])
    assert mapping.fields == {
        "email": "email",
        "first_name": "first_name",
        "created_at": "created_at",
    }
    assert mapping.extra_columns == ()


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("Email Address", "email"),
        ("E-mail", "email"),
        ("First Name", "first_name"),
        ("FIRST-NAME", "first_name"),
        ("  Job Title ", "title"),
        ("Lead Source", "lead_source"),
        ("Number of Employees", "employee_count"),
        ("Last Modified", "updated_at"),
    ],
)
def test_aliases_ignore_case_spaces_underscores_and_hyphens(column: str, field: str) -> None:
    header = [column] if field == "email" else ["email", column]
    assert resolve(header).column(field) == column


def test_unmapped_columns_are_extra_in_header_order_when_kept() -> None:
    header = ["utm_campaign", "email", "Favourite Colour", "title"]
    assert resolve(header).extra_columns == ("utm_campaign", "Favourite Colour")
    assert resolve(header, keep_extra=False).extra_columns == ()


def test_map_overrides_take_precedence_over_names_and_aliases() -> None:
    mapping = resolve(["Contact", "email", "Org"], {"Contact": "email", "Org": "company"})
    assert mapping.column("email") == "Contact"
    assert mapping.column("company") == "Org"
    # The column literally named 'email' feeds nothing now, so it is kept as an attribute.
    assert mapping.extra_columns == ("email",)


def test_map_override_column_is_matched_like_a_header_name() -> None:
    mapping = resolve(
        ["Activity Date", "email", "type"], {"activity_date": "occurred_at"}, kind="activities"
    )
    assert mapping.column("occurred_at") == "Activity Date"


def test_map_to_an_unknown_field_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="unknown field 'emial'") as info:
        resolve(["Mail"], {"Mail": "emial"})
    assert "email" in str(info.value)  # the message lists the fields there are


def test_map_of_a_column_not_in_the_header_is_a_mapping_error() -> None:
    with pytest.raises(
        MappingError, match=r"column 'Work Mail' is not in the header of leads\.csv"
    ):
        resolve(["email"], {"Work Mail": "email"})


def test_missing_required_column_rejects_the_file_naming_it_and_suggesting_map() -> None:
    with pytest.raises(FileRejected) as info:
        resolve(["Contact", "Company"])
    message = str(info.value)
    assert message.startswith("leads.csv: missing required column(s) email")
    assert "Contact, Company" in message  # the header, to pick the right column from
    assert "--map 'Your Column=email'" in message


def test_every_missing_required_column_is_named() -> None:
    with pytest.raises(
        FileRejected, match=r"missing required column\(s\) email, type, occurred_at"
    ):
        resolve(["who", "what", "when"], kind="activities")


def test_an_alias_is_not_used_twice() -> None:
    # 'company' is an alias of accounts' `name`; with a `name` column present it stays free.
    mapping = resolve(["name", "company"], kind="accounts")
    assert mapping.column("name") == "name"
    assert mapping.extra_columns == ("company",)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], {}),
        (["Email Address=email"], {"Email Address": "email"}),
        (["A=email,B=company", " C = title "], {"A": "email", "B": "company", "C": "title"}),
        (["A=email,,"], {"A": "email"}),
    ],
)
def test_parse_map_options(options: list[str], expected: dict[str, str]) -> None:
    assert parse_map_options(options) == expected


@pytest.mark.parametrize("option", ["email", "=email", "Email=", "Email = "])
def test_parse_map_options_rejects_malformed_pairs(option: str) -> None:
    with pytest.raises(MappingError, match="should look like 'CSV column=field'"):
        parse_map_options([option])
