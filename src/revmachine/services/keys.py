"""API keys and access tokens: who may call the HTTP API, in which role.

A key is a client id and a secret. The secret is shown once, when the key is created, and
stored only as a SHA-256 hash: secrets and tokens are 256-bit random values, which no one
can guess, so a slow password hash would add latency to every request and no safety.
The same key works as a native API key (`Authorization: Bearer SECRET`) and for the
Marketo-style client-credentials flow, which trades id and secret for a short-lived token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, delete, insert, select, update

from revmachine.store import schema
from revmachine.store.database import Database

SECRET_PREFIX = "rms_"
TOKEN_PREFIX = "rmt_"


class Role(StrEnum):
    """What a key may do; the API's permission table (`api.permissions`) says exactly."""

    ADMIN = "admin"
    MARKETING = "marketing"
    SALES = "sales"  # sees and works its own leads and queue only
    EXECUTIVE = "executive"  # reads everything, changes nothing


@dataclass(frozen=True)
class ApiKey:
    id: int
    client_id: str
    name: str
    role: Role
    rep_id: int | None
    rate_per_minute: int | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True)
class NewKey:
    """A key just created: the only time its secret is known."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class NewToken:
    token: str
    expires_in: int  # seconds
    key: ApiKey


class KeyProblem(ValueError):
    """A key cannot be created or found (unknown rep, unknown client id)."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(row: object) -> ApiKey:
    r = row._mapping  # type: ignore[attr-defined]
    return ApiKey(
        r["id"],
        r["client_id"],
        r["name"],
        Role(r["role"]),
        r["rep_id"],
        r["rate_per_minute"],
        r["created_at"],
        r["revoked_at"],
    )


def create_key(
    db: Database,
    *,
    name: str,
    role: Role,
    now: dt.datetime,
    rep_email: str | None = None,
    rate_per_minute: int | None = None,
) -> NewKey:
    """Create a key; a sales key must name the rep (by email) whose leads it works."""
    name = name.strip()
    if not name or len(name) > 100:
        raise KeyProblem("a key needs a name of 1 to 100 characters")
    if (role is Role.SALES) != (rep_email is not None):
        raise KeyProblem(
            "a sales key needs --rep EMAIL (the rep whose leads and queue it sees)"
            if role is Role.SALES
            else "only a sales key is tied to a rep (--rep)"
        )
    if rate_per_minute is not None and rate_per_minute < 1:
        raise KeyProblem("the rate must be at least 1 request per minute")
    client_id = secrets.token_hex(16)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as conn:
        rep_id = None
        if rep_email is not None:
            reps = schema.sales_reps
            rep_id = conn.execute(
                select(reps.c.id).where(reps.c.email == rep_email.strip().lower())
            ).scalar()
            if rep_id is None:
                raise KeyProblem(f"no sales rep with email '{rep_email}'; import reps first")
        result = conn.execute(
            insert(schema.api_keys).values(
                client_id=client_id,
                secret_hash=digest(secret),
                name=name,
                role=role.value,
                rep_id=rep_id,
                rate_per_minute=rate_per_minute,
                created_at=now,
            )
        )
        key_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    return NewKey(ApiKey(key_id, client_id, name, role, rep_id, rate_per_minute, now), secret)


def key_for_secret(conn: Connection, secret: str) -> ApiKey | None:
    """The live key whose secret this is, or None."""
    k = schema.api_keys
    row = conn.execute(
        select(k).where(k.c.secret_hash == digest(secret), k.c.revoked_at.is_(None))
    ).first()
    return _key(row) if row is not None else None


def key_for_token(conn: Connection, token: str, now: dt.datetime) -> tuple[ApiKey | None, bool]:
    """(key, expired) for an access token; (None, False) when the token is unknown."""
    t, k = schema.api_tokens, schema.api_keys
    row = conn.execute(
        select(k, t.c.expires_at)
        .join(t, t.c.key_id == k.c.id)
        .where(t.c.token_hash == digest(token), k.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None, False
    return _key(row), row.expires_at <= now


def issue_token(
    db: Database, client_id: str, secret: str, *, now: dt.datetime, ttl: dt.timedelta
) -> NewToken | None:
    """Client credentials → a token valid for `ttl`; None when they do not match a live key."""
    k = schema.api_keys
    with db.transaction() as conn:
        row = conn.execute(
            select(k).where(k.c.client_id == client_id, k.c.revoked_at.is_(None))
        ).first()
        if row is None or not hmac.compare_digest(row.secret_hash, digest(secret)):
            return None
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        t = schema.api_tokens
        conn.execute(delete(t).where(t.c.expires_at <= now))  # keep the table small
        conn.execute(
            insert(t).values(
                token_hash=digest(token), key_id=row.id, issued_at=now, expires_at=now + ttl
            )
        )
    return NewToken(token, int(ttl.total_seconds()), _key(row))


def list_keys(db: Database) -> list[ApiKey]:
    k = schema.api_keys
    with db.reading() as conn:
        return [_key(r) for r in conn.execute(select(k).order_by(k.c.id))]


def revoke_key(db: Database, client_id: str, *, now: dt.datetime) -> bool:
    """Revoke a key (and so every token it was given); False if no live key has that id."""
    k = schema.api_keys
    with db.transaction() as conn:
        result = conn.execute(
            update(k)
            .where(k.c.client_id == client_id, k.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount > 0
