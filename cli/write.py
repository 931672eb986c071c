"""Commands that append events: one typed command per core lifecycle step,
the generic ``append``, and ``import`` of JSON Lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.app import app
from cli.common import (
    After,
    EventId,
    Format,
    FormatOption,
    Note,
    Occurred,
    Source,
    Tz,
    actor_of,
    envelope_options,
    open_ledger,
    print_json,
)
from ledger.errors import InvalidField
from ledger.vocabulary import EVENT_TYPES, text

if TYPE_CHECKING:
    from ledger.application import AppendResult, Submission


def _append_one(ctx: typer.Context, raw: dict[str, Any]) -> None:
    from ledger.application import Submission

    ledger = open_ledger(ctx)
    result = ledger.append([Submission(raw)], actor=actor_of(ctx), ignore_ledger_keys=False)
    _report(result)


def _report(result: AppendResult) -> None:
    for event_id in result.appended:
        typer.echo(f"appended {event_id}")
    for event_id in result.skipped:
        typer.echo(f"skipped {event_id} (already recorded with identical content)")


def _pairs(option: str, values: list[str] | None) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        code, sep, rest = value.partition("=")
        if not sep or not code or not rest:
            raise typer.BadParameter(f"expected CODE=VALUE, got {value!r}", param_hint=option)
        pairs[code] = rest
    return pairs


@app.command()
def register(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key, e.g. tisa-2014")],
    title: Annotated[str, typer.Option("--title", help="Title of the agreement")],
    party: Annotated[
        list[str] | None, typer.Option("--party", help="Party code (repeatable)")
    ] = None,
    party_name: Annotated[
        list[str] | None, typer.Option("--party-name", help="CODE=NAME (repeatable)")
    ] = None,
    party_tz: Annotated[
        list[str] | None, typer.Option("--party-tz", help="CODE=IANA zone (repeatable)")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="treaty, agreement, mou, …")] = None,
    binding: Annotated[
        str | None, typer.Option("--binding", help="legal, political, unknown")
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open/--closed", help="Open to signature or accession")
    ] = False,
    depositary: Annotated[str | None, typer.Option("--depositary")] = None,
    requires_ratification: Annotated[
        list[str] | None,
        typer.Option("--requires-ratification", help="Party code whose ratification is required"),
    ] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option("--notify", help="PARTY:BODY[:WITHIN] required notification (repeatable)"),
    ] = None,
    notice_period: Annotated[
        str | None, typer.Option("--notice-period", help="ISO duration")
    ] = None,
    expires: Annotated[str | None, typer.Option("--expires", help="YYYY-MM-DD")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="The agreement's IANA zone")] = None,
    occurred: Annotated[str | None, typer.Option("--occurred")] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
) -> None:
    """Register a new agreement and its parties."""
    names = _pairs("--party-name", party_name)
    zones = _pairs("--party-tz", party_tz)
    parties = []
    for code in party or []:
        entry = {"code": code}
        if code in names:
            entry["name"] = names[code]
        if code in zones:
            entry["tz"] = zones[code]
        parties.append(entry)
    raw: dict[str, Any] = {"agreement": key, "type": "registered", "title": title, "open": open_}
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
    _append_one(ctx, raw)


def _requirement(value: str) -> dict[str, str]:
    parts = value.split(":", 2)
    if len(parts) < 2:
        raise typer.BadParameter(
            f"expected PARTY:BODY[:WITHIN], got {value!r}", param_hint="--notify"
        )
    requirement = {"party": parts[0], "body": parts[1]}
    if len(parts) == 3:
        requirement["within"] = parts[2]
    return requirement


@app.command()
def sign(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    party: Annotated[str, typer.Argument(help="Party code of the signer")],
    occurred: Occurred,
    signatory: Annotated[str | None, typer.Option("--signatory")] = None,
    capacity: Annotated[str | None, typer.Option("--capacity")] = None,
    place: Annotated[str | None, typer.Option("--place")] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record a party's signature."""
    raw = {"agreement": key, "type": "signed", "party": party}
    raw.update(_present(signatory=signatory, capacity=capacity, place=place))
    raw.update(envelope_options(occurred, event_id, source, note, after, tz))
    _append_one(ctx, raw)


