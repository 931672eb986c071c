"""The ``ledger`` program loads only the command it runs and leaves without tearing the
interpreter down — and still leaves every event in the database file and every answer
on its streams."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agreement_ledger.cli import main as entry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tisa-2014.jsonl"
MAIN = "import sys; sys.argv[0] = 'ledger'; from agreement_ledger.cli.main import main; main()"


def ledger(db: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", MAIN, "--db", str(db), *args],
        capture_output=True,
        input=stdin,
        env={**os.environ, "COLUMNS": "100"},
        timeout=120,
    )


def stored_events(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT count(*) FROM ledger_events").fetchone()[0]


def test_every_registered_command_is_mapped_to_the_module_that_registers_it():
    app = entry.registered_app()
    registered = {
        command.name or command.callback.__name__.replace("_", "-"): command.callback.__module__
        for command in app.registered_commands
    }
    registered.update({group.name: "agreement_ledger.cli.admin" for group in app.registered_groups})
    assert {
        name: f"agreement_ledger.cli.{module}" for name, module in entry.COMMAND_MODULES.items()
    } == registered


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["append", "k", "noted"], "write"),
        (["--db", "x.db", "show", "k"], "read"),
        (["--db=x.db", "--actor", "clerk", "verify"], "audit"),
        (["db", "upgrade"], "admin"),
        (["--help"], None),
        (["apend"], None),
        ([], None),
    ],
)
def test_only_the_named_commands_module_is_needed(argv, module):
    assert entry._module_of(argv) == module


def test_an_append_leaves_its_event_in_the_database_file_alone(tmp_path):
    """A copy of the ``.db`` file made right after a command holds every event: the
    write-ahead log was checkpointed before the process left."""
    db = tmp_path / "l.db"
    assert ledger(db, "import", str(EXAMPLE)).returncode == 0
    done = ledger(
        db,
        "append",
        "tisa-2014",
        "noted",
        "--field",
        "text=talks resume",
        "--field",
        "occurred=2015-03",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"appended tisa-2014/13\n"
    assert not (tmp_path / "l.db-wal").exists()
    copy = tmp_path / "copy.db"
    shutil.copyfile(db, copy)
    assert stored_events(copy) == 13


def test_errors_and_unknown_commands_still_say_one_line_and_exit_with_their_code(tmp_path):
    db = tmp_path / "l.db"
    assert ledger(db, "import", str(EXAMPLE)).returncode == 0
    unknown = ledger(db, "apend", "tisa-2014")
    assert (unknown.returncode, unknown.stderr) == (
        2,
        b"Error: No such command 'apend'. Did you mean 'append'?\n",
    )
    refused = ledger(db, "append", "tisa-2014", "noted", "--field", "occurred=2015-03")
    assert refused.returncode != 0 and refused.stderr.count(b"\n") == 1
    assert stored_events(db) == 12


def test_a_large_answer_reaches_a_pipe_whole(tmp_path):
    """Leaving at once must not lose buffered output: ``export`` of every event arrives."""
    db = tmp_path / "l.db"
    assert ledger(db, "import", str(EXAMPLE)).returncode == 0
    done = ledger(db, "export")
    assert done.returncode == 0
    assert done.stdout.count(b"\n") == 12 and done.stdout.endswith(b"}\n")


def test_under_a_profiler_the_exit_is_the_normal_one_so_the_profile_is_written(tmp_path):
    db, profile = tmp_path / "l.db", tmp_path / "import.prof"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(profile),
            "-m",
            "agreement_ledger.cli.main",
            "--db",
            str(db),
            "import",
            str(EXAMPLE),
        ],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"appended 12, skipped 0\n"
    assert profile.stat().st_size > 1000
