"""The Marketo-compatible subset, mapped onto the same data and services as /v1.

Token (`identity`), leads, activities and opportunities, answered in Marketo's envelope
with its error codes, so that existing Marketo clients and integrations keep working.
"""

from fastapi import APIRouter

from revmachine.api.marketo import activities, identity, leads, opportunities

router = APIRouter()
for _sub in (identity.router, leads.router, activities.router, opportunities.router):
    router.include_router(_sub)

__all__ = ["router"]
