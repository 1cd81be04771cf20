"""The sales hand-off: assignments, hand-off leads, SLA breaches, webhook outbox.

Revision 0003a is written beside another 0003 branch; they are chained when merged.

Revision ID: 0003a
Revises: 0002
Create Date: 2026-11-23 13:21:36.410928
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from revmachine.store.types import UTCDateTime

revision = "0003a"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(length=64), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status in ('pending', 'delivered', 'dead')", name=op.f("ck_webhook_outbox_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
        sa.UniqueConstraint(
            "idempotency_key", "endpoint", name=op.f("uq_webhook_outbox_idempotency_key_endpoint")
        ),
    )
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_outbox_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "lead_assignments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("rep_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("routing_version", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("stage_entered_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("by_rep_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind in ('routed', 'reassigned', 'manual')", name=op.f("ck_lead_assignments_kind")
        ),
        sa.ForeignKeyConstraint(
            ["by_rep_id"], ["sales_reps.id"], name=op.f("fk_lead_assignments_by_rep_id_sales_reps")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_lead_assignments_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["sales_reps.id"], name=op.f("fk_lead_assignments_rep_id_sales_reps")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["sales_teams.id"], name=op.f("fk_lead_assignments_team_id_sales_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_assignments")),
    )
    with op.batch_alter_table("lead_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lead_assignments_person_id_occurred_at"),
            ["person_id", "occurred_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_lead_assignments_rep_id"), ["rep_id"], unique=False)

    op.create_table(
        "handoff_leads",
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("entered_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "assignment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rep_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("assigned_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status in ('open', 'accepted', 'rejected', 'closed')",
            name=op.f("ck_handoff_leads_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["lead_assignments.id"],
            name=op.f("fk_handoff_leads_assignment_id_lead_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_handoff_leads_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["sales_reps.id"], name=op.f("fk_handoff_leads_rep_id_sales_reps")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["sales_teams.id"], name=op.f("fk_handoff_leads_team_id_sales_teams")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_handoff_leads")),
    )
    with op.batch_alter_table("handoff_leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_leads_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_handoff_leads_rep_id"), ["rep_id"], unique=False)

    op.create_table(
        "sla_breaches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "assignment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rep_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column(
            "escalated_to_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "reassignment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detected_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action in ('reassign', 'flag')", name=op.f("ck_sla_breaches_action")),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["lead_assignments.id"],
            name=op.f("fk_sla_breaches_assignment_id_lead_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["escalated_to_id"],
            ["sales_reps.id"],
            name=op.f("fk_sla_breaches_escalated_to_id_sales_reps"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_sla_breaches_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["reassignment_id"],
            ["lead_assignments.id"],
            name=op.f("fk_sla_breaches_reassignment_id_lead_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["sales_reps.id"], name=op.f("fk_sla_breaches_rep_id_sales_reps")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["sales_teams.id"], name=op.f("fk_sla_breaches_team_id_sales_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_breaches")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_sla_breaches_assignment_id")),
    )
    with op.batch_alter_table("sla_breaches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_breaches_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sla_breaches_rep_id"), ["rep_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sla_breaches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_breaches_rep_id"))
        batch_op.drop_index(batch_op.f("ix_sla_breaches_person_id"))

    op.drop_table("sla_breaches")
    with op.batch_alter_table("handoff_leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_leads_rep_id"))
        batch_op.drop_index(batch_op.f("ix_handoff_leads_due_at"))

    op.drop_table("handoff_leads")
    with op.batch_alter_table("lead_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_assignments_rep_id"))
        batch_op.drop_index(batch_op.f("ix_lead_assignments_person_id_occurred_at"))

    op.drop_table("lead_assignments")
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_outbox_status_next_attempt_at"))

    op.drop_table("webhook_outbox")
