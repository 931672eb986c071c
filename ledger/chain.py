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

import msgspec

from agreement_ledger.ledger.vocabulary import Envelope, EventKind
from agreement_ledger.ledger.worldtime import as_utc_text

GENESIS = "0" * 64
UNHASHED_KEYS = frozenset({"seq", "hash", "corrected_by"})


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The canonical serialisation of a record (see module docstring).

    Written by ``msgspec`` (a twentieth of the cost) when the record holds only what
    it writes exactly as the standard library does: text, whole numbers within 64
    bits, booleans, null, lists and objects with text keys. A float (whose digits
    the two libraries write differently), a larger integer or a key of another type
    goes through the standard library, which defined the format: the bytes never
    depend on which.
    """
    return canonical_form(record)[0]


def canonical_form(record: dict[str, Any]) -> tuple[bytes, bool]:
    """``canonical_bytes``, and whether every value was one the fast encoder writes as
    the standard library does (what the bulk writer then need not ask again of the same
    values when it stores them)."""
    hashed = (
        record  # a chain record holds none of them: no copy
        if record.keys().isdisjoint(UNHASHED_KEYS)
        else {k: v for k, v in record.items() if k not in UNHASHED_KEYS}
    )
    if written_alike(hashed):
        try:
            return _SORTED.encode(hashed), True
        except (TypeError, ValueError, msgspec.EncodeError):
            pass
    return standard_canonical_bytes(hashed), False


def standard_canonical_bytes(record: dict[str, Any]) -> bytes:
    """The canonical serialisation by the standard library (the definition)."""
    return json.dumps(
        {k: v for k, v in record.items() if k not in UNHASHED_KEYS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


_SORTED = msgspec.json.Encoder(order="sorted")
"""The fast canonical encoder: keys sorted at every level, no white space, non-ASCII
text as itself (every character escaped as ``json.dumps`` escapes it: tested over all
of Unicode)."""
SMALLEST, LARGEST = -(2**63), 2**64 - 1
_TEXT_ONLY = frozenset({str})


def written_alike(record: Any, *, stamped: bool = False) -> bool:
    """Whether the fast encoder (``msgspec``) writes ``record`` byte for byte as
    ``json.dumps`` would. With ``stamped``, a stored state: its top-level ``timestamp``
    may be a date-time, which the caller writes as the library's transcoder does.

    Loops rather than recursion, and an object's text, booleans and whole numbers (most
    values) settled first: this runs for every event hashed, stored or read. A record's
    top-level keys are not looked at (the ledger's own and JSON's: text; the sorted
    encoder of the canonical form refuses any other); a stored state's are.
    """
    if type(record) is not dict:
        return _alike(record)
    if stamped:  # a stored state, not the hot path: its keys checked, its date-time set aside
        if not _TEXT_ONLY.issuperset(map(type, record)):
            return False
        if type(record.get("timestamp")) is datetime:
            record = {k: v for k, v in record.items() if k != "timestamp"}
    for value in record.values():
        kind = type(value)
        if kind is str or value is None or kind is bool:
            continue
        if kind is int:  # a version: settled here, without the walk's call
            if not SMALLEST <= value <= LARGEST:
                return False
        elif not _alike(value):
            return False
    return True


def _alike(value: Any) -> bool:
    stack: list[Any] = [value]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is str or value is None or kind is bool:
            continue
        if kind is int:
            if not SMALLEST <= value <= LARGEST:
                return False
        elif kind is dict:
            # ``json.dumps`` writes a key of another type as text but sorts it as itself
            if not _TEXT_ONLY.issuperset(map(type, value)):
                return False
            stack.extend(value.values())
        elif kind is list or kind is tuple:
            stack.extend(value)
        elif not isinstance(value, str):  # a text enumeration is text; anything else is not
            return False
    return True


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 over the canonical serialisation of ``record``."""
    return record_hash_alike(record)[0]


def record_hash_alike(record: dict[str, Any]) -> tuple[str, bool]:
    """``record_hash``, and whether the fast encoder wrote the record (``canonical_form``)."""
    canonical, alike = canonical_form(record)
    return hashlib.sha256(canonical).hexdigest(), alike


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


ENVELOPE_KEYS = (
    ("occurred", "occurred"),
    ("id", "event_id"),
    ("source", "source"),
    ("note", "note"),
    ("tz", "tz"),
)
"""The envelope's optional keys, and the stored attribute each is kept in."""


def record_of_state(kind: EventKind, state: Mapping[str, Any], version: int) -> dict[str, Any]:
    """The hashed record rebuilt from a stored event's state *as stored* (what verify checks).

    The same record as ``chain_record(envelope_of(kind, state), …)`` (a test holds the
    two equal on every event of the fixtures), built directly from the state: this
    runs for every event a verification reads.
    """
    timestamp = state["timestamp"]
    if not isinstance(timestamp, datetime):
        raise ValueError("timestamp is not a date-time")
    record: dict[str, Any] = {"agreement": state["agreement"], "type": kind}
    for key, attribute in ENVELOPE_KEYS:
        value = state[attribute]
        if value is not None:
            record[key] = value
    citation = state.get("citation")  # absent from events stored before version 2
    if citation is not None:
        record["citation"] = citation
    after = tuple(state["after"])  # as ``envelope_of`` reads it: a stored null fails alike
    if after:
        record["after"] = list(after)
    record.update(state["fields"])
    record["version"] = version
    record["recorded_at"] = as_utc_text(timestamp)
    record["recorded_by"] = state["recorded_by"]
    record["prev_hash"] = state["prev_hash"]
    return record
