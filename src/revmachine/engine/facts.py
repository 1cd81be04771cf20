"""What the engines know about a person and their account: plain, immutable values.

Fields are the ones listed in `revmachine.config.fields`; `field_getter` turns a field name
from a rule into a function, once, when the rules are compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from revmachine.config.fields import (
    ACCOUNT_ATTRIBUTE_PREFIX,
    ACCOUNT_PREFIX,
    ATTRIBUTE_PREFIX,
    PREDICTION_FIELDS,
    PREDICTION_PREFIX,
    is_known_field,
)


@dataclass(frozen=True, slots=True)
class AccountFacts:
    domain: str | None = None
    name: str | None = None
    industry: str | None = None
    employee_count: int | None = None
    annual_revenue: float | None = None
    segment: str | None = None
    country: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PersonFacts:
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    seniority: str | None = None
    company: str | None = None
    industry: str | None = None
    employee_count: int | None = None
    country: str | None = None
    lead_source: str | None = None
    email_opt_in: bool | None = None
    unsubscribed: bool = False
    attributes: Mapping[str, Any] = field(default_factory=dict)
    account: AccountFacts | None = None
    # the latest prediction as of the facts' time (`predicted.probability` / `.decile`)
    predicted_probability: float | None = None
    predicted_decile: int | None = None

    @property
    def email_domain(self) -> str | None:
        """The part after '@', lower case (what competitor and personal-domain lists test)."""
        if not self.email or "@" not in self.email:
            return None
        return self.email.rsplit("@", 1)[1].lower()


FieldGetter = Callable[[PersonFacts], Any]


def field_getter(name: str) -> FieldGetter:
    """A function reading field `name` (as written in a rule) from PersonFacts."""
    if not is_known_field(name):
        raise KeyError(f"unknown field '{name}'")
    if name.startswith(ACCOUNT_ATTRIBUTE_PREFIX):
        key = name[len(ACCOUNT_ATTRIBUTE_PREFIX) :]
        return lambda f: f.account.attributes.get(key) if f.account is not None else None
    if name.startswith(ATTRIBUTE_PREFIX):
        key = name[len(ATTRIBUTE_PREFIX) :]
        return lambda f: f.attributes.get(key)
    if name in PREDICTION_FIELDS:
        attribute = "predicted_" + name[len(PREDICTION_PREFIX) :]
        return lambda f: getattr(f, attribute)
    if name.startswith(ACCOUNT_PREFIX):
        attribute = name[len(ACCOUNT_PREFIX) :]
        return lambda f: getattr(f.account, attribute) if f.account is not None else None
    return lambda f: getattr(f, name)
