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

from agreement_ledger.ledger.application import Ledger, Submission, file_lines
from agreement_ledger.ledger.errors import Rejected
from agreement_ledger.projections import store
from agreement_ledger.projections.projector import Projector
from bench.register import register
from tests.conftest import EXAMPLE, count_events, example_lines
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


# -- a piped import: its checks in a process of their own ------------------------------


@pytest.fixture
def piped(monkeypatch):
    """Imports of any size piped, in small messages, their agreements let go every three;
    ``written_again`` counts imports the usual bulk writer had to write after all."""
    from agreement_ledger.ledger import application

    monkeypatch.setattr(application, "FLUSH_AGREEMENTS", 3)
    monkeypatch.setattr(application, "BULK_CHUNK", 7)
    monkeypatch.setattr(application, "PIPE_ROWS", 5)
    written_again: list[str] = []
    monkeypatch.setattr(Ledger, "_write_bulk", noted(written_again, "bulk", Ledger._write_bulk))
    return written_again


def in_order(url: str) -> list[tuple[Any, ...]]:
    """The stored rows in the order of the log, without their ids: PostgreSQL's sequence
    does not give back the ids of a transaction rolled back (an import written again)."""
    return [row[1:] for row in rows(url)]


def piped_at_once(url: str, lines: list[dict[str, Any]]) -> tuple[Ledger, Any]:
    ledger = opened(url)
    ledger.workers, ledger.pipe_from = 2, 0
    result = ledger.append(
        [Submission(line, line=n) for n, line in enumerate(lines, 1)], actor="clerk"
    )
    return ledger, result


def many_agreements() -> list[dict[str, Any]]:
    """Every history, one after another, then a generated register: whole agreements."""
    return [line for _, lines in histories() for line in lines]


def test_a_piped_import_stores_what_the_bulk_writer_stores(new_db, piped):
    lines = many_agreements()
    bulk_url, piped_url = new_db(), new_db()
    bulk = all_at_once(bulk_url, lines[:4], bulk=True)  # known before the import
    bulk.append([Submission(line) for line in lines[4:]], actor="clerk", bulk=True)
    usual = len(piped)
    ledger = opened(piped_url)
    ledger.append([Submission(line) for line in lines[:4]], actor="clerk", bulk=True)
    ledger.workers, ledger.pipe_from = 2, 0
    result = ledger.append([Submission(line) for line in lines[4:]], actor="clerk")

    assert len(piped) == usual + 1  # the piped import itself: nothing written again
    assert rows(bulk_url) == rows(piped_url)
    assert len(result.appended) == len(lines) - 4 and not result.skipped
    assert read_models(bulk_url, bulk) == read_models(piped_url, ledger)
    bulk.close()
    ledger.close()


def test_a_piped_import_skips_exact_repeats_as_the_bulk_writer_does(new_db, piped):
    lines = example_lines()
    url = new_db()
    ledger, first = piped_at_once(url, lines)
    again = ledger.append([Submission(line) for line in lines], actor="clerk")
    assert not again.appended and again.skipped == first.appended
    assert count_events(url) == len(lines) and not piped
    ledger.close()


@pytest.mark.parametrize("bad", BAD_LINES, ids=lambda b: str(b["type"]) + "/" + b["agreement"])
@pytest.mark.parametrize("position", [0, 5, -1])
def test_a_piped_import_refuses_a_line_as_the_bulk_writer_does(new_db, piped, bad, position):
    """The rejection is the checking process's own, raised here: not found again."""
    lines = many_agreements()
    at = 12 if position == -1 else position + 1  # inside tisa-2014, or at its end
    batch = [*lines[:at], bad, *lines[at:]]
    with pytest.raises(Rejected) as bulk_refused:
        all_at_once(new_db(), batch, bulk=True)
    url = new_db()
    with pytest.raises(Rejected) as piped_refused:
        piped_at_once(url, batch)
    assert type(piped_refused.value) is type(bulk_refused.value)
    assert str(piped_refused.value) == str(bulk_refused.value)
    assert piped_refused.value.line == bulk_refused.value.line == at + 1
    assert count_events(url) == 0
    assert len(piped) == 1  # only the bulk writer's own import


