"""Account-level features as of a cut-off: colleagues known, their activity, open and won
deals — who belonged to which account taken as of the cut-off too."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from sqlalchemy import Connection, Select, Subquery, and_, case, func, select

from revmachine.predict.sql import fetch_frame, restrict
from revmachine.store import schema


def account_features(conn: Connection, as_of: dt.datetime, people: pl.DataFrame) -> pl.DataFrame:
    """Per account: people known, recent activity, open and won deals, all as of `as_of`.

    Who belonged to an account is taken as of `as_of` too (`_membership`). A deal's account
    is its current one: `opportunity_history` does not record account moves.
    """
    accounts = people.get_column("account_id").drop_nulls().unique().to_list()
    if not accounts:
        return pl.DataFrame(
            schema={
                "account_id": pl.Int64,
                "colleagues": pl.Float64,
                "account_activities_30d": pl.Float64,
                "account_open_opportunities": pl.Float64,
                "account_won_opportunities": pl.Float64,
            }
        )
    only = None if len(accounts) > 5000 else accounts
    a = schema.activities
    members = _membership(as_of)
    known = fetch_frame(
        conn,
        restrict(
            select(members.c.account_id, func.count())
            .where(members.c.account_id.is_not(None))
            .group_by(members.c.account_id),
            members.c.account_id,
            only,
        ),
        {"account_id": pl.Int64, "colleagues": pl.Float64},
    )
    recent = fetch_frame(
        conn,
        restrict(
            select(members.c.account_id, func.count())
            .select_from(a.join(members, members.c.person_id == a.c.person_id))
            .where(
                a.c.occurred_at <= as_of,
                a.c.occurred_at > as_of - dt.timedelta(days=30),
                members.c.account_id.is_not(None),
            )
            .group_by(members.c.account_id),
            members.c.account_id,
            only,
        ),
        {"account_id": pl.Int64, "account_activities_30d": pl.Float64},
    )
    deals = fetch_frame(
        conn, _deals(as_of), {"account_id": pl.Int64, "open": pl.Float64, "won": pl.Float64}
    )
    return (
        known.join(recent, on="account_id", how="left")
        .join(deals, on="account_id", how="left")
        .with_columns(pl.col("account_activities_30d", "open", "won").fill_null(0.0))
        .rename({"open": "account_open_opportunities", "won": "account_won_opportunities"})
    )


def _membership(as_of: dt.datetime) -> Subquery:
    """(person_id, account_id) of everyone known at `as_of`, with the account link as it
    was then: the old value of the first later change of `account_id`, if there is one."""
    p, ch = schema.people, schema.person_changes
    first_change = (
        select(
            ch.c.person_id,
            ch.c.old_value["v"].as_integer().label("old"),
            func.row_number()
            .over(partition_by=ch.c.person_id, order_by=(ch.c.occurred_at, ch.c.id))
            .label("rn"),
        )
        .where(ch.c.field == "account_id", ch.c.occurred_at > as_of)
        .subquery()
    )
    return (
        select(
            p.c.id.label("person_id"),
            case(
                (first_change.c.person_id.is_not(None), first_change.c.old), else_=p.c.account_id
            ).label("account_id"),
        )
        .select_from(
            p.outerjoin(
                first_change, and_(first_change.c.person_id == p.c.id, first_change.c.rn == 1)
            )
        )
        .where(p.c.created_at <= as_of)
        .subquery()
    )


def _deals(as_of: dt.datetime) -> Select[Any]:
    """Open and won opportunities per account, from each deal's latest snapshot at `as_of`."""
    h, o = schema.opportunity_history, schema.opportunities
    ranked = (
        select(
            h.c.opportunity_id,
            h.c.status,
            func.row_number()
            .over(partition_by=h.c.opportunity_id, order_by=(h.c.occurred_at.desc(), h.c.id.desc()))
            .label("rn"),
        )
        .where(h.c.occurred_at <= as_of)
        .subquery()
    )
    status = ranked.c.status
    return (
        select(
            o.c.account_id,
            func.sum(case((status == "open", 1), else_=0)),
            func.sum(case((status == "won", 1), else_=0)),
        )
        .join(ranked, and_(ranked.c.opportunity_id == o.c.id, ranked.c.rn == 1))
        .where(o.c.account_id.is_not(None), o.c.created_at <= as_of)
        .group_by(o.c.account_id)
    )
