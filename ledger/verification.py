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
from typing import Any, NamedTuple
from uuid import UUID

from agreement_ledger.ledger import merkle
from agreement_ledger.ledger.chain import GENESIS, record_hash, record_of_state
from agreement_ledger.ledger.domain import agreement_id, event_class_of

DIGEST_FORMAT = "agreement-ledger-digest/2"
DIGEST_FORMATS = ("agreement-ledger-digest/1", DIGEST_FORMAT)
"""Format 2 adds ``merkle_root`` (over every event's hash in recording order) to what the
digest's own hash covers; format 1 digests are still read."""


class StoredRow(NamedTuple):
    """One row of the event table, as the database holds it (a tuple: one is made per
    event verified, and a frozen dataclass costs several times as much to make)."""

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
    proved: dict[str, Any] | None = None  # the event an inclusion proof is about

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        result = {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "problems": [p.as_json() for p in self.problems],
        }
        if self.proved is not None:
            result["proved"] = self.proved
        return result


Decode = Callable[[bytes], dict[str, Any]]


def record_of(topic: str, state: dict[str, Any], version: int) -> dict[str, Any]:
    """The hashed record of a stored row; only the ledger's own topics are resolved."""
    event_class = event_class_of(topic)
    if event_class is None:
        raise ValueError(f"topic {topic!r} is not an agreement event")
    return record_of_state(event_class.TYPE, state, version)


class Link(NamedTuple):
    """One event as the chain check sees it, wherever it was read from (a tuple, as
    ``StoredRow``).

    ``stream`` groups a stream's events (a stored stream id, or an agreement key
    in an export); ``problems`` are what reading this one event already found.
    """

    stream: object
    version: int
    agreement: str | None  # None: the event could not be read
    prev_hash: str | None
    hash: str | None
    problems: tuple[str, ...] = ()
    label: str | None = None  # how to name the stream while its agreement is unknown
    kind: str | None = None  # the event's type, where it could be read


