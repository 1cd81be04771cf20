"""The API's settings: one object, built by the app factory (or `revmachine serve`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Limits of the HTTP API; `REVMACHINE_API_*` environment variables override them."""

    model_config = SettingsConfigDict(env_prefix="REVMACHINE_API_", extra="ignore")

    #: Largest request body accepted (bytes); larger ones get 413 before they are parsed.
    max_body_bytes: int = 8 * 1024 * 1024
    #: Requests per minute per key, unless the key sets its own rate.
    rate_per_minute: int = 6000
    #: Seconds an access token from `/identity/oauth/token` stays valid (Marketo: 3600).
    token_ttl_seconds: int = 3600
    #: Records per native batch write, and per Marketo batch (Marketo's own limit).
    max_batch: int = 1000
    marketo_max_batch: int = 300
    #: Page sizes: the default and the largest a client may ask for.
    page_size: int = 100
    max_page_size: int = 1000
    #: How long an unfinished `Idempotency-Key` request blocks a retry (seconds).
    idempotency_lease_seconds: int = 60
