"""The errors of the hand-off: one exception type with a small set of codes.

Every check runs before anything is written, so an error means nothing changed. The CLI
prints the message; the API maps the code to a problem+json type (404 for unknown rep or
lead, 409 for a lead not in the rep's queue, 422 for a bad reason).
"""

from __future__ import annotations

from enum import StrEnum


class HandoffErrorCode(StrEnum):
    UNKNOWN_REP = "unknown_rep"  # no sales rep with that email
    INACTIVE_REP = "inactive_rep"  # the rep exists but is not active
    UNKNOWN_LEAD = "unknown_lead"  # no person with that email
    NOT_IN_QUEUE = "not_in_queue"  # the lead is not an open lead of this rep
    NOT_ROUTABLE = "not_routable"  # the person is not in the routed stage
    UNKNOWN_REASON = "unknown_reason"  # a rejection reason not in routing.yml
    REASON_REQUIRED = "reason_required"  # a rejection without a reason
    BEFORE_ENTRY = "before_entry"  # a decision dated before the lead entered the stage


class HandoffError(ValueError):
    """A request the hand-off refuses; `code` says which rule it broke."""

    def __init__(self, code: HandoffErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
