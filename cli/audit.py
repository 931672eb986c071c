"""Audit and publishing commands: replay, verify, digest, audit, export, report, site."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from agreement_ledger.cli.app import app
from agreement_ledger.cli.common import (
    AsOf,
    FormatOption,
    KnownAt,
    Within,
    ledger_of,
    read_input,
    write_output,
)
from agreement_ledger.cli.output import fail, os_error_text, print_json
from agreement_ledger.cli.render import Format, print_table, render_state
from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.ledger.text import decode_utf8, read_json, to_json, visible


@app.command()
def replay(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    as_of: AsOf = None,
    known_at: KnownAt = None,
    output: FormatOption = Format.table,
) -> None:
    """The state of an agreement as of a world time, as the ledger knew it at a ledger time."""
    state = ledger_of(ctx).replay(key, as_of, known_at)
    if output is Format.table:
        typer.echo(
            visible(
                _moment_said(as_of, state["as_of"], state["tz"] or "UTC")
                + (f", as known at {state['known_at']}" if state["known_at"] else "")
            )
        )
    render_state(state, output)


def _moment_said(given: str | None, instant: str, zone: str) -> str:
    """The as-of moment in the words and zone the user asked in: ``as of the end of
    2014-12-27 in Asia/Seoul (2014-12-27T14:59:59.999999Z)``."""
    if given is None:
        return f"as of now ({instant})"
    if "T" not in given:  # a date, month or year: its end in the agreement's zone
        return f"as of the end of {given} in {zone} ({instant})"
    return f"as of {given} ({instant})"


@app.command()
def verify(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Argument(help="Only this agreement")] = None,
    digest: Annotated[
        str | None,
        typer.Option("--digest", help="Also check against a digest written earlier (- for stdin)"),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option("--key", help="Check the digest's signature first with this public key"),
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            metavar="FILE",
            help="Check an export (JSON Lines) instead: no database needed (- for stdin)",
        ),
    ] = None,
    proof: Annotated[
        str | None,
        typer.Option("--proof", help="Check an inclusion proof against --digest: no database"),
    ] = None,
    output: FormatOption = Format.table,
) -> None:
    """Re-check every hash chain; exit 1 naming the agreement and version of each problem.

    Offline, with no database: --file EXPORT checks an export's chains (and its heads
    against --digest); --proof FILE --digest FILE checks that one event is in the
    ledger the digest describes. --key PUBFILE checks the digest's signature first.
    """
    from agreement_ledger.api import verify_offline

    document = _json_file(digest, "--digest", obj=True) if digest is not None else None
    if public_key is not None and document is None:
        raise typer.BadParameter(
            "a signature is checked on a digest: give --digest too", param_hint="'--key'"
        )
    if proof is not None and document is None:
        raise typer.BadParameter(
            "a proof is checked against a digest: give --digest too", param_hint="'--proof'"
        )
    if proof is not None and file is not None:
        raise typer.BadParameter("check an export or a proof, one at a time", param_hint="'--file'")
    offline = file is not None or proof is not None
    if offline and key is not None:
        raise typer.BadParameter(
            "--file and --proof check files, not an agreement", param_hint="KEY"
        )
    key_bytes = read_input(public_key, "'--key'") if public_key is not None else None
    if offline:
        export = read_input(file, "'--file'") if file is not None else None
        proof_document = _json_file(proof, "--proof", obj=True) if proof is not None else None
        result = verify_offline(document, export=export, proof=proof_document, public_key=key_bytes)
    else:
        result = ledger_of(ctx).verify(key, document, public_key=key_bytes)
    if document is not None and key_bytes is None and "signature" in document:
        typer.echo(
            "note: the digest is signed; give --key PUBFILE to check its signature", err=True
        )
    _report(result, output)
    if not result["ok"]:
        raise typer.Exit(1)


def _json_file(path: str, option: str, *, obj: bool) -> Any:
    """A JSON file's value; with ``obj``, anything but an object becomes ``{}`` (and fails as
    not being what the option names)."""
    try:
        value = read_json(decode_utf8(read_input(path, f"'{option}'")))
    except Rejected as error:
        raise typer.BadParameter(
            f"cannot read {path}: {error.reason}", param_hint=f"'{option}'"
        ) from None
    return value if isinstance(value, dict) or not obj else {}


def _report(result: dict[str, Any], output: Format) -> None:
    if output is Format.json:
        print_json(result)
        return
    proved = result.get("proved")
    if result["ok"] and proved:
        typer.echo(
            f"ok: event {visible(str(proved['id']))} of {visible(str(proved['agreement']))} is "
            f"in the ledger the digest describes (leaf {proved['leaf_index']} of "
            f"{proved['tree_size']})"
        )
    elif result["ok"]:
        typer.echo(f"ok: {result['events_checked']} events checked, every chain intact")
    if result["ok"]:
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
    sign: Annotated[
        str | None,
        typer.Option("--sign", help="Sign it with this private key (`ledger keygen`)"),
    ] = None,
) -> None:
    """Write one hash over every stream's head and a Merkle root over every event,
    to check the ledger (or one event of it) against later."""
    from agreement_ledger.ledger.verification import digest_bytes

    private_key = read_input(sign, "'--sign'") if sign is not None else None
    document = ledger_of(ctx).digest(private_key=private_key)
    if not document["verified"]:
        fail("the chains have problems (run `ledger verify`); no digest written", 1)
    write_output(out, digest_bytes(document))
    typer.echo(
        f"digest of {len(document['streams'])} streams, {document['events']} events: "
        f"{document['digest']}",
        err=out == "-",  # the digest itself is on stdout
    )


@app.command()
def keygen(
    path: Annotated[str, typer.Argument(metavar="FILE", help="Private key file to write")],
) -> None:
    """Make an Ed25519 key pair for signing digests: FILE (private, mode 0600) and FILE.pub.

    Example: ledger keygen office.key && ledger digest -o heads.json --sign office.key
    """
    from agreement_ledger.ledger.signing import keygen as make_keys

    target = Path(path)
    if target.exists():
        raise typer.BadParameter(f"{path} exists; a key is never overwritten", param_hint="FILE")
    try:
        public = make_keys(target)
    except OSError as error:
        raise typer.BadParameter(
            f"cannot write {path}: {error.strerror or error}", param_hint="FILE"
        ) from None
    typer.echo(
        f"private key {visible(path)} (keep it elsewhere), public key {visible(str(public))}"
    )


@app.command()
def prove(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    event_id: Annotated[str, typer.Argument(metavar="ID", help="The event's id")],
    out: Annotated[str, typer.Option("-o", "--output", help="Proof file to write (- for stdout)")],
    digest: Annotated[
        str | None,
        typer.Option("--digest", help="Prove it against this digest (its number of events)"),
    ] = None,
) -> None:
    """Write a proof that one event is in the ledger a digest describes, without the rest.

    Check it with `ledger verify --proof FILE --digest DIGEST` (no database needed).
    """
    tree_size = None
    if digest is not None:
        document = _json_file(digest, "--digest", obj=True)
        tree_size = document.get("events") if isinstance(document.get("events"), int) else None
        if tree_size is None:
            raise typer.BadParameter("not a ledger digest", param_hint="'--digest'")
    proof = ledger_of(ctx).prove(key, event_id, tree_size=tree_size)
    write_output(out, (to_json(proof, indent=2) + "\n").encode("utf-8"))
    if out != "-":
        typer.echo(
            f"proof of {visible(event_id)} (leaf {proof['leaf_index']} of "
            f"{proof['tree_size']}) written to {visible(out)}"
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
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> None:
    """Write a self-contained HTML report: state, timeline, flags, history, verification."""
    html = ledger_of(ctx).report(key, as_of, known_at)
    write_output(out, html.encode("utf-8"))
    if out != "-":
        typer.echo(f"report of {key} written to {visible(out)}")


@app.command()
def site(
    ctx: typer.Context,
    out: Annotated[
        str,
        typer.Option("-o", "--output", metavar="DIR", help="Folder to write the site into"),
    ],
    within: Within = "P90D",
) -> None:
    """Write the whole register as a static site: open DIR/index.html in a browser.

    The index shows what falls due, the verification and every agreement (search,
    sort and filter with no server); a page per agreement (its report), per party
    (what binds it today), the flags, and the digest. Nothing is fetched from the
    network. Pages of an earlier site in DIR are replaced; other files are left alone.

    Example: ledger site -o register-site
    """
    if out in ("", "-"):
        raise typer.BadParameter(
            "name a folder for the site (a site is many files: it cannot go to standard output)",
            param_hint="'-o'",
        )
    directory = Path(out)
    if directory.exists() and not directory.is_dir():
        raise typer.BadParameter(f"{visible(out)} is a file, not a folder", param_hint="'-o'")
    try:
        written = ledger_of(ctx).site(directory, within=within)
    except OSError as error:
        raise typer.BadParameter(
            f"cannot write the site into {visible(out)}: {visible(os_error_text(error))}",
            param_hint="'-o'",
        ) from None
    agreements, parties = written["agreements"], written["parties"]
    typer.echo(
        f"site of {agreements} agreement{'' if agreements == 1 else 's'} and {parties} "
        f"part{'y' if parties == 1 else 'ies'} written to {visible(str(directory / 'index.html'))}"
    )
