"""The Typer application object, its global options, and one-line error handling."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from agreement_ledger.ledger.errors import LedgerError
from agreement_ledger.ledger.text import has_control, unstorable, visible
from typer.core import TyperGroup
from typer.exceptions import Abort, TyperException


class OneLineErrors(TyperGroup):
    """Turn every usage mistake and ledger error into one ``Error: …`` line on stderr.

    Usage mistakes exit 2; ledger errors exit with their own code (§7).
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except TyperException as error:
            if type(error).__name__ == "NoArgsIsHelpError":
                typer.echo(error.format_message(), err=True)
                sys.exit(2)
            fail(error.format_message(), error.exit_code)
        except Abort:
            fail("aborted", 1)
        except LedgerError as error:
            fail(str(error), error.exit_code)
        except OSError as error:
            fail(
                f"{error.strerror or error}: {error.filename}" if error.filename else str(error), 2
            )
        except Exception as error:
            fail(*unforeseen(error))
        sys.exit(result if isinstance(result, int) else 0)


STORAGE_ERROR_MODULES = ("sqlalchemy", "eventsourcing", "psycopg", "sqlite3", "alembic")


def unforeseen(error: Exception) -> tuple[str, int]:
    """One line and an exit code for an error no layer translated.

    A database library's error is a storage error (exit 5); anything else is a
    bug in the ledger, said as such (exit 1), never a traceback.
    """
    module = type(error).__module__.split(".")[0]
    detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if module in STORAGE_ERROR_MODULES:
        return f"storage error: {detail or type(error).__name__}", 5
    return f"internal error ({type(error).__name__}: {detail}); please report this", 1


def fail(message: str, code: int) -> None:
    """Print one ``Error: …`` line on stderr (control characters made visible) and exit."""
    typer.echo(f"Error: {visible(message)}", err=True)
    sys.exit(code)


app = typer.Typer(
    cls=OneLineErrors,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="An event-sourced, tamper-evident ledger of agreements between parties.",
)


@dataclass
class Settings:
    """The global options every command sees."""

    db: str | None
    actor: str | None


@app.callback()
def settings(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="LEDGER_DB",
            help="SQLAlchemy URL or SQLite file path [default: sqlite:///ledger.db]",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option("--actor", envvar="LEDGER_ACTOR", help="Who is recording [default: OS user]"),
    ] = None,
) -> None:
    """An event-sourced, tamper-evident ledger of agreements between parties."""
    if actor is not None and (not actor.strip() or has_control(actor) or len(actor) > 128):
        raise typer.BadParameter(
            "must be 1 to 128 characters without control characters", param_hint="'--actor'"
        )
    if db is not None:
        _check_database(db)
    ctx.obj = Settings(db=db, actor=actor)


def _check_database(db: str) -> None:
    """Refuse a database the ledger cannot use: unreadable text, or one that keeps nothing."""
    from agreement_ledger.ledger.storage import is_in_memory, normalise_url

    if unstorable(db) or has_control(db):
        raise typer.BadParameter("not a readable path or URL", param_hint="'--db'")
    if is_in_memory(normalise_url(db)):
        raise typer.BadParameter(
            "an in-memory database keeps nothing; give a file path or a server URL",
            param_hint="'--db'",
        )
