"""Rendering what the ledger answers: tables, JSON and CSV on standard output.

Nothing here knows the command-line parser, so that a query answered on the
lean read path (``agreement_ledger.cli.quick``) prints exactly what the full
command prints, without loading Typer.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agreement_ledger.cli.output import echo, print_json, print_json_lines, reader_stopped
from agreement_ledger.ledger.text import visible
from agreement_ledger.projections import parties as status_table


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
        echo(empty)
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


STATUS_STYLES = {
    "in_force": "green",
    "provisional": "cyan",
    "consented": "cyan",
    "suspended": "yellow",
    "withdrawn": "red",
    "terminated": "red",
    "expired": "red",
    "ended": "dim",
    "succeeded": "dim",
    "warning": "yellow",
    "info": "blue",
}
"""Colours on a terminal (none in a pipe, or under NO_COLOR: Rich's own rule)."""


def styled(name: str) -> Column:
    return (name, lambda row: cell(row.get(name), STATUS_STYLES.get(str(row.get(name)), "")))


AGREEMENT_COLUMNS: list[Column] = [
    styled(name) if name == "status" else (name, field_of(name))
    for name in ("agreement", "title", "kind", "status", "parties", "flags")
]


STATUS_COLUMNS: list[Column] = [
    ("party", field_of("code")),
    ("name", field_of("name")),
    styled("status"),
    ("signature", field_of("signed")),
    ("consent", status_table.consent_text),
    ("in force", field_of("in_force")),
    ("withdrawal or end", status_table.end_text),
    ("provisional", status_table.provisional_text),
    ("statements", status_table.statements_text),
]
AGREEMENT_STATUS_COLUMNS: list[Column] = [("agreement", field_of("agreement")), *STATUS_COLUMNS]


FLAG_COLUMNS: list[Column] = [
    styled(name) if name == "severity" else (name, field_of(name))
    for name in ("agreement", "code", "severity", "certainty", "party", "message", "events")
]


def render_flags(rows: list[dict[str, Any]], output: RowsFormat = RowsFormat.table) -> None:
    render_rows(output, "Flags", FLAG_COLUMNS, rows, empty="no flags")


def render_state(state: dict[str, Any], output: Format) -> None:
    """Print a ``show``-shaped state (also used by ``replay``)."""
    if output is Format.json:
        print_json(state)
        return
    out = console()
    out.print(Text.assemble(cell(state["agreement"], "bold"), " — ", cell(state["title"])))
    out.print(
        Text.assemble(
            "status ",
            cell(state["status"], "bold"),
            cell(
                f" · kind {state['kind'] or '—'} · binding {state['binding'] or '—'}"
                f" · in force {state['entered_into_force'] or '—'}"
                f" · expires {state['expires'] or '—'} · version {state['version']}"
            ),
        )
    )
    notices = state.get("notices")  # every notice (projection 5); before, only the latest
    if notices is None:
        notices = [state["termination"]] if state["termination"] else []
    for notice in notices:
        out.print(
            cell(
                f"termination notice by {notice['party']} ({notice['notified']}), "
                f"effective {notice['effective']}: {notice['status']}"
            )
        )
    render_rows(RowsFormat.table, "Parties", STATUS_COLUMNS, state["parties"])
    if state.get("notifications") or state.get("required_notifications"):
        print_table(
            "Notifications",
            ["party", "body", "notified", "subject", "required", "status"],
            _notification_rows(state),
        )
    render_flags(state["flags"])


def _notification_rows(state: dict[str, Any]) -> list[list[Any]]:
    """Notifications made, then required ones not yet made."""
    required = {r["notified_by"]: r for r in state.get("required_notifications", [])}
    rows = []
    for n in state.get("notifications", []):
        requirement = required.get(n["id"])
        rows.append(
            [
                n["party"],
                n["body"],
                n["notified"],
                n["subject"],
                status_table.requirement_text(requirement) if requirement else "",
                requirement["status"] if requirement else "",
            ]
        )
    for r in state.get("required_notifications", []):
        if r["notified_by"] is None:
            rows.append(
                [
                    r["party"],
                    r["body"],
                    "—",
                    "",
                    status_table.requirement_text(r),
                    r["status"],
                ]
            )
    return rows
