"""The Agreement aggregate without a database: rules, idempotency, corrections, chain."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from agreement_ledger.ledger.chain import GENESIS, record_hash
from agreement_ledger.ledger.domain import Agreement
from agreement_ledger.ledger.errors import (
    AlreadySigned,
    ConflictingId,
    InvalidCorrection,
    UnknownParty,
)
from agreement_ledger.ledger.vocabulary import read_envelope

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def registered(**extra) -> Agreement:
    raw = {
        "agreement": "pact",
        "type": "registered",
        "title": "Pact",
        "tz": "Asia/Seoul",
        "parties": ["KR", {"code": "US", "tz": "America/New_York"}],
        **extra,
    }
    return Agreement.register(read_envelope(raw), recorded_by="clerk", now=NOW)


def record(agreement: Agreement, **raw) -> bool:
    return agreement.record(
        read_envelope({"agreement": "pact", **raw}), recorded_by="clerk", now=NOW
    )


def test_a_party_signs_once():
    pact = registered()
    assert record(pact, type="signed", party="KR", occurred="2014-12-26")
    with pytest.raises(AlreadySigned):
        record(pact, type="signed", party="KR", occurred="2014-12-27")


def test_a_party_added_by_accession_may_then_sign():
    pact = registered()
    with pytest.raises(UnknownParty):
        record(pact, type="signed", party="JP", occurred="2015-01-05")
    record(
        pact, type="party_added", party={"code": "JP", "tz": "Asia/Tokyo"}, occurred="2015-01-04"
    )
    assert record(pact, type="signed", party="JP", occurred="2015-01-05")


def test_the_acting_partys_zone_reads_occurred():
    pact = registered()
    record(pact, type="signed", id="us", party="US", occurred="2014-12-23")
    us = pact.state.facts["us"].occurred
    assert us.start == datetime(2014, 12, 23, 5, tzinfo=UTC)  # midnight in New York
    record(pact, type="signed", id="kr", party="KR", occurred="2014-12-26")
    assert pact.state.facts["kr"].occurred.start == datetime(2014, 12, 25, 15, tzinfo=UTC)


def test_an_explicit_event_zone_wins_over_the_partys():
    pact = registered()
    record(pact, type="signed", id="us", party="US", occurred="2014-12-23", tz="UTC")
    assert pact.state.facts["us"].occurred.start == datetime(2014, 12, 23, tzinfo=UTC)


def test_repeating_an_id_with_identical_content_is_a_no_op():
    pact = registered()
    assert record(pact, type="signed", id="s", party="KR", occurred="2014-12-26")
    version = pact.version
    assert record(pact, type="signed", id="s", party="KR", occurred="2014-12-26") is False
    assert pact.version == version
    with pytest.raises(ConflictingId):
        record(pact, type="signed", id="s", party="KR", occurred="2014-12-27")


def test_every_event_hashes_its_predecessor():
    pact = registered()
    record(pact, type="signed", party="KR", occurred="2014-12-26")
    record(pact, type="signed", party="US", occurred="2014-12-23")
    events = pact.collect_events()
    assert events[0].prev_hash == GENESIS
    for earlier, later in itertools.pairwise(events):
        assert later.prev_hash == earlier.hash
    for event in events:
        assert record_hash(event.record()) == event.hash


def test_the_hash_covers_the_recording_fields():
    pact = registered()
    event = pact.collect_events()[0]
    record_ = event.record()
    assert record_hash({**record_, "recorded_by": "someone else"}) != event.hash
    assert record_hash({**record_, "version": 2}) != event.hash
    assert record_hash({**record_, "title": "Another pact"}) != event.hash


def test_a_replacement_changes_the_effective_fact_and_is_rechecked():
    pact = registered()
    record(pact, type="signed", id="wrong", party="KR", occurred="2014-12-25")
    record(pact, type="corrected", target="wrong", replacement={"occurred": "2014-12-26"})
    assert pact.state.facts["wrong"].envelope.occurred == "2014-12-26"
    assert pact.history.originals["wrong"].occurred == "2014-12-25"
    future = (NOW + timedelta(days=2)).date().isoformat()
    with pytest.raises(InvalidCorrection, match="occurred_in_future"):
        record(pact, type="corrected", target="wrong", replacement={"occurred": future})


def test_a_replacement_may_not_change_identity_or_type():
    pact = registered()
    record(pact, type="signed", id="s", party="KR", occurred="2014-12-26")
    with pytest.raises(InvalidCorrection, match="cannot correct field"):
        record(pact, type="corrected", target="s", replacement={"type": "ratified"})


def test_a_correction_cannot_itself_be_corrected():
    pact = registered()
    record(pact, type="signed", id="s", party="KR", occurred="2014-12-26")
    record(pact, type="corrected", id="c", target="s", replacement={"place": "Seoul"})
    with pytest.raises(InvalidCorrection, match="cannot be corrected"):
        record(pact, type="corrected", target="c", retracted=True)


def test_replaying_stored_events_rebuilds_the_same_state():
    pact = registered()
    record(pact, type="signed", id="s", party="KR", occurred="2014-12-26")
    record(pact, type="corrected", target="s", retracted=True)
    record(pact, type="signed", party="KR", occurred="2014-12-27")
    events = pact.collect_events()
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed.state.signers == pact.state.signers == {"KR"}
    assert replayed.state.retracted == {"s"}
    assert replayed.head_hash == pact.head_hash
