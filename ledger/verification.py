"""Checking the hash chains, and digests of the stream heads.

``verify`` walks stored rows ordered by stream and version, one at a time (its
memory does not grow with the ledger), rebuilds each event's record from the
state *as stored* (no upcasting, so schema evolution cannot disturb it), and
checks: the version sequence, the hash of the content, the link to the
previous event, and that the event belongs to the stream it is stored in.

A digest is one hash over every stream's head (agreement, version, hash) and
the event count. Verifying against a digest also catches what a chain alone
cannot: a stream whose tail was cut off or rewritten since the digest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agreement_ledger.ledger.chain import GENESIS, record_hash, record_of_state
from agreement_ledger.ledger.domain import agreement_id, event_class_of

DIGEST_FORMAT = "agreement-ledger-digest/1"


@dataclass(frozen=True)
class StoredRow:
    """One row of the event table, as the database holds it."""

    originator_id: UUID | bytes  # bytes: a damaged id that is no UUID
    version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class Problem:
    agreement: str
    version: int | None
    problem: str

    def as_json(self) -> dict[str, Any]:
        return {"agreement": self.agreement, "version": self.version, "problem": self.problem}


@dataclass
class Verification:
    events_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "problems": [p.as_json() for p in self.problems],
        }


Decode = Callable[[bytes], dict[str, Any]]


def record_of(topic: str, state: dict[str, Any], version: int) -> dict[str, Any]:
    """The hashed record of a stored row; only the ledger's own topics are resolved."""
    event_class = event_class_of(topic)
    if event_class is None:
        raise ValueError(f"topic {topic!r} is not an agreement event")
    return record_of_state(event_class.TYPE, state, version)


@dataclass
class _Stream:
    """What verification remembers of the stream it is walking: nothing more."""

    originator_id: UUID | bytes
    key: str | None = None
    last_version: int = 0
    last_hash: str | None = GENESIS
    hashes_wanted: dict[int, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.key or f"stream {stream_label(self.originator_id)}"


def verify(
    rows: Iterable[StoredRow], decode: Decode, digest: dict[str, Any] | None = None
) -> Verification:
    """Check every chain in ``rows`` (ordered by stream, then version)."""
    result = Verification()
    wanted = _digest_heads(digest, result) if digest is not None else {}
    stream: _Stream | None = None
    for row in rows:
        if stream is None or row.originator_id != stream.originator_id:
            if stream is not None:
                _finish(stream, result, wanted)
            stream = _Stream(row.originator_id)
        result.events_checked += 1
        _check_row(stream, row, decode, result, wanted)
    if stream is not None:
        _finish(stream, result, wanted)
    for key, (version, _hash) in sorted(wanted.items()):
        if digest is not None and key not in result.heads:
            result.problems.append(
                Problem(key, version, "stream missing: the digest recorded it, the ledger has none")
            )
    return result


def _check_row(
    stream: _Stream,
    row: StoredRow,
    decode: Decode,
    result: Verification,
    wanted: dict[str, tuple[int, str]],
) -> None:
    def problem(text: str) -> None:
        result.problems.append(Problem(stream.name, row.version, text))

    if not isinstance(row.originator_id, UUID):
        problem("the stored stream id is damaged (not a UUID)")
    expected = stream.last_version + 1
    if row.version != expected:
        problem(f"missing event(s): expected version {expected}, found {row.version}")
    stream.last_version = row.version
    try:
        state = decode(row.state)
        record = record_of(row.topic, state, row.version)
    except Exception as error:
        problem(f"stored event cannot be decoded ({type(error).__name__}: {error})")
        stream.last_hash = None
        return
    if stream.key is None:
        stream.key = record["agreement"]
        if isinstance(row.originator_id, UUID) and agreement_id(stream.key) != row.originator_id:
            problem(f"event of {stream.key!r} stored in another agreement's stream (forged)")
    elif record["agreement"] != stream.key:
        problem(f"event names agreement {record['agreement']!r} (forged or moved)")
    stored_hash = state.get("hash")
    if record_hash(record) != stored_hash:
        problem("content does not match its hash (edited or forged)")
    if stream.last_hash is not None and record["prev_hash"] != stream.last_hash:
        problem("does not follow the previous event (deleted, inserted or reordered)")
    stream.last_hash = stored_hash
    head = wanted.get(stream.key)
    if head is not None and head[0] == row.version:
        stream.hashes_wanted[row.version] = str(stored_hash)


def _finish(stream: _Stream, result: Verification, wanted: dict[str, tuple[int, str]]) -> None:
    key = stream.name
    result.heads[key] = (stream.last_version, stream.last_hash or "")
    head = wanted.get(key)
    if head is None:
        return
    version, head_hash = head
    if stream.last_version < version:
        result.problems.append(
            Problem(
                key,
                stream.last_version,
                f"stream truncated: the digest recorded version {version}, "
                f"the ledger holds {stream.last_version}",
            )
        )
    elif stream.hashes_wanted.get(version) != head_hash:
        result.problems.append(
            Problem(key, version, "stream rewritten since the digest: head hash differs")
        )


def _digest_heads(digest: dict[str, Any], result: Verification) -> dict[str, tuple[int, str]]:
    try:
        streams = digest["streams"]
        expected = digest_hash(streams, digest["events"])
        heads = {_text(s["agreement"]): (int(s["version"]), _text(s["hash"])) for s in streams}
    except (KeyError, TypeError, ValueError, OverflowError):
        result.problems.append(Problem("(digest)", None, "the digest file is not a ledger digest"))
        return {}
    if digest.get("format") != DIGEST_FORMAT or digest.get("digest") != expected:
        result.problems.append(
            Problem("(digest)", None, "the digest file does not match its own hash (altered)")
        )
    return heads


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def digest_hash(streams: list[dict[str, Any]], events: int) -> str:
    return record_hash({"streams": streams, "events": events})


def make_digest(heads: dict[str, tuple[int, str]], events: int, created_at: str) -> dict[str, Any]:
    """A digest document of the given stream heads."""
    streams = [
        {"agreement": key, "version": version, "hash": head_hash}
        for key, (version, head_hash) in sorted(heads.items())
    ]
    return {
        "format": DIGEST_FORMAT,
        "created_at": created_at,
        "events": events,
        "streams": streams,
        "digest": digest_hash(streams, events),
    }


def digest_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def iterate(rows: Iterable[Any]) -> Iterator[StoredRow]:
    """Adapt database rows to ``StoredRow``; a stream id read as bytes becomes a UUID."""
    for row in rows:
        yield StoredRow(
            _stream_id(row.originator_id), row.originator_version, row.topic, bytes(row.state)
        )


def stream_label(originator_id: UUID | bytes) -> str:
    """A stream id as text: the UUID, or the hex of damaged bytes."""
    return originator_id.hex() if isinstance(originator_id, bytes) else str(originator_id)


def _stream_id(value: Any) -> UUID | bytes:
    """The stored stream id; bytes that are not a UUID stay bytes, for ``verify`` to report."""
    if isinstance(value, UUID):
        return value
    raw = bytes(value)
    return UUID(bytes=raw) if len(raw) == 16 else raw
