"""The one settings object, built at an edge (CLI, app factory) and passed down."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///revmachine.db"


class Settings(BaseSettings):
    """`REVMACHINE_DATABASE_URL` (or `--db`) picks the store; SQLite file by default."""

    model_config = SettingsConfigDict(env_prefix="REVMACHINE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
