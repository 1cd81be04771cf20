"""The person and account fields a rule may test: one list that validation and engines share.

Names follow the store's `people` and `accounts` columns. Custom attributes are addressed as
`attributes.NAME` (the person's) and `account.attributes.NAME` (the account's); any NAME is
accepted there because custom attributes are, by definition, not known in advance.
"""

from __future__ import annotations

PERSON_FIELDS: tuple[str, ...] = (
    "email",
    "email_domain",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "company",
    "industry",
    "employee_count",
    "country",
    "lead_source",
    "email_opt_in",
    "unsubscribed",
)
ACCOUNT_FIELDS: tuple[str, ...] = (
    "domain",
    "name",
    "industry",
    "employee_count",
    "annual_revenue",
    "segment",
    "country",
)
ACCOUNT_PREFIX = "account."
ATTRIBUTE_PREFIX = "attributes."
ACCOUNT_ATTRIBUTE_PREFIX = ACCOUNT_PREFIX + ATTRIBUTE_PREFIX

KNOWN_FIELDS: tuple[str, ...] = PERSON_FIELDS + tuple(ACCOUNT_PREFIX + f for f in ACCOUNT_FIELDS)


def is_known_field(name: str) -> bool:
    """True for a listed field or a custom attribute path with a non-empty name."""
    for prefix in (ACCOUNT_ATTRIBUTE_PREFIX, ATTRIBUTE_PREFIX):
        if name.startswith(prefix):
            return len(name) > len(prefix)
    return name in KNOWN_FIELDS
