"""Edges found by an adversarial pass over the lean read path, the streaming import and
the verification of text written over a stored state: one line, never a traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE

MAIN = "import sys; sys.argv[0] = 'ledger'; from agreement_ledger.cli.main import main; main()"


def ledger(db: Path, *args: str, shell_tail: str = "", env: dict | None = None):
    command = " ".join(
        [f'"{sys.executable}" -c "{MAIN}"', "--db", f'"{db}"', *(f"'{a}'" for a in args)]
    )
    return subprocess.run(
        ["bash", "-c", f"{command} {shell_tail}"],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("edges") / "ledger.db"
    assert ledger(db, "import", str(EXAMPLE)).returncode == 0
    return db


def one_line(result, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.mark.parametrize("args", [["show", "tisa-2014"], ["list"], ["flags", "--format", "csv"]])
def test_a_query_with_standard_output_closed_is_one_line(imported, args):
    assert "standard output is closed" in one_line(ledger(imported, *args, shell_tail=">&-"), 2)


def test_a_query_whose_output_device_is_full_is_one_line(imported):
    said = one_line(
        ledger(imported, "show", "tisa-2014", "--format", "json", shell_tail=">/dev/full"), 2
    )
    assert "No space left on device" in said


def test_an_output_that_cannot_show_the_text_is_one_line(imported):
    result = ledger(imported, "show", "tisa-2014", env={"PYTHONIOENCODING": "ascii"})
    assert "UTF-8" in one_line(result, 2)


@pytest.mark.parametrize("args", [["show", "tisa-2014"], ["show", "tisa-2014", "--format", "json"]])
def test_a_damaged_stored_answer_says_to_rebuild(imported, tmp_path, args):
    db = tmp_path / "damaged.db"
    shutil.copy(imported, db)
    with sqlite3.connect(db) as connection:
        connection.execute("""UPDATE read_agreements SET show = '{"x": 1}'""")
    assert "ledger rebuild" in one_line(ledger(db, *args), 5)


def test_text_written_over_a_stored_state_is_a_finding_of_verify(imported, tmp_path):
    db = tmp_path / "text.db"
    shutil.copy(imported, db)
    with sqlite3.connect(db) as connection:
        connection.execute("DROP TRIGGER IF EXISTS ledger_events_refuse_update")
        connection.execute("UPDATE ledger_events SET state = CAST(state AS TEXT) WHERE id = 5")
    result = ledger(db, "verify")
    assert result.returncode == 1, result.stderr
    assert "not bytes (damaged)" in result.stdout and "tisa-2014" in result.stdout


def test_a_path_with_a_question_mark_is_refused_not_another_file(imported, tmp_path):
    odd = tmp_path / "q?.db"
    shutil.copy(imported, odd)
    assert "rename the file" in one_line(ledger(odd, "show", "tisa-2014"), 2)
    assert not (tmp_path / "q").exists()


def test_an_empty_db_option_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", MAIN, "--db=", "list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert "'--db'" in one_line(result, 2)
    assert not (tmp_path / "ledger.db").exists()


def test_an_import_from_a_closed_standard_input_is_one_line(tmp_path):
    db = tmp_path / "closed.db"
    assert "standard input is closed" in one_line(ledger(db, "import", "-", shell_tail="<&-"), 2)
