"""Stage spells: the stage history shaped for the reports, filled from stage_transitions.

Revision ID: 0004a
Revises: 0003c
Create Date: 2026-11-23 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004a"
down_revision = "0003c"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stage_spells",
        sa.Column("id", _id(), nullable=False),
        sa.Column("person_id", _id(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("entered_us", sa.BigInteger(), nullable=False),
        sa.Column("left_us", sa.BigInteger(), nullable=True),
        sa.Column("prev_us", sa.BigInteger(), nullable=True),
        sa.Column("first_us", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_spells")),
    )
    for columns in (
        ["stage", "entered_us", "prev_us", "person_id"],
        ["person_id", "stage", "entered_us", "prev_us"],
        ["left_us", "entered_us", "stage", "person_id"],
        ["first_us", "person_id", "step", "stage"],
    ):
        op.create_index(op.f(f"ix_stage_spells_{'_'.join(columns)}"), "stage_spells", columns)
    # Existing stores: fill the table from the transitions already recorded.
    from revmachine.store.spells import rebuild_spells

    rebuild_spells(op.get_bind())


def downgrade() -> None:
    op.drop_table("stage_spells")