@app.command()
def deliver(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    from_: Annotated[str, typer.Option("--from", help="Party that delivered")],
    to: Annotated[str, typer.Option("--to", help="Party or 'depositary' that received")],
    occurred: Occurred,
    instrument: Annotated[
        str | None, typer.Option("--instrument", help="default: memorandum")
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record delivery or exchange of the instrument."""
    raw: dict[str, Any] = {"agreement": key, "type": "delivered", "from": from_, "to": to}
    raw.update(_present(instrument=instrument))
    raw.update(envelope_options(occurred, event_id, source, note, after, tz))
    _append_one(ctx, raw)


@app.command()
def ratify(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    party: Annotated[str, typer.Argument(help="Party code")],
    occurred: Occurred,
    instrument: Annotated[
        str | None,
        typer.Option("--instrument", help="ratification, acceptance, approval, accession"),
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record a party's consent to be bound (ratification deposited)."""
    raw = {"agreement": key, "type": "ratified", "party": party}
    raw.update(_present(instrument=instrument))
    raw.update(envelope_options(occurred, event_id, source, note, after, tz))
    _append_one(ctx, raw)


@app.command("enter-into-force")
def enter_into_force(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    occurred: Occurred,
    party: Annotated[
        str | None, typer.Option("--party", help="Only for this party (open agreements)")
    ] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record entry into force, for the whole agreement or for one party."""
    raw = {"agreement": key, "type": "entered_into_force"}
    raw.update(_present(party=party))
    raw.update(envelope_options(occurred, event_id, source, note, after, tz))
    _append_one(ctx, raw)


@app.command()
def notify(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Agreement key")],
    party: Annotated[str, typer.Argument(help="Party whose body was notified")],
    body: Annotated[str, typer.Option("--body", help="The body notified, e.g. National Assembly")],
    occurred: Occurred,
    subject: Annotated[str | None, typer.Option("--subject")] = None,
    event_id: EventId = None,
    source: Source = None,
    note: Note = None,
    after: After = None,
    tz: Tz = None,
) -> None:
    """Record that a parliament or other body was notified."""
    raw = {"agreement": key, "type": "notified", "party": party, "body": body}
    raw.update(_present(subject=subject))
    raw.update(envelope_options(occurred, event_id, source, note, after, tz))
    _append_one(ctx, raw)


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
    """Append an event of any type."""
    if field and json_:
        raise typer.BadParameter("give either --field or --json, not both")
    raw: dict[str, Any] = {}
    if json_ is not None:
        try:
            raw = json.loads(json_)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"not valid JSON: {exc}", param_hint="--json") from None
        if not isinstance(raw, dict):
            raise typer.BadParameter("must be a JSON object", param_hint="--json")
    for item in field or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected k=v, got {item!r}", param_hint="--field")
        _add_field(raw, event_type, name, value)
    for name, given in (("agreement", key), ("type", event_type)):
        if raw.get(name, given) != given:
            raise typer.BadParameter(f"{name} {raw[name]!r} in --json disagrees with {given!r}")
    raw.update(agreement=key, type=event_type)
    _append_one(ctx, raw)


TEXT_FIELDS = {"occurred", "id", "source", "note", "tz"}


def _add_field(raw: dict[str, Any], event_type: str, name: str, value: str) -> None:
    """Add ``--field name=value``: text fields as written, others read as JSON."""
    if name == "after":
        raw.setdefault("after", []).extend(v for v in value.split(",") if v)
        return
    spec = EVENT_TYPES.get(event_type)
    field_spec = spec.by_name.get(name) if spec else None
    if name in TEXT_FIELDS or (field_spec is not None and field_spec.normalise is text):
        raw[name] = value
        return
    try:
        raw[name] = json.loads(value)
    except json.JSONDecodeError:
        raw[name] = value  # a bare word such as a party code or an enum value


def _present(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE|-", help="JSON Lines file, or - for stdin")],
    output: FormatOption = Format.table,
) -> None:
    """Import a JSON Lines file of events: all or nothing, idempotent by id."""
    submissions = list(_read_lines(file))
    ledger = open_ledger(ctx)
    result = ledger.append(submissions, actor=actor_of(ctx))
    if output is Format.json:
        print_json({"appended": len(result.appended), "skipped": len(result.skipped)})
    else:
        typer.echo(f"appended {len(result.appended)}, skipped {len(result.skipped)}")


def _read_lines(file: str) -> list[Submission]:
    from ledger.application import Submission

    if file == "-":
        lines = sys.stdin.read().splitlines()
    else:
        path = Path(file)
        if not path.is_file():
            raise typer.BadParameter(f"no such file: {file}", param_hint="FILE")
        lines = path.read_text(encoding="utf-8").splitlines()
    submissions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidField(
                f"not valid JSON: {exc.msg} at column {exc.colno}", where=where
            ) from None
        submissions.append(Submission(raw, where=where))
    return submissions
