"""Read models: agreements, parties, flags, timeline, and the projection's position.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KEY = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "read_agreements",
        sa.Column("agreement", KEY, primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("party_count", sa.Integer(), nullable=False),
        sa.Column("flag_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("show", sa.JSON(), nullable=False),
        sa.Column("changes_at", sa.DateTime(timezone=True)),
    )
    op.create_index("read_agreements_changes_at", "read_agreements", ["changes_at"])
    op.create_table(
        "read_parties",
        sa.Column("agreement", KEY, primary_key=True),
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("signed", sa.String(32)),
        sa.Column("consented", sa.String(32)),
        sa.Column("in_force", sa.String(32)),
        sa.Column("withdrawn", sa.String(32)),
    )
    op.create_table(
        "read_flags",
        sa.Column("agreement", KEY, primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("certainty", sa.String(16), nullable=False),
        sa.Column("party", sa.String(32)),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
    )
    op.create_index("read_flags_code", "read_flags", ["code"])
    op.create_table(
        "read_timeline",
        sa.Column("agreement", KEY, primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("occurred", sa.String(32)),
        sa.Column("entry", sa.JSON(), nullable=False),
    )
    tracking = op.create_table(
        "read_tracking",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(tracking, [{"name": "read_models", "position": 0}])


def downgrade() -> None:
    for name in ("read_tracking", "read_timeline", "read_flags", "read_parties", "read_agreements"):
        op.drop_table(name)