@dataclass
class _Stream:
    """What verification remembers of the stream it is walking: nothing more."""

    id: object
    label: str
    key: str | None = None
    last_version: int = 0
    last_hash: str | None = GENESIS
    hashes_wanted: dict[int, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.key or self.label


def verify(
    rows: Iterable[StoredRow],
    decode: Decode,
    digest: dict[str, Any] | None = None,
    only: str | None = None,
) -> Verification:
    """Check every chain in stored ``rows`` (ordered by stream, then version)."""
    return check_links((link_of_row(row, decode) for row in rows), digest, only)


def check_links(
    links: Iterable[Link], digest: dict[str, Any] | None = None, only: str | None = None
) -> Verification:
    """Check every chain in ``links`` (ordered by stream, then version), and the digest
    (only the head of agreement ``only`` when the links are that one agreement's)."""
    result = Verification()
    wanted = digest_heads(digest, only, result)
    check_streams(links, wanted, result)
    check_missing(wanted, digest, result)
    return result


def digest_heads(
    digest: dict[str, Any] | None, only: str | None, result: Verification
) -> dict[str, tuple[int, str]]:
    """The stream heads a digest recorded (those of ``only``, if given); a digest that is
    not one, or was altered, is a problem in ``result``."""
    wanted = _digest_heads(digest, result) if digest is not None else {}
    if only is not None:
        wanted = {key: head for key, head in wanted.items() if key == only}
    return wanted


def check_streams(
    links: Iterable[Link], wanted: dict[str, tuple[int, str]], result: Verification
) -> None:
    """Walk the chains of ``links`` (whole streams, in order) into ``result``. Streams are
    independent: disjoint sets of them may be walked apart and the results joined."""
    stream: _Stream | None = None
    for link in links:
        if stream is None or link.stream != stream.id:
            if stream is not None:
                _finish(stream, result, wanted)
            stream = _Stream(link.stream, link.label or f"stream {link.stream}")
        result.events_checked += 1
        _check_link(stream, link, result, wanted)
    if stream is not None:
        _finish(stream, result, wanted)


def join(result: Verification, part: Verification) -> None:
    """Add the findings of a disjoint set of streams walked apart (``check_streams``)."""
    result.events_checked += part.events_checked
    result.problems.extend(part.problems)
    result.heads.update(part.heads)


def check_missing(
    wanted: dict[str, tuple[int, str]], digest: dict[str, Any] | None, result: Verification
) -> None:
    """Streams the digest recorded that the ledger no longer has."""
    for key, (version, _hash) in sorted(wanted.items()):
        if digest is not None and key not in result.heads:
            result.problems.append(
                Problem(key, version, "stream missing: the digest recorded it, the ledger has none")
            )


def link_of_row(row: StoredRow, decode: Decode) -> Link:
    """A stored row as a link: decoded, its content hashed, its stream id checked."""
    problems: list[str] = []
    label = None  # a UUID names its stream as ``check_streams`` says it
    if not isinstance(row.originator_id, UUID):
        problems.append("the stored stream id is damaged (not a UUID)")
        label = f"stream {stream_label(row.originator_id)}"
    if not isinstance(row.state, bytes):
        problems.append(f"the stored state is {type(row.state).__name__}, not bytes (damaged)")
        return Link(row.originator_id, row.version, None, None, None, tuple(problems), label)
    try:
        state = decode(row.state)
        record = record_of(row.topic, state, row.version)
    except Exception as error:
        problems.append(f"stored event cannot be decoded ({type(error).__name__}: {error})")
        return Link(row.originator_id, row.version, None, None, None, tuple(problems), label)
    stored_hash = state.get("hash")
    agreement = record["agreement"]
    if isinstance(row.originator_id, UUID) and agreement_id(agreement) != row.originator_id:
        problems.append(f"event of {agreement!r} stored in another agreement's stream (forged)")
    if record_hash(record) != stored_hash:
        problems.append("content does not match its hash (edited or forged)")
    return Link(
        row.originator_id,
        row.version,
        agreement,
        record["prev_hash"],
        stored_hash,
        tuple(problems),
        label,
        record.get("type"),
    )


EXPORT_ONLY_KEYS = ("seq", "hash", "corrected_by")


def link_of_record(record: dict[str, Any]) -> Link:
    """An export record (a line of ``ledger export``) as a link of its agreement's chain."""
    agreement, version = record.get("agreement"), record.get("version")
    if not isinstance(agreement, str) or not _whole(version):
        return Link("(unreadable)", 0, None, None, None, ("not an export record",), "(export)")
    problems = []
    stored_hash = record.get("hash")
    if record_hash(record) != stored_hash:
        problems.append("content does not match its hash (edited or forged)")
    prev_hash = record.get("prev_hash")
    return Link(
        agreement,
        _int(version),
        agreement,
        prev_hash if isinstance(prev_hash, str) else None,
        stored_hash if isinstance(stored_hash, str) else None,
        tuple(problems),
        kind=record.get("type") if isinstance(record.get("type"), str) else None,
    )


def check_export(records: Iterable[dict[str, Any]], digest: dict[str, Any] | None) -> Verification:
    """Check the chains of an export (any order of lines) with no database; against a
    format 2 digest also its number of events and Merkle root, in ``seq`` order."""
    records = list(records)
    links = sorted((link_of_record(r) for r in records), key=lambda k: (str(k.stream), k.version))
    result = check_links(links, digest)
    if digest is not None and result.ok:
        ordered = sorted(records, key=_seq_of)
        check_merkle_root(digest, (str(r.get("hash")) for r in ordered), result)
    return result


def _seq_of(record: dict[str, Any]) -> int:
    seq = record.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def _whole(value: Any) -> bool:
    """An integer of JSON, not a boolean, a float or a numeric string."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_link(
    stream: _Stream, link: Link, result: Verification, wanted: dict[str, tuple[int, str]]
) -> None:
    def problem(text: str) -> None:
        result.problems.append(Problem(stream.name, link.version, text))

    expected = stream.last_version + 1
    if link.version != expected:
        problem(f"missing event(s): expected version {expected}, found {link.version}")
    stream.last_version = link.version
    if link.agreement is not None and stream.key is None:
        stream.key = link.agreement
    elif link.agreement is not None and link.agreement != stream.key:
        problem(f"event names agreement {link.agreement!r} (forged or moved)")
    for text in link.problems:
        problem(text)
    if link.version == 1 and link.kind is not None and link.kind != "registered":
        problem("the stream does not begin with its registration (registered)")
    if link.agreement is None:
        stream.last_hash = None
        return
    if stream.last_hash is not None and link.prev_hash != stream.last_hash:
        problem("does not follow the previous event (deleted, inserted or reordered)")
    stream.last_hash = link.hash
    head = wanted.get(stream.key) if stream.key else None
    if head is not None and head[0] == link.version:
        stream.hashes_wanted[link.version] = str(link.hash)


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
        streams, events, root = digest["streams"], digest["events"], digest.get("merkle_root")
        if not isinstance(streams, list) or not _whole(events):
            raise TypeError("streams must be a list, events a whole number")
        if digest.get("format") == DIGEST_FORMAT and not _hex_hash(root):
            raise TypeError("a format 2 digest names its Merkle root")
        expected = digest_hash(streams, events, root)
        heads = {_text(s["agreement"]): (_int(s["version"]), _text(s["hash"])) for s in streams}
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
        result.problems.append(Problem("(digest)", None, "the digest file is not a ledger digest"))
        return {}
    if digest.get("format") not in DIGEST_FORMATS or digest.get("digest") != expected:
        result.problems.append(
            Problem("(digest)", None, "the digest file does not match its own hash (altered)")
        )
    return heads


def check_merkle_root(digest: dict[str, Any], hashes: Iterable[str], result: Verification) -> None:
    """A format 2 digest also names the Merkle root of the first ``events`` events:
    any of them changed, removed or reordered since is found, not only stream heads."""
    wanted = digest.get("merkle_root")
    if not isinstance(wanted, str) or not _whole(digest.get("events")):
        return
    leaves = [bytes.fromhex(h) for h, _ in zip(hashes, range(digest["events"]), strict=False)]
    if len(leaves) < digest["events"]:
        result.problems.append(
            Problem(
                "(ledger)",
                None,
                f"the digest covers {digest['events']} events, the ledger holds {len(leaves)}",
            )
        )
    elif merkle.root(leaves).hex() != wanted:
        result.problems.append(
            Problem(
                "(ledger)",
                None,
                "the events the digest covers are not the ledger's: Merkle root differs",
            )
        )


def _int(value: Any) -> int:
    if not _whole(value):
        raise TypeError("expected a whole number")
    return int(value)


def _hex_hash(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def digest_hash(streams: list[dict[str, Any]], events: int, merkle_root: str | None = None) -> str:
    covered: dict[str, Any] = {"streams": streams, "events": events}
    if merkle_root is not None:
        covered["merkle_root"] = merkle_root
    return record_hash(covered)


def make_digest(
    heads: dict[str, tuple[int, str]],
    events: int,
    created_at: str,
    merkle_root: str | None = None,
) -> dict[str, Any]:
    """A digest document of the given stream heads and, for the whole ledger, the Merkle
    root of every event (format 2); without a root (one agreement's heads), format 1."""
    streams = [
        {"agreement": key, "version": version, "hash": head_hash}
        for key, (version, head_hash) in sorted(heads.items())
    ]
    document: dict[str, Any] = {
        "format": DIGEST_FORMATS[0] if merkle_root is None else DIGEST_FORMAT,
        "created_at": created_at,
        "events": events,
        "streams": streams,
    }
    if merkle_root is not None:
        document["merkle_root"] = merkle_root
    document["digest"] = digest_hash(streams, events, merkle_root)
    return document


def digest_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def iterate(rows: Iterable[Any]) -> Iterator[StoredRow]:
    """Adapt database rows to ``StoredRow``; a stream id read as bytes becomes a UUID
    (once per stream: rows come stream by stream)."""
    last_raw: Any = None
    last_id: UUID | bytes = b""
    for originator_id, version, topic, state in rows:
        if originator_id != last_raw:
            last_raw, last_id = originator_id, _stream_id(originator_id)
        yield StoredRow(last_id, version, topic, _state_of(state))


def _state_of(value: Any) -> Any:
    """The stored state as bytes; a value of another type (text written over it) as it is,
    for ``link_of_row`` to report."""
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else value


def stream_label(originator_id: UUID | bytes) -> str:
    """A stream id as text: the UUID, or the hex of damaged bytes."""
    return originator_id.hex() if isinstance(originator_id, bytes) else str(originator_id)


def _stream_id(value: Any) -> UUID | bytes:
    """The stored stream id; bytes that are not a UUID stay bytes, for ``verify`` to report."""
    if isinstance(value, UUID):
        return value
    raw = bytes(value)
    return UUID(bytes=raw) if len(raw) == 16 else raw


PROOF_FORMAT = "agreement-ledger-proof/1"


def make_proof(record: dict[str, Any], index: int, leaves: list[bytes]) -> dict[str, Any]:
    """A proof that one event (its export ``record``) is leaf ``index`` of ``leaves``."""
    return {
        "format": PROOF_FORMAT,
        "record": {k: v for k, v in record.items() if k != "corrected_by"},
        "leaf_index": index,
        "tree_size": len(leaves),
        "audit_path": [sibling.hex() for sibling in merkle.audit_path(index, leaves)],
        "merkle_root": merkle.root(leaves).hex(),
    }


def check_proof(proof: Any, digest: dict[str, Any]) -> Verification:
    """Check with no database that a proof's event is in the ledger the digest describes."""
    result = Verification()
    _digest_heads(digest, result)  # the digest itself must be whole

    def problem(text: str) -> None:
        record = proof.get("record") if isinstance(proof, dict) else None
        agreement = record.get("agreement") if isinstance(record, dict) else None
        version = record.get("version") if isinstance(record, dict) else None
        result.problems.append(
            Problem(
                str(agreement or "(proof)"), version if isinstance(version, int) else None, text
            )
        )

    try:
        record = proof["record"]
        index, size = _int(proof["leaf_index"]), _int(proof["tree_size"])
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        leaf = bytes.fromhex(record["hash"])
    except (KeyError, TypeError, ValueError, AttributeError):
        problem("the proof file is not a ledger inclusion proof")
        return result
    result.events_checked = 1
    result.proved = {
        "agreement": record.get("agreement"),
        "id": record.get("id"),
        "leaf_index": index,
        "tree_size": size,
    }
    if proof.get("format") != PROOF_FORMAT:
        problem(f"unknown proof format {proof.get('format')!r}")
    if record_hash(record) != record.get("hash"):
        problem("the event does not match its hash (altered)")
    if digest.get("merkle_root") is None:
        problem("the digest has no Merkle root (format 1): take a new digest")
    elif size != digest.get("events"):
        problem(f"the proof is for {size} events, the digest covers {digest.get('events')}")
    elif merkle.root_from_path(index, size, leaf, path) != bytes.fromhex(
        str(digest["merkle_root"])
    ):
        problem(
            "the event is not in the ledger the digest describes "
            "(a wrong leaf index, an altered event, or a digest of another ledger)"
        )
    return result
