"""People as the hand-off sees them: the facts routing rules test, and a short summary for
queues and webhook payloads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from revmachine.engine.facts import AccountFacts, PersonFacts
from revmachine.engine.routing import Lead
from revmachine.services.cycle.inputs import ACCOUNT_FIELDS, FACT_FIELDS
from revmachine.services.handoff.errors import HandoffError, HandoffErrorCode
from revmachine.store import schema
from revmachine.store.reads import latest_predictions

CHUNK = 900


@dataclass(frozen=True)
class LeadSummary:
    person_id: int
    email: str
    name: str | None
    title: str | None
    company: str | None
    account: str | None
    stage: str | None
    entered_at: dt.datetime | None
    fit: float
    behavior: float
    total: float

    def as_payload(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "email": self.email,
            "name": self.name,
            "title": self.title,
            "company": self.company,
            "account": self.account,
            "stage": self.stage,
            "stage_entered_at": self.entered_at.isoformat() if self.entered_at else None,
            "score": {"fit": self.fit, "behavior": self.behavior, "total": self.total},
        }


def find_person(conn: Connection, email: str) -> int:
    p = schema.people
    pid = conn.execute(select(p.c.id).where(p.c.email == email.strip().lower())).scalar()
    if pid is None:
        raise HandoffError(HandoffErrorCode.UNKNOWN_LEAD, f"no person with email '{email}'")
    return int(pid)


def load_leads(conn: Connection, person_ids: Sequence[int]) -> dict[int, Lead]:
    """Each person's current fields and account (what routing rules test), with the
    account's owner."""
    p, a = schema.people, schema.accounts
    out: dict[int, Lead] = {}
    for start in range(0, len(person_ids), CHUNK):
        chunk = list(person_ids[start : start + CHUNK])
        rows = conn.execute(
            select(
                p.c.id,
                p.c.email,
                p.c.unsubscribed,
                p.c.attributes,
                p.c.account_id,
                *[p.c[f] for f in FACT_FIELDS],
            ).where(p.c.id.in_(chunk))
        ).mappings()
        people = list(rows)
        account_ids = {r["account_id"] for r in people if r["account_id"] is not None}
        accounts: dict[int, tuple[AccountFacts, int | None]] = {}
        if account_ids:
            for r in conn.execute(
                select(
                    a.c.id,
                    a.c.owner_id,
                    a.c.annual_revenue,
                    a.c.attributes,
                    *[a.c[f] for f in ACCOUNT_FIELDS],
                ).where(a.c.id.in_(account_ids))
            ).mappings():
                revenue = r["annual_revenue"]
                facts = AccountFacts(
                    **{f: r[f] for f in ACCOUNT_FIELDS},
                    annual_revenue=float(revenue) if revenue is not None else None,
                    attributes=dict(r["attributes"] or {}),
                )
                accounts[r["id"]] = (facts, r["owner_id"])
        # routing decides now, so each person's latest prediction applies
        predicted = latest_predictions(conn, chunk)
        for r in people:
            account, owner = accounts.get(r["account_id"], (None, None))
            values = {f: r[f] for f in FACT_FIELDS}
            latest = predicted.get(r["id"])
            facts_ = PersonFacts(
                email=r["email"],
                **values,
                unsubscribed=bool(r["unsubscribed"]),
                attributes=dict(r["attributes"] or {}),
                account=account,
                predicted_probability=latest.probability if latest else None,
                predicted_decile=latest.decile if latest else None,
            )
            out[r["id"]] = Lead(r["id"], facts_, owner)
    return out


def lead_summaries(conn: Connection, person_ids: Sequence[int]) -> dict[int, LeadSummary]:
    p, a, js = schema.people, schema.accounts, schema.journey_states
    out: dict[int, LeadSummary] = {}
    for start in range(0, len(person_ids), CHUNK):
        chunk = list(person_ids[start : start + CHUNK])
        for r in conn.execute(
            select(
                p.c.id,
                p.c.email,
                p.c.first_name,
                p.c.last_name,
                p.c.title,
                p.c.company,
                a.c.name.label("account"),
                js.c.stage,
                js.c.stage_entered_at,
                js.c.fit,
                js.c.behavior,
                js.c.total,
            )
            .select_from(
                p.outerjoin(a, a.c.id == p.c.account_id).outerjoin(js, js.c.person_id == p.c.id)
            )
            .where(p.c.id.in_(chunk))
        ):
            name = " ".join(n for n in (r.first_name, r.last_name) if n) or None
            out[r.id] = LeadSummary(
                r.id,
                r.email,
                name,
                r.title,
                r.company,
                r.account,
                r.stage,
                r.stage_entered_at,
                float(r.fit or 0.0),
                float(r.behavior or 0.0),
                float(r.total or 0.0),
            )
    return out
