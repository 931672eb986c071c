"""An import projects its agreements while it writes, in its own transaction.

The read models it leaves are the ones a rebuild makes from the log, whichever way its
agreements reach the projection: registered by the import and let go once, let go and
taken in hand again later in the file, or known before the import; projected in this
process or in workers. When it cannot be sure (read models behind, a worker failing)
it leaves the work to the catch-up after it; when the import is refused, neither its
events nor any row is written.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from agreement_ledger.ledger import application
from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.projections import importing, store
from agreement_ledger.projections.projector import Projector
from bench.register import register
from tests.conftest import count_events, example_lines

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "histories").glob("*.jsonl"))


def histories() -> list[dict[str, Any]]:
    lines = example_lines()
    for path in HISTORIES:
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def interleaved(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agreements' events taken in turn, one from each (as an export of a busy ledger
    orders them): with few agreements in hand at a time, each is let go and comes back."""
    streams: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        streams.setdefault(line["agreement"], []).append(line)
    mixed = []
    while any(streams.values()):
        for events in streams.values():
            if events:
                mixed.append(events.pop(0))
    return mixed


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Agreements let go every three, workers started from five events: every path taken
    on a small register."""
    monkeypatch.setattr(application, "FLUSH_AGREEMENTS", 3)
    monkeypatch.setattr(importing, "POOL_FROM", 5)
    monkeypatch.setattr(importing, "CHUNK", 2)


def observed(db_url: str, workers: int = 2) -> tuple[Ledger, Projector]:
    """A ledger whose imports are projected while they write, without the catch-up after:
    what the import alone leaves is what is compared."""
    ledger = Ledger(db_url)
    projector = Projector(ledger, workers=workers).attach()
    ledger.on_saved.clear()
    return ledger, projector


def state(ledger: Ledger) -> tuple[int, int, dict[str, Any]]:
    with ledger.engine.connect() as connection:
        return store.position(connection), store.head(connection), store.dump(connection)


def rebuilt(ledger: Ledger) -> dict[str, Any]:
    Projector(ledger, workers=1).rebuild()
    with ledger.engine.connect() as connection:
        return store.dump(connection)


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "workers"])
def test_an_import_leaves_the_read_models_a_rebuild_makes(db_url, small_batches, workers):
    ledger, _ = observed(db_url, workers)
    lines = histories()
    before_import = [line for line in lines if line["type"] == "registered"][:2]
    ledger.append([Submission(line) for line in before_import])  # known before the import
    ledger.append([Submission(line) for line in interleaved(lines) if line not in before_import])

    position, head, rows = state(ledger)

    assert position == head == count_events(db_url)  # moved by the import itself
    assert rows == rebuilt(ledger)
    assert not multiprocessing.active_children()


def test_a_generated_register_through_workers(db_url, monkeypatch):
    monkeypatch.setattr(application, "FLUSH_AGREEMENTS", 40)
    monkeypatch.setattr(importing, "POOL_FROM", 100)
    ledger, _ = observed(db_url)
    ledger.append([Submission(line) for line in register(2_000)])

    position, head, rows = state(ledger)

    assert position == head
    assert rows == rebuilt(ledger)


def test_a_piped_import_leaves_the_read_models_a_rebuild_makes(db_url, small_batches, monkeypatch):
    """Its checks in a process of their own, its rows written and projected here."""
    ledger, _ = observed(db_url)
    whole = [line for line in histories() if line["agreement"] == "tisa-2014"]
    ledger.append([Submission(line) for line in whole[:4]])  # known before the import
    ledger.workers, ledger.pipe_from = 2, 0
    monkeypatch.setattr(Ledger, "_write_bulk", None)  # not written again the usual way
    later = [line for line in histories() if line not in whole[:4]]
    ledger.append([Submission(line) for line in [*later, *corrected(list(register(300)))]])

    position, head, rows = state(ledger)

    assert position == head == count_events(db_url)  # moved by the import itself
    assert rows == rebuilt(ledger)
    assert not multiprocessing.active_children()


def corrected(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``lines`` with corrections the read models show: a title corrected at the end of one
    agreement, a notification retracted at the end of another."""
    title = {"type": "corrected", "target": "agr-0000001-reg", "replacement": {"title": "T"}}
    notified = next(x for x in lines if x["agreement"] == "agr-0000002" and x["type"] == "notified")
    retraction = {"type": "corrected", "target": notified["id"], "retracted": True}
    out: list[dict[str, Any]] = []
    for n, line in enumerate(lines):
        out.append(line)
        following = lines[n + 1]["agreement"] if n + 1 < len(lines) else None
        for key, correction in (("agr-0000001", title), ("agr-0000002", retraction)):
            if line["agreement"] == key != following:
                out.append({"agreement": key, "id": f"{key}-fix", **correction})
    assert len(out) == len(lines) + 2
    return out


def test_read_models_behind_leave_the_import_to_the_catch_up(db_url, small_batches):
    ledger = Ledger(db_url)
    ledger.append([Submission(line) for line in example_lines()])  # never projected
    ledger, projector = observed(db_url)
    with ledger.engine.connect() as connection:
        behind = store.position(connection)

    ledger.append([Submission(line) for line in interleaved(histories()[12:])])

    assert state(ledger)[0] == behind  # the import did not pretend to be current
    projector.catch_up()
    position, head, rows = state(ledger)
    assert position == head
    assert rows == rebuilt(ledger)


def test_a_failing_worker_leaves_the_work_to_the_catch_up(db_url, small_batches, monkeypatch):
    real_project = importing.project

    def failing(events: list[Any], **options: Any) -> Any:
        if events[0].agreement == "tisa-2014":
            raise RuntimeError("a projection bug")
        return real_project(events, **options)

    monkeypatch.setattr(importing, "project", failing)  # in the workers (forked) and here
    ledger, projector = observed(db_url)
    ledger.append([Submission(line) for line in interleaved(histories())])

    assert state(ledger)[0] == 0  # events stored, position left for the catch-up
    projector.catch_up()
    position, head, rows = state(ledger)
    assert position == head == count_events(db_url)
    assert rows == rebuilt(ledger)
    assert not multiprocessing.active_children()


def test_a_refused_import_writes_neither_events_nor_rows(db_url, small_batches):
    ledger, _ = observed(db_url)
    ledger.append([Submission(line) for line in example_lines()])
    before = state(ledger), count_events(db_url)
    lines = interleaved(histories()[12:])
    bad = {**lines[-1], "type": "signed", "party": "ZZ", "id": "late-refusal"}

    with pytest.raises(Rejected):
        ledger.append([Submission(line) for line in [*lines, bad]])

    assert (state(ledger), count_events(db_url)) == before
    assert not multiprocessing.active_children()


def test_a_failure_writing_rows_rolls_the_import_back(db_url, small_batches, monkeypatch):
    ledger, _ = observed(db_url)
    before = count_events(db_url)

    def full_disk(connection: Any, rows: Any) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(store, "write_prepared", full_disk)
    with pytest.raises(OSError):
        ledger.append([Submission(line) for line in histories()])

    assert count_events(db_url) == before
