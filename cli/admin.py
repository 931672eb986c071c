"""Database administration: ``ledger db upgrade``."""

from __future__ import annotations

import typer

from cli.app import Settings, app
from ledger.application import Ledger
from ledger.storage import current_revision, upgrade

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply every migration the database does not have yet."""
    settings: Settings = ctx.find_object(Settings)  # type: ignore[assignment]
    ledger = Ledger(settings.db, check_schema=False)
    upgrade(ledger.engine)
    typer.echo(f"database at revision {current_revision(ledger.engine)}")
