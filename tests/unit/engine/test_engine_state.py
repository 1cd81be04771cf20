"""A journey state survives the store: to_dict → JSON → from_dict gives the same state,
with the facts' unset fields left out of the document, and documents that still list
them (as earlier versions wrote) read back the same."""

from __future__ import annotations

import json

import pytest

from revmachine.config import default_workspace
from revmachine.engine import AccountFacts, Engine, PersonFacts, from_dict, to_dict

FULL = PersonFacts(
    email="ada@contoso.com",
    title="CTO",
    employee_count=900,
    email_opt_in=False,
    unsubscribed=True,
    attributes={"tier": "A"},
    account=AccountFacts(domain="contoso.com", annual_revenue=1.5e6, attributes={"k": 1}),
)


@pytest.mark.parametrize("facts", [FULL, PersonFacts(), PersonFacts(email="x@y.example")])
def test_a_state_reads_back_as_it_was_written(facts: PersonFacts) -> None:
    state = Engine(default_workspace()).new_state(7, facts)
    back = from_dict(json.loads(json.dumps(to_dict(state))))
    assert back == state
    assert back.facts == facts


def test_unset_fields_are_left_out_of_the_document() -> None:
    document = to_dict(Engine(default_workspace()).new_state(7, PersonFacts(email="x@y.com")))
    assert document["facts"] == {"email": "x@y.com", "unsubscribed": False}


def test_a_document_listing_every_field_still_reads() -> None:
    state = Engine(default_workspace()).new_state(7, FULL)
    document = to_dict(state)
    document["facts"] = {
        "first_name": None,
        **document["facts"],
        "account": {"name": None, **document["facts"]["account"]},
    }
    assert from_dict(document) == state
