"""Read models for the depositary's status table: each party's instrument, predecessor,
provisional application, end, and the whole party entry; an index to find a party's
agreements; event types up to 64 characters on the timeline.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("read_parties") as table:
        table.add_column(sa.Column("instrument", sa.String(32)))
        table.add_column(sa.Column("succeeded_from", sa.String(32)))
        table.add_column(sa.Column("provisional", sa.String(32)))
        table.add_column(sa.Column("ended", sa.String(32)))
        table.add_column(sa.Column("entry", sa.JSON()))
    op.create_index("read_parties_code", "read_parties", ["code"])
    with op.batch_alter_table("read_timeline") as table:  # provisional_application_terminated
        table.alter_column("type", type_=sa.String(64), existing_type=sa.String(32))


def downgrade() -> None:
    with op.batch_alter_table("read_timeline") as table:
        table.alter_column("type", type_=sa.String(32), existing_type=sa.String(64))
    op.drop_index("read_parties_code", table_name="read_parties")
    with op.batch_alter_table("read_parties") as table:
        for name in ("entry", "ended", "provisional", "succeeded_from", "instrument"):
            table.drop_column(name)
