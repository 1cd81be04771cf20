"""Predictive scoring: versioned prediction models and each person's latest prediction.

Revision ID: 0003c
Revises: 0003b
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from revmachine.store.types import UTCDateTime

revision = "0003c"
down_revision = "0003b"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "prediction_models",
        sa.Column("id", _id(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("trained_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("train_from", UTCDateTime(timezone=True), nullable=False),
        sa.Column("train_to", UTCDateTime(timezone=True), nullable=False),
        sa.Column("calibrated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("validated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("features", _json(), nullable=False),
        sa.Column("metrics", _json(), nullable=False),
        sa.Column("content", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_models")),
    )
    op.create_index(
        op.f("ix_prediction_models_target_trained_at"),
        "prediction_models",
        ["target", "trained_at"],
    )
    op.create_table(
        "predictions",
        sa.Column("person_id", _id(), nullable=False),
        sa.Column("model_id", _id(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("as_of", UTCDateTime(timezone=True), nullable=False),
        sa.Column("scored_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_predictions_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["prediction_models.id"],
            name=op.f("fk_predictions_model_id_prediction_models"),
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_predictions")),
    )
    op.create_index(op.f("ix_predictions_model_id"), "predictions", ["model_id"])
    op.create_index(op.f("ix_predictions_probability"), "predictions", ["probability"])


def downgrade() -> None:
    op.drop_index(op.f("ix_predictions_probability"), table_name="predictions")
    op.drop_index(op.f("ix_predictions_model_id"), table_name="predictions")
    op.drop_table("predictions")
    op.drop_index(op.f("ix_prediction_models_target_trained_at"), table_name="prediction_models")
    op.drop_table("prediction_models")
