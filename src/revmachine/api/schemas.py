"""Request and response bodies of the native API (pydantic: they make the OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Literal, TypeVar

from fastapi import Response
from pydantic import BaseModel, Field
from pydantic_core import to_json

from revmachine.services.imports.batch import BatchResult

T = TypeVar("T")


class BatchRequest(BaseModel):
    """Records to create or update; each is answered on its own, in input order."""

    records: list[Any] = Field(
        min_length=1,
        description="JSON objects with the fields of the kind (as in the CSV import); "
        "unknown fields of people, accounts, activities and opportunities are kept as "
        "custom attributes",
    )


class RecordError(BaseModel):
    code: str
    field: str | None
    message: str


class RecordResult(BaseModel):
    index: int
    status: Literal["created", "updated", "unchanged", "rejected"]
    id: int | None
    errors: list[RecordError] = Field(default_factory=list)


class BatchResponse(BaseModel):
    kind: str
    created: int
    updated: int
    unchanged: int
    rejected: int
    results: list[RecordResult]

    @staticmethod
    def render(batch: BatchResult) -> Response:
        """The response for `batch`, in this model's shape, as JSON bytes.

        A batch of 1,000 records made 1,000 `RecordResult` models that FastAPI then
        validated and serialised again; plain dicts serialised by pydantic-core cost a
        fraction of that. `response_model=BatchResponse` still documents the shape, and a
        test validates rendered bodies against the model.
        """
        results = []
        for r in batch.results:
            errors = [
                {"code": e.code.value, "field": e.field, "message": e.message} for e in r.errors
            ]
            results.append({"index": r.index, "status": r.status, "id": r.id, "errors": errors})
        body = {
            "kind": batch.kind,
            "created": batch.count("created"),
            "updated": batch.count("updated"),
            "unchanged": batch.count("unchanged"),
            "rejected": batch.count("rejected"),
            "results": results,
        }
        return Response(to_json(body), media_type="application/json")


class Page(BaseModel, Generic[T]):
    """One page; pass `next_cursor` as `cursor` for the next (null: this was the last)."""

    data: list[T]
    next_cursor: str | None


class Score(BaseModel):
    fit: float
    behavior: float
    total: float


class Person(BaseModel):
    id: int
    email: str
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    seniority: str | None = None
    company: str | None = None
    account_id: int | None = None
    industry: str | None = None
    employee_count: int | None = None
    country: str | None = None
    lead_source: str | None = None
    acquisition_program_id: int | None = None
    email_opt_in: bool | None = None
    unsubscribed: bool
    owner_id: int | None = None
    owner_email: str | None = None
    attributes: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    stage: str | None = None
    stage_entered_at: dt.datetime | None = None
    score: Score | None = None


class Activity(BaseModel):
    id: int
    event_id: str
    person_id: int
    email: str
    type: str
    program_id: int | None = None
    occurred_at: dt.datetime
    received_at: dt.datetime
    attributes: dict[str, Any]


class ActivityFeed(BaseModel):
    """Activities in arrival order. `next_cursor` is always set: poll it for what comes next."""

    data: list[Activity]
    next_cursor: str
    has_more: bool


class StageMove(BaseModel):
    id: int
    from_stage: str | None
    to_stage: str
    occurred_at: dt.datetime
    rule: str | None
    reason: str
    model_version: str | None


class ScoreChange(BaseModel):
    id: int
    occurred_at: dt.datetime
    fit: float
    behavior: float
    total: float
    rule: str | None
    reason: str
    model_version: str | None
