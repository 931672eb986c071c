"""The persisted read models: always current, exactly once, rebuildable."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.projections import store
from agreement_ledger.projections.projector import Projector
from agreement_ledger.projections.version import PROJECTION_VERSION
from tests.conftest import example_lines
from tests.histories import NEW_START
from tests.strategies import PARTIES, lifecycle_event


def wired(db_url: str) -> tuple[Ledger, Projector]:
    ledger = Ledger(db_url)
    return ledger, Projector(ledger).attach()


def dump(ledger: Ledger) -> dict:
    with ledger.engine.connect() as connection:
        return store.dump(connection)


def shown(ledger: Ledger, key: str) -> dict | None:
    with ledger.engine.connect() as connection:
        return store.show(connection, key)


def test_every_append_brings_the_read_models_up_to_date(db_url):
    ledger, _ = wired(db_url)
    ledger.append(Submission(line) for line in example_lines()[:6])
    assert shown(ledger, "tisa-2014")["status"] == "signed"
    ledger.append(Submission(line) for line in example_lines()[6:])
    assert shown(ledger, "tisa-2014")["status"] == "in_force"
    with ledger.engine.connect() as connection:
        assert store.position(connection) == 12


def test_a_catch_up_finds_every_agreement_touched_since_its_position(db_url):
    """From one event per touched stream: several new events of one stream, a position in
    the middle of a stream, and nothing new at all."""
    ledger = Ledger(db_url)
    ledger.append(Submission(line) for line in example_lines())  # tisa-2014: events 1 to 12
    other = [{**line, "agreement": "other-2015"} for line in example_lines()[:3]]
    ledger.append(Submission(line) for line in other)  # other-2015: events 13 to 15
    assert ledger.store.touched_since(0) == ({"tisa-2014", "other-2015"}, 15)
    assert ledger.store.touched_since(5) == ({"tisa-2014", "other-2015"}, 15)
    assert ledger.store.touched_since(12) == ({"other-2015"}, 15)
    assert ledger.store.touched_since(14) == ({"other-2015"}, 15)
    assert ledger.store.touched_since(15) == (set(), 15)
    ledger.close()


def test_read_models_of_another_projection_version_are_rebuilt_on_the_next_catch_up(db_url):
    ledger, projector = wired(db_url)
    ledger.append(Submission(line) for line in example_lines())
    with ledger.engine.begin() as connection:
        store.set_projection_version(connection, 1)  # rows written by an older ledger...
        connection.execute(store.agreements.update().values(status="stale"))
    assert projector.catch_up() == 1  # ...are rebuilt, with no new event
    assert shown(ledger, "tisa-2014")["status"] == "in_force"
    with ledger.engine.connect() as connection:
        assert store.projection_version(connection) == PROJECTION_VERSION


def test_rebuild_twice_gives_identical_tables(db_url):
    ledger, projector = wired(db_url)
    ledger.append(Submission(line) for line in example_lines())
    ledger.append(Submission(line) for line in NEW_START)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    projector.catch_up(now)
    live = dump(ledger)
    projector.rebuild(now=now)
    first = dump(ledger)
    projector.rebuild(now=now)
    assert first == dump(ledger) == live
    assert len(first["read_agreements"]) == 2


def test_a_crash_before_the_commit_leaves_nothing_half_applied(db_url, monkeypatch):
    ledger, _projector = wired(db_url)
    ledger.import_observer = None  # the catch-up after a write, in its own transaction
    ledger.append(Submission(line) for line in example_lines()[:6])
    before = dump(ledger)

    real_write = store.write_many

    def crash(connection, projections, **options):
        real_write(connection, projections, **options)  # the rows are written...
        raise RuntimeError("power cut")  # ...and the process dies before the commit

    monkeypatch.setattr(store, "write_many", crash)
    with pytest.raises(RuntimeError):
        ledger.append(Submission(line) for line in example_lines()[6:])
    assert dump(ledger) == before  # rows written in the failed transaction are gone

    monkeypatch.undo()
    assert Projector(ledger).catch_up() == 1  # the next command catches up
    assert shown(ledger, "tisa-2014")["status"] == "in_force"
    with ledger.engine.connect() as connection:
        assert store.position(connection) == 12


def test_two_projectors_at_once_queue_and_apply_each_event_once(db_url, monkeypatch):
    ledger = Ledger(db_url)  # nothing projected yet: left to the two projectors
    ledger.append(Submission(line) for line in example_lines())
    real_project = Projector._project

    def slow_project(self, keys, now):
        time.sleep(0.3)  # hold the lock a while
        return real_project(self, keys, now)

    monkeypatch.setattr(Projector, "_project", slow_project)
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(Projector(ledger).catch_up()))
    second = threading.Thread(target=lambda: results.append(Projector(ledger).catch_up()))
    first.start()
    time.sleep(0.1)
    second.start()
    first.join()
    second.join()
    assert sorted(results) == [0, 1]  # the second waited, then found nothing left to do
    with ledger.engine.connect() as connection:
        assert store.position(connection) == 12


def test_a_scheduled_expiry_applies_by_time_without_a_further_event(db_url):
    ledger, projector = wired(db_url)
    ledger.append(Submission(line) for line in NEW_START)
    projector.catch_up(datetime(2026, 2, 4, tzinfo=UTC))
    # the append's own catch-up ran at today's date: force the earlier answer back
    projector.rebuild(now=datetime(2026, 2, 4, tzinfo=UTC))
    assert shown(ledger, "new-start")["status"] == "in_force"
    assert projector.catch_up(datetime(2026, 2, 5, tzinfo=UTC)) == 1
    assert shown(ledger, "new-start")["status"] == "expired"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    is_open=st.booleans(),
    events=st.lists(lifecycle_event("random"), min_size=1, max_size=14),
)
def test_the_persisted_projection_equals_a_replay_from_scratch(new_db, is_open, events):
    ledger, projector = wired(new_db())
    registration = {
        "agreement": "random",
        "type": "registered",
        "title": "Random",
        "open": is_open,
        "tz": "Europe/Paris",
        "parties": PARTIES,
        "requires_ratification": ["AA"],
        "notice_period": "P6M",
        "expires": "2019-06-30",
        "notify": [{"party": "BB", "body": "Parliament", "within": "P30D"}],
    }
    ledger.append([Submission(registration)])
    for line in events:
        with contextlib.suppress(Rejected):  # an invalid step is left out: the sequence stays valid
            ledger.append([Submission(line)])
    now = datetime.now(UTC) + timedelta(seconds=1)
    projector.catch_up(now)
    live = dump(ledger)
    projector.rebuild(now=now)
    assert dump(ledger) == live
    ledger.close()


def test_a_value_longer_than_its_column_fails_on_every_database(ledger, monkeypatch):
    """SQLite does not enforce VARCHAR(n); the ledger does, as PostgreSQL would."""
    from agreement_ledger.ledger.application import Submission
    from agreement_ledger.ledger.errors import StorageError
    from agreement_ledger.projections import project as project_module
    from agreement_ledger.projections.projector import Projector
    from tests.conftest import example_lines

    ledger.append(Submission(line) for line in example_lines())
    real = project_module.project

    def too_long(*args, **kwargs):
        projection = real(*args, **kwargs)
        projection.show["status"] = "x" * 17  # the status column holds 16
        return projection

    monkeypatch.setattr("agreement_ledger.projections.projector.project", too_long)
    with pytest.raises(StorageError, match=r"read_agreements\.status holds at most 16"):
        Projector(ledger).rebuild()
