"""Which CSV column feeds which field: a default by name and alias, overridden by `--map`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from revmachine.ingest.errors import FileRejected, MappingError
from revmachine.ingest.fields import FieldSpec


def header_key(text: str) -> str:
    """The form in which header names and aliases are compared ('First_Name' ~ 'first name')."""
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


_key = header_key


@dataclass(frozen=True)
class ColumnMapping:
    """field name -> CSV column, plus the columns kept as custom attributes."""

    fields: dict[str, str]
    extra_columns: tuple[str, ...]

    def column(self, field: str) -> str | None:
        return self.fields.get(field)


def parse_map_options(options: Sequence[str]) -> dict[str, str]:
    """`--map "Email Address=email" --map "Company=company"` -> {column: field}."""
    result: dict[str, str] = {}
    for option in options:
        for part in option.split(","):
            if not part.strip():
                continue
            column, sep, field = part.partition("=")
            if not sep or not column.strip() or not field.strip():
                raise MappingError(f"--map '{part}' should look like 'CSV column=field'")
            result[column.strip()] = field.strip()
    return result


def resolve_mapping(
    header: Sequence[str],
    specs: Sequence[FieldSpec],
    overrides: dict[str, str] | None = None,
    *,
    keep_extra: bool,
    source_name: str,
) -> ColumnMapping:
    """Match header columns to fields or raise with the header and a fix (`--map`)."""
    by_name = {spec.name: spec for spec in specs}
    header_by_key = {_key(h): h for h in header}
    fields: dict[str, str] = {}
    for column, field in (overrides or {}).items():
        if field not in by_name:
            raise MappingError(f"--map: unknown field '{field}'; fields are: {', '.join(by_name)}")
        actual = header_by_key.get(_key(column))
        if actual is None:
            raise MappingError(f"--map: column '{column}' is not in the header of {source_name}")
        fields[field] = actual
    used = set(fields.values())
    for spec in specs:
        if spec.name in fields:
            continue
        for candidate in (spec.name, *spec.aliases):
            actual = header_by_key.get(_key(candidate))
            if actual is not None and actual not in used:
                fields[spec.name] = actual
                used.add(actual)
                break
    missing = [s.name for s in specs if s.required and s.name not in fields]
    if missing:
        raise FileRejected(
            f"{source_name}: missing required column(s) {', '.join(missing)}; the header has: "
            f"{', '.join(header)}. Rename the column or map it, e.g. --map 'Your Column="
            f"{missing[0]}'."
        )
    extra = tuple(h for h in header if h not in used) if keep_extra else ()
    return ColumnMapping(fields, extra)
