"""``ledger append KEY TYPE --field NAME=VALUE ...`` read into an event.

Without Typer, so that the lean append (``cli.quick``) reads a command exactly as
the full command does; the full command turns a ``FieldProblem`` into a usage error.
"""

from __future__ import annotations

from typing import Any

from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.ledger.text import read_json
from agreement_ledger.ledger.vocabulary import EVENT_TYPES, text

TEXT_FIELDS = {"occurred", "id", "source", "note", "tz"}


class FieldProblem(Exception):
    """A ``--field`` that is not ``NAME=VALUE``, or fields that contradict the command."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def event_of(
    key: str, event_type: str, items: list[str], given: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The event ``append KEY TYPE`` describes: the fields ``given`` (``--json``), then
    each ``--field`` item, then the agreement and type of the command."""
    raw = dict(given or {})
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise FieldProblem(f"expected k=v, got {item!r}", hint="--field")
        add_field(raw, event_type, name, value)
    for name, named in (("agreement", key), ("type", event_type)):
        if raw.get(name, named) != named:
            raise FieldProblem(f"{name} {raw[name]!r} in --json disagrees with {named!r}")
    raw.update(agreement=key, type=event_type)
    return raw


def add_field(raw: dict[str, Any], event_type: str, name: str, value: str) -> None:
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
        raw[name] = read_json(value, storable=False)
    except Rejected:
        raw[name] = value  # a bare word such as a party code or an enum value
