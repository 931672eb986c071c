"""Commands that read the ledger: the read models and the stored history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from agreement_ledger.cli.app import app
from agreement_ledger.cli.common import (
    AsOf,
    FormatOption,
    KnownAt,
    RowsFormatOption,
    Within,
    choice_of,
    ledger_of,
    metavar_of,
    party_value,
)
from agreement_ledger.cli.output import echo, print_json
from agreement_ledger.cli.render import (
    AGREEMENT_COLUMNS,
    AGREEMENT_STATUS_COLUMNS,
    STATUS_COLUMNS,
    Column,
    Format,
    RowsFormat,
    cell,
    console,
    field_of,
    print_table,
    render_flags,
    render_rows,
    render_state,
    wrapped,
)
from agreement_ledger.ledger.durations import duration_words
from agreement_ledger.ledger.errors import InvalidArgument
from agreement_ledger.ledger.text import to_json, visible
from agreement_ledger.projections.chart import (
    AGREEMENT_LANE,
    BREAK_GLYPH,
    KINDS,
    PERIOD_GLYPHS,
    PERIODS,
    axis_line,
    period_track,
    picture,
    track,
)

Key = Annotated[str, typer.Argument(help="Agreement key")]


@app.command("list")
def list_(ctx: typer.Context, output: RowsFormatOption = RowsFormat.table) -> None:
    """Every agreement with its status and counts of parties and flags."""
    rows = ledger_of(ctx).agreements()
    render_rows(output, "Agreements", AGREEMENT_COLUMNS, rows, empty="no agreements")
    replica_note(ctx)


@app.command()
def show(ctx: typer.Context, key: Key, output: FormatOption = Format.table) -> None:
    """The current state of an agreement, its parties and its flags."""
    render_state(ledger_of(ctx).show(key), output)
    if output is not Format.json:
        replica_note(ctx)


def _flag_code(value: str) -> str:
    from agreement_ledger.projections.flags import known_codes

    if value not in known_codes():
        raise typer.BadParameter(
            f"unknown flag code {value!r}; known codes: {', '.join(known_codes())}"
        )
    return value


SEVERITIES = ("info", "warning")


@app.command()
def flags(
    ctx: typer.Context,
    key: Annotated[
        str | None, typer.Argument(help="Agreement key (all agreements if absent)")
    ] = None,
    code: Annotated[
        str | None,
        typer.Option("--code", parser=_flag_code, help="Only this flag code (see docs)"),
    ] = None,
    party: Annotated[
        str | None,
        typer.Option("--party", parser=party_value, help="Only flags about this party"),
    ] = None,
    severity: Annotated[
        str | None,
        typer.Option(
            "--severity",
            parser=choice_of(SEVERITIES),
            metavar=metavar_of(SEVERITIES),
            help="Only flags of this severity",
        ),
    ] = None,
    output: RowsFormatOption = RowsFormat.table,
) -> None:
    """Compliance flags, for one agreement or all."""
    try:
        rows = ledger_of(ctx).flags(key, code, party, severity)
    except InvalidArgument as error:  # the only argument the parsers cannot check alone
        raise typer.BadParameter(str(error), param_hint="'--party'") from None
    render_flags(rows, output)
    replica_note(ctx)


DUE_COLUMNS: list[Column] = [
    ("due", lambda row: cell(row["due"] or "—", "red" if row["overdue"] else "")),
    ("agreement", field_of("agreement")),
    ("kind", field_of("kind")),
    ("party", field_of("party")),
    ("what", field_of("what")),
    ("overdue", lambda row: cell("overdue", "red bold") if row["overdue"] else cell("")),
]


@app.command()
def due(
    ctx: typer.Context,
    within: Within = "P90D",
    party: Annotated[
        str | None,
        typer.Option("--party", parser=party_value, help="Only what concerns this party"),
    ] = None,
    output: RowsFormatOption = RowsFormat.table,
) -> None:
    """What falls due: notifications owed and their deadlines, notices of termination or
    withdrawal and ends of provisional application about to take effect, expiries, and
    what is already overdue; soonest first, overdue first of all.

    Example: ledger due --within P30D --party KR
    """
    try:
        rows = ledger_of(ctx).due(within, party)
    except InvalidArgument as error:  # the only argument the parsers cannot check alone
        raise typer.BadParameter(str(error), param_hint="'--party'") from None
    window = duration_words(within)
    title = f"Due within {window}" + (f" for {party}" if party else "")
    render_rows(output, title, DUE_COLUMNS, rows, empty=f"nothing due within {window}")
    replica_note(ctx)


@app.command()
def timeline(
    ctx: typer.Context,
    key: Key,
    chart: Annotated[
        bool, typer.Option("--chart", help="Draw the events on a time axis, one lane per party")
    ] = False,
    output: RowsFormatOption = RowsFormat.table,
) -> None:
    """Events in world-time order, with their precision and when they were recorded."""
    ledger = ledger_of(ctx)
    state, entries = ledger.show(key), ledger.timeline(key)
    if chart and output is RowsFormat.table:
        render_chart(state, entries)
        return
    render_rows(output, f"Timeline of {key}", TIMELINE_COLUMNS, entries, empty="no events")
    replica_note(ctx)


def _event_label(entry: dict[str, Any]) -> str:
    corrected = entry["corrected_by"]
    return (
        str(entry["id"])
        + (" (retracted)" if entry["retracted"] else "")
        + (f" (corrected by {', '.join(corrected)})" if corrected else "")
    )


TIMELINE_COLUMNS: list[Column] = [
    ("occurred", lambda e: e["occurred"] or "—"),
    ("precision", field_of("precision")),
    ("event", _event_label),
    ("what", field_of("summary")),
    ("flags", field_of("flags")),
    ("recorded_at", field_of("recorded_at")),
    ("by", field_of("recorded_by")),
]


KIND_STYLES = {
    "consent": "blue",
    "force": "green",
    "notification": "magenta",
    "ending": "red",
    "context": "dim",
}
"""Terminal colours of the kinds of step (plain under ``NO_COLOR`` or a pipe)."""


LANE_WIDTH = len(AGREEMENT_LANE)
"""The chart's lane column: the agreement's lane name, or the longest party code."""
DESCRIPTION_WIDTH = 20
"""The narrowest description column beside the tracks; with less room, descriptions go
under their tracks."""


def narrow_chart(total: int, lane: int = LANE_WIDTH) -> bool:
    """Whether a terminal ``total`` columns wide leaves too little beside the lane label
    and a 24-column track for the descriptions."""
    return total - lane - 1 - 24 - 1 < DESCRIPTION_WIDTH


def chart_track_width(total: int, lane: int = LANE_WIDTH) -> int:
    """The chart's track: what a terminal ``total`` columns wide leaves beside the lane
    label (``lane`` wide) and a readable description column, between 24 and 72 columns;
    on a narrow terminal, all but the lane label."""
    if narrow_chart(total, lane):
        return max(8, total - lane - 1)
    return max(24, min(72, total - lane - 3 - 40))


def render_chart(state: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """The lanes on a time-true axis: each party's periods as bars, scheduled changes as
    ◆, and every event (━ the span its date denotes, ● a time), long gaps cut as ≈."""
    found = picture(state, entries, datetime.now(UTC))
    out = console()
    if not found.marks:
        echo("no dated events to draw")
        return
    lane_width = max([LANE_WIDTH, *(len(lane) for lane in found.lanes)])  # codes kept whole
    width = chart_track_width(out.width, lane_width)
    rows: list[tuple[Text, Text, Text]] = [
        (cell(""), cell(axis_line(found.axis, width), "dim"), cell(""))
    ]
    for lane in found.lanes:
        periods = ", ".join(p.short for p in found.lane_periods(lane))
        planned = " · ".join(f"◆ {s.words}" for s in found.lane_scheduled(lane))
        summary = "; ".join(text for text in (periods, planned) if text)
        rows.append(
            (cell(lane, "bold"), cell(period_track(found, lane, width)), cell(summary, "dim"))
        )
        for mark in found.lane_marks(lane):
            entry = mark.entry
            words = f"{entry['occurred']} {mark.words}" + (
                " (retracted)" if entry["retracted"] else ""
            )
            flags = "".join(f" ⚑ {code}" for code in mark.flags)
            what = Text.assemble(cell(words, KIND_STYLES[mark.kind]), cell(flags, "bold red"))
            rows.append(
                (cell(""), cell(track(mark, width, found.axis), KIND_STYLES[mark.kind]), what)
            )
        rows.append((cell(""), cell(""), cell("")))
    out.print(cell(f"{state['agreement']}: {state['title']}", "bold"), justify="center")
    if narrow_chart(out.width, lane_width):
        _narrow_chart(out, rows, lane_width)
    else:
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1, 0, 0))
        table.add_column("lane", no_wrap=True, width=lane_width)
        table.add_column("track", no_wrap=True, width=width)
        table.add_column("what", overflow="fold")
        for row in rows:
            table.add_row(*row)
        out.print(table)
    legend = " ".join(f"{glyph} {PERIODS[kind]}" for kind, glyph in PERIOD_GLYPHS.items())
    out.print(cell(f"Axis in {state['tz'] or 'UTC'}. Bars: {legend}.", "dim"))
    out.print(
        cell(
            "◆ scheduled change · ━ an event's date (a day, a month, a year) · ● a time · "
            f"{BREAK_GLYPH} a long empty stretch cut short · ⚑ a flag. Events by kind: "
            + ", ".join(KINDS.values())
            + ".",
            "dim",
        )
    )


def _narrow_chart(out: Console, rows: list[tuple[Text, Text, Text]], lane_width: int) -> None:
    """The chart on a narrow terminal: each description on the lines under its track."""
    indent = " " * (lane_width + 1)
    for lane, drawn, what in rows:
        if not (lane.plain or drawn.plain or what.plain):
            out.print()
            continue
        label = lane.copy()
        label.pad_right(lane_width - len(label.plain))
        out.print(Text.assemble(label, " ", drawn), no_wrap=True, crop=False)
        if what.plain:
            for line in wrapped(out, what, max(8, out.width - len(indent))):
                out.print(Text.assemble(indent, line))


@app.command()
def history(ctx: typer.Context, key: Key, output: RowsFormatOption = RowsFormat.table) -> None:
    """Every stored event of an agreement, in order, with the ledger's own fields.

    With --format json, one JSON object per line (JSON Lines, as `export` writes),
    so that a long history streams.
    """
    records = ledger_of(ctx).history(key)
    render_rows(output, f"History of {key}", HISTORY_COLUMNS, records, json_lines=True)


HISTORY_COLUMNS: list[Column] = [
    ("seq", field_of("seq")),
    ("version", field_of("version")),
    ("id", field_of("id")),
    ("type", field_of("type")),
    ("occurred", field_of("occurred")),
    ("recorded_at", field_of("recorded_at")),
    ("recorded_by", field_of("recorded_by")),
    ("corrected by", field_of("corrected_by")),
]


@app.command()
def rebuild(ctx: typer.Context) -> None:
    """Drop the read models and rebuild them from the event log."""
    ledger = ledger_of(ctx)
    total = ledger.application.recorder.max_notification_id() or 0
    with Progress(transient=True, disable=total < 10_000) as progress:
        task = progress.add_task("rebuilding read models", total=total)
        count = ledger.rebuild(progress=lambda n: progress.advance(task, n))
    typer.echo(f"rebuilt read models of {count} agreements from {total} events")


@app.command()
def parties(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Argument(help="Agreement key")] = None,
    party: Annotated[
        str | None,
        typer.Option("--party", parser=party_value, help="Every agreement of this party"),
    ] = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    output: RowsFormatOption = RowsFormat.table,
) -> None:
    """The status table: a row per participant (signature, consent with its instrument,
    entry into force, withdrawal or end, provisional application, statements).

    With --party, every agreement of one party, the same columns ("what binds Japan today?").
    Consent markers as the UN Treaty Collection prints them: a accession, A acceptance,
    AA approval, d succession, s definitive signature, none for ratification.
    """
    if key is None and party is None:
        raise typer.BadParameter("give an agreement KEY, or --party P", param_hint="KEY")
    try:
        rows = ledger_of(ctx).parties(key, party=party, as_of=as_of, known_at=known_at)
    except InvalidArgument as error:
        raise typer.BadParameter(str(error), param_hint="'--party'") from None
    title = f"Parties of {key}" if key else f"Agreements of {party}"
    columns = STATUS_COLUMNS if key else AGREEMENT_STATUS_COLUMNS
    render_rows(output, title, columns, rows, empty=f"no agreement has a party {party}")
    replica_note(ctx)


def replica_note(ctx: typer.Context) -> None:
    """Below a table (or on stderr beside JSON and CSV), how far a replica's read models
    lag the log, and which answers were computed from the log instead."""
    replica = ledger_of(ctx).replica
    if replica is None:
        return
    recomputed = ", ".join(replica["recomputed"]) or "none"
    line = (
        f"read-only replica: the read models are {replica['behind']} event(s) behind the log; "
        f"computed from the log instead: {recomputed}"
    )
    typer.echo(visible(line), err=_machine_output(ctx))


def _machine_output(ctx: typer.Context) -> bool:
    return ctx.params.get("output") in (RowsFormat.json, RowsFormat.csv, Format.json)


@app.command("types")
def types_(
    event_type: Annotated[
        str | None, typer.Argument(metavar="TYPE", help="One type: its fields and an example")
    ] = None,
    output: FormatOption = Format.table,
) -> None:
    """The event types the ledger records, what each means, and their fields.

    Example: ledger types statement_made
    """
    from agreement_ledger.cli import reference
    from agreement_ledger.ledger.vocabulary import EventKind

    if event_type is None:
        rows = reference.types()
        if output is Format.json:
            print_json(rows)
        else:
            print_table(
                "Event types", ["type", "meaning"], ([r["type"], r["meaning"]] for r in rows)
            )
        return
    try:
        kind = EventKind(event_type)
    except ValueError:
        raise typer.BadParameter(
            f"unknown event type {event_type!r}; `ledger types` lists them", param_hint="TYPE"
        ) from None
    info = reference.detail(kind)
    if output is Format.json:
        print_json(info)
        return
    out = console()  # prose wraps between words at the reader's width
    out.print(Text.assemble(cell(info["type"], "bold"), ": ", cell(info["meaning"])))
    out.print(cell(f"occurred: {info['occurred']}"))
    if info["fields"]:
        print_table(
            f"Fields of {info['type']}",
            ["field", "required", "takes", "default"],
            (
                [f["field"], "yes" if f["required"] else "no", f["takes"], f["default"]]
                for f in info["fields"]
            ),
        )
    out.print(cell("example (ledger import, or ledger append KEY TYPE --json):"))
    typer.echo(to_json(info["example"]))  # one line, to copy whole
