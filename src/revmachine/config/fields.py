"""The person and account fields a rule may test: one list that validation and engines share.

Names follow the store's `people` and `accounts` columns. Custom attributes are addressed as
`attributes.NAME` (the person's) and `account.attributes.NAME` (the account's); any NAME is
accepted there because custom attributes are, by definition, not known in advance.

`predicted.probability` and `predicted.decile` are the person's latest prediction
(`revmachine predict score`) as of the time a rule is evaluated: a prediction made as of T
applies from T on, never earlier, so replays and what-ifs see only what was known then.
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
PREDICTION_PREFIX = "predicted."
#: The latest prediction's probability (0..1) and decile (1..10, 10 = the likeliest tenth).
PREDICTION_FIELDS: tuple[str, ...] = (
    PREDICTION_PREFIX + "probability",
    PREDICTION_PREFIX + "decile",
)

KNOWN_FIELDS: tuple[str, ...] = (
    PERSON_FIELDS + tuple(ACCOUNT_PREFIX + f for f in ACCOUNT_FIELDS) + PREDICTION_FIELDS
)


def is_known_field(name: str) -> bool:
    """True for a listed field or a custom attribute path with a non-empty name."""
    for prefix in (ACCOUNT_ATTRIBUTE_PREFIX, ATTRIBUTE_PREFIX):
        if name.startswith(prefix):
            return len(name) > len(prefix)
    return name in KNOWN_FIELDS
