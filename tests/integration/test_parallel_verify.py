"""Verification spread over worker processes finds exactly what one process finds,
in the same order, on an intact ledger and on every kind of damage to the event
table, with and without a digest."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine, text

from agreement_ledger.ledger import application
from agreement_ledger.ledger.application import Ledger, Submission
from bench.register import register
from tests.conftest import example_lines
from tests.integration.test_tamper_matrix import DAMAGES, EVENT_DAMAGE, _sql

# Damage written for one agreement, applied here to one row among many agreements'.
ONE_ROW = {
    "a stream id that is not a UUID": _sql(
        "UPDATE ledger_events SET originator_id = x'0102030405' "
        "WHERE id = (SELECT min(id) FROM ledger_events WHERE originator_version = 7)"
    ),
    "a version 0 row": _sql(
        "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
        "SELECT originator_id, 0, topic, state FROM ledger_events "
        "WHERE id = (SELECT min(id) FROM ledger_events WHERE originator_version = 2)"
    ),
}


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    """The seed agreement and a generated register, with a digest taken."""
    db = tmp_path_factory.mktemp("parallel") / "ledger.db"
    ledger = Ledger(f"sqlite:///{db}")
    ledger.append([Submission(line) for line in [*example_lines(), *register(500)]])
    digest = ledger.digest()
    ledger.close()
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return db, digest


def findings(db, digest, workers: int, monkeypatch) -> dict:
    monkeypatch.setattr(application, "PARALLEL_FROM", 1)
    ledger = Ledger(f"sqlite:///{db}")
    ledger.workers = workers
    try:
        return ledger.verify(digest=digest).as_json()
    finally:
        ledger.close()


@pytest.mark.parametrize("damage_name", ["(intact)", *sorted(EVENT_DAMAGE)])
@pytest.mark.parametrize("with_digest", [False, True], ids=["alone", "digest"])
def test_workers_find_what_one_process_finds(
    populated, damage_name, with_digest, tmp_path, monkeypatch
):
    source, digest = populated
    db = tmp_path / "ledger.db"
    shutil.copy(source, db)
    if damage_name != "(intact)":
        ONE_ROW.get(damage_name, DAMAGES[damage_name])(db)
    wanted = digest if with_digest else None
    alone = findings(db, wanted, 1, monkeypatch)
    spread = findings(db, wanted, 3, monkeypatch)
    assert spread == alone
    assert alone["ok"] is (damage_name == "(intact)")
    assert alone["events_checked"] > 400  # many agreements, so that every worker has some
