"""The revenue model: read it, validate a candidate, run it, and people by stage now."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from revmachine.api.auth import Principal, require
from revmachine.api.idempotency import IdempotentRoute
from revmachine.api.permissions import Permission
from revmachine.api.state import Ctx
from revmachine.config import Severity, read_workspace_texts, render_workspace
from revmachine.config.workspace import canonical_content
from revmachine.services import queries
from revmachine.services.cycle import process
from revmachine.services.cycle.versions import history

router = APIRouter(prefix="/v1/model", tags=["revenue model"], route_class=IdempotentRoute)


class Candidate(BaseModel):
    """Workspace files as text, keyed by file name (`revenue_model.yml`, `scoring.yml`).
    A file left out is taken from the live workspace."""

    files: dict[str, str] = Field(default_factory=dict)


@router.get("", summary="The live revenue model and scoring rules")
def read_model(
    ctx: Ctx, principal: Annotated[Principal, Depends(require(Permission.MODEL_READ))]
) -> dict[str, Any]:
    return {
        "version": ctx.workspace.version,
        "model": canonical_content(ctx.workspace.revenue, ctx.workspace.scoring),
        "files": render_workspace(ctx.workspace),
    }


@router.post("/validate", summary="Check candidate workspace files")
def validate_model(
    body: Candidate,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Permission.MODEL_READ))],
) -> dict[str, Any]:
    """Every problem with its file, line and a suggestion, as `revmachine validate` prints
    them. Changes nothing."""
    texts = render_workspace(ctx.workspace) | body.files
    workspace, issues = read_workspace_texts(texts)
    return {
        "valid": workspace is not None,
        "version": workspace.version if workspace is not None else None,
        "errors": sum(i.severity is Severity.ERROR for i in issues),
        "issues": [
            {
                "file": i.file,
                "line": i.line,
                "code": i.code.value,
                "severity": i.severity.value,
                "message": i.message,
                "suggestion": i.suggestion,
            }
            for i in issues
        ],
    }


@router.post("/process", summary="Run the revenue model over everything new")
def run_model(
    ctx: Ctx, principal: Annotated[Principal, Depends(require(Permission.MODEL_PROCESS))]
) -> dict[str, Any]:
    """Scores, stage moves and timers for everyone with news since the last run."""
    return asdict(process(ctx.db, ctx.workspace, ctx.now()))


@router.get("/stages", summary="How many people are in each stage now")
def stage_counts(
    ctx: Ctx, principal: Annotated[Principal, Depends(require(Permission.MODEL_READ))]
) -> dict[str, int]:
    with ctx.db.reading() as conn:
        return queries.people_by_stage(conn, principal.owner_scope)


@router.get("/versions", summary="Every model version that has been live")
def versions(
    ctx: Ctx, principal: Annotated[Principal, Depends(require(Permission.MODEL_READ))]
) -> list[dict[str, Any]]:
    with ctx.db.reading() as conn:
        return history(conn)
