"""Each event type is defined once, in the vocabulary; every registry derived from it agrees."""

from __future__ import annotations

import re
from typing import Any

import pytest
from eventsourcing.utils import get_topic, resolve_topic

from agreement_ledger.ledger.domain import (
    EVENT_CLASSES,
    EVENT_TOPICS,
    LEGACY_MODULE,
    Agreement,
    event_class_of,
)
from agreement_ledger.ledger.vocabulary import (
    EVENT_TYPES,
    EventKind,
    Field,
    duration,
    event_ref,
    iso_date,
    party,
    party_code,
    party_or_depositary,
    read_envelope,
)

SAMPLE: dict[Any, Any] = {
    party: {"code": "KR"},
    party_code: "KR",
    party_or_depositary: "depositary",
    iso_date: "2020-01-01",
    duration: "P6M",
    event_ref: "some-event",
}


def minimal(kind: EventKind) -> dict[str, Any]:
    """The smallest valid event of a kind: its required fields only."""
    raw: dict[str, Any] = {"agreement": "pact", "type": kind.value}
    if EVENT_TYPES[kind].occurred_required:
        raw["occurred"] = "2020-01-01"
    for spec in EVENT_TYPES[kind].fields:
        if spec.required:
            raw[spec.name] = sample(spec)
    return raw


def sample(spec: Field) -> Any:
    if spec.name == "required":
        return True
    choices = getattr(spec.normalise, "choices", None)
    return choices[0] if choices else SAMPLE.get(spec.normalise, "text")


def test_every_kind_has_one_vocabulary_entry_and_one_event_class():
    assert list(EVENT_TYPES) == list(EventKind)
    assert list(EVENT_CLASSES) == list(EventKind)
    for kind in EventKind:
        assert EVENT_TYPES[kind].kind is kind
        event_class = EVENT_CLASSES[kind]
        assert event_class.TYPE is kind
        assert getattr(Agreement, kind.class_name) is event_class
        assert issubclass(event_class, Agreement.Event)


@pytest.mark.parametrize("kind", list(EventKind))
def test_each_class_is_found_by_its_topic_today_and_by_its_release_0_1_topic(kind):
    event_class = EVENT_CLASSES[kind]
    assert resolve_topic(get_topic(event_class)) is event_class
    assert event_class_of(get_topic(event_class)) is event_class
    legacy = f"{LEGACY_MODULE}:Agreement.{kind.class_name}"
    assert event_class_of(legacy) is event_class
    assert resolve_topic(legacy) is event_class


def test_no_other_topic_is_an_event():
    assert len(EVENT_TOPICS) == 2 * len(EventKind)
    assert event_class_of("this:s") is None
    assert event_class_of("agreement_ledger.ledger.domain:Agreement") is None


@pytest.mark.parametrize("kind", list(EventKind))
def test_each_kind_reads_its_minimal_event_and_has_a_timeline_line(kind):
    envelope = read_envelope(minimal(kind))
    assert envelope.type is kind
    line = envelope.summary()
    assert isinstance(line, str) and line
    assert EVENT_TYPES[kind].meaning.endswith(".")


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("after", ["signed-kr", ""], "after[1]"),
        ("parties", [{"code": "KR"}, {"code": "kr"}], "parties[1].code"),
        ("requires_ratification", ["KR", "US", 7], "requires_ratification[2]"),
    ],
)
def test_a_refused_list_element_is_named_by_its_position(name, value, named):
    raw = {**minimal(EventKind.REGISTERED), name: value}
    with pytest.raises(Exception, match=rf"field '{re.escape(named)}' must be") as refused:
        read_envelope(raw)
    assert str(refused.value).count("must be") == 1
