"""The sales reps as routing sees them, read from the store: teams, loads, recency."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Select, func, select

from revmachine.config.issues import did_you_mean
from revmachine.config.routing import RoutingModel
from revmachine.engine.routing import Rep, Roster
from revmachine.services.handoff.errors import HandoffError, HandoffErrorCode
from revmachine.store import schema

OPEN_STATUSES = ("open", "accepted")


def load_roster(conn: Connection, routing: RoutingModel) -> Roster:
    """Every rep with their load (leads held in `load_stages`) and the order of their most
    recent assignments, as the routing engine needs them."""
    reps = {row.id: _rep(row) for row in conn.execute(_reps_query())}
    h, js, la = schema.handoff_leads, schema.journey_states, schema.lead_assignments
    load = {
        int(rep_id): int(n)
        for rep_id, n in conn.execute(
            select(h.c.rep_id, func.count())
            .select_from(h.join(js, js.c.person_id == h.c.person_id))
            .where(
                h.c.rep_id.is_not(None),
                h.c.status.in_(OPEN_STATUSES),
                js.c.stage.in_(routing.load_stages),
            )
            .group_by(h.c.rep_id)
        )
    }
    last = {
        int(rep_id): int(n)
        for rep_id, n in conn.execute(
            select(la.c.rep_id, func.max(la.c.id))
            .where(la.c.rep_id.is_not(None))
            .group_by(la.c.rep_id)
        )
    }
    return Roster(reps, load, last)


def team_ids(conn: Connection) -> dict[str, int]:
    t = schema.sales_teams
    return {name: int(i) for name, i in conn.execute(select(t.c.name, t.c.id))}


def find_rep(conn: Connection, email: str, *, active: bool = True) -> Rep:
    """The rep with this email (any case); an unknown or (with `active`) inactive rep is a
    HandoffError naming the closest known email."""
    r = schema.sales_reps
    wanted = email.strip().lower()
    row = conn.execute(_reps_query().where(func.lower(r.c.email) == wanted)).first()
    if row is None:
        known = list(conn.execute(select(r.c.email)).scalars())
        hint = did_you_mean(wanted, known, "import reps with `revmachine import reps FILE`")
        raise HandoffError(
            HandoffErrorCode.UNKNOWN_REP,
            f"no sales rep with email '{email}'" + (f" ({hint})" if hint else ""),
        )
    rep = _rep(row)
    if active and not rep.active:
        raise HandoffError(HandoffErrorCode.INACTIVE_REP, f"sales rep {rep.email} is not active")
    return rep


def _reps_query() -> Select[Any]:
    """The reps with their team's name: the columns of a `Rep`, in its order."""
    r, t = schema.sales_reps, schema.sales_teams
    return select(
        r.c.id,
        r.c.email,
        r.c.name,
        t.c.name.label("team"),
        r.c.role,
        r.c.territory,
        r.c.capacity,
        r.c.active,
    ).select_from(r.outerjoin(t, t.c.id == r.c.team_id))


def _rep(row: Row[Any]) -> Rep:
    return Rep(
        row.id,
        row.email,
        row.name,
        row.team,
        row.role,
        row.territory,
        row.capacity,
        bool(row.active),
    )
