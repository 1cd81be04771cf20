"""The revenue model's state: journey states, model versions, sales decisions, cursors.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:54:19.702550
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from revmachine.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("previous_version", sa.String(length=64), nullable=True),
        sa.Column("adopted_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
    )
    op.create_table(
        "processing_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_processing_cursors")),
    )
    op.create_index(op.f("ix_model_versions_version"), "model_versions", ["version"])
    op.create_table(
        "journey_states",
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=True),
        sa.Column("stage_entered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("fit", sa.Float(), nullable=False),
        sa.Column("behavior", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("scored_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_timer_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_journey_states_person_id_people")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_journey_states")),
    )
    with op.batch_alter_table("journey_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journey_states_next_timer_at"), ["next_timer_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_journey_states_stage_total"), ["stage", "total"], unique=False
        )

    op.create_table(
        "sales_decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("rep_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "decision in ('accept', 'reject')", name=op.f("ck_sales_decisions_decision")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_sales_decisions_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["sales_reps.id"], name=op.f("fk_sales_decisions_rep_id_sales_reps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_decisions")),
        sa.UniqueConstraint("event_id", name=op.f("uq_sales_decisions_event_id")),
    )
    with op.batch_alter_table("sales_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sales_decisions_person_id_occurred_at"),
            ["person_id", "occurred_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("sales_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_decisions_person_id_occurred_at"))

    op.drop_table("sales_decisions")
    with op.batch_alter_table("journey_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_states_stage_total"))
        batch_op.drop_index(batch_op.f("ix_journey_states_next_timer_at"))

    op.drop_table("journey_states")
    op.drop_table("processing_cursors")
    op.drop_index(op.f("ix_model_versions_version"), table_name="model_versions")
    op.drop_table("model_versions")
