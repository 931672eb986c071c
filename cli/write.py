"""Commands that append events: one typed command per core lifecycle step,
the generic ``append``, and ``import`` of JSON Lines."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agreement_ledger.cli.app import app
from agreement_ledger.cli.common import (
    After,
    EventId,
    FormatOption,
    Note,
    Occurred,
    Source,
    Tz,
    choice_of,
    date_value,
    duration_value,
    envelope_options,
    ledger_of,
    metavar_of,
    occurred_value,
    open_input,
    party_value,
    read_input,
    text_value,
    zone_value,
)
from agreement_ledger.cli.fields import FieldProblem, event_of
from agreement_ledger.cli.output import print_json
from agreement_ledger.cli.render import Format
from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.ledger.text import decode_utf8, read_json, visible
from agreement_ledger.ledger.vocabulary import (
    BINDINGS,
    INSTRUMENTS,
    KINDS,
    NOTIFICATION_SUBJECTS,
    EventKind,
)

if TYPE_CHECKING:
    from agreement_ledger.ledger.application import AppendResult


def append_one(ctx: typer.Context, raw: dict[str, Any]) -> None:
    from agreement_ledger.ledger.application import Submission

    result = ledger_of(ctx).submit([Submission(raw)], ignore_ledger_keys=False)
    _report(result)


def _report(result: AppendResult) -> None:
    for event_id in result.appended:
        typer.echo(f"appended {visible(event_id)}")
    for event_id in result.skipped:
        typer.echo(f"skipped {visible(event_id)} (already recorded with identical content)")


def _pairs(option: str, values: list[str] | None, check: Any = text_value) -> dict[str, str]:
    """``CODE=VALUE`` options; a malformed pair or value is a usage error naming ``option``."""
    pairs: dict[str, str] = {}
    for value in values or []:
        code, sep, rest = value.partition("=")
        if not sep or not code or not rest:
            raise typer.BadParameter(
                f"expected CODE=VALUE, got {value!r}", param_hint=f"'{option}'"
            )
        try:
            party_value(code)
            check(rest)
        except typer.BadParameter as error:
            raise typer.BadParameter(error.message, param_hint=f"'{option}'") from None
        pairs[code] = rest
    return pairs


@app.command()
def register(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key, e.g. tisa-2014")],
    title: Annotated[str, typer.Option("--title", help="Title of the agreement")],
    party: Annotated[
        list[str] | None,
        typer.Option("--party", parser=party_value, help="Party code (repeatable)"),
    ] = None,
    party_name: Annotated[
        list[str] | None, typer.Option("--party-name", help="CODE=NAME (repeatable)")
    ] = None,
    party_tz: Annotated[
        list[str] | None, typer.Option("--party-tz", help="CODE=IANA zone (repeatable)")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            parser=choice_of(KINDS),
            metavar=metavar_of(KINDS),
            help="What kind of instrument",
        ),
    ] = None,
    binding: Annotated[
        str | None,
        typer.Option(
            "--binding",
            parser=choice_of(BINDINGS),
            metavar=metavar_of(BINDINGS),
            help="Legally or only politically binding",
        ),
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open/--closed", help="Open to signature or accession")
    ] = False,
    depositary: Annotated[
        str | None,
        typer.Option("--depositary", parser=text_value, help="Who keeps the instruments"),
    ] = None,
    requires_ratification: Annotated[
        list[str] | None,
        typer.Option(
            "--requires-ratification",
            parser=party_value,
            help="Party code whose ratification is required",
        ),
    ] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option("--notify", help="PARTY:BODY[:WITHIN] required notification (repeatable)"),
    ] = None,
    notice_period: Annotated[
        str | None,
        typer.Option("--notice-period", parser=duration_value, help="ISO duration, e.g. P6M"),
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", parser=date_value, help="YYYY-MM-DD")
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", parser=zone_value, help="The agreement's IANA zone")
    ] = None,
    occurred: Annotated[
        str | None,
        typer.Option("--occurred", parser=occurred_value, help="When it was registered"),
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
) -> None:
    """Register a new agreement and its parties.

    Example: ledger register tisa-2014 --title "Trilateral pact" --party KR --party US
    --party JP --tz Asia/Seoul --kind mou --binding political
    """
    names = _pairs("--party-name", party_name)
    zones = _pairs("--party-tz", party_tz, zone_value)
    for option, given in (("--party-name", names), ("--party-tz", zones)):
        for code in given:
            if code not in (party or []):
                raise typer.BadParameter(
                    f"{code!r} is not one of the parties given with --party",
                    param_hint=f"'{option}'",
                )
    parties = []
    for code in party or []:
        entry = {"code": code}
        if code in names:
            entry["name"] = names[code]
        if code in zones:
            entry["tz"] = zones[code]
        parties.append(entry)
    raw: dict[str, Any] = {
        "agreement": key,
        "type": EventKind.REGISTERED,
        "title": title,
        "open": open_,
    }
    raw["parties"] = parties
    optional = {
        "kind": kind,
        "binding": binding,
        "depositary": depositary,
        "requires_ratification": requires_ratification or None,
        "notify": [_requirement(n) for n in notify] if notify else None,
        "notice_period": notice_period,
        "expires": expires,
        "tz": tz,
    }
    raw.update({k: v for k, v in optional.items() if v is not None})
    raw.update(envelope_options(occurred, event_id, source, note, None, None))
    append_one(ctx, raw)


def _requirement(value: str) -> dict[str, str]:
    """``PARTY:BODY[:WITHIN]``; the body may hold colons, WITHIN is the part after the last."""
    party, sep, rest = value.partition(":")
    if not sep or not rest:
        raise typer.BadParameter(
            f"expected PARTY:BODY[:WITHIN], got {value!r}", param_hint="'--notify'"
        )
    body, within = rest, None
    head, sep, tail = rest.rpartition(":")
    if sep and re.fullmatch(r"[-+]?P[0-9.,YMWDTHS]*", tail):
        body, within = head, tail
    try:
        party_value(party)
        text_value(body)
        if within is not None:
            duration_value(within)
    except typer.BadParameter as error:
        raise typer.BadParameter(error.message, param_hint="'--notify'") from None
    requirement = {"party": party, "body": body}
    if within is not None:
        requirement["within"] = within
    return requirement


@app.command()
def sign(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    party: Annotated[str, typer.Argument(parser=party_value, help="Party code of the signer")],
    occurred: Occurred,
    signatory: Annotated[
        str | None, typer.Option("--signatory", parser=text_value, help="Who signed")
    ] = None,
    capacity: Annotated[
        str | None, typer.Option("--capacity", parser=text_value, help="In what capacity")
    ] = None,
    place: Annotated[
        str | None, typer.Option("--place", parser=text_value, help="Where it was signed")
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record a party's signature.

    Example: ledger sign tisa-2014 US --occurred 2014-12-23 --signatory "Robert Work"
    """
    raw = {"agreement": key, "type": EventKind.SIGNED, "party": party}
    raw.update(_present(signatory=signatory, capacity=capacity, place=place))
    raw.update(envelope_options(occurred, event_id, source, note, after, tz))
    append_one(ctx, raw)


