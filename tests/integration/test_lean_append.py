"""The lean append (``ledger append`` on a SQLite ledger whose read models are current)
stores the bytes and writes the read models the full path does, and hands over, having
written nothing, whenever it cannot be sure."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, insert, select, update
from sqlalchemy.dialects import sqlite as sqlite_dialect

from agreement_ledger.ledger import sqlite_log
from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.ledger.domain import agreement_id
from agreement_ledger.projections import lean, lean_append, rows, store
from agreement_ledger.projections.project import project
from agreement_ledger.projections.projector import Projector
from agreement_ledger.projections.version import TRACKING_NAME
from bench.register import register
from tests.conftest import as_at_a_terminal, count_events, example_lines
from tests.integration.test_bulk_equivalence import histories
from tests.integration.test_bulk_equivalence import rows as stored_rows

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tisa-2014.jsonl"
FULL = "import sys; sys.argv[0] = 'ledger'; from agreement_ledger.cli.main import full; full()"
MAIN = "import sys; sys.argv[0] = 'ledger'; from agreement_ledger.cli.main import main; main()"


def ticks() -> Iterator[datetime]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return (start + timedelta(milliseconds=n) for n in range(10**9))


def path_of(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def dump(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    with engine.connect() as connection:
        dumped = store.dump(connection)
        dumped["position"] = store.position(connection)
    engine.dispose()
    return dumped


def full_append(ledger: Ledger, line: dict[str, Any], now: datetime) -> None:
    """What ``ledger append`` does on the full path, at the instant ``now``."""
    ledger.clock = lambda: now
    ledger.append([Submission(line)], actor="clerk", ignore_ledger_keys=False, bulk=False)
    Projector(ledger).catch_up(now=now)


@pytest.mark.parametrize(("name", "lines"), histories(), ids=[n for n, _ in histories()])
def test_the_lean_append_stores_and_projects_what_the_full_path_does(backend, new_db, name, lines):
    if backend != "sqlite":
        pytest.skip("the lean append writes SQLite files only")
    lean_url, full_url = new_db(), new_db()
    lean_ledger, full_ledger = Ledger(lean_url), Ledger(full_url)
    Projector(
        lean_ledger
    ).rebuild()  # the read models of a new ledger, as `ledger import` leaves them
    Projector(full_ledger).rebuild()
    handed_over = 0
    for line, now in zip(lines, ticks(), strict=False):
        if lean_append.append(path_of(lean_url), line, "clerk", now=now) is None:
            handed_over += 1  # as the program does: the full path then appends
            full_append(lean_ledger, line, now)
        full_append(full_ledger, line, now)
    assert handed_over == 0
    assert stored_rows(lean_url) == stored_rows(full_url)
    assert dump(lean_url) == dump(full_url)
    assert lean_ledger.verify().ok
    lean_ledger.close()
    full_ledger.close()


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    db = tmp_path / "ledger.db"
    ledger = Ledger(str(db))
    Projector(ledger).rebuild()
    for line in example_lines():
        full_append(ledger, line, datetime.now(UTC))
    ledger.close()
    return db


def event_count(db: Path) -> int:
    return count_events(f"sqlite:///{db}")


NOTED = {"agreement": "tisa-2014", "type": "noted", "text": "talks resume", "occurred": "2015"}


@pytest.mark.parametrize(
    "line",
    [
        {**NOTED, "occurred": "2015-13"},  # refused by the vocabulary
        {**NOTED, "type": "registered"},  # refused by the rules: registered twice
        {**NOTED, "agreement": "no-such-agreement"},  # not registered
        {**NOTED, "id": "ratification-required"},  # an existing id, other content
        {**NOTED, "version": 3},  # a ledger key where an event is expected
    ],
    ids=["vocabulary", "rules", "unknown", "conflicting id", "ledger key"],
)
def test_what_the_rules_refuse_is_handed_over_with_nothing_written(imported, line):
    before = event_count(imported)
    assert lean_append.append(imported, line, "clerk") is None
    assert event_count(imported) == before


def test_a_repeat_is_handed_over_to_be_reported_as_skipped(imported):
    line = {**NOTED, "id": "talks-resume"}
    assert lean_append.append(imported, line, "clerk") == "talks-resume"
    before = event_count(imported)
    assert lean_append.append(imported, line, "clerk") is None
    assert event_count(imported) == before


def test_read_models_behind_are_handed_over_to_the_catch_up(imported):
    ledger = Ledger(str(imported))
    ledger.append([Submission(NOTED)], actor="clerk")  # no projector listening: behind
    ledger.close()
    before = event_count(imported)
    assert lean_append.append(imported, {**NOTED, "text": "again"}, "clerk") is None
    assert event_count(imported) == before


def test_an_answer_changed_by_time_is_handed_over_to_the_catch_up(imported):
    engine = create_engine(f"sqlite:///{imported}")
    with engine.begin() as connection:
        connection.execute(
            update(store.agreements).values(changes_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    engine.dispose()
    before = event_count(imported)
    assert lean_append.append(imported, NOTED, "clerk") is None
    assert event_count(imported) == before


def test_a_writer_holding_the_lock_too_long_is_handed_over(imported, monkeypatch):
    monkeypatch.setattr(lean_append, "BUSY_SECONDS", 0.1)
    holder = sqlite3.connect(imported, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        before = event_count(imported)
        assert lean_append.append(imported, NOTED, "clerk") is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert event_count(imported) == before


def test_a_tracked_position_ahead_of_the_log_is_handed_over(imported):
    """Damage the full path's catch-up reports its own way: not this path's to mend."""
    with sqlite3.connect(imported) as connection:
        connection.execute(
            "UPDATE read_tracking SET position = 99 WHERE name = ?", (TRACKING_NAME,)
        )
    before = event_count(imported)
    assert lean_append.append(imported, NOTED, "clerk") is None
    assert event_count(imported) == before


def test_ctrl_c_while_waiting_for_the_lock_ends_quietly_with_nothing_written(imported):
    """Exit 130 and no traceback, as Typer ends the full command on Ctrl-C."""
    holder = sqlite3.connect(imported, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        before = event_count(imported)
        command = ["append", "tisa-2014", "noted", "--field", "text=t", "--field", "occurred=2015"]
        waiting = subprocess.Popen(
            [sys.executable, "-c", MAIN, "--db", str(imported), *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=as_at_a_terminal,
        )
        time.sleep(1.5)  # within the lean path's wait for the lock (5 s)
        waiting.send_signal(signal.SIGINT)
        out, err = waiting.communicate(timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (waiting.returncode, out, err) == (130, "", "")
    assert event_count(imported) == before


def test_a_damaged_stream_is_handed_over_for_the_full_path_to_report(imported):
    with sqlite3.connect(imported) as connection:  # as someone with the file would
        connection.execute("DROP TRIGGER ledger_events_refuse_update")
        connection.execute("UPDATE ledger_events SET originator_version = 40 WHERE id = 5")
    before = event_count(imported)
    assert lean_append.append(imported, NOTED, "clerk") is None
    assert event_count(imported) == before


def test_a_stored_value_the_projection_cannot_read_is_handed_over(imported):
    """What the rules never wrote (a timestamp made a number): the full path says what
    it says of it; this path neither crashes nor writes."""
    with sqlite3.connect(imported) as connection:
        connection.execute("DROP TRIGGER ledger_events_refuse_update")
        connection.execute(
            "UPDATE ledger_events SET state = CAST(json_set(CAST(state AS TEXT), "
            "'$.timestamp', 5) AS BLOB) WHERE id = 5"
        )
    before = event_count(imported)
    assert lean_append.append(imported, NOTED, "clerk") is None
    assert event_count(imported) == before


# -- the program --------------------------------------------------------------------


def run(program: str, db: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", program, "--db", str(db), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100", "LEDGER_ACTOR": "clerk", **env},
        timeout=120,
    )


PROBE = """
import os, sys
sys.argv[0] = "ledger"
from agreement_ledger.cli.main import full, leave
from agreement_ledger.cli.quick import answer
code = answer(sys.argv[1:])
with open(os.environ["PATH_TAKEN"], "w") as taken:
    taken.write("full" if code is None else "lean")
