"""Webhook delivery through the outbox to a real HTTP receiver: signed, keyed, retried with
backoff, at least once across a crash, and never to a private address unless allowed."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from webhook_receiver import receiver

from revmachine.config.routing import Endpoint, WebhookEvent, Webhooks
from revmachine.services.handoff import (
    HttpWebhookSender,
    deliver_webhooks,
    outbox_status,
    verify_signature,
)
from revmachine.services.handoff.delivery import _claim, backoff
from revmachine.services.handoff.outbox import enqueue
from revmachine.store import schema
from revmachine.store.database import Database

NOW = dt.datetime(2025, 3, 2, 12, tzinfo=dt.UTC)
SECRET = b"correct horse battery staple"


def queue_one(db: Database, url: str, *, max_attempts: int = 5, source_id: int = 7) -> None:
    hooks = Webhooks(
        allow_private=True,
        max_attempts=max_attempts,
        endpoints=[Endpoint(name="crm", url=url, events=[WebhookEvent.LEAD_ASSIGNED])],
    )
    with db.transaction() as conn:
        written = enqueue(
            conn,
            hooks,
            WebhookEvent.LEAD_ASSIGNED,
            source_id,
            {"lead": {"email": "ann@acme.com"}, "assignment": {"rep": "bob@sales.example"}},
            NOW,
        )
        # not subscribed: nothing is queued for it
        assert enqueue(conn, hooks, WebhookEvent.SLA_BREACHED, source_id, {}, NOW) == 0
    assert written == 1


def row(db: Database) -> dict[str, object]:
    o = schema.webhook_outbox
    with db.reading() as conn:
        return dict(
            conn.execute(select(o.c.status, o.c.attempts, o.c.next_attempt_at, o.c.last_status))
            .one()
            ._mapping
        )


def test_delivered_signed_with_a_key_and_retried_after_backoff(db: Database) -> None:
    with receiver([500]) as hook, HttpWebhookSender({"crm": SECRET}, allow_private=True) as sender:
        queue_one(db, hook.url)
        first = deliver_webhooks(db, NOW, sender)
        assert (first.delivered, first.retrying, first.dead) == (0, 1, 0)
        wait = backoff(1, "lead.assigned:7")
        assert dt.timedelta(seconds=15) <= wait < dt.timedelta(seconds=30)
        assert row(db) == {
            "status": "pending",
            "attempts": 1,
            "next_attempt_at": NOW + wait,
            "last_status": 500,
        }
        # not due yet: nothing is sent
        assert deliver_webhooks(db, NOW + wait / 2, sender).attempts == []
        assert len(hook.received) == 1
        second = deliver_webhooks(db, NOW + wait, sender)
        assert second.delivered == 1
        assert row(db)["status"] == "delivered"
        assert deliver_webhooks(db, NOW + 2 * wait, sender).attempts == []

    assert len(hook.received) == 2
    one, two = hook.received
    assert one.path == "/hooks/revmachine"
    assert one.body == two.body  # the same bytes every time
    assert one.headers["Idempotency-Key"] == two.headers["Idempotency-Key"] == "lead.assigned:7"
    assert one.headers["X-Revmachine-Event"] == "lead.assigned"
    assert (one.headers["X-Revmachine-Attempt"], two.headers["X-Revmachine-Attempt"]) == ("1", "2")
    assert one.headers["Host"].startswith("127.0.0.1:")
    payload = json.loads(one.body)
    assert payload["id"] == "lead.assigned:7" and payload["event"] == "lead.assigned"
    assert payload["data"]["assignment"]["rep"] == "bob@sales.example"
    signature = two.headers["X-Revmachine-Signature"]
    assert verify_signature(SECRET, signature, two.body, NOW + wait)
    assert not verify_signature(b"another secret", signature, two.body, NOW + wait)
    assert not verify_signature(SECRET, signature, two.body + b" ", NOW + wait)
    assert not verify_signature(SECRET, signature, two.body, NOW + wait + dt.timedelta(hours=1))


def test_gives_up_after_max_attempts(db: Database) -> None:
    with (
        receiver([503, 503, 503, 503]) as hook,
        HttpWebhookSender({"crm": SECRET}, allow_private=True) as sender,
    ):
        queue_one(db, hook.url, max_attempts=3)
        at = NOW
        outcomes = []
        for _ in range(4):
            run = deliver_webhooks(db, at, sender)
            outcomes += [a.status for a in run.attempts]
            at += dt.timedelta(days=1)
    assert outcomes == ["pending", "pending", "dead"]
    assert len(hook.received) == 3
    status = outbox_status(db)
    assert (status.pending, status.delivered, status.dead) == (0, 0, 1)
    assert "HTTP 503" in str(status.dead_messages[0]["last_error"])


def test_a_crash_after_claiming_means_a_resend_not_a_loss(db: Database) -> None:
    with receiver() as hook, HttpWebhookSender({"crm": SECRET}, allow_private=True) as sender:
        queue_one(db, hook.url)
        claimed, _ = _claim(db, NOW, 10, dt.timedelta(minutes=5))  # then the worker dies
        assert len(claimed) == 1
        # another worker leaves it alone while the lease holds, then sends it
        assert deliver_webhooks(db, NOW + dt.timedelta(minutes=1), sender).attempts == []
        run = deliver_webhooks(db, NOW + dt.timedelta(minutes=5), sender)
        assert run.delivered == 1
    assert [r.headers["Idempotency-Key"] for r in hook.received] == ["lead.assigned:7"]


def test_private_and_loopback_addresses_are_refused(db: Database) -> None:
    with receiver() as hook, HttpWebhookSender({"crm": SECRET}) as sender:
        queue_one(db, hook.url.replace("127.0.0.1", "localhost"))
        queue_one(db, hook.url, source_id=8)
        run = deliver_webhooks(db, NOW, sender)
    assert [a.result.delivered for a in run.attempts] == [False, False]
    for attempt in run.attempts:
        assert attempt.result.error is not None
        assert "private, loopback or link-local" in attempt.result.error
        assert attempt.status == "pending"  # retried later: the workspace may allow it
    assert hook.received == []


def test_a_missing_secret_is_a_failed_attempt_not_an_unsigned_request(db: Database) -> None:
    with receiver() as hook, HttpWebhookSender({}, allow_private=True) as sender:
        queue_one(db, hook.url)
        (attempt,) = deliver_webhooks(db, NOW, sender).attempts
    assert attempt.result.error == "no signing secret for endpoint 'crm'"
    assert hook.received == []
