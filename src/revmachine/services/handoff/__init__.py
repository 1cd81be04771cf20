"""The sales hand-off: routing new MQLs, rep queues, accept/reject, SLAs, webhooks, and
the MQL quality report. One function per use case, one transaction each; the CLI
(`cli_handoff`) and the API call the same functions.

- `route_new_mqls(db, workspace, now)` after every processing run; `assign_lead` by hand
- `rep_queue(db, workspace, rep_or_queue, now)`
- `accept_lead` / `reject_lead` (record the decision, then process)
- `escalate_breaches(db, workspace, now, dry_run=…)`, `sla_report(...)`
- `deliver_webhooks(db, now, sender)` with `HttpWebhookSender`; `outbox_status(db)`
- `mql_quality(db, workspace, since, until, now)`

Errors are `HandoffError` with a `HandoffErrorCode`; nothing is written when one is raised.
"""

from revmachine.services.handoff.assignments import Assignment
from revmachine.services.handoff.decisions import DecisionResult, accept_lead, reject_lead
from revmachine.services.handoff.delivery import (
    DeliveryRun,
    SendResult,
    WebhookMessage,
    WebhookSender,
    deliver_webhooks,
)
from revmachine.services.handoff.errors import HandoffError, HandoffErrorCode
from revmachine.services.handoff.http_sender import (
    BlockedAddress,
    HttpWebhookSender,
    sender_for,
    sign,
    verify_signature,
    webhook_secrets,
)
from revmachine.services.handoff.outbox import OutboxStatus, outbox_status
from revmachine.services.handoff.quality import MqlQualityReport, QualityLine, mql_quality
from revmachine.services.handoff.queue import Moment, QueuedLead, RepQueue, rep_queue
from revmachine.services.handoff.rates import Rate, rate
from revmachine.services.handoff.routing import RoutingRun, assign_lead, route_new_mqls
from revmachine.services.handoff.sla import (
    Breach,
    OverdueLead,
    SlaReport,
    SlaRun,
    escalate_breaches,
    sla_report,
)

__all__ = [
    "Assignment",
    "BlockedAddress",
    "Breach",
    "DecisionResult",
    "DeliveryRun",
    "HandoffError",
    "HandoffErrorCode",
    "HttpWebhookSender",
    "Moment",
    "MqlQualityReport",
    "OutboxStatus",
    "OverdueLead",
    "QualityLine",
    "QueuedLead",
    "Rate",
    "RepQueue",
    "RoutingRun",
    "SendResult",
    "SlaReport",
    "SlaRun",
    "WebhookMessage",
    "WebhookSender",
    "accept_lead",
    "assign_lead",
    "deliver_webhooks",
    "escalate_breaches",
    "mql_quality",
    "outbox_status",
    "rate",
    "reject_lead",
    "rep_queue",
    "route_new_mqls",
    "sender_for",
    "sign",
    "sla_report",
    "verify_signature",
    "webhook_secrets",
]
