"""No stored timeline: ``ledger timeline`` makes it from the agreement's events when asked.

The table held a third of a large ledger's file (389 MB of 1.3 GB at 10^6 events), and
making and writing it was a fifth of a rebuild's work, for one command that reads one
agreement's. The other read models are unchanged, so nothing is projected again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A ledger whose read-model table was dropped (damage a rebuild repairs) upgrades too.
    op.execute("DROP TABLE IF EXISTS read_timeline")


def downgrade() -> None:
    op.create_table(
        "read_timeline",
        sa.Column("agreement", sa.String(64), primary_key=True),
        sa.Column("entries", sa.JSON(), nullable=False),
    )
    # The code of revision 0004 reads a timeline from the table: forgetting which
    # projection wrote the read models makes its next catch-up project them all again.
    op.execute("DELETE FROM read_tracking WHERE name = 'projection_version'")
