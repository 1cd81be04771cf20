"""A rep accepts or rejects a lead in their queue: the decision is recorded, then the
revenue model moves the person.

The decision is a `sales_decisions` row (who, when, why, from where) — an input of the
revenue model like any activity — and the hand-off is marked decided, in one transaction
after every check has passed: an unknown rep, a lead not in the rep's queue or a reason
not in `routing.yml` changes nothing. Processing then runs (the incremental run that
imports trigger too), so the answer says where the person went: with the default model,
accepted → sal, rejected → recycled or disqualified by reason.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from revmachine.config import Workspace
from revmachine.config.issues import did_you_mean
from revmachine.config.revenue_model import SalesDecisionKind
from revmachine.engine.routing import Rep
from revmachine.services.cycle import ProcessSummary, process
from revmachine.services.handoff.errors import HandoffError, HandoffErrorCode
from revmachine.services.handoff.leads import find_person
from revmachine.services.handoff.roster import find_rep
from revmachine.store import schema
from revmachine.store.database import Database


@dataclass(frozen=True)
class DecisionResult:
    person_id: int
    email: str
    rep: str
    decision: SalesDecisionKind
    reason: str | None
    event_id: str
    occurred_at: dt.datetime
    stage_before: str
    stage_after: str | None
    rule: str | None  # the transition that moved the person, if one did
    processing: ProcessSummary


def accept_lead(
    db: Database,
    workspace: Workspace,
    email: str,
    rep_email: str,
    now: dt.datetime,
    *,
    note: str | None = None,
    source: str = "cli",
    event_id: str | None = None,
) -> DecisionResult:
    """The rep takes the lead on (→ sales-accepted in the default model)."""
    return decide(
        db, workspace, email, rep_email, SalesDecisionKind.ACCEPT, None, now, note, source, event_id
    )


def reject_lead(
    db: Database,
    workspace: Workspace,
    email: str,
    rep_email: str,
    reason: str,
    now: dt.datetime,
    *,
    note: str | None = None,
    source: str = "cli",
    event_id: str | None = None,
) -> DecisionResult:
    """The rep turns the lead down for `reason`, one of routing.yml's `reject_reasons`."""
    return decide(
        db,
        workspace,
        email,
        rep_email,
        SalesDecisionKind.REJECT,
        reason,
        now,
        note,
        source,
        event_id,
    )


def decide(
    db: Database,
    workspace: Workspace,
    email: str,
    rep_email: str,
    decision: SalesDecisionKind,
    reason: str | None,
    now: dt.datetime,
    note: str | None = None,
    source: str = "cli",
    event_id: str | None = None,
) -> DecisionResult:
    reason = _checked_reason(workspace, decision, reason)
    event_id = event_id or f"sales:{uuid.uuid4().hex}"
    with db.transaction() as conn:
        rep = find_rep(conn, rep_email)
        pid = find_person(conn, email)
        entered = _open_lead_of(conn, workspace, pid, rep, email)
        if now < entered:
            raise HandoffError(
                HandoffErrorCode.BEFORE_ENTRY,
                f"a decision at {now.isoformat()} would come before {email} entered "
                f"{workspace.routing.stage} ({entered.isoformat()})",
            )
        conn.execute(
            insert(schema.sales_decisions).values(
                event_id=event_id,
                person_id=pid,
                decision=decision.value,
                reason=reason,
                rep_id=rep.rep_id,
                note=note,
                occurred_at=now,
                recorded_at=now,
                source=source,
            )
        )
        h = schema.handoff_leads
        conn.execute(
            update(h)
            .where(h.c.person_id == pid)
            .values(
                status="accepted" if decision is SalesDecisionKind.ACCEPT else "rejected",
                closed_at=now,
                outcome=reason or decision.value,
                updated_at=now,
            )
        )
    summary = process(db, workspace, now)
    stage_after, rule = _stage_after(db, pid, now)
    return DecisionResult(
        pid,
        email.strip().lower(),
        rep.email,
        decision,
        reason,
        event_id,
        now,
        workspace.routing.stage,
        stage_after,
        rule,
        summary,
    )


def _checked_reason(
    workspace: Workspace, decision: SalesDecisionKind, reason: str | None
) -> str | None:
    reasons = workspace.routing.reject_reasons
    if decision is SalesDecisionKind.ACCEPT:
        return reason
    if reason is None or not reason.strip():
        raise HandoffError(
            HandoffErrorCode.REASON_REQUIRED,
            "a rejection needs a reason, one of: " + ", ".join(reasons),
        )
    wanted = reason.strip()
    if wanted not in reasons:
        hint = did_you_mean(wanted, reasons, "known: " + ", ".join(reasons))
        raise HandoffError(
            HandoffErrorCode.UNKNOWN_REASON,
            f"'{wanted}' is not a rejection reason in routing.yml ({hint})",
        )
    return wanted


def _open_lead_of(
    conn: Connection, workspace: Workspace, pid: int, rep: Rep, email: str
) -> dt.datetime:
    """When the lead entered the stage, if it is an open lead of `rep`; else the error
    says where the lead is."""
    h, js, r = schema.handoff_leads, schema.journey_states, schema.sales_reps
    row = conn.execute(
        select(h.c.status, h.c.rep_id, h.c.queue, h.c.entered_at, r.c.email, js.c.stage)
        .select_from(
            h.outerjoin(r, r.c.id == h.c.rep_id).outerjoin(js, js.c.person_id == h.c.person_id)
        )
        .where(h.c.person_id == pid)
        .with_for_update(of=h)  # two reps deciding at once: the second waits, then sees it
    ).first()
    stage = workspace.routing.stage
    if row is not None and row.status == "open" and row.rep_id == rep.rep_id:
        if row.stage == stage:
            return row.entered_at  # type: ignore[no-any-return]
        where = f"it is now in stage {row.stage or '-'}"
    elif row is None:
        where = "it has not been routed to anyone"
    elif row.status != "open":
        where = f"its hand-off is already {row.status}"
    elif row.rep_id is None:
        where = f"it waits in the {row.queue} queue"
    else:
        where = f"it is assigned to {row.email}"
    raise HandoffError(
        HandoffErrorCode.NOT_IN_QUEUE, f"{email} is not in {rep.email}'s queue: {where}"
    )


def _stage_after(db: Database, pid: int, now: dt.datetime) -> tuple[str | None, str | None]:
    js, st = schema.journey_states, schema.stage_transitions
    with db.reading() as conn:
        stage = conn.execute(select(js.c.stage).where(js.c.person_id == pid)).scalar()
        rule = conn.execute(
            select(st.c.rule)
            .where(st.c.person_id == pid, st.c.occurred_at == now)
            .order_by(st.c.id.desc())
            .limit(1)
        ).scalar()
    return stage, rule
