"""People: batch upsert, search with cursor paging, one person, stages, scores, activities."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from revmachine.api.auth import Principal, require
from revmachine.api.idempotency import IdempotentRoute
from revmachine.api.paging import decode_cursor
from revmachine.api.permissions import Permission
from revmachine.api.routers.common import (
    CursorQuery,
    IdQuery,
    LimitQuery,
    ScoreQuery,
    aware,
    feed_page,
    import_batch,
    list_page,
    not_found,
    page_limit,
)
from revmachine.api.schemas import (
    ActivityFeed,
    BatchRequest,
    BatchResponse,
    Page,
    Person,
    ScoreChange,
    StageMove,
)
from revmachine.api.state import ApiContext, Ctx
from revmachine.services import queries
from revmachine.services.cycle import UnknownPerson, explain_person

router = APIRouter(prefix="/v1/people", tags=["people"], route_class=IdempotentRoute)


def _person_id(ctx: ApiContext, ref: str, principal: Principal) -> int:
    with ctx.db.reading() as conn:
        found = queries.person_id_for(conn, ref, principal.owner_scope)
    if found is None:
        raise not_found(f"no person {ref!r}")
    return found


@router.post("", response_model=BatchResponse, summary="Create or update up to 1,000 people")
def upsert_people(
    body: BatchRequest,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PEOPLE_WRITE))],
) -> Response:
    """Deduplicated on email and merged field by field by the record's own time, exactly
    as `revmachine import people` does. One result per record, in input order."""
    return import_batch("people", ctx, principal, body)


@router.get("", response_model=Page[Person], summary="Search people")
def search_people(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PEOPLE_READ))],
    email: str | None = None,
    company: str | None = None,
    country: str | None = None,
    lead_source: str | None = None,
    account_id: IdQuery = None,
    owner: Annotated[str | None, Query(description="the owning rep's email")] = None,
    stage: str | None = None,
    min_score: ScoreQuery = None,
    created_since: dt.datetime | None = None,
    updated_since: dt.datetime | None = None,
    limit: int | None = LimitQuery,
    cursor: str | None = CursorQuery,
) -> dict[str, Any]:
    """People matching every filter given, in id order. Cursor paging neither skips nor
    repeats anyone who existed when paging began, whatever is written meanwhile."""
    f = queries.PeopleFilter(
        email=email,
        company=company,
        country=country,
        lead_source=lead_source,
        account_id=account_id,
        owner_email=owner,
        stage=stage,
        min_score=min_score,
        created_since=aware(created_since),
        updated_since=aware(updated_since),
    )
    filters = asdict(f) | {"scope": principal.owner_scope}
    after = decode_cursor(cursor, filters)
    size = page_limit(limit, ctx.settings.page_size, ctx.settings.max_page_size)
    with ctx.db.reading() as conn:
        rows = queries.find_people(
            conn, f, after=after, limit=size + 1, owner_id=principal.owner_scope
        )
    return list_page(rows, size, filters)


@router.get("/{ref}", response_model=Person, summary="One person, by id or email")
def get_person(
    ref: str,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PEOPLE_READ))],
) -> dict[str, Any]:
    person_id = _person_id(ctx, ref, principal)
    with ctx.db.reading() as conn:
        person = queries.get_person(conn, person_id)
    if person is None:
        raise not_found(f"no person {ref!r}")
    return person


@router.get("/{ref}/stages", response_model=list[StageMove], summary="Stage history")
def person_stages(
    ref: str,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PEOPLE_READ))],
) -> list[dict[str, Any]]:
    """Every stage move, with the rule, the reason and the model version behind it."""
    person_id = _person_id(ctx, ref, principal)
    with ctx.db.reading() as conn:
        return queries.stage_history(conn, person_id)


@router.get("/{ref}/scores", response_model=list[ScoreChange], summary="Score history")
def person_scores(
    ref: str,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PEOPLE_READ))],
) -> list[dict[str, Any]]:
    person_id = _person_id(ctx, ref, principal)
    with ctx.db.reading() as conn:
        return queries.score_history(conn, person_id)


@router.get("/{ref}/explanation", summary="The score rule by rule, and the stage history")
def person_explanation(
    ref: str,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.PEOPLE_READ))],
    as_of: dt.datetime | None = None,
) -> dict[str, Any]:
    """What `revmachine explain` prints, as JSON: each rule's points and what they are
    worth now (decay), and every stage move with its rule."""
    _person_id(ctx, ref, principal)
    when = aware(as_of) or ctx.now()
    email = ref
    if ref.isdigit():
        with ctx.db.reading() as conn:
            person = queries.get_person(conn, int(ref))
        email = person["email"] if person else ref
    try:
        ex = explain_person(ctx.db, ctx.workspace, email, when)
    except UnknownPerson as exc:
        raise not_found(str(exc)) from exc
    return {
        "person_id": ex.person_id,
        "email": ex.email,
        "as_of": ex.as_of,
        "model_version": ex.model_version,
        "stage": ex.stage,
        "score": {
            "fit": ex.score.fit,
            "behavior": ex.score.behavior,
            "total": ex.score.total,
            "contributions": [asdict(c) for c in ex.score.contributions],
        },
        "transitions": ex.transitions,
    }


@router.get("/{ref}/activities", response_model=ActivityFeed, summary="A person's activities")
def person_activities(
    ref: str,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.ACTIVITIES_READ))],
    limit: int | None = LimitQuery,
    cursor: str | None = CursorQuery,
) -> dict[str, Any]:
    person_id = _person_id(ctx, ref, principal)
    filters = {"person": person_id}
    after = decode_cursor(cursor, filters)
    size = page_limit(limit, ctx.settings.page_size, ctx.settings.max_page_size)
    with ctx.db.reading() as conn:
        rows = queries.activity_feed(conn, after=after, limit=size + 1, person_ids=[person_id])
    return feed_page(rows, size, after, filters)
