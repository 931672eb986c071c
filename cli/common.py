"""Options shared by many commands, opening the ledger, and rendering output."""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agreement_ledger.cli.app import Settings, reader_stopped
from agreement_ledger.ledger import vocabulary
from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.ledger.text import check_storable, to_json, visible
from agreement_ledger.ledger.worldtime import as_of_instant, parse_occurred

if TYPE_CHECKING:
    from agreement_ledger.api import Ledger


class Format(StrEnum):
    table = "table"
    json = "json"


class RowsFormat(StrEnum):
    """Output of a command that prints rows: a table, JSON, or CSV (RFC 4180)."""

    table = "table"
    json = "json"
    csv = "csv"


Column = tuple[str, Callable[[dict[str, Any]], Any]]
"""A listing's column: its header and how a row gives its value."""


def field_of(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row.get(name)


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
        return sys.stdin.buffer.read()
    path = Path(file)
    if path.is_dir():
        raise typer.BadParameter(f"{file} is a folder, not a file", param_hint=param_hint)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise typer.BadParameter(f"no such file: {file}", param_hint=param_hint) from None
    except OSError as error:
        raise typer.BadParameter(
            f"cannot read {file}: {error.strerror or error}", param_hint=param_hint
        ) from None


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


def print_json(value: Any) -> None:
    typer.echo(to_json(value, indent=2))


def print_json_lines(values: Iterable[dict[str, Any]]) -> None:
    for value in values:
        typer.echo(to_json(value))


class _Console(Console):
    """Rich's console, ending quietly when the reader closes the pipe (Rich would exit 1)."""

    def on_broken_pipe(self) -> None:
        reader_stopped()


PIPED_WIDTH = 240
"""Columns of a table written to a pipe or a file when ``COLUMNS`` does not say (wide, so
that scripts grepping a table find whole lines; issue 15 revisits the layout)."""


def output_width() -> int | None:
    """``COLUMNS`` when set, else the terminal's width, else ``PIPED_WIDTH`` for a pipe."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 20:
        return int(columns)
    return None if sys.stdout.isatty() else PIPED_WIDTH


def console() -> Console:
    """A console for tables, as wide as the reader's (see ``output_width``)."""
    return _Console(width=output_width())


def cell(value: Any, style: str = "") -> Text:
    """Stored text as a table cell: never read as markup, control characters made visible."""
    if isinstance(value, list | tuple):
        value = ", ".join(str(item) for item in value)
    return Text("" if value is None else visible(str(value)), style=style)


def render_rows(
    output: RowsFormat,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[dict[str, Any]],
    *,
    json_lines: bool = False,
    empty: str | None = None,
) -> None:
    """The one way a listing is printed: a table, JSON (the rows as they are), or CSV.

    CSV has a header row and one row per item, values as written (dates as the
    events give them), lists joined with ", ", RFC 4180 quoting.
    """
    if output is RowsFormat.json:
        if json_lines:
            print_json_lines(rows)
        else:
            print_json(list(rows))
        return
    if output is RowsFormat.csv:
        print_csv([header for header, _ in columns], ([get(r) for _, get in columns] for r in rows))
        return
    if not rows and empty is not None:
        typer.echo(empty)
        return
    print_table(
        title, [header for header, _ in columns], ([get(r) for _, get in columns] for r in rows)
    )


def print_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    sys.stdout.write(buffer.getvalue())


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_csv_value(v) for v in value)
    if isinstance(value, Text):
        return value.plain
    return visible(str(value))


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=cell(title) if title else None, show_lines=False)
    for column in columns:
        table.add_column(cell(column), overflow="fold")  # too narrow: wrapped, never cut short
    for row in rows:
        table.add_row(*(value if isinstance(value, Text) else cell(value) for value in row))
    console().print(table)
