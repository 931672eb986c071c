"""The Typer application object, its global options, and one-line error handling."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, TyperException

from ledger.errors import LedgerError


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
        sys.exit(result if isinstance(result, int) else 0)


def fail(message: str, code: int) -> None:
    typer.echo(f"Error: {message}", err=True)
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
    ctx.obj = Settings(db=db, actor=actor)
