"""Schema evolution: an event type's fields change; stored history is not rewritten."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as sql

from agreement_ledger.ledger.application import Submission
from agreement_ledger.ledger.domain import Agreement, agreement_id
from agreement_ledger.ledger.vocabulary import EVENT_TYPES, Field, list_of, text
from tests.conftest import example_lines


def signatories_from_signatory(state: dict[str, Any]) -> None:
    """v1 → v2 of ``signed``: one ``signatory`` becomes a list ``signatories``."""
    fields = state["fields"]
    if "signatory" in fields:
        fields["signatories"] = [fields.pop("signatory")]


@pytest.fixture
def signed_v2(monkeypatch):
    """Version 2 of the code: the event class upcasts, the vocabulary takes the new field."""
    old = EVENT_TYPES["signed"]
    new = dataclasses.replace(old, fields=(*old.fields, Field("signatories", list_of(text))))
    monkeypatch.setitem(EVENT_TYPES, "signed", new)
    monkeypatch.setattr(Agreement.Signed, "class_version", 2, raising=False)
    monkeypatch.setattr(
        Agreement.Signed, "upcast_v1_v2", staticmethod(signatories_from_signatory), raising=False
    )


def stored_states(db_url: str) -> list[dict[str, Any]]:
    engine = create_engine(db_url)
    with engine.connect() as connection:
        rows = connection.execute(sql("SELECT state FROM ledger_events ORDER BY id")).all()
    engine.dispose()
    return [json.loads(bytes(row[0])) for row in rows]


def test_old_events_are_upcast_on_read_and_still_verify(ledger, db_url, signed_v2):
    # history written by version 1 of the code...
    with pytest.MonkeyPatch.context() as old_code:
        old_code.setattr(Agreement.Signed, "class_version", 1)
        ledger.append(Submission(line) for line in example_lines())
    before = stored_states(db_url)
    assert all("class_version" not in state for state in before)

    # ...read by version 2 of the code:
    events = ledger.events.get(agreement_id("tisa-2014"))
    us = next(e for e in events if e.event_id == "us-signed")
    assert us.fields == {
        "party": "US",
        "signatories": ["Robert Work"],
        "capacity": "Deputy Secretary of Defense",
    }

    # new events are written at version 2, and nothing stored was rewritten
    ledger.append(
        [
            Submission(
                {
                    "agreement": "tisa-2014",
                    "type": "corrected",
                    "target": "kr-signed",
                    "replacement": {"place": "Seoul"},
                }
            )
        ]
    )
    ledger.append(
        [
            Submission(
                {"agreement": "other", "type": "registered", "title": "Other", "parties": ["KR"]}
            ),
            Submission(
                {
                    "agreement": "other",
                    "type": "signed",
                    "party": "KR",
                    "occurred": "2015-01-01",
                    "signatories": ["A", "B"],
                }
            ),
        ]
    )
    after = stored_states(db_url)
    assert after[: len(before)] == before
    assert after[-1]["class_version"] == 2
    assert ledger.verify().ok
