"""The vocabulary of import problems: one small enum of codes, reused by CLI, API and reports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RejectCode(StrEnum):
    MISSING_REQUIRED = "missing_required"
    BAD_EMAIL = "bad_email"
    BAD_DATE = "bad_date"
    BAD_NUMBER = "bad_number"
    BAD_VALUE = "bad_value"
    UNKNOWN_REFERENCE = "unknown_reference"
    OVERSIZED_FIELD = "oversized_field"
    BAD_ENCODING = "bad_encoding"
    EXTRA_FIELDS = "extra_fields"


@dataclass(frozen=True, slots=True)
class RowRejection:
    """One rejected row: where it is, which field, and a sentence a person can act on."""

    line: int
    code: RejectCode
    field: str | None
    message: str

    def describe(self) -> str:
        where = f"line {self.line}"
        if self.field:
            where += f", column '{self.field}'"
        return f"{where}: {self.message} [{self.code.value}]"


class FileRejected(Exception):
    """A problem with the whole file (not CSV, no header, duplicate headers, …).

    Raised before anything is written; the message says what is wrong and how to fix it.
    """


class MappingError(ValueError):
    """A `--map` specification that cannot be applied to this kind of import."""
