"""Audit commands: replay, verify, digest, audit, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from agreement_ledger.cli.app import app, fail
from agreement_ledger.cli.common import (
    Format,
    FormatOption,
    ledger_of,
    moment_value,
    print_json,
    print_table,
    write_output,
)
from agreement_ledger.cli.read import render_state
from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.ledger.text import decode_utf8, read_json, to_json, visible


@app.command()
def replay(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            parser=moment_value,
            help="World time, read in the agreement's zone; a date means its end",
        ),
    ] = None,
    known_at: Annotated[
        str | None,
        typer.Option(
            "--known-at",
            parser=moment_value,
            help="Ledger time: only events recorded by then (UTC if no offset)",
        ),
    ] = None,
    output: FormatOption = Format.table,
) -> None:
    """The state of an agreement as of a world time, as the ledger knew it at a ledger time."""
    state = ledger_of(ctx).replay(key, as_of, known_at)
    if output is Format.table:
        typer.echo(
            f"as of {state['as_of']}"
            + (f", as known at {state['known_at']}" if state["known_at"] else "")
        )
    render_state(state, output)


@app.command()
def verify(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Argument(help="Only this agreement")] = None,
    digest: Annotated[
        Path | None, typer.Option("--digest", help="Also check against a digest written earlier")
    ] = None,
    output: FormatOption = Format.table,
) -> None:
    """Re-check every hash chain; exit 1 naming the agreement and version of each problem."""
    document = None
    if digest is not None:
        try:
            document = read_json(decode_utf8(digest.read_bytes()))
        except OSError as error:
            fail(f"cannot read digest {digest}: {error.strerror or error}", 2)
        except Rejected as error:
            fail(f"cannot read digest {digest}: {error.reason}", 2)
        if not isinstance(document, dict):
            document = {}  # not a JSON object, so not a digest: checked (and refused) as one
    result = ledger_of(ctx).verify(key, document)
    _report(result, output)
    if not result["ok"]:
        raise typer.Exit(1)


def _report(result: dict[str, Any], output: Format) -> None:
    if output is Format.json:
        print_json(result)
        return
    if result["ok"]:
        typer.echo(f"ok: {result['events_checked']} events checked, every chain intact")
        return
    print_table(
        f"{len(result['problems'])} problem(s) in {result['events_checked']} events",
        ["agreement", "version", "problem"],
        ([p["agreement"], p["version"], p["problem"]] for p in result["problems"]),
    )


@app.command()
def digest(
    ctx: typer.Context,
    out: Annotated[
        str, typer.Option("-o", "--output", help="File to write the digest to (- for stdout)")
    ],
) -> None:
    """Write one hash over every stream's head, to check the ledger against later."""
    from agreement_ledger.ledger.verification import digest_bytes

    document = ledger_of(ctx).digest()
    if not document["verified"]:
        fail("the chains have problems (run `ledger verify`); no digest written", 1)
    write_output(out, digest_bytes(document))
    typer.echo(
        f"digest of {len(document['streams'])} streams, {document['events']} events: "
        f"{document['digest']}",
        err=out == "-",  # the digest itself is on stdout
    )


@app.command()
def audit(ctx: typer.Context, output: FormatOption = Format.table) -> None:
    """Rebuild the read models in a scratch space and report any drift from the stored ones."""
    result = ledger_of(ctx).audit()
    if output is Format.json:
        print_json(result)
    elif result["ok"]:
        typer.echo(f"ok: {result['agreements_checked']} agreements, read models match the log")
    else:
        print_table(
            f"drift in {len(result['differences'])} place(s)",
            ["table", "agreement", "problem"],
            ([d["table"], d["agreement"], d["problem"]] for d in result["differences"]),
        )
    if not result["ok"]:
        raise typer.Exit(1)


@app.command()
def export(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Argument(help="Only this agreement")] = None,
) -> None:
    """Every event as JSON Lines (the import format plus the ledger's own fields)."""
    for record in ledger_of(ctx).export(key):
        typer.echo(to_json(record))


@app.command()
def report(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    out: Annotated[str, typer.Option("-o", "--output", help="HTML file to write (- for stdout)")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", parser=moment_value, help="World time, as in `replay`"),
    ] = None,
    known_at: Annotated[
        str | None,
        typer.Option("--known-at", parser=moment_value, help="Ledger time, as in `replay`"),
    ] = None,
) -> None:
    """Write a self-contained HTML report: state, timeline, flags, history, verification."""
    html = ledger_of(ctx).report(key, as_of, known_at)
    write_output(out, html.encode("utf-8"))
    if out != "-":
        typer.echo(f"report of {key} written to {visible(out)}")
