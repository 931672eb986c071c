"""Commands that read the ledger: the read models and the stored history."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from agreement_ledger.cli.app import app
from agreement_ledger.cli.common import (
    Format,
    FormatOption,
    cell,
    choice_of,
    console,
    ledger_of,
    metavar_of,
    party_value,
    print_json,
    print_json_lines,
    print_table,
)
from agreement_ledger.ledger.errors import InvalidArgument
from agreement_ledger.projections.chart import layout, track

Key = Annotated[str, typer.Argument(help="Agreement key")]


@app.command("list")
def list_(ctx: typer.Context, output: FormatOption = Format.table) -> None:
    """Every agreement with its status and counts of parties and flags."""
    rows = ledger_of(ctx).agreements()
    if output is Format.json:
        print_json(rows)
        return
    print_table(
        "Agreements",
        ["agreement", "title", "kind", "status", "parties", "flags"],
        (
            [r["agreement"], r["title"], r["kind"], r["status"], r["parties"], r["flags"]]
            for r in rows
        ),
    )


@app.command()
def show(ctx: typer.Context, key: Key, output: FormatOption = Format.table) -> None:
    """The current state of an agreement, its parties and its flags."""
    render_state(ledger_of(ctx).show(key), output)


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
    termination = state["termination"]
    if termination:
        out.print(
            cell(
                f"termination notice by {termination['party']} ({termination['notified']}), "
                f"effective {termination['effective']}: {termination['status']}"
            )
        )
    print_table(
        "Parties",
        ["party", "name", "status", "signed", "consented", "in force", "withdrawn"],
        (
            [
                p["code"],
                p["name"],
                p["status"],
                p["signed"],
                p["consented"],
                p["in_force"],
                p["withdrawn"],
            ]
            for p in state["parties"]
        ),
    )
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
                (requirement["within"] or "before entry into force") if requirement else "",
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
                    r["within"] or "before entry into force",
                    r["status"],
                ]
            )
    return rows


def render_flags(rows: list[dict[str, Any]]) -> None:
    print_table(
        "Flags",
        ["agreement", "code", "severity", "certainty", "party", "message", "events"],
        (
            [
                f["agreement"],
                f["code"],
                f["severity"],
                f["certainty"],
                f["party"],
                f["message"],
                ", ".join(f["events"]),
            ]
            for f in rows
        ),
    )


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
    output: FormatOption = Format.table,
) -> None:
    """Compliance flags, for one agreement or all."""
    try:
        rows = ledger_of(ctx).flags(key, code, party, severity)
    except InvalidArgument as error:  # the only argument the parsers cannot check alone
        raise typer.BadParameter(str(error), param_hint="'--party'") from None
    if output is Format.json:
        print_json(rows)
    else:
        render_flags(rows)


@app.command()
def timeline(
    ctx: typer.Context,
    key: Key,
    chart: Annotated[
        bool, typer.Option("--chart", help="Draw the events on a time axis, one lane per party")
    ] = False,
    output: FormatOption = Format.table,
) -> None:
    """Events in world-time order, with their precision and when they were recorded."""
    ledger = ledger_of(ctx)
    state, entries = ledger.show(key), ledger.timeline(key)
    if output is Format.json:
        print_json(entries)
    elif chart:
        render_chart(state, entries)
    else:
        print_table(
            f"Timeline of {key}",
            ["occurred", "precision", "event", "what", "flags", "recorded_at", "by"],
            (
                [
                    e["occurred"] or "—",
                    e["precision"] or "",
                    e["id"]
                    + (" (retracted)" if e["retracted"] else "")
                    + (
                        f" (corrected by {', '.join(e['corrected_by'])})"
                        if e["corrected_by"]
                        else ""
                    ),
                    e["summary"],
                    ", ".join(e["flags"]),
                    e["recorded_at"],
                    e["recorded_by"],
                ]
                for e in entries
            ),
        )


CHART_WIDTH = 40


def render_chart(state: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """The timeline on an ordinal time axis: ━ a span (a day, a month…), ● a point in time."""
    codes = [p["code"] for p in state["parties"]]
    axis, lanes, marks = layout(entries, codes, state["tz"])
    ticks = axis.ticks()
    first, last = (ticks[0][1], ticks[-1][1]) if ticks else ("", "")
    scale = first + last.rjust(CHART_WIDTH - len(first))
    table = Table(
        title=cell(f"{state['agreement']}: {state['title']}"),
        caption=cell(
            f"axis dates in {state['tz'] or 'UTC'} · ━ span of the date's precision · "
            "● a time · ⚑ flag raised"
        ),
    )
    for column in ("lane", "occurred", scale, "event", "flags", "recorded at"):
        table.add_column(cell(column), no_wrap=column == scale)
    for lane in lanes:
        lane_marks = [m for m in marks if m.lane == lane]
        for n, mark in enumerate(lane_marks):
            entry = mark.entry
            table.add_row(
                cell(lane if n == 0 else ""),
                cell(f"{entry['occurred']} ({entry['precision']})"),
                cell(track(mark, CHART_WIDTH)),
                cell(entry["summary"] + (" (retracted)" if entry["retracted"] else "")),
                cell(" ".join(f"⚑ {code}" for code in mark.flags)),
                cell(entry["recorded_at"]),
                end_section=n == len(lane_marks) - 1,
            )
    console().print(table)


@app.command()
def history(ctx: typer.Context, key: Key, output: FormatOption = Format.table) -> None:
    """Every stored event of an agreement, in order, with the ledger's own fields."""
    records = ledger_of(ctx).history(key)
    if output is Format.json:
        print_json_lines(records)
        return
    print_table(
        f"History of {key}",
        ["seq", "version", "id", "type", "occurred", "recorded_at", "recorded_by", "corrected by"],
        (
            [
                r["seq"],
                r["version"],
                r["id"],
                r["type"],
                r.get("occurred"),
                r["recorded_at"],
                r["recorded_by"],
                ", ".join(r["corrected_by"]),
            ]
            for r in records
        ),
    )


@app.command()
def rebuild(ctx: typer.Context) -> None:
    """Drop the read models and rebuild them from the event log."""
    ledger = ledger_of(ctx)
    total = ledger.application.recorder.max_notification_id() or 0
    with Progress(transient=True, disable=total < 10_000) as progress:
        task = progress.add_task("rebuilding read models", total=total)
        count = ledger.rebuild(progress=lambda n: progress.advance(task, n))
    typer.echo(f"rebuilt read models of {count} agreements from {total} events")
