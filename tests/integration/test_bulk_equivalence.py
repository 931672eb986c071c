"""The bulk writer (imports) and the aggregate (single appends) are two drivers of one
set of checks: they store the same bytes, give the same read models, and refuse the
same line with the same message, writing nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.projections import store
from agreement_ledger.projections.projector import Projector
from bench.register import register
from tests.conftest import count_events, example_lines
from tests.strategies import RANDOM_REGISTRATION, lifecycle_event

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "histories").glob("*.jsonl"))
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def clock() -> Callable[[], datetime]:
    """One recording instant per event, a millisecond apart, the same for both drivers."""
    ticks: Iterator[int] = iter(range(10**9))
    return lambda: datetime(2026, 11, 1, tzinfo=UTC) + timedelta(milliseconds=next(ticks))


def opened(url: str) -> Ledger:
    ledger = Ledger(url)
    ledger.clock = clock()
    return ledger


def rows(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT id, originator_id, originator_version, topic, state "
                "FROM ledger_events ORDER BY id"
            )
        ).all()
    engine.dispose()
    return [
        (i, bytes(o) if isinstance(o, bytes | memoryview) else o, v, t, bytes(s))
        for i, o, v, t, s in found
    ]


def read_models(url: str, ledger: Ledger) -> dict[str, Any]:
    Projector(ledger).catch_up(now=NOW)
    engine = create_engine(url)
    with engine.connect() as connection:
        dumped = store.dump(connection)
    engine.dispose()
    return dumped


def one_at_a_time(url: str, lines: list[dict[str, Any]]) -> Ledger:
    ledger = opened(url)
    for line in lines:
        ledger.append([Submission(line)], actor="clerk", bulk=False)
    return ledger


def all_at_once(url: str, lines: list[dict[str, Any]], *, bulk: bool) -> Ledger:
    ledger = opened(url)
    ledger.append(
        [Submission(line, line=n) for n, line in enumerate(lines, 1)], actor="clerk", bulk=bulk
    )
    return ledger


def histories() -> list[tuple[str, list[dict[str, Any]]]]:
    found = [("tisa-2014", example_lines())]
    for path in HISTORIES:
        found.append(
            (path.stem, [json.loads(x) for x in path.read_text().splitlines() if x.strip()])
        )
    found.append(("generated register", list(register(400))))
    return found


@pytest.mark.parametrize(("name", "lines"), histories(), ids=[n for n, _ in histories()])
def test_both_drivers_store_the_same_bytes_and_read_models(new_db, name, lines):
    single_url, bulk_url = new_db(), new_db()
    single = one_at_a_time(single_url, lines)
    bulk = all_at_once(bulk_url, lines, bulk=True)
    assert rows(single_url) == rows(bulk_url)
    assert read_models(single_url, single) == read_models(bulk_url, bulk)
    assert single.verify().ok and bulk.verify().ok
    single.close()
    bulk.close()


def test_an_import_that_comes_back_to_an_agreement_already_written_reads_it_back(
    new_db, monkeypatch
):
    """Agreements in hand are let go every so often: one seen again is read back
    through the open transaction, and its chain continues."""
    from agreement_ledger.ledger import application

    monkeypatch.setattr(application, "FLUSH_AGREEMENTS", 3)
    monkeypatch.setattr(application, "BULK_CHUNK", 7)
    generated = list(enumerate(register(300)))  # registrations first: later events come back
    lines = [
        line for _, line in sorted(generated, key=lambda p: (p[1]["type"] != "registered", p[0]))
    ]
    single_url, bulk_url = new_db(), new_db()
    one_at_a_time(single_url, lines).close()
    all_at_once(bulk_url, lines, bulk=True).close()
    assert rows(single_url) == rows(bulk_url)


BAD_LINES = [
    {"agreement": "tisa-2014", "type": "signed", "party": "FR", "occurred": "2014-12-27"},
    {"agreement": "nowhere", "type": "signed", "party": "KR", "occurred": "2014-12-27"},
    {"agreement": "tisa-2014", "type": "registered", "title": "again", "parties": ["KR"]},
    {
        "agreement": "tisa-2014",
        "type": "signed",
        "party": "KR",
        "occurred": "2014-12-27",
        "id": "registered",
    },
    {"agreement": "tisa-2014", "type": "no-such-type"},
]


@pytest.mark.parametrize("bad", BAD_LINES, ids=lambda b: str(b["type"]) + "/" + b["agreement"])
@pytest.mark.parametrize("position", [0, 1, 5, -1])
def test_a_refused_line_is_refused_alike_at_any_position_and_nothing_is_written(
    new_db, bad, position
):
    lines = example_lines()
    at = len(lines) if position == -1 else position + 1  # after the registration
    batch = [*lines[:at], bad, *lines[at:]]
    refusals = []
    for bulk in (False, True):
        url = new_db()
        with pytest.raises(Rejected) as refused:
            all_at_once(url, batch, bulk=bulk)
        assert count_events(url) == 0
        refusals.append((str(refused.value), refused.value.line))
    assert refusals[0] == refusals[1]
    assert refusals[0][1] == at + 1


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(lifecycle_event("random"), min_size=1, max_size=12))
def test_random_histories_are_written_or_refused_alike(new_db, events):
    batch = [RANDOM_REGISTRATION, *events]
    outcomes = []
    for bulk in (False, True):
        url = new_db()
        try:
            all_at_once(url, batch, bulk=bulk).close()
        except Rejected as error:
            outcomes.append(("refused", str(error), error.line, count_events(url)))
        else:
            outcomes.append(("written", rows(url)))
    assert outcomes[0] == outcomes[1]
