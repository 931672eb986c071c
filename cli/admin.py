"""Database administration: ``ledger db upgrade``."""

from __future__ import annotations

import signal
import threading

import typer

from agreement_ledger.cli.app import Settings, app
from agreement_ledger.cli.common import ledger_of
from agreement_ledger.ledger.errors import StorageError
from agreement_ledger.projections import store

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply every migration the database does not have yet."""
    from agreement_ledger.ledger.application import Ledger
    from agreement_ledger.ledger.storage import current_revision, upgrade

    settings: Settings = ctx.find_object(Settings)  # type: ignore[assignment]
    ledger = Ledger(settings.db, check_schema=False)
    upgrade(ledger.engine)
    typer.echo(f"database at revision {current_revision(ledger.engine)}")


@app.command("follow")
def follow_command(
    ctx: typer.Context,
    interval: float = typer.Option(
        1.0,
        "--interval",
        min=0.05,
        max=3600,
        help="Seconds between wake-ups without events (0.05 to 3600)",
    ),
) -> None:
    """Keep the read models current as other machines append (LISTEN/NOTIFY on PostgreSQL)."""
    from agreement_ledger.projections.follow import follow

    projector = ledger_of(ctx).projector
    with projector.ledger.engine.connect() as connection:
        if store.read_only(connection):
            raise StorageError(
                "this database is a read-only replica: follow keeps the read models current "
                "where they can be written (the primary); queries here need no follower"
            )
    projector.catch_up()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with projector.ledger.engine.connect() as connection:
        start = store.position(connection)
    typer.echo(f"following the ledger from event {start} (stop with Ctrl-C or SIGTERM)")
    follow(projector, stop, interval, report=lambda n: typer.echo(f"re-projected {n} agreement(s)"))
    with projector.ledger.engine.connect() as connection:
        typer.echo(f"stopped at event {store.position(connection)}")
