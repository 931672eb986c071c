"""The Typer application object, its global options, and one-line error handling."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperArgument, TyperGroup
from typer.exceptions import Abort, TyperException

if TYPE_CHECKING:
    from agreement_ledger.api import Ledger

from agreement_ledger.cli.output import fail, os_error_text, reader_stopped, unforeseen
from agreement_ledger.ledger.errors import LedgerError
from agreement_ledger.ledger.text import actor_problem, has_control, unstorable


class OneLineErrors(TyperGroup):
    """Turn every usage mistake and ledger error into one ``Error: …`` line on stderr.

    Usage mistakes exit 2; ledger errors exit with their own code (§7).
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        readable_metavars(self)
        if sys.stdout is None:  # started with standard output closed: nowhere to answer
            fail("standard output is closed; nothing could be written", 2)
        try:
            result = super().main(*args, **kwargs)
            sys.stdout.flush()
        except BrokenPipeError:
            reader_stopped()
        except SystemExit:
            # Typer ends a write to a closed pipe itself: exit 1, its streams pacified.
            if type(sys.stdout).__name__ == "PacifyFlushWrapper":
                reader_stopped()
            raise
        except TyperException as error:
            if type(error).__name__ == "NoArgsIsHelpError":
                fail("missing command; see --help for the commands", 2)
            fail(error.format_message(), error.exit_code)
        except Abort:
            fail("aborted", 1)
        except LedgerError as error:
            fail(str(error), error.exit_code)
        except OSError as error:
            fail(os_error_text(error), 2)
        except UnicodeEncodeError as error:
            fail(
                f"standard output cannot show the answer in {error.encoding}; "
                "use a UTF-8 locale or set PYTHONIOENCODING=utf-8",
                2,
            )
        except Exception as error:
            fail(*unforeseen(error))
        sys.exit(result if isinstance(result, int) else 0)


METAVARS = {
    "db": "URL",
    "actor": "NAME",
    "key": "KEY",
    "party": "PARTY",
    "successor": "PARTY",
    "predecessor": "PARTY",
    "from_": "PARTY",
    "to": "PARTY",
    "requires_ratification": "PARTY",
    "occurred": "DATE",
    "effective": "DATE",
    "expires": "DATE",
    "as_of": "MOMENT",
    "known_at": "MOMENT",
    "tz": "ZONE",
    "party_tz": "CODE=ZONE",
    "party_name": "CODE=NAME",
    "event_id": "ID",
    "after": "ID",
    "target": "ID",
    "objects_to": "ID",
    "notice_period": "DURATION",
    "notify": "PARTY:BODY[:WITHIN]",
    "field": "NAME=VALUE",
    "json_": "JSON|-",
    "out": "FILE|-",
    "digest": "FILE",
    "public_key": "FILE",
    "proof": "FILE",
    "sign": "FILE",
    "interval": "SECONDS",
    "code": "CODE",
}
"""How ``--help`` names the value of each option and argument (TEXT when not listed)."""


def readable_metavars(command: Any) -> None:
    """Name every value in ``--help`` in words (``DATE``, ``PARTY``) instead of ``<str>``.

    An argument's name already says what it takes (``KEY``, ``PARTY``, ``FILE|-``):
    Typer's ``<str>`` after it is dropped."""
    for param in getattr(command, "params", []):
        if isinstance(param, TyperArgument):
            param.display_type_rich = _no_type  # type: ignore[method-assign]
        if getattr(param, "metavar", None) is not None or getattr(param, "is_flag", False):
            continue
        annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        if getattr(annotation, "__origin__", None) is list:  # a repeatable option
            annotation = getattr(annotation, "__args__", (None,))[0]
        if annotation is str:
            param.metavar = METAVARS.get(param.name or "", "TEXT")
        elif annotation is float:
            param.metavar = METAVARS.get(param.name or "", "NUMBER")
    for sub in getattr(command, "commands", {}).values():
        readable_metavars(sub)


def _no_type(ctx: Any) -> None:
    """What an argument's help shows after its name: nothing (see ``readable_metavars``)."""
    return None


app = typer.Typer(
    cls=OneLineErrors,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="An event-sourced, tamper-evident ledger of agreements between parties.",
)


def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"ledger (agreement-ledger) {version('agreement-ledger')}")
        except PackageNotFoundError:
            typer.echo("ledger (agreement-ledger), version unknown (not installed)")
        raise typer.Exit()


@dataclass
class Settings:
    """The global options every command sees."""

    db: str | None
    actor: str | None
    ledger: Ledger | None = None  # opened by the first command that needs it


@app.callback()
def settings(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
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
    problem = actor_problem(actor) if actor is not None else None
    if problem is not None:
        raise typer.BadParameter(problem, param_hint="'--actor'")
    if db is not None:
        _check_database(db)
    ctx.obj = Settings(db=db, actor=actor)


def _check_database(db: str) -> None:
    """Refuse a database the ledger cannot use: unreadable text, or one that keeps nothing."""
    from agreement_ledger.ledger.storage import is_in_memory, normalise_url

    if not db.strip():
        raise typer.BadParameter("empty; give a file path or a URL", param_hint="'--db'")
    if unstorable(db) or has_control(db):
        raise typer.BadParameter("not a readable path or URL", param_hint="'--db'")
    if "://" not in db and "?" in db:
        raise typer.BadParameter(
            "a file path with '?' would be read as a URL query; rename the file",
            param_hint="'--db'",
        )
    if is_in_memory(normalise_url(db)):
        raise typer.BadParameter(
            "an in-memory database keeps nothing; give a file path or a server URL",
            param_hint="'--db'",
        )