def test_an_agreement_met_again_after_it_was_let_go_is_written_the_usual_way(new_db, piped):
    """The checking process reads the database as it was: an agreement it let go and meets
    again (an export of a busy ledger, in the order of recording) makes it give up, and the
    import is written as the bulk writer writes it."""
    streams: dict[str, list[dict[str, Any]]] = {}
    for line in many_agreements():
        streams.setdefault(line["agreement"], []).append(line)
    turns = max(len(events) for events in streams.values())
    mixed = [events[n] for n in range(turns) for events in streams.values() if n < len(events)]
    bulk_url, piped_url = new_db(), new_db()
    all_at_once(bulk_url, mixed, bulk=True).close()
    ledger, result = piped_at_once(piped_url, mixed)
    assert len(piped) == 2  # the bulk writer's import, then the piped one written again
    assert in_order(bulk_url) == in_order(piped_url)
    assert len(result.appended) == len(mixed)
    ledger.close()


def test_a_checking_process_that_fails_leaves_the_import_to_the_usual_way(
    new_db, piped, monkeypatch
):
    checked = Ledger._check_share

    def broken(self, share, *args, **kwargs):
        if share.which == 1:
            raise RuntimeError("the checking process failed")
        return checked(self, share, *args, **kwargs)

    monkeypatch.setattr(Ledger, "_check_share", broken)  # in the second forked process
    lines = many_agreements()
    bulk_url, piped_url = new_db(), new_db()
    all_at_once(bulk_url, lines, bulk=True).close()
    ledger, result = piped_at_once(piped_url, lines)
    assert len(piped) == 2
    assert in_order(bulk_url) == in_order(piped_url)
    assert len(result.appended) == len(lines)
    ledger.close()


def noted(ways: list[str], way: str, writer: Callable[..., Any]) -> Callable[..., Any]:
    """``writer``, noting in ``ways`` that it wrote."""

    def writing(self: Ledger, *args: Any, **kwargs: Any) -> Any:
        ways.append(way)
        return writer(self, *args, **kwargs)

    return writing


@pytest.mark.parametrize("source", ["file", "stdin"])
@pytest.mark.parametrize("pipe_from", [1, 10**9], ids=["large", "small"])
def test_ledger_import_is_piped_when_the_files_size_says_it_is_large(
    cli, db_url, monkeypatch, source, pipe_from
):
    """The command guesses the events from the file's size (standard input is spooled
    to a file first): a large import is piped, a small one written the usual way."""
    from agreement_ledger.ledger import application

    monkeypatch.setattr(application, "worker_count", lambda: 2)
    monkeypatch.setattr(application, "PIPE_FROM", pipe_from)
    ways: list[str] = []
    for way in ("_write_piped", "_write_bulk"):
        monkeypatch.setattr(Ledger, way, noted(ways, way, getattr(Ledger, way)))
    if source == "file":
        result = cli("import", str(EXAMPLE))
    else:
        result = cli("import", "-", input=EXAMPLE.read_text())
    assert result.exit_code == 0, result.output
    assert "appended 12, skipped 0" in result.output
    assert ways == (["_write_piped"] if pipe_from == 1 else ["_write_bulk"])
    assert count_events(db_url) == 12


def test_a_piped_import_of_a_file_reads_it_whole_in_every_checking_process(
    new_db, piped, monkeypatch, tmp_path
):
    """Its checking processes share the open file: each reads it at offsets of its own,
    here in blocks of 97 bytes, so that lines run across blocks."""
    from agreement_ledger.ledger import application

    monkeypatch.setattr(application, "FILE_BLOCK", 97)
    lines = many_agreements()
    path = tmp_path / "register.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + "\n\n")
    bulk_url, piped_url = new_db(), new_db()
    all_at_once(bulk_url, lines, bulk=True).close()
    usual = len(piped)
    ledger = opened(piped_url)
    ledger.workers, ledger.pipe_from = 3, 0
    with path.open("rb") as file:
        result = ledger.append_from(application.file_lines(file), actor="clerk", expected=1)

    assert len(piped) == usual  # written piped, not again the usual way
    assert len(result.appended) == len(lines)
    assert rows(bulk_url) == rows(piped_url)
    ledger.close()


