"""Event store: the append-only event table and its guard triggers.

The table has the shape eventsourcing-sqlalchemy's application recorder
expects for an application named ``Ledger``. Triggers refuse UPDATE and DELETE
(and TRUNCATE on PostgreSQL) so that stored events cannot be altered through
the database either.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy_utils.types.uuid import UUIDType

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_GUARDS = (
    """
    CREATE TRIGGER ledger_events_refuse_update BEFORE UPDATE ON ledger_events
    BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER ledger_events_refuse_delete BEFORE DELETE ON ledger_events
    BEGIN SELECT RAISE(ABORT, 'ledger_events is append-only: DELETE refused'); END
    """,
)

POSTGRESQL_GUARDS = (
    """
    CREATE FUNCTION ledger_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger_events is append-only: % refused', TG_OP;
    END
    $$
    """,
    """
    CREATE TRIGGER ledger_events_refuse_update_delete BEFORE UPDATE OR DELETE ON ledger_events
    FOR EACH ROW EXECUTE FUNCTION ledger_events_refuse_change()
    """,
    """
    CREATE TRIGGER ledger_events_refuse_truncate BEFORE TRUNCATE ON ledger_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_events_refuse_change()
    """,
)


def upgrade() -> None:
    op.create_table(
        "ledger_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("originator_id", UUIDType(), nullable=False),
        sa.Column(
            "originator_version",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
    )
    op.create_index(
        "ledger_events_aggregate_idx",
        "ledger_events",
        ["originator_id", "originator_version"],
        unique=True,
    )
    guards = POSTGRESQL_GUARDS if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE ledger_events")
        op.execute("DROP FUNCTION ledger_events_refuse_change()")
    else:
        op.drop_table("ledger_events")
