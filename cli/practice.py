"""Typed commands for treaty practice: accession, succession, statements, provisional
application and withdrawal. Each builds one event of the vocabulary and appends it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agreement_ledger.cli.app import app
from agreement_ledger.cli.common import (
    After,
    EventId,
    Note,
    Occurred,
    Source,
    Tz,
    choice_of,
    date_value,
    envelope_options,
    id_value,
    metavar_of,
    party_value,
    text_value,
    zone_value,
)
from agreement_ledger.cli.write import append_one
from agreement_ledger.ledger.vocabulary import (
    STATEMENT_KINDS,
    STATEMENT_TIMES,
    SUCCESSION_KINDS,
    EventKind,
)

Key = Annotated[str, typer.Argument(help="Agreement key")]
Party = Annotated[str, typer.Argument(parser=party_value, help="Party code")]
Effective = Annotated[
    str, typer.Option("--effective", parser=date_value, help="YYYY-MM-DD it takes effect")
]
Name = Annotated[str | None, typer.Option("--name", parser=text_value, help="The party's name")]
PartyZone = Annotated[
    str | None, typer.Option("--party-tz", parser=zone_value, help="The party's IANA zone")
]


def _append(
    ctx: typer.Context,
    key: str,
    kind: EventKind,
    fields: dict[str, Any],
    envelope: dict[str, Any],
) -> None:
    raw = {"agreement": key, "type": kind}
    raw.update({name: value for name, value in fields.items() if value is not None})
    raw.update(envelope)
    append_one(ctx, raw)


def _joining(code: str, name: str | None, zone: str | None) -> dict[str, str]:
    party = {"code": code}
    if name:
        party["name"] = name
    if zone:
        party["tz"] = zone
    return party


@app.command("add-party")
def add_party(
    ctx: typer.Context,
    key: Key,
    party: Party,
    occurred: Occurred,
    name: Name = None,
    party_tz: PartyZone = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Add a party to the agreement (accession to a multilateral treaty).

    Example: ledger add-party paris-2015 PS --name "State of Palestine" --occurred 2016-04-22
    """
    fields = {"party": _joining(party, name, party_tz)}
    _append(
        ctx,
        key,
        EventKind.PARTY_ADDED,
        fields,
        envelope_options(occurred, event_id, source, note, after, tz),
    )


@app.command()
def succeed(
    ctx: typer.Context,
    key: Key,
    successor: Annotated[str, typer.Argument(parser=party_value, help="The successor state")],
    predecessor: Annotated[
        str, typer.Option("--predecessor", parser=party_value, help="The state succeeded to")
    ],
    effective: Effective,
    occurred: Occurred,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            parser=choice_of(SUCCESSION_KINDS),
            metavar=metavar_of(SUCCESSION_KINDS),
            help="Succession, or continuation of the same state [default: succession]",
        ),
    ] = None,
    name: Name = None,
    party_tz: PartyZone = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record a succession of states: --occurred is the notification, --effective its date.

    Example: ledger succeed npt-1968 CZ --predecessor CS --effective 1993-01-01
    --occurred 1993-01-01
    """
    fields = {
        "party": _joining(successor, name, party_tz),
        "predecessor": predecessor,
        "effective": effective,
        "kind": kind,
    }
    envelope = envelope_options(occurred, event_id, source, note, after, tz)
    _append(ctx, key, EventKind.SUCCEEDED, fields, envelope)


@app.command()
def state(
    ctx: typer.Context,
    key: Key,
    party: Party,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            parser=choice_of(STATEMENT_KINDS),
            metavar=metavar_of(STATEMENT_KINDS),
            help="What kind of statement",
        ),
    ],
    text: Annotated[str, typer.Option("--text", parser=text_value, help="Its text")],
    occurred: Occurred,
    objects_to: Annotated[
        str | None,
        typer.Option("--objects-to", parser=id_value, help="For an objection: the statement's id"),
    ] = None,
    made_at: Annotated[
        str | None,
        typer.Option(
            "--made-at",
            parser=choice_of(STATEMENT_TIMES),
            metavar=metavar_of(STATEMENT_TIMES),
            help="When it was made",
        ),
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record a reservation, declaration or objection.

    Example: ledger state iccpr-1966 US --kind reservation --text "…" --made-at consent
    --occurred 1992-06-08
    """
    fields = {
        "party": party,
        "kind": kind,
        "text": text,
        "objects_to": objects_to,
        "made_at": made_at,
    }
    envelope = envelope_options(occurred, event_id, source, note, after, tz)
    _append(ctx, key, EventKind.STATEMENT_MADE, fields, envelope)


@app.command("withdraw-statement")
def withdraw_statement(
    ctx: typer.Context,
    key: Key,
    party: Party,
    target: Annotated[str, typer.Argument(parser=id_value, help="Id of the statement")],
    occurred: Occurred,
    effective: Annotated[
        str | None,
        typer.Option("--effective", parser=date_value, help="YYYY-MM-DD it takes effect"),
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Withdraw a reservation or objection of the party.

    Example: ledger withdraw-statement cedaw-1979 FR fr-res-9 --occurred 1986-03-26
    """
    fields = {"party": party, "target": target, "effective": effective}
    envelope = envelope_options(occurred, event_id, source, note, after, tz)
    _append(ctx, key, EventKind.STATEMENT_WITHDRAWN, fields, envelope)


@app.command("apply-provisionally")
def apply_provisionally(
    ctx: typer.Context,
    key: Key,
    occurred: Occurred,
    party: Annotated[
        str | None,
        typer.Option(
            "--party", parser=party_value, help="Only this party [default: every signatory]"
        ),
    ] = None,
    effective: Annotated[
        str | None,
        typer.Option(
            "--effective", parser=date_value, help="YYYY-MM-DD it begins [default: --occurred]"
        ),
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record that provisional application began.

    Example: ledger apply-provisionally ect-1994 --party RU --occurred 1994-12-17
    """
    fields = {"party": party, "effective": effective}
    envelope = envelope_options(occurred, event_id, source, note, after, tz)
    _append(ctx, key, EventKind.PROVISIONALLY_APPLIED, fields, envelope)


@app.command("end-provisional-application")
def end_provisional_application(
    ctx: typer.Context,
    key: Key,
    party: Party,
    effective: Effective,
    occurred: Occurred,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record a party's notice ending its provisional application.

    Example: ledger end-provisional-application ect-1994 RU --effective 2009-10-19
    --occurred 2009-08-20
    """
    fields = {"party": party, "effective": effective}
    envelope = envelope_options(occurred, event_id, source, note, after, tz)
    _append(ctx, key, EventKind.PROVISIONAL_APPLICATION_TERMINATED, fields, envelope)


@app.command()
def withdraw(
    ctx: typer.Context,
    key: Key,
    party: Party,
    effective: Effective,
    occurred: Occurred,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record a party's notice of withdrawal (termination), effective on a date.

    Example: ledger withdraw open-skies-1992 US --effective 2020-11-22 --occurred 2020-05-22
    """
    fields = {"party": party, "effective": effective}
    envelope = envelope_options(occurred, event_id, source, note, after, tz)
    _append(ctx, key, EventKind.TERMINATION_NOTIFIED, fields, envelope)
