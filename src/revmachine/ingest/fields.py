"""What each kind of import accepts: the target fields, their types, limits and aliases.

One table per kind, so that the CLI's help, the default mapping and the validation all read
the same definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldKind(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    TIMESTAMP = "timestamp"
    DATE = "date"
    INT = "int"
    DECIMAL = "decimal"
    BOOL = "bool"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    max_length: int | None = 200
    aliases: tuple[str, ...] = ()
    help: str = ""


T, E, TS, D, INT, DEC, B, J = (
    FieldKind.TEXT,
    FieldKind.EMAIL,
    FieldKind.TIMESTAMP,
    FieldKind.DATE,
    FieldKind.INT,
    FieldKind.DECIMAL,
    FieldKind.BOOL,
    FieldKind.JSON,
)

#: Free-form JSON attribute documents may be larger than names, but not unbounded.
MAX_JSON = 65_536

PEOPLE = (
    FieldSpec("email", E, True, 254, ("email address", "e-mail", "mail", "work email")),
    FieldSpec("first_name", T, max_length=100, aliases=("first name", "firstname", "given name")),
    FieldSpec("last_name", T, max_length=100, aliases=("last name", "lastname", "surname")),
    FieldSpec("title", T, aliases=("job title", "job_title", "position")),
    FieldSpec("seniority", T, max_length=50),
    FieldSpec("company", T, aliases=("company name", "company_name", "organization")),
    FieldSpec("account", T, max_length=253, help="account domain or name to link to"),
    FieldSpec("industry", T, max_length=100),
    FieldSpec("employee_count", INT, max_length=None, aliases=("employees", "number of employees")),
    FieldSpec("country", T, max_length=100),
    FieldSpec("lead_source", T, max_length=100, aliases=("lead source", "source")),
    FieldSpec("program", T, aliases=("acquisition program", "acquisition_program")),
    FieldSpec("email_opt_in", B, max_length=None, aliases=("consent", "opt_in", "opted in")),
    FieldSpec("unsubscribed", B, max_length=None, aliases=("unsubscribe",)),
    FieldSpec("owner", E, max_length=254, aliases=("owner email", "owner_email", "lead owner")),
    FieldSpec(
        "created_at", TS, max_length=None, aliases=("created", "create date", "created date")
    ),
    FieldSpec("updated_at", TS, max_length=None, aliases=("updated", "last modified")),
    FieldSpec("attributes", J, max_length=MAX_JSON),
)

ACCOUNTS = (
    FieldSpec("name", T, True, aliases=("account", "account name", "company", "company name")),
    FieldSpec("domain", T, max_length=253, aliases=("website", "company domain")),
    FieldSpec("industry", T, max_length=100, aliases=("sector",)),
    FieldSpec("employee_count", INT, max_length=None, aliases=("employees", "size")),
    FieldSpec("annual_revenue", DEC, max_length=None, aliases=("revenue",)),
    FieldSpec("segment", T, max_length=50),
    FieldSpec("country", T, max_length=100, aliases=("office_location", "office location")),
    FieldSpec("owner", E, max_length=254, aliases=("owner email", "account owner")),
    FieldSpec("created_at", TS, max_length=None),
    FieldSpec("attributes", J, max_length=MAX_JSON),
)

ACTIVITIES = (
    FieldSpec("email", E, True, 254, ("lead email", "person", "email address")),
    FieldSpec("type", T, True, 64, ("activity", "activity type", "activity_type", "event")),
    FieldSpec("occurred_at", TS, True, None, ("timestamp", "time", "date", "activity date")),
    FieldSpec("event_id", T, max_length=128, aliases=("id", "activity id", "marketo guid")),
    FieldSpec("program", T, aliases=("campaign", "program name")),
    FieldSpec("attributes", J, max_length=MAX_JSON),
)

OPPORTUNITIES = (
    FieldSpec("opportunity_id", T, True, 128, ("id", "external_id", "opportunity id")),
    FieldSpec("name", T, max_length=300, aliases=("opportunity name", "opportunity")),
    FieldSpec("account", T, max_length=253, aliases=("account name", "company")),
    FieldSpec("amount", DEC, max_length=None, aliases=("close_value", "value", "deal value")),
    FieldSpec("currency", T, max_length=3),
    FieldSpec("stage", T, max_length=100, aliases=("deal_stage", "deal stage")),
    FieldSpec("status", T, max_length=10, help="open, won or lost (else read from the stage)"),
    FieldSpec("created_at", TS, True, None, ("created", "created date", "engage_date")),
    FieldSpec("close_date", D, max_length=None, aliases=("closed date", "expected close")),
    FieldSpec("owner", T, max_length=254, aliases=("owner email", "sales_agent", "sales agent")),
    FieldSpec("lost_reason", T, aliases=("loss reason", "closed lost reason")),
    FieldSpec("product", T),
    FieldSpec("contacts", T, max_length=4000, help="email:role;email:role"),
    FieldSpec("updated_at", TS, max_length=None, aliases=("as_of", "last modified")),
    FieldSpec("attributes", J, max_length=MAX_JSON),
)

COSTS = (
    FieldSpec("program", T, True, aliases=("program name", "campaign")),
    FieldSpec("period_start", D, True, None, ("start", "month", "period")),
    FieldSpec("period_end", D, max_length=None, aliases=("end",)),
    FieldSpec("amount", DEC, True, None, ("cost", "spend")),
    FieldSpec("currency", T, max_length=3),
    FieldSpec("channel", T, max_length=40, help="creates the program if it does not exist"),
)

PROGRAMS = (
    FieldSpec("name", T, True, aliases=("program", "program name")),
    FieldSpec("channel", T, True, 40, ("type", "program type")),
    FieldSpec("start_date", D, max_length=None, aliases=("start",)),
    FieldSpec("end_date", D, max_length=None, aliases=("end",)),
    FieldSpec("attributes", J, max_length=MAX_JSON),
)

REPS = (
    FieldSpec("email", E, True, 254, ("rep email", "sales rep email")),
    FieldSpec("name", T, True, aliases=("sales_agent", "rep", "rep name")),
    FieldSpec("team", T, max_length=100, aliases=("manager", "team name")),
    FieldSpec("region", T, max_length=100, aliases=("regional_office",)),
    FieldSpec("role", T, max_length=20),
    FieldSpec("territory", T, max_length=100),
    FieldSpec("capacity", INT, max_length=None),
)

DECISIONS = (
    FieldSpec("email", E, True, 254, ("lead email", "person", "email address")),
    FieldSpec("decision", T, True, 10, ("disposition", "status"), help="accept or reject"),
    FieldSpec("occurred_at", TS, True, None, ("decided_at", "date", "timestamp")),
    FieldSpec("reason", T, max_length=100, aliases=("reject reason", "rejection reason")),
    FieldSpec("rep", E, max_length=254, aliases=("rep email", "owner", "sales rep")),
    FieldSpec("event_id", T, max_length=128, aliases=("id",)),
    FieldSpec("note", T, max_length=2000, aliases=("comment", "notes")),
)

KIND_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "people": PEOPLE,
    "accounts": ACCOUNTS,
    "activities": ACTIVITIES,
    "opportunities": OPPORTUNITIES,
    "costs": COSTS,
    "programs": PROGRAMS,
    "reps": REPS,
    "decisions": DECISIONS,
}

#: Kinds whose unmapped columns are kept as custom attributes rather than ignored.
KEEPS_EXTRA_COLUMNS = frozenset({"people", "accounts", "activities", "opportunities"})
