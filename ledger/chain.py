"""The hash chain that makes each agreement's stream tamper-evident.

Every stored event carries ``prev_hash`` (the ``hash`` of the event before it in
the same stream; ``GENESIS`` for ``registered``) and its own ``hash``: the
SHA-256 hex digest of the canonical serialisation of its record, which is the
event as ``export`` writes it without ``seq`` (assigned by the store at insert),
``hash`` itself and ``corrected_by`` (known only later).

Canonical serialisation: JSON with keys sorted, no insignificant white space
(separators ``,`` and ``:``), non-ASCII characters written as themselves,
encoded as UTF-8. ``recorded_at`` is ISO-8601 UTC with microseconds and ``Z``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agreement_ledger.ledger.vocabulary import Envelope, EventKind
from agreement_ledger.ledger.worldtime import as_utc_text

GENESIS = "0" * 64
UNHASHED_KEYS = frozenset({"seq", "hash", "corrected_by"})


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The canonical serialisation of a record (see module docstring)."""
    return json.dumps(
        {k: v for k, v in record.items() if k not in UNHASHED_KEYS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 over the canonical serialisation of ``record``."""
    return hashlib.sha256(canonical_bytes(record)).hexdigest()


def chain_record(
    envelope: Envelope, version: int, recorded_at: datetime, recorded_by: str, prev_hash: str
) -> dict[str, Any]:
    """The hashed part of an event's record: its envelope and the ledger's own fields."""
    record = envelope.content()
    record.update(
        version=version,
        recorded_at=as_utc_text(recorded_at),
        recorded_by=recorded_by,
        prev_hash=prev_hash,
    )
    return record


def envelope_of(kind: EventKind, state: Mapping[str, Any]) -> Envelope:
    """The envelope held in a stored event's state (or a decoded event's attributes)."""
    return Envelope(
        agreement=state["agreement"],
        type=kind,
        fields=state["fields"],
        occurred=state["occurred"],
        id=state["event_id"],
        source=state["source"],
        note=state["note"],
        after=tuple(state["after"]),
        tz=state["tz"],
        citation=state.get("citation"),  # absent from events stored before version 2
    )


def record_of_state(kind: EventKind, state: Mapping[str, Any], version: int) -> dict[str, Any]:
    """The hashed record rebuilt from a stored event's state *as stored* (what verify checks)."""
    timestamp = state["timestamp"]
    if not isinstance(timestamp, datetime):
        raise ValueError("timestamp is not a date-time")
    return chain_record(
        envelope_of(kind, state), version, timestamp, state["recorded_by"], state["prev_hash"]
    )
