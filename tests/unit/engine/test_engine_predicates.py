"""Value tests and predicates: the comparisons every rule is made of."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from revmachine.config.fields import KNOWN_FIELDS
from revmachine.config.predicates import VALUE_TESTS as CONFIG_VALUE_TESTS
from revmachine.config.predicates import Predicate, ValueTest
from revmachine.engine import AccountFacts, PersonFacts
from revmachine.engine.facts import field_getter
from revmachine.engine.predicates import VALUE_TESTS, compile_predicate, compile_value_test

LISTS = {"personal": ["gmail.com", "Yahoo.com"]}


def check(spec: dict[str, Any], value: Any) -> bool:
    return compile_value_test(ValueTest.model_validate(spec), LISTS)(value)


def holds(spec: dict[str, Any], facts: PersonFacts) -> bool:
    predicate = TypeAdapter(Predicate).validate_python(spec)
    return compile_predicate(predicate, LISTS)(facts)


def test_the_value_test_registries_agree() -> None:
    assert tuple(VALUE_TESTS) == CONFIG_VALUE_TESTS


@pytest.mark.parametrize("name", KNOWN_FIELDS)
def test_every_known_field_can_be_read(name: str) -> None:
    field_getter(name)(PersonFacts(account=AccountFacts()))
    field_getter(name)(PersonFacts())


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"equals": "Software"}, "software ", True),
        ({"equals": 200}, "200", True),
        ({"equals": True}, True, True),
        ({"equals": True}, 1, False),
        ({"not_equals": "x"}, None, True),
        ({"one_of": ["US", "Canada"]}, "canada", True),
        ({"one_of": ["US"]}, ["DE", "us"], True),
        ({"none_of": ["US"]}, "DE", True),
        ({"none_of": ["US"]}, None, True),
        ({"in_list": "personal"}, "YAHOO.com", True),
        ({"not_in_list": "personal"}, "contoso.com", True),
        ({"contains": "Pricing"}, "/en/pricing/", True),
        ({"contains": "pricing"}, None, False),
        ({"matches": r"^vp\b"}, "VP Sales", True),
        ({"matches": r"^vp\b"}, "MVP", False),
        ({"at_least": 200, "at_most": 5000}, 200, True),
        ({"at_least": 200, "at_most": 5000}, "5001", False),
        ({"at_least": 200}, "lots", False),
        ({"at_least": 200}, None, False),
        ({"exists": True}, "", False),
        ({"exists": False}, None, True),
    ],
)
def test_value_tests(spec: dict[str, Any], value: Any, expected: bool) -> None:
    assert check(spec, value) is expected


def test_combinators_and_account_fields() -> None:
    facts = PersonFacts(
        email="a@Contoso.com",
        title="Head of IT",
        account=AccountFacts(industry="Retail", attributes={"tier": "A"}),
    )
    assert holds({"field": "email_domain", "equals": "contoso.com"}, facts)
    assert holds({"field": "account.attributes.tier", "equals": "a"}, facts)
    assert holds(
        {
            "all": [
                {"field": "account.industry", "one_of": ["Retail"]},
                {"not": {"field": "email_domain", "in_list": "personal"}},
                {
                    "any": [
                        {"field": "title", "contains": "head"},
                        {"field": "title", "exists": False},
                    ]
                },
            ]
        },
        facts,
    )
    assert not holds({"field": "account.industry", "exists": True}, PersonFacts())