@app.command()
def deliver(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    from_: Annotated[str, typer.Option("--from", parser=party_value, help="Party that delivered")],
    to: Annotated[
        str,
        typer.Option(
            "--to", parser=_party_or_depositary, help="Party or 'depositary' that received"
        ),
    ],
    occurred: Occurred,
    instrument: Annotated[
        str | None,
        typer.Option(
            "--instrument", parser=text_value, help="What was delivered [default: memorandum]"
        ),
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record delivery or exchange of the instrument.

    Example: ledger deliver tisa-2014 --from KR --to US --occurred 2014-12-29 --id delivered
    """
    raw: dict[str, Any] = {"agreement": key, "type": EventKind.DELIVERED, "from": from_, "to": to}
    raw.update(_present(instrument=instrument))
    raw.update(envelope_options(occurred, event_id, source, note, after, tz))
    append_one(ctx, raw)


@app.command()
def ratify(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    party: Annotated[str, typer.Argument(parser=party_value, help="Party code")],
    occurred: Occurred,
    instrument: Annotated[
        str | None,
        typer.Option(
            "--instrument",
            parser=choice_of(INSTRUMENTS),
            metavar=metavar_of(INSTRUMENTS),
            help="The instrument of consent [default: ratification]",
        ),
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record a party's consent to be bound (ratification deposited).

    Example: ledger ratify paris-2015 FR --occurred 2016-10-05 --instrument approval
    """
    raw = {"agreement": key, "type": EventKind.RATIFIED, "party": party}
    raw.update(_present(instrument=instrument))
    raw.update(envelope_options(occurred, event_id, source, note, after, tz))
    append_one(ctx, raw)


@app.command("enter-into-force")
def enter_into_force(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    occurred: Occurred,
    party: Annotated[
        str | None,
        typer.Option("--party", parser=party_value, help="Only for this party (open agreements)"),
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record entry into force, for the whole agreement or for one party.

    Example: ledger enter-into-force tisa-2014 --occurred 2014-12-29 --after delivered
    """
    raw = {"agreement": key, "type": EventKind.ENTERED_INTO_FORCE}
    raw.update(_present(party=party))
    raw.update(envelope_options(occurred, event_id, source, note, after, tz))
    append_one(ctx, raw)


@app.command()
def notify(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    party: Annotated[str, typer.Argument(parser=party_value, help="Party whose body was notified")],
    body: Annotated[
        str,
        typer.Option("--body", parser=text_value, help="The body notified, e.g. National Assembly"),
    ],
    occurred: Occurred,
    subject: Annotated[
        str | None,
        typer.Option("--subject", parser=text_value, help="What the notification said"),
    ] = None,
    about: Annotated[
        str | None,
        typer.Option(
            "--about",
            parser=choice_of(NOTIFICATION_SUBJECTS),
            metavar=metavar_of(NOTIFICATION_SUBJECTS),
            help="Which step it concerns [default: conclusion]",
        ),
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record that a parliament or other body was notified.

    Example: ledger notify tisa-2014 KR --body "National Assembly" --occurred 2014-12-29
    """
    raw = {"agreement": key, "type": EventKind.NOTIFIED, "party": party, "body": body}
    raw.update(_present(subject=subject, about=about))
    raw.update(envelope_options(occurred, event_id, source, note, after, tz))
    append_one(ctx, raw)


@app.command()
def append(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    event_type: Annotated[
        str, typer.Argument(metavar="TYPE", help="Any event type of the vocabulary")
    ],
    field: Annotated[
        list[str] | None,
        typer.Option("--field", help="k=v (repeatable); non-text values are read as JSON"),
    ] = None,
    json_: Annotated[
        str | None, typer.Option("--json", help="The event's fields as a JSON object")
    ] = None,
) -> None:
    """Append an event of any type (`ledger types` lists them and their fields).

    Example: ledger append tisa-2014 noted --field text="talks resume" --field occurred=2015-03
    """
    if field and json_:
        raise typer.BadParameter("give either --field or --json, not both")
    raw: dict[str, Any] = {}
    if json_ is not None:
        try:
            given = decode_utf8(sys.stdin.buffer.read()) if json_ == "-" else json_
            raw = read_json(given, storable=False)  # what it says is the event's to check
        except Rejected as error:
            raise typer.BadParameter(error.reason, param_hint="'--json'") from None
        if not isinstance(raw, dict):
            raise typer.BadParameter("must be a JSON object", param_hint="'--json'")
    try:
        raw = event_of(key, event_type, field or [], raw)
    except FieldProblem as problem:
        raise typer.BadParameter(problem.message, param_hint=problem.hint) from None
    append_one(ctx, raw)


def _party_or_depositary(value: str) -> str:
    return value if value == "depositary" else party_value(value)


def _present(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="JSON Lines file, or - for stdin")],
    restore: Annotated[
        bool,
        typer.Option(
            "--restore",
            help="Load an export into an empty ledger keeping ids, recording times, "
            "recorders and hashes (a backup's provenance); a broken chain exits 1",
        ),
    ] = False,
    output: FormatOption = Format.table,
) -> None:
    """Import a JSON Lines file of events: all or nothing, idempotent by id.

    Example: ledger import events.jsonl (and a backup made by `ledger export`:
    ledger --db copy.db import --restore backup.jsonl)
    """
    if restore:
        restored = ledger_of(ctx).restore(read_input(file))
        if output is Format.json:
            print_json({"restored": restored})
        else:
            typer.echo(f"restored {restored} events with their provenance")
        return
    with open_input(file) as events:
        result = ledger_of(ctx).import_file(events)
    counts = {"appended": len(result["appended"]), "skipped": len(result["skipped"])}
    if output is Format.json:
        print_json(counts)
    else:
        typer.echo(f"appended {counts['appended']}, skipped {counts['skipped']}")
