"""Why a person is where they are: the score breakdown and the stage history behind it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from revmachine.config import Workspace
from revmachine.engine import Engine, ScoreExplanation
from revmachine.services.cycle.inputs import load_people_inputs
from revmachine.store import schema
from revmachine.store.database import Database


@dataclass(frozen=True)
class PersonExplanation:
    person_id: int
    email: str
    as_of: dt.datetime
    model_version: str
    stage: str | None
    score: ScoreExplanation
    transitions: list[dict[str, Any]]  # stored history, each with its rule and model version


class UnknownPerson(LookupError):
    pass


def explain_person(
    db: Database, workspace: Workspace, email: str, as_of: dt.datetime
) -> PersonExplanation:
    """The score as of `as_of` rule by rule, and every stage move up to then."""
    p, st = schema.people, schema.stage_transitions
    engine = Engine(workspace)
    with db.reading() as conn:
        found = conn.execute(
            select(p.c.id, p.c.email).where(p.c.email == email.strip().lower())
        ).first()
        if found is None:
            raise UnknownPerson(f"no person with email {email!r}")
        person = load_people_inputs(conn, [found.id], predictions=workspace.uses_predictions)[
            found.id
        ]
        transitions = [
            dict(r)
            for r in conn.execute(
                select(
                    st.c.occurred_at,
                    st.c.from_stage,
                    st.c.to_stage,
                    st.c.rule,
                    st.c.reason,
                    st.c.model_version,
                )
                .where(st.c.person_id == found.id, st.c.occurred_at <= as_of)
                .order_by(st.c.occurred_at, st.c.id)
            ).mappings()
        ]
    inputs = [i for i in person.inputs if i.occurred_at <= as_of]
    score = engine.explain_score(person.facts, inputs, as_of)
    stage = transitions[-1]["to_stage"] if transitions else None
    return PersonExplanation(
        found.id, found.email, as_of, engine.version, stage, score, transitions
    )
