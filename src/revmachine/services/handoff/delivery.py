"""Delivering the webhook outbox: at least once, with backoff, safe to run in parallel.

A run claims due rows (pending, next attempt reached, no live claim) with a lease — `FOR
UPDATE SKIP LOCKED` on PostgreSQL, so parallel workers take different rows — and commits
the claim before sending: no transaction stays open across an HTTP call. Each result is
written under the claim's token, so a worker whose lease ran out cannot overwrite the one
that took over. A crash between sending and recording leaves the row to be sent again when
the lease ends: at least once, never zero times, and the receiver drops the repeat by the
`Idempotency-Key`. A failure is retried after an exponential backoff with jitter; after
`max_attempts` the row is dead (kept, and listed by `revmachine webhooks status`).

The body is the stored payload as canonical JSON (sorted keys), so every attempt sends the
same bytes whatever the database did to the JSON's key order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import or_, select, update

from revmachine.services.handoff.outbox import DEAD, DELIVERED, PENDING
from revmachine.store import schema
from revmachine.store.database import Database

BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=6)
LEASE = dt.timedelta(minutes=5)
ERROR_LENGTH = 2000


@dataclass(frozen=True)
class WebhookMessage:
    outbox_id: int
    idempotency_key: str
    event: str
    endpoint: str
    url: str
    body: bytes
    attempt: int  # 1 for the first try
    sent_at: dt.datetime


@dataclass(frozen=True)
class SendResult:
    delivered: bool
    status: int | None = None  # the HTTP status, when there was a response
    error: str | None = None


class WebhookSender(Protocol):
    """Sends one message; never raises for a failed delivery, it returns the failure."""

    def send(self, message: WebhookMessage) -> SendResult: ...


@dataclass(frozen=True)
class Attempt:
    message: WebhookMessage
    result: SendResult
    status: str  # the row's status after it: delivered, pending (retry) or dead
    next_attempt_at: dt.datetime | None


@dataclass
class DeliveryRun:
    attempts: list[Attempt] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(a.status == status for a in self.attempts)

    @property
    def delivered(self) -> int:
        return self.count(DELIVERED)

    @property
    def retrying(self) -> int:
        return self.count(PENDING)

    @property
    def dead(self) -> int:
        return self.count(DEAD)


def body_of(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def backoff(attempts: int, key: str) -> dt.timedelta:
    """Wait after the `attempts`-th failure: base·2^(n−1), capped, times a jitter in
    [0.5, 1) that is fixed per key and attempt (spreads retries, replays identically)."""
    exponent = min(attempts - 1, 30)
    delay: dt.timedelta = min(BACKOFF_CAP, BACKOFF_BASE * (2**exponent))
    digest = hashlib.sha256(f"{key}:{attempts}".encode()).digest()
    jitter = 0.5 + int.from_bytes(digest[:4], "big") / 2**33
    return delay * jitter


def deliver_webhooks(
    db: Database,
    now: dt.datetime,
    sender: WebhookSender,
    *,
    limit: int = 100,
    lease: dt.timedelta = LEASE,
    progress: Callable[[int, int], None] | None = None,
) -> DeliveryRun:
    """Send up to `limit` due notifications once each and record every outcome."""
    messages, token = _claim(db, now, limit, lease)
    run = DeliveryRun()
    for done, message in enumerate(messages, start=1):
        try:
            result = sender.send(message)
        except Exception as exc:  # recorded on the row and retried, not swallowed
            result = SendResult(False, None, f"{type(exc).__name__}: {exc}")
        run.attempts.append(_record(db, message, result, token, now))
        if progress is not None:
            progress(done, len(messages))
    return run


def _claim(
    db: Database, now: dt.datetime, limit: int, lease: dt.timedelta
) -> tuple[list[WebhookMessage], str]:
    o = schema.webhook_outbox
    token = uuid.uuid4().hex
    with db.transaction() as conn:
        ids = list(
            conn.execute(
                select(o.c.id)
                .where(
                    o.c.status == PENDING,
                    o.c.next_attempt_at <= now,
                    or_(o.c.claimed_until.is_(None), o.c.claimed_until <= now),
                )
                .order_by(o.c.next_attempt_at, o.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        if not ids:
            return [], token
        conn.execute(
            update(o).where(o.c.id.in_(ids)).values(claimed_until=now + lease, claim=token)
        )
        rows = conn.execute(
            select(
                o.c.id,
                o.c.idempotency_key,
                o.c.event_type,
                o.c.endpoint,
                o.c.url,
                o.c.payload,
                o.c.attempts,
            )
            .where(o.c.id.in_(ids))
            .order_by(o.c.next_attempt_at, o.c.id)
        ).all()
    return [
        WebhookMessage(
            r.id,
            r.idempotency_key,
            r.event_type,
            r.endpoint,
            r.url,
            body_of(r.payload),
            int(r.attempts) + 1,
            now,
        )
        for r in rows
    ], token


def _record(
    db: Database, message: WebhookMessage, result: SendResult, token: str, now: dt.datetime
) -> Attempt:
    o = schema.webhook_outbox
    with db.transaction() as conn:
        limit = conn.execute(
            select(o.c.max_attempts).where(o.c.id == message.outbox_id)
        ).scalar_one()
        next_at: dt.datetime | None = None
        if result.delivered:
            status = DELIVERED
        elif message.attempt >= limit:
            status = DEAD
        else:
            status = PENDING
            next_at = now + backoff(message.attempt, message.idempotency_key)
        conn.execute(
            update(o)
            .where(o.c.id == message.outbox_id, o.c.claim == token)
            .values(
                status=status,
                attempts=message.attempt,
                next_attempt_at=next_at or now,
                claimed_until=None,
                claim=None,
                last_status=result.status,
                last_error=(result.error or "")[:ERROR_LENGTH] or None,
                delivered_at=now if result.delivered else None,
            )
        )
    return Attempt(message, result, status, next_at)
