"""Prediction history: every scoring run's predictions, read as of a time by scoring rules
(`predicted.probability`, `predicted.decile`) and report segments.

Revision ID: 0004c
Revises: 0003c
Create Date: 2026-11-23 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from revmachine.store.types import UTCDateTime

revision = "0004c"
down_revision = "0003c"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "prediction_history",
        sa.Column("id", _id(), nullable=False),
        sa.Column("person_id", _id(), nullable=False),
        sa.Column("model_id", _id(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("decile", sa.Integer(), nullable=False),
        sa.Column("as_of", UTCDateTime(timezone=True), nullable=False),
        sa.Column("scored_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_prediction_history_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["prediction_models.id"],
            name=op.f("fk_prediction_history_model_id_prediction_models"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_history")),
    )
    op.create_index(
        op.f("ix_prediction_history_person_id_as_of"),
        "prediction_history",
        ["person_id", "as_of"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_prediction_history_person_id_as_of"), table_name="prediction_history")
    op.drop_table("prediction_history")
