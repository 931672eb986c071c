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

from rich.cells import cell_len
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


PIPED_WIDTH = 100
"""Columns of a table written to a pipe or a file when ``COLUMNS`` does not say: what a
wide terminal shows (scripts read ``--format json`` or ``csv``, not tables)."""


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
    """A table as wide as the reader's, wrapping text between words but never inside an
    id, a code or a date; where even that cannot fit, one record per row instead.

    Every column is at least as wide as its longest word (its header's too; a column of
    prose, at least ``PROSE_WORD``); a column
    empty in every row is left out. When those widths and the borders fit, it is a
    table; otherwise each row is printed as a record — its first value, then ``header
    value`` lines — like ``psql``'s expanded display.
    """
    texts = [[value if isinstance(value, Text) else cell(value) for value in row] for row in rows]
    kept = [i for i in range(len(columns)) if i == 0 or any(row[i].plain for row in texts)]
    if texts and len(kept) < len(columns):  # a column empty in every row says nothing
        columns = [columns[i] for i in kept]
        texts = [[row[i] for i in kept] for row in texts]
    out = console()
    least = [
        max([_longest_word(header)] + [_longest_word(row[i].plain) for row in texts])
        for i, header in enumerate(columns)
    ]
    least = [
        min(width, PROSE_WORD) if header in PROSE else width
        for header, width in zip(columns, least, strict=True)
    ]
    room = out.width - (3 * len(columns) + 1)  # borders and padding of a boxed table
    if sum(least) <= room:
        natural = [
            max(
                [cell_len(header)] + [max(map(cell_len, row[i].plain.split("\n"))) for row in texts]
            )
            for i, header in enumerate(columns)
        ]
        table = Table(title=cell(title) if title else None, show_lines=False)
        for column, width in zip(columns, _shared_out(least, natural, room), strict=True):
            table.add_column(cell(column), width=width, overflow="fold")
        for row in texts:
            table.add_row(*row)
        out.print(table)
        return
    _print_records(out, title, columns, texts)


def _shared_out(least: list[int], natural: list[int], room: int) -> list[int]:
    """Column widths within ``room``: each its least, then what is left shared among the
    columns that want more, in proportion to how much more (never beyond their natural
    width)."""
    widths = list(least)  # a longest word is never longer than its column's longest line
    spare = room - sum(widths)
    wants = [max(0, b - w) for b, w in zip(natural, widths, strict=True)]
    while spare > 0 and any(wants):
        total = sum(wants)
        given = [min(want, max(1, spare * want // total)) if want else 0 for want in wants]
        while sum(given) > spare:  # rounding up gave more than there is
            given[given.index(max(given))] -= 1
        widths = [w + g for w, g in zip(widths, given, strict=True)]
        wants = [want - g for want, g in zip(wants, given, strict=True)]
        spare -= sum(given)
    return widths


PROSE = frozenset(
    {"title", "name", "message", "what", "meaning", "subject", "required", "body", "takes"}
)
"""Columns of prose: a word longer than ``PROSE_WORD`` (``information-sharing``) may be
folded there; anywhere else a word is an id, a code, a date or a number, kept whole."""
PROSE_WORD = 14


def wrapped(out: Console, value: Text, width: int) -> list[Text]:
    """``value`` in lines of at most ``width``, broken between words (inside one only
    when it is longer than the line), without trailing spaces."""
    lines = list(value.wrap(out, width, overflow="fold"))
    for line in lines:
        line.rstrip()
    return lines or [Text()]


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)  # terminal cells: 한 is 2


def _print_records(
    out: Console, title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Text]]
) -> None:
    """Each row as a record: its first value in bold, then one line per other column.

    A value whose longest word does not fit beside its label goes under it, indented,
    so that a date or a timestamp is broken only where it is wider than the terminal.
    """
    if title:
        out.print(cell(title, "bold"))
    label = max((cell_len(column) for column in columns[1:]), default=0)
    beside = max(1, out.width - 2 - label - 2)
    for row in rows:
        out.print()
        first = row[0].copy()
        first.stylize("bold")
        out.print(Text.assemble(cell(columns[0] + " ", "dim"), first))
        for column, value in zip(columns[1:], row[1:], strict=True):
            if not value.plain:
                continue
            if _longest_word(value.plain) <= beside:
                lines = wrapped(out, value, beside)
                out.print(Text.assemble("  ", cell(column.ljust(label), "dim"), "  ", lines[0]))
                for line in lines[1:]:
                    out.print(Text.assemble(" " * (label + 4), line))
            else:  # under its label, indented as far as the longest word allows
                out.print(Text.assemble("  ", cell(column, "dim")))
                indent = max(0, min(4, out.width - _longest_word(value.plain)))
                for line in wrapped(out, value, max(1, out.width - indent)):
                    out.print(Text.assemble(" " * indent, line))


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
