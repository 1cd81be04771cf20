"""The webhook outbox: notifications written in the transaction of the decision.

A row per event and subscribed endpoint, with the endpoint's URL as it was when the
decision was made and an idempotency key derived from the decision's own id
(`lead.assigned:42`), so a receiver can drop the repeats that at-least-once delivery
brings. `delivery.deliver_webhooks` sends them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from revmachine.config.routing import WebhookEvent, Webhooks
from revmachine.store import schema
from revmachine.store.database import Database

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


def enqueue(
    conn: Connection,
    webhooks: Webhooks,
    event: WebhookEvent,
    source_id: int,
    data: Mapping[str, Any],
    now: dt.datetime,
) -> int:
    """Queue `event` for every endpoint subscribed to it; returns how many rows."""
    endpoints = [e for e in webhooks.endpoints if event in e.events]
    if not endpoints:
        return 0
    key = f"{event.value}:{source_id}"
    payload = {"id": key, "event": event.value, "occurred_at": now.isoformat(), "data": data}
    conn.execute(
        insert(schema.webhook_outbox),
        [
            {
                "idempotency_key": key,
                "endpoint": e.name,
                "url": e.url,
                "event_type": event.value,
                "payload": payload,
                "status": PENDING,
                "attempts": 0,
                "max_attempts": webhooks.max_attempts,
                "next_attempt_at": now,
                "created_at": now,
            }
            for e in endpoints
        ],
    )
    return len(endpoints)


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    delivered: int
    dead: int
    dead_messages: list[dict[str, Any]]


def outbox_status(db: Database, *, show: int = 20) -> OutboxStatus:
    """How many notifications wait, went out, or were given up; the latest given up."""
    o = schema.webhook_outbox
    with db.reading() as conn:
        counts: dict[str, int] = {
            status: int(n)
            for status, n in conn.execute(select(o.c.status, func.count()).group_by(o.c.status))
        }
        dead = [
            dict(r)
            for r in conn.execute(
                select(
                    o.c.id,
                    o.c.idempotency_key,
                    o.c.endpoint,
                    o.c.attempts,
                    o.c.last_status,
                    o.c.last_error,
                )
                .where(o.c.status == DEAD)
                .order_by(o.c.id.desc())
                .limit(show)
            ).mappings()
        ]
    return OutboxStatus(
        int(counts.get(PENDING, 0)), int(counts.get(DELIVERED, 0)), int(counts.get(DEAD, 0)), dead
    )