try:
    if code is None:
        full()
except SystemExit as stop:
    leave(stop.code)
leave(code)
"""
"""``ledger`` as its entry point runs it, saying which path answered."""

LONG_ZONE = f"--field=tz={'A' * 300}"
APPENDS = [
    ("lean", ["tisa-2014", "noted", "--field", "text=talks resume", "--field", "occurred=2015"]),
    ("lean", ["tisa-2014", "noted", "--field=text=t", "--field=occurred=2015", "--field=id=x1"]),
    ("full", ["tisa-2014", "noted", "--field", "text=again", "--field", "occurred=2015-13"]),
    ("full", ["tisa-2014", "nosuch", "--field", "text=t"]),
    ("full", ["tisa-2014", "noted", "--field", "text"]),
    ("full", ["tisa-2014", "noted", "--field", "agreement=other", "--field", "text=t"]),
    ("full", ["tisa-2014", "noted", "--field", "text=t", "--field", "occurred=2015", "-h"]),
    ("full", ["tisa-2014", "noted", "--field=text=t", "--field=occurred=2015", "--field=tz=Asia"]),
    ("full", ["tisa-2014", "noted", "--field=text=t", "--field=occurred=2015", LONG_ZONE]),
]


@pytest.mark.parametrize(("taken", "args"), APPENDS, ids=[" ".join(a)[:60] for _, a in APPENDS])
def test_the_program_says_and_stores_what_the_full_command_does(imported, tmp_path, taken, args):
    """The same command on two copies of one ledger, by the program (which takes the lean
    path when it can) and by the full command alone: the same output, the same exit code,
    the same events (but for the instant each was recorded at). What the rules refuse is
    handed over; what they accept is written by the lean path."""
    copy, path_taken = tmp_path / "copy.db", tmp_path / "taken"
    shutil.copy(imported, copy)
    program_run = run(PROBE, imported, ["append", *args], PATH_TAKEN=str(path_taken))
    full_run = run(FULL, copy, ["append", *args])
    assert path_taken.read_text() == taken
    assert (program_run.returncode, program_run.stdout, program_run.stderr) == (
        full_run.returncode,
        full_run.stdout,
        full_run.stderr,
    )
    assert without_instants(imported) == without_instants(copy)


def without_instants(db: Path) -> list[dict[str, Any]]:
    ledger = Ledger(str(db))
    records = [r.record for r in ledger.store.records()]
    ledger.close()
    for record in records:
        for key in ("recorded_at", "prev_hash", "hash"):
            record.pop(key)
    return records


def test_a_lean_append_loads_neither_typer_nor_sqlalchemy_and_leaves_read_models_current(
    imported,
):
    probe = (
        "import sys; from agreement_ledger.cli.quick import answer; "
        f"code = answer(['--db', {str(imported)!r}, 'append', 'tisa-2014', 'noted', "
        "'--field', 'text=t', '--field', 'occurred=2015']); "
        "loaded = [m for m in ('typer', 'sqlalchemy', 'eventsourcing_sqlalchemy') "
        "if m in sys.modules]; print(code, loaded, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stderr.strip() == "0 []"
    assert done.stdout == "appended tisa-2014/13\n"
    with lean.current_read_models(imported) as connection:
        assert connection is not None
        assert lean.show(connection, "tisa-2014")["version"] == 13
    assert sorted(p.name for p in imported.parent.iterdir()) == ["ledger.db"]


# -- kept in step with SQLAlchemy ------------------------------------------------------


def test_the_lean_statements_are_sqlalchemys_own():
    dialect = sqlite_dialect.dialect()

    def compiled(statement: Any) -> str:
        return str(statement.compile(dialect=dialect)).replace("\n", "")

    ledger = Ledger("sqlite://")
    events = ledger.recorder.events_record_cls.__table__
    ledger.close()
    columns = ["originator_id", "originator_version", "topic", "state"]
    assert (
        str(insert(events).compile(dialect=dialect, column_keys=columns)) == sqlite_log.INSERT_EVENT
    )
    stream = (
        select(events.c.originator_version, events.c.topic, events.c.state)
        .where(events.c.originator_id == agreement_id("k"))
        .order_by(events.c.originator_version)
    )
    assert str(stream.compile(dialect=dialect)) == sqlite_log.STREAM
    assert (
        compiled(
            update(store.tracking).where(store.tracking.c.name == TRACKING_NAME).values(position=0)
        )
        == lean_append.SET_POSITION
    )
    for table in store.READ_MODELS:
        names = [column.name for column in table.columns]
        assert lean_append.INSERT_ROWS[table.name] == str(
            insert(table).compile(dialect=dialect, column_keys=names)
        )
        forget = compiled(delete(table).where(table.c.agreement.in_(["k"])))
        assert lean_append.FORGET[table.name] == forget.replace(
            "(__[POSTCOMPILE_agreement_1])", "(?)"
        )


def test_the_row_layout_is_the_tables_own():
    for table in store.READ_MODELS:
        assert rows.COLUMNS[table.name] == tuple(column.name for column in table.columns)
        assert rows.JSON_COLUMNS[table.name] == {
            c.name for c in table.columns if type(c.type).__name__ == "JSON"
        }
        assert rows.WIDTHS[table.name] == {
            c.name: c.type.length
            for c in table.columns
            if getattr(c.type, "length", None) is not None
        }
        assert rows.INSTANT_COLUMNS.get(table.name, set()) == {
            c.name for c in table.columns if type(c.type).__name__ == "DateTime"
        }


def test_rows_made_ready_without_sqlalchemy_are_the_dialects_own():
    projections = []
    for _, lines in histories():
        ledger = Ledger("sqlite://")
        ledger.append([Submission(line) for line in lines], actor="clerk")
        for events in ledger.store.streams():
            found = project(events, as_of=datetime(2026, 11, 27, tzinfo=UTC))
            if found is not None:
                projections.append(found)
        ledger.close()
    assert any(p.changes_at is not None for p in projections)
    assert rows.prepare(projections, rows.sqlite_ready) == store.prepare(
        sqlite_dialect.dialect(), projections
    )


def test_a_generated_register_appended_by_the_program_verifies_and_audits(tmp_path):
    db = tmp_path / "ledger.db"
    lines = list(register(8))
    first, rest = lines[:40], lines[40:60]
    data = "".join(json.dumps(line) + "\n" for line in first)
    (tmp_path / "first.jsonl").write_text(data)
    assert run(FULL, db, ["import", str(tmp_path / "first.jsonl")]).returncode == 0
    for line in rest:
        fields = [
            f"--field={name}={value if isinstance(value, str) else json.dumps(value)}"
            for name, value in line.items()
            if name not in ("agreement", "type")
        ]
        done = run(MAIN, db, ["append", line["agreement"], line["type"], *fields])
        assert done.returncode == 0, done.stderr
    assert run(FULL, db, ["verify"]).returncode == 0
    audited = run(FULL, db, ["audit"])
    assert audited.returncode == 0, audited.stdout
