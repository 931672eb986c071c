"""Commands that read the ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import app
from cli.common import Format, FormatOption, open_ledger, print_json_lines, print_table


@app.command()
def history(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    output: FormatOption = Format.table,
) -> None:
    """Every stored event of an agreement, in order, with the ledger's own fields."""
    records = open_ledger(ctx).stream(key)
    if output is Format.json:
        print_json_lines(r.as_json() for r in records)
        return
    print_table(
        f"History of {key}",
        ["seq", "version", "id", "type", "occurred", "recorded_at", "recorded_by"],
        (
            [
                r.seq,
                r.record["version"],
                r.record["id"],
                r.record["type"],
                r.record.get("occurred"),
                r.record["recorded_at"],
                r.record["recorded_by"],
            ]
            for r in records
        ),
    )
