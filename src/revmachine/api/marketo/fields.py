"""Marketo lead fields ↔ revmachine person fields: one table for describe, reads and writes.

Fields not in the table are custom fields: on writes they are kept as the person's custom
attributes (Marketo would need them defined first; revmachine keeps what it is sent, as
its CSV import does); on reads they are looked up among the attributes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from revmachine.api.marketo.envelope import marketo_time


@dataclass(frozen=True)
class LeadField:
    rest: str  # Marketo's REST name
    column: str  # revmachine's field (a key of the person dict)
    display: str
    data_type: str
    length: int | None = None
    read_only: bool = False


LEAD_FIELDS: tuple[LeadField, ...] = (
    LeadField("id", "id", "Id", "integer", read_only=True),
    LeadField("email", "email", "Email Address", "email", 254),
    LeadField("firstName", "first_name", "First Name", "string", 100),
    LeadField("lastName", "last_name", "Last Name", "string", 100),
    LeadField("title", "title", "Job Title", "string", 200),
    LeadField("company", "company", "Company Name", "string", 200),
    LeadField("industry", "industry", "Industry", "string", 100),
    LeadField("numberOfEmployees", "employee_count", "Num Employees", "integer"),
    LeadField("country", "country", "Country", "string", 100),
    LeadField("leadSource", "lead_source", "Lead Source", "string", 100),
    LeadField("unsubscribed", "unsubscribed", "Unsubscribed", "boolean"),
    LeadField("createdAt", "created_at", "Created At", "datetime"),
    LeadField("updatedAt", "updated_at", "Updated At", "datetime"),
    LeadField("leadScore", "score_total", "Lead Score", "integer", read_only=True),
    LeadField("leadStatus", "stage", "Lead Status", "string", 64, read_only=True),
)

BY_REST = {f.rest: f for f in LEAD_FIELDS}
BY_REST_LOWER = {f.rest.lower(): f for f in LEAD_FIELDS}
DEFAULT_FIELDS = ("id", "updatedAt", "lastName", "email", "createdAt", "firstName")
#: Fields a lookup or filter may use (stored columns, not derived values).
FILTERABLE = {f.rest for f in LEAD_FIELDS if f.column not in ("score_total", "stage")}
CUSTOM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def field_for(name: str) -> LeadField | None:
    return BY_REST.get(name) or BY_REST_LOWER.get(name.lower())


def lead_value(person: dict[str, Any], name: str) -> Any:
    """A person's value for a Marketo field name (standard or custom)."""
    spec = field_for(name)
    if spec is None:
        return person.get("attributes", {}).get(name)
    if spec.column == "score_total":
        score = person.get("score")
        return None if score is None else round(score["total"])
    value = person.get(spec.column)
    if spec.data_type == "datetime":
        return marketo_time(value)
    return value


def lead_json(person: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The Marketo shape of a person: the requested fields, `id` always, nulls left out."""
    out: dict[str, Any] = {"id": person["id"]}
    for name in fields:
        value = lead_value(person, name)
        if value is not None:
            out[name] = value
    return out


def describe() -> list[dict[str, Any]]:
    return [
        {
            "id": i + 1,
            "displayName": f.display,
            "dataType": f.data_type,
            **({"length": f.length} if f.length else {}),
            "rest": {"name": f.rest, "readOnly": f.read_only},
            "soap": {"name": f.rest[0].upper() + f.rest[1:], "readOnly": f.read_only},
        }
        for i, f in enumerate(LEAD_FIELDS)
    ]
