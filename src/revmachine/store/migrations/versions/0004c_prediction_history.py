"""Prediction history: every scoring run's predictions, read as of a time by scoring rules
(`predicted.probability`, `predicted.decile`) and report segments, and for each person's
latest by the rep queue. It replaces `predictions` (one row per person, the latest run):
existing rows are carried over with their decile within the table.

Revision ID: 0004c
Revises: 0004a
Create Date: 2026-11-23 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from revmachine.store.types import UTCDateTime

revision = "0004c"
down_revision = "0004a"
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
    op.execute(
        "INSERT INTO prediction_history "
        "(person_id, model_id, probability, decile, as_of, scored_at) "
        "SELECT person_id, model_id, probability, ntile(10) OVER (ORDER BY probability), "
        "as_of, scored_at FROM predictions ORDER BY person_id"
    )
    op.drop_index(op.f("ix_predictions_probability"), table_name="predictions")
    op.drop_index(op.f("ix_predictions_model_id"), table_name="predictions")
    op.drop_table("predictions")


def downgrade() -> None:
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
    op.execute(
        "INSERT INTO predictions (person_id, model_id, probability, as_of, scored_at) "
        "SELECT person_id, model_id, probability, as_of, scored_at FROM prediction_history h "
        "WHERE h.id = (SELECT l.id FROM prediction_history l WHERE l.person_id = h.person_id "
        "ORDER BY l.as_of DESC, l.id DESC LIMIT 1)"
    )
    op.drop_index(op.f("ix_prediction_history_person_id_as_of"), table_name="prediction_history")
    op.drop_table("prediction_history")
