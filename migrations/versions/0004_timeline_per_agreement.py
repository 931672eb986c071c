"""The timeline read model as one row per agreement (its entries as a JSON list), not one
row per event: it is only ever read whole, and its rows were most of what a rebuild or an
import wrote. The read models are projected again on the next catch-up (projection
version 6), so the new table starts empty.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEY = sa.String(64)


def upgrade() -> None:
    # A ledger whose read-model table was dropped (damage a rebuild repairs) upgrades too.
    op.execute("DROP TABLE IF EXISTS read_timeline")
    op.create_table(
        "read_timeline",
        sa.Column("agreement", KEY, primary_key=True),
        sa.Column("entries", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("read_timeline")
    op.create_table(
        "read_timeline",
        sa.Column("agreement", KEY, primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("occurred", sa.String(32)),
        sa.Column("entry", sa.JSON(), nullable=False),
    )
