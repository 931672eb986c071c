"""``ledger append``'s ``--field NAME=VALUE`` read into an event's fields.

Without Typer, so that the lean append (``cli.quick``) reads a field exactly as the
full command does.
"""

from __future__ import annotations

from typing import Any

from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.ledger.text import read_json
from agreement_ledger.ledger.vocabulary import EVENT_TYPES, text

TEXT_FIELDS = {"occurred", "id", "source", "note", "tz"}


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
