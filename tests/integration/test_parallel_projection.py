"""Projection spread over worker processes writes exactly the rows one process writes,
and a failure in a worker is the same one line, with nothing written."""

from __future__ import annotations

import itertools
import uuid

import pytest
from sqlalchemy import create_engine, text

from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.ledger.errors import StorageError
from agreement_ledger.projections import parallel, store
from agreement_ledger.projections.projector import Projector
from agreement_ledger.projections.rows import AGREEMENTS, COLUMNS
from bench.register import register
from tests.conftest import example_lines

LINES = [*example_lines(), *register(600)]


@pytest.fixture
def spread(monkeypatch):
    """Workers from the first event (the threshold is for speed, not for meaning)."""
    from agreement_ledger.projections import projector

    monkeypatch.setattr(projector, "PARALLEL_FROM", 1)


def dumped(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = store.dump(connection)
    engine.dispose()
    return found


def events_projected(dump: dict) -> int:
    """How many events the agreements of a dump were projected from (their versions)."""
    version = COLUMNS[AGREEMENTS].index("version")
    return sum(row[version] for row in dump[AGREEMENTS])


def written(url: str, workers: int) -> Ledger:
    ledger = Ledger(url)
    ledger.append([Submission(line) for line in LINES], actor="clerk")
    Projector(ledger, workers=workers).catch_up()
    return ledger


def test_a_rebuild_by_workers_writes_the_rows_one_process_writes(new_db, spread):
    url = new_db()
    ledger = written(url, workers=1)
    alone = dumped(url)
    assert Projector(ledger, workers=3).rebuild() == len(alone["read_agreements"])
    assert dumped(url) == alone
    ledger.close()


def test_a_large_catch_up_by_workers_writes_the_rows_one_process_writes(new_db, spread):
    one, three = new_db(), new_db()
    written(one, workers=1).close()
    ledger = written(three, workers=3)
    # The recording instants differ between the two ledgers: compare each with its rebuild.
    caught_up = dumped(three)
    Projector(ledger, workers=1).rebuild()
    assert dumped(three) == caught_up
    assert events_projected(caught_up) == events_projected(dumped(one)) > 600
    ledger.close()


def test_a_damaged_stream_fails_a_parallel_rebuild_as_it_fails_one_process(new_db, spread):
    url = new_db()
    ledger = written(url, workers=1)
    before = dumped(url)
    engine = create_engine(url)
    with engine.begin() as connection:  # a stream that does not begin with its registration
        state, topic = connection.execute(
            text("SELECT state, topic FROM ledger_events WHERE originator_version = 2 LIMIT 1")
        ).one()
        connection.execute(
            text(
                "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
                "VALUES (:id, 1, :topic, :state)"
            ),
            {
                "id": uuid.uuid4().bytes if url.startswith("sqlite") else uuid.uuid4(),
                "topic": topic,
                "state": state,
            },
        )
    engine.dispose()
    messages = []
    for workers in (1, 2):
        with pytest.raises(StorageError) as failed:
            Projector(ledger, workers=workers).rebuild()
        messages.append(str(failed.value))
    assert messages[0] == messages[1]
    assert "\n" not in messages[1] and "run `ledger verify`" in messages[1]
    assert dumped(url) == before  # the rebuild rolled back: the old rows stand
    ledger.close()


def test_a_worker_that_dies_is_one_line_not_a_hang(new_db, monkeypatch):
    import os

    url = new_db()
    Ledger(url).close()
    monkeypatch.setattr(parallel, "_streams", lambda *args: os._exit(9))
    with pytest.raises(StorageError, match="stopped unexpectedly"):
        list(parallel.projected_rows(url, parallel.shares_by_range(2), None))  # type: ignore[arg-type]


def test_shares_cover_every_stream_id_once():
    ranges = [share.id_range for share in parallel.shares_by_range(3)]
    assert ranges[0][0] is None and ranges[-1][1] is None  # a damaged id falls somewhere
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    keys = [f"k{n}" for n in range(10)]
    split = parallel.shares_by_key(keys, 3)
    assert sorted(k for share in split for k in share.keys or ()) == sorted(keys)
