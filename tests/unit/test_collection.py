"""Bulk work paces the garbage collector, and gives the caller's pace back afterwards."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.ledger.collection import YOUNG_THRESHOLD, bulk_work
from agreement_ledger.ledger.errors import Rejected


def test_the_pace_is_slower_inside_and_restored_after_even_on_failure() -> None:
    before = gc.get_threshold()
    with bulk_work():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        with bulk_work():  # nested: the outer operation keeps the pace
            pass
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), bulk_work():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_during_bulk_work_are_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    with bulk_work():
        for _ in range(3 * YOUNG_THRESHOLD):
            Node()
        alive = sum(isinstance(o, Node) for o in gc.get_objects())
    assert alive < YOUNG_THRESHOLD  # not all 150,000 of them


def test_an_import_leaves_the_callers_pace_as_it_found_it(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'pace.db'}")
    before = gc.get_threshold()
    good = {"agreement": "pace-1", "type": "registered", "title": "t"}
    ledger.append([Submission(good), Submission({**good, "agreement": "pace-2"})])
    with pytest.raises(Rejected):
        ledger.append([Submission({**good, "agreement": "pace-3"}), Submission({"type": "x"})])
    ledger.close()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_freeze_of_the_callers_own_is_left_in_place() -> None:
    """A server that freezes before forking keeps its objects frozen through bulk work."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with bulk_work():
            pass
        assert gc.get_freeze_count() > frozen // 2  # not unfrozen (some may have died)
    finally:
        gc.unfreeze()