def test_a_checking_process_that_runs_ahead_waits_for_the_writer(new_db, monkeypatch):
    """The writer holds a faster process's lines until the slower one passes them: each
    may have only ``PIPE_BACKLOG`` messages unwritten, so what the writer holds stays a
    few messages, however far ahead the cheaper share could run."""
    import time

    from agreement_ledger.ledger import application, piping

    monkeypatch.setattr(application, "PIPE_ROWS", 20)
    monkeypatch.setattr(application, "PIPE_BACKLOG", 2)
    checked = Ledger._check_line

    def slow_first_share(self, position, submission, *args):
        if piping.share_of(submission.raw.get("agreement"), 2) == 0:
            time.sleep(0.001)
        return checked(self, position, submission, *args)

    held: list[int] = []
    take = piping.InOrder.take

    def noting(self, index, message):
        take(self, index, message)
        held.append(sum(map(len, self.waiting)))

    monkeypatch.setattr(Ledger, "_check_line", slow_first_share)
    monkeypatch.setattr(piping.InOrder, "take", noting)
    lines = list(register(1500))
    bulk_url, piped_url = new_db(), new_db()
    all_at_once(bulk_url, lines, bulk=True).close()
    ledger, result = piped_at_once(piped_url, lines)

    assert len(result.appended) == len(lines)
    assert rows(bulk_url) == rows(piped_url)
    assert max(held) <= 2 * (2 + 1) * 20  # processes x (backlog + the one taken) x lines
    ledger.close()


@pytest.mark.parametrize("opened_as", ["plain", "gzip"])
def test_an_import_from_a_file_object_reads_its_lines_whether_piped_or_not(
    db_url, monkeypatch, tmp_path, opened_as
):
    """A plain file is piped (each checking process reads it at its own offsets); a file
    read through a wrapper (``gzip.open``, whose descriptor is the compressed file's) is
    imported the usual way, its lines read through the wrapper."""
    import gzip

    from agreement_ledger import Ledger as Api
    from agreement_ledger.ledger import application

    monkeypatch.setattr(application, "worker_count", lambda: 2)
    monkeypatch.setattr(application, "PIPE_FROM", 1)
    ways: list[str] = []
    for way in ("_write_piped", "_write_bulk"):
        monkeypatch.setattr(Ledger, way, noted(ways, way, getattr(Ledger, way)))
    path = tmp_path / "tisa.jsonl"
    path.write_bytes(EXAMPLE.read_bytes())
    if opened_as == "gzip":
        with gzip.open(tmp_path / "tisa.jsonl.gz", "wb") as packed:
            packed.write(EXAMPLE.read_bytes())
        path = tmp_path / "tisa.jsonl.gz"
    opener = gzip.open if opened_as == "gzip" else open
    with Api(db_url, actor="clerk") as api, opener(path, "rb") as file:
        result = api.import_file(file)
    assert len(result["appended"]) == 12
    assert ways == (["_write_piped"] if opened_as == "plain" else ["_write_bulk"])
    assert count_events(db_url) == 12


@pytest.mark.parametrize("piped_import", [False, True], ids=["bulk", "piped"])
@pytest.mark.parametrize("rule_broken", [True, False], ids=["rule-then-json", "json-only"])
def test_the_lowest_failing_line_is_reported_whatever_kind_of_error(
    new_db, piped, tmp_path, piped_import, rule_broken
):
    """A line that breaks a rule, then a line that is not JSON in the same read-ahead: the
    first is reported (the source's error is raised once the lines before it are read)."""
    lines = [json.dumps(line) for line in register(300)]
    if rule_broken:
        lines[45] = json.dumps({**json.loads(lines[45]), "type": "no-such-type"})
    lines[70] = '{"agreement": "x", oops'
    path = tmp_path / "register.jsonl"
    path.write_text("\n".join(lines) + "\n")
    url = new_db()
    ledger = opened(url)
    if piped_import:
        ledger.workers, ledger.pipe_from = 3, 0
    with path.open("rb") as file, pytest.raises(Rejected) as refused:
        ledger.append_from(file_lines(file), actor="clerk", expected=len(lines))
    assert refused.value.line == (46 if rule_broken else 71)
    assert count_events(url) == 0
    ledger.close()
