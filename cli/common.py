"""Options shared by many commands, opening the ledger, and rendering output."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from agreement_ledger.cli.app import Settings
from agreement_ledger.cli.render import (
    Format,
    RowsFormat,
)
from agreement_ledger.ledger import vocabulary
from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.ledger.text import check_storable
from agreement_ledger.ledger.worldtime import as_of_instant, parse_occurred

if TYPE_CHECKING:
    from agreement_ledger.api import Ledger


def usage_check(check: Callable[[str], object]) -> Callable[[str], str]:
    """An option parser from a domain check: a refused value is a usage error (exit 2).

    Typer names the option in the message ("Invalid value for '--occurred': …").
    """

    def parse(value: str) -> str:
        try:
            check(value)
        except Rejected as error:
            raise typer.BadParameter(error.reason) from None
        return value

    return parse


def _field(normalise: vocabulary.Normaliser, name: str) -> Callable[[str], object]:
    return lambda value: normalise(name, value)


def _occurred(value: str) -> object:
    """The form of an ``--occurred`` value (read in UTC; its zone is the event's to say)."""
    if not value:
        raise Rejected("an empty value names no moment")
    return parse_occurred(value, None)


def _moment(value: str) -> object:
    """The form of an ``--as-of`` or ``--known-at`` value: also ``recorded_at`` as printed."""
    if not value:
        raise Rejected("an empty value names no moment")
    return as_of_instant(value, None)


def _text(value: str) -> object:
    check_storable(value)
    return vocabulary.text("value", value)


occurred_value = usage_check(_occurred)
moment_value = usage_check(_moment)
zone_value = usage_check(_field(vocabulary.time_zone, "tz"))
date_value = usage_check(_field(vocabulary.iso_date, "date"))
duration_value = usage_check(_field(vocabulary.duration, "duration"))
party_value = usage_check(_field(vocabulary.party_code, "party"))
id_value = usage_check(_field(vocabulary.event_ref, "id"))
text_value = usage_check(_text)


def choice_of(values: Sequence[str]) -> Callable[[str], str]:
    """A parser for an enumerated option whose choices come from the vocabulary."""

    def parse(value: str) -> str:
        if value not in values:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(values)}")
        return value

    return parse


def metavar_of(values: Sequence[str]) -> str:
    """How ``--help`` lists an enumerated option's choices."""
    return "[" + "|".join(values) + "]"


AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        parser=moment_value,
        help="World time, read in the agreement's zone; a date means its end",
    ),
]
Within = Annotated[
    str,
    typer.Option(
        "--within",
        parser=duration_value,
        metavar="DURATION",
        help="How far ahead to look for what falls due, an ISO 8601 duration (P90D, P6M, P1Y)",
    ),
]
KnownAt = Annotated[
    str | None,
    typer.Option(
        "--known-at",
        parser=moment_value,
        help="Ledger time: only events recorded by then (UTC if no offset)",
    ),
]
RowsFormatOption = Annotated[
    RowsFormat,
    typer.Option("--format", help="table for people, json for scripts, csv for spreadsheets"),
]
FormatOption = Annotated[
    Format, typer.Option("--format", help="table for people, json for scripts (stable keys)")
]
Occurred = Annotated[
    str,
    typer.Option(
        "--occurred",
        parser=occurred_value,
        help="When it happened: YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]",
    ),
]
EventId = Annotated[
    str | None,
    typer.Option("--id", parser=id_value, help="Your id for the event (≤128 chars)"),
]
Source = Annotated[
    str | None,
    typer.Option("--source", parser=text_value, help="Citation: document, URL, article"),
]
Note = Annotated[str | None, typer.Option("--note", parser=text_value, help="Free text")]
After = Annotated[
    list[str] | None,
    typer.Option(
        "--after",
        parser=id_value,
        help="Id of an earlier event this one is known to follow (repeatable)",
    ),
]
Tz = Annotated[
    str | None,
    typer.Option(
        "--tz", parser=zone_value, help="IANA zone for reading --occurred without an offset"
    ),
]


def ledger_of(ctx: typer.Context) -> Ledger:
    """The ledger the global options name, opened once per command (the Python API)."""
    from agreement_ledger.api import Ledger

    settings: Settings = ctx.find_object(Settings)  # type: ignore[assignment]
    if settings.ledger is None:
        settings.ledger = Ledger(settings.db, actor=settings.actor)
        ctx.call_on_close(settings.ledger.close)
    return settings.ledger


def envelope_options(
    occurred: str | None,
    event_id: str | None,
    source: str | None,
    note: str | None,
    after: list[str] | None,
    tz: str | None,
) -> dict[str, Any]:
    """The envelope keys given on the command line (absent ones left out)."""
    given = {"occurred": occurred, "id": event_id, "source": source, "note": note, "tz": tz}
    envelope: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if after:
        envelope["after"] = list(after)
    return envelope


def read_input(file: str, param_hint: str = "FILE") -> bytes:
    """A file's bytes (``-``: standard input; a pipe or process substitution too), or a
    usage error naming ``param_hint`` and saying why not."""
    if file == "-":
        return _stdin(param_hint).read()
    with _opened(file, param_hint) as opened:
        return opened.read()


@contextlib.contextmanager
def open_input(file: str, param_hint: str = "FILE") -> Iterator[BinaryIO]:
    """A file to read, and to read again from its start (``-``: standard input; a pipe
    is spooled to a temporary file first), or a usage error as ``read_input`` says it."""
    if file == "-":
        with _spooled(_stdin(param_hint)) as spool:
            yield spool
        return
    with _opened(file, param_hint) as opened:
        if opened.seekable():
            yield opened
        else:  # a named pipe or a process substitution: read once, here
            with _spooled(opened) as spool:
                yield spool


def _stdin(param_hint: str) -> BinaryIO:
    if sys.stdin is None:  # started with standard input closed
        raise typer.BadParameter("standard input is closed", param_hint=param_hint)
    return sys.stdin.buffer


def _opened(file: str, param_hint: str) -> BinaryIO:
    """``file`` opened to read, or a usage error naming ``param_hint`` and saying why not."""
    path = Path(file)
    if path.is_dir():
        raise typer.BadParameter(f"{file} is a folder, not a file", param_hint=param_hint)
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise typer.BadParameter(f"no such file: {file}", param_hint=param_hint) from None
    except OSError as error:
        raise typer.BadParameter(
            f"cannot read {file}: {error.strerror or error}", param_hint=param_hint
        ) from None


@contextlib.contextmanager
def _spooled(stream: BinaryIO) -> Iterator[BinaryIO]:
    with tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(stream, spool, 1 << 20)
        yield spool


def write_output(target: str, data: bytes, option: str = "'-o'") -> None:
    """Write a produced file, or standard output for ``-``; a failure names the file."""
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        Path(target).write_bytes(data)
    except OSError as error:
        raise typer.BadParameter(
            f"cannot write {target}: {error.strerror or error}", param_hint=option
        ) from None
