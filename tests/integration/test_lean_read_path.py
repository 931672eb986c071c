"""The lean read path answers ``show``, ``list`` and ``flags`` exactly as the full
command does, and hands over whenever the read models are not current."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from agreement_ledger.cli import quick
from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.projections import lean, store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tisa-2014.jsonl"
FULL = "import sys; sys.argv[0] = 'ledger'; from agreement_ledger.cli.main import full; full()"
MAIN = "import sys; sys.argv[0] = 'ledger'; from agreement_ledger.cli.main import main; main()"

QUERIES = [
    ["show", "tisa-2014"],
    ["show", "tisa-2014", "--format", "json"],
    ["list"],
    ["list", "--format", "csv"],
    ["list", "--format", "json"],
    ["flags"],
    ["flags", "tisa-2014", "--format", "json"],
    ["flags", "--format", "csv"],
    ["show", "no-such-agreement"],
    ["flags", "no-such-agreement"],
    ["--actor", "clerk", "show", "tisa-2014"],
    ["--actor=clerk", "list"],
]


def run(program: str, db: Path, args: list[str], env: dict[str, str] | None = None) -> tuple:
    done = subprocess.run(
        [sys.executable, "-c", program, "--db", str(db), *args],
        capture_output=True,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    db = tmp_path / "lean.db"
    assert run(FULL, db, ["import", str(EXAMPLE)])[0] == 0
    return db


@pytest.mark.parametrize("args", QUERIES, ids=" ".join)
def test_the_lean_path_prints_what_the_full_command_prints(imported, args):
    assert run(MAIN, imported, args) == run(FULL, imported, args)


def test_a_current_query_loads_neither_typer_nor_sqlalchemy(imported):
    probe = (
        "import sys; from agreement_ledger.cli.quick import answer; "
        f"code = answer(['--db', {str(imported)!r}, 'show', 'tisa-2014', '--format', 'json']); "
        "loaded = [m for m in ('typer', 'sqlalchemy', 'eventsourcing', 'rich') if m in sys.modules]; "
        "print(code, loaded, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stderr.strip() == "0 []"
    assert '"agreement": "tisa-2014"' in done.stdout


@pytest.mark.parametrize("args", [["show", "tisa-2014"], ["list"], ["flags"]], ids=" ".join)
def test_a_lean_answer_leaves_no_write_ahead_log_files_and_writes_nothing(imported, args):
    before = imported.read_bytes()
    code, out, _ = run(MAIN, imported, args)
    assert code == 0 and out
    assert sorted(p.name for p in imported.parent.iterdir()) == ["lean.db"]
    assert imported.read_bytes() == before


def test_read_models_behind_the_log_are_caught_up_by_the_full_path(imported):
    application = Ledger(f"sqlite:///{imported}")  # writes without projecting
    noted = {
        "agreement": "tisa-2014",
        "type": "noted",
        "id": "n-1",
        "text": "late",
        "occurred": "2015-01-01",
    }
    application.append([Submission(noted)])
    application.close()
    with lean.current_read_models(imported) as connection:
        assert connection is None
    assert quick.answer(["--db", str(imported), "show", "tisa-2014"]) is None
    code, out, _ = run(MAIN, imported, ["show", "tisa-2014", "--format", "json"])
    assert code == 0 and b'"version": 13' in out
    with lean.current_read_models(imported) as connection:
        assert connection is not None  # the full path caught up; the next query is lean


@pytest.mark.parametrize("change", ["behind", "version", "time", "schema"])
def test_the_lean_test_of_currency_agrees_with_the_full_one(imported, change):
    engine = create_engine(f"sqlite:///{imported}")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        if change == "behind":
            connection.execute(
                text("UPDATE read_tracking SET position = position - 1 WHERE name = 'read_models'")
            )
        elif change == "version":
            connection.execute(
                text("UPDATE read_tracking SET position = 1 WHERE name = 'projection_version'")
            )
        elif change == "time":  # an answer that changes by time alone, a second ago
            connection.execute(
                text("UPDATE read_agreements SET changes_at = :t"),
                {"t": now - timedelta(seconds=1)},
            )
        else:
            connection.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    with engine.connect() as connection:
        full_says = change != "schema" and store.up_to_date(connection, now)
    engine.dispose()
    with lean.current_read_models(imported) as connection:
        assert (connection is not None) is full_says is False


def test_an_answer_that_changes_later_is_still_current_now(imported):
    engine = create_engine(f"sqlite:///{imported}")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE read_agreements SET changes_at = :t"),
            {"t": datetime.now(UTC) + timedelta(days=1)},
        )
        assert store.up_to_date(connection, datetime.now(UTC))
    engine.dispose()
    with lean.current_read_models(imported) as connection:
        assert connection is not None


@pytest.mark.parametrize(
    "argv",
    [
        ["show"],
        ["show", "a", "b"],
        ["show", "tisa-2014", "--help"],
        ["show", "tisa-2014", "--format", "csv"],
        ["flags", "--code", "x"],
        ["--actor", "", "show", "tisa-2014"],
        ["--actor", "a\x1bb", "list"],
        ["--actor"],
        ["--db"],
        ["history", "tisa-2014"],
        [],
    ],
    ids=repr,
)
def test_anything_but_the_plain_forms_goes_to_the_full_command(imported, argv):
    assert quick.answer(["--db", str(imported), *argv]) is None


@pytest.mark.parametrize(
    "db",
    [
        "postgresql://localhost/x",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///x.db?mode=ro",
        "missing.db",
        "sqlite:///%2Ftmp",
        "bad\x01name",
    ],
)
def test_only_a_plain_existing_sqlite_file_is_read_lean(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert lean.sqlite_file(db) is None
