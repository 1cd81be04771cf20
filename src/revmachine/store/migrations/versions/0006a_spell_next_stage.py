"""stage_spells.next_stage: where each closed spell led, stored with the spell.

The forecast's exits (analytics/forecast_inputs.py) joined every spell that ended in the
look-back to the person's next one by `(person_id, step)`: 800,000 rows hashed and sorted
on PostgreSQL, an index seek per spell on SQLite. With the next stage on the row the
exits are one scan, and the index that served the join goes (one B-tree fewer to keep
up on every processed transition).

Revision ID: 0006a
Revises: 0005b
Create Date: 2026-12-07 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006a"
down_revision = "0005b"
branch_labels = None
depends_on = None

INDEX = ["person_id", "step", "stage"]


def upgrade() -> None:
    op.add_column("stage_spells", sa.Column("next_stage", sa.String(length=64), nullable=True))
    # Filled from the person's next spell while the (person_id, step) index still exists.
    op.execute(
        "UPDATE stage_spells SET next_stage = (SELECT n.stage FROM stage_spells AS n "
        "WHERE n.person_id = stage_spells.person_id AND n.step = stage_spells.step + 1) "
        "WHERE left_us IS NOT NULL"
    )
    op.drop_index(op.f(f"ix_stage_spells_{'_'.join(INDEX)}"), table_name="stage_spells")


def downgrade() -> None:
    op.create_index(op.f(f"ix_stage_spells_{'_'.join(INDEX)}"), "stage_spells", INDEX)
    with op.batch_alter_table("stage_spells") as batch:
        batch.drop_column("next_stage")
