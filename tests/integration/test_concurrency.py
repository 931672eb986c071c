"""Many processes appending at once lose nothing and double nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agreement_ledger.cli.main import app
from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.ledger.domain import agreement_id
from agreement_ledger.projections.audit import audit
from agreement_ledger.projections.projector import Projector

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 8
EACH = 15


def register(ledger: Ledger, key: str) -> None:
    ledger.append(
        [Submission({"agreement": key, "type": "registered", "title": key, "parties": ["KR"]})]
    )


@pytest.mark.parametrize(
    "same_agreement", [True, False], ids=["same agreement", "different agreements"]
)
def test_concurrent_writers_lose_nothing_and_double_nothing(db_url, same_agreement):
    keys = ["shared"] * WRITERS if same_agreement else [f"own-{n}" for n in range(WRITERS)]
    ledger = Ledger(db_url)
    for key in sorted(set(keys)):
        register(ledger, key)

    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.writer", db_url, key, str(EACH), f"w{n}"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, key in enumerate(keys)
    ]
    failures = [(w.wait(timeout=300), w.stderr.read() if w.stderr else "") for w in writers]
    assert [code for code, _ in failures] == [0] * WRITERS, failures

    for key in sorted(set(keys)):
        events = list(ledger.events.get(agreement_id(key)))
        versions = [e.originator_version for e in events]
        assert versions == list(range(1, len(versions) + 1))  # contiguous, no gaps, no doubles
        expected = EACH * keys.count(key)
        assert len(versions) == 1 + expected
        ids = [e.event_id for e in events[1:]]
        assert len(set(ids)) == expected
    every_id = {f"w{n}-{i}" for n in range(WRITERS) for i in range(EACH)}
    written = {r.record["id"] for r in ledger.store.records() if r.record["type"] == "noted"}
    assert written == every_id
    assert ledger.verify().ok
    assert audit(Projector(ledger)).ok
    ledger.close()


def test_a_conflict_that_retries_cannot_resolve_exits_4(db_url, monkeypatch):
    from eventsourcing.persistence import IntegrityError

    ledger = Ledger(db_url)
    register(ledger, "pact")
    attempts = []

    def always_taken(self, *aggregates, **kwargs):
        attempts.append(1)
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(Ledger, "save", always_taken)
    monkeypatch.setattr("agreement_ledger.ledger.application.time.sleep", lambda seconds: None)
    result = CliRunner().invoke(
        app, ["--db", db_url, "sign", "pact", "KR", "--occurred", "2015-01-01"]
    )
    assert result.exit_code == 4
    assert result.stderr == (
        "Error: other writers kept changing the same agreement; gave up after 16 attempts\n"
    )
    assert len(attempts) == 16
    ledger.close()
