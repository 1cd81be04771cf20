"""Two indexes on stage_spells for the forecast's inputs (analytics/forecast_inputs.py):
the spells open at a time, and the first ones, per stage and entry time, read from the
index alone; and each
person's next spell by step, for where a spell led.

Revision ID: 0005b
Revises: 0004c
Create Date: 2026-11-23 19:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005b"
down_revision = "0004c"
branch_labels = None
depends_on = None

INDEXES = (["stage", "entered_us", "left_us", "step"], ["person_id", "step", "stage"])


def upgrade() -> None:
    for columns in INDEXES:
        op.create_index(op.f(f"ix_stage_spells_{'_'.join(columns)}"), "stage_spells", columns)


def downgrade() -> None:
    for columns in INDEXES:
        op.drop_index(op.f(f"ix_stage_spells_{'_'.join(columns)}"), table_name="stage_spells")
