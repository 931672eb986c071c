"""The fast JSON paths write and read exactly what the standard library and the
event-sourcing library do: the hash of every event and the decoded stored state
never depend on which path ran."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, UUIDAsHex
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement_ledger.ledger.chain import canonical_bytes, standard_canonical_bytes
from agreement_ledger.ledger.eventstore import state_decoder
from tests.histories import stored

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HISTORIES = sorted((FIXTURES / "histories").glob("*.jsonl"))

# Every JSON value, with text drawn from all of Unicode but lone surrogates
# (refused before anything is written), integers well beyond 64 bits and floats.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def transcoder() -> JSONTranscoder:
    coder = JSONTranscoder()
    coder.register(UUIDAsHex())
    coder.register(DatetimeAsISO())
    return coder


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(TEXT, JSON_VALUES, max_size=6))
def test_canonical_bytes_are_the_standard_librarys_for_any_json(record: dict[str, Any]) -> None:
    assert canonical_bytes(record) == standard_canonical_bytes(record)


def test_canonical_bytes_of_every_real_history_event() -> None:
    checked = 0
    for path in HISTORIES:
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for event in stored(lines):
            record = event.record()
            assert canonical_bytes(record) == standard_canonical_bytes(record)
            checked += 1
    assert checked > 50


def test_an_enumeration_and_a_tuple_are_written_as_text_and_a_list() -> None:
    from agreement_ledger.ledger.vocabulary import EventKind

    record = {"type": EventKind.SIGNED, "after": ("a", "b"), "n": 2**64, "x": 1.0}
    assert canonical_bytes(record) == standard_canonical_bytes(record)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_stored_state_decodes_as_the_librarys_transcoder_does(value: Any) -> None:
    from datetime import UTC, datetime

    coder = transcoder()
    state = {
        "fields": {"text": value},
        "note": value,
        "timestamp": datetime(2026, 11, 27, 10, 30, 1, 5, tzinfo=UTC),
    }
    data = coder.encode(state)
    assert repr(state_decoder(coder)(data)) == repr(coder.decode(data))  # types too


def test_every_state_of_the_release_database_decodes_alike() -> None:
    coder = transcoder()
    decode = state_decoder(coder)
    connection = sqlite3.connect(FIXTURES / "release-0.1.db")
    states = [bytes(s) for (s,) in connection.execute("SELECT state FROM ledger_events")]
    connection.close()
    assert states
    for data in states:
        assert repr(decode(data)) == repr(coder.decode(data))
