"""Storage faults are storage errors: exit 5 at once, naming the fault, nothing written.

A read-only database or a full disk is not a write conflict: retrying cannot
help, so the ledger says so immediately instead of retrying for seconds and
blaming "other writers".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from agreement_ledger.cli.main import app
from tests.conftest import EXAMPLE, count_events


def read_only_url(db_url: str) -> str:
    """The same database, opened so that every write is refused by the database itself."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///file:{url.database}?mode=ro&uri=true"
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(
            text(f'ALTER DATABASE "{url.database}" SET default_transaction_read_only = on')
        )
    engine.dispose()
    return db_url


@pytest.mark.parametrize(
    "command",
    [
        ["append", "tisa-2014", "noted", "--field", "text=x", "--field", "occurred=2015"],
        ["import", "more.jsonl"],
        ["rebuild"],
    ],
    ids=["append", "import", "rebuild"],
)
def test_writing_to_a_read_only_database_is_a_storage_error(cli, db_url, command, tmp_path):
    assert cli("import", str(EXAMPLE)).exit_code == 0
    before = count_events(db_url)
    if command[0] == "import":
        extra = tmp_path / "more.jsonl"
        extra.write_text(
            json.dumps({"agreement": "ro-1", "type": "registered", "title": "t"}) + "\n"
        )
        command = ["import", str(extra)]
    readonly = read_only_url(db_url)

    result = CliRunner().invoke(app, ["--db", readonly, *command])

    assert result.exit_code == 5, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "read" in result.stderr.lower() and "other writers" not in result.stderr
    assert count_events(db_url) == before
    shown = CliRunner().invoke(app, ["--db", readonly, "show", "tisa-2014"])
    assert shown.exit_code == 0, shown.output  # readers still read


def _isolated_mount_available() -> str | None:
    if shutil.which("unshare") is None:
        return "no unshare here"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    return None if probe.returncode == 0 else "cannot mount a private tmpfs here"


def test_importing_onto_a_full_disk_is_a_storage_error_and_writes_nothing(tmp_path):
    reason = _isolated_mount_available()
    if reason:
        pytest.skip(reason)
    db = tmp_path / "ledger.db"
    assert CliRunner().invoke(app, ["--db", str(db), "import", str(EXAMPLE)]).exit_code == 0
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    before = count_events(f"sqlite:///{db}")
    big = tmp_path / "big.jsonl"
    with big.open("w") as out:
        for n in range(600):
            out.write(
                json.dumps(
                    {
                        "agreement": f"full-{n}",
                        "type": "registered",
                        "title": "A title " * 20,
                        "parties": ["KR", "US"],
                    }
                )
                + "\n"
            )
    disk = tmp_path / "disk"
    disk.mkdir()
    size_kib = db.stat().st_size // 1024 + 96
    script = (
        f'mount -t tmpfs -o size={size_kib}k tmpfs "{disk}" && cp "{db}" "{disk}/ledger.db" && '
        f'{{ "{sys.executable}" -m agreement_ledger.cli.main --db "{disk}/ledger.db" import "{big}"; '
        f'echo $? > "{tmp_path}/rc"; cp "{disk}/ledger.db" "{tmp_path}/after.db"; }}'
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120
    )

    assert (tmp_path / "rc").read_text().strip() == "5", done.stderr
    assert done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "full" in done.stderr and "other writers" not in done.stderr
    assert count_events(f"sqlite:///{tmp_path / 'after.db'}") == before


def test_an_event_stored_when_the_read_models_cannot_follow_is_never_reported_lost(cli, db_url):
    assert cli("import", str(EXAMPLE)).exit_code == 0
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE read_flags"))
    engine.dispose()
    before = count_events(db_url)

    result = cli("append", "tisa-2014", "noted", "--field", "text=x", "--field", "occurred=2015")

    assert result.exit_code == 5, result.output
    assert result.stderr.count("\n") == 1
    assert "1 event(s) were recorded (tisa-2014/13)" in result.stderr
    assert "do not append them again" in result.stderr
    assert count_events(db_url) == before + 1
    assert cli("rebuild").exit_code == 0
    assert cli("show", "tisa-2014", "--format", "json").exit_code == 0


def test_control_characters_in_the_report_are_shown_visibly(cli, tmp_path):
    register = {"title": "Pact \x1b[2J\u202e", "parties": ["KR"]}
    assert cli("append", "ctl", "registered", "--json", json.dumps(register)).exit_code == 0
    page = tmp_path / "ctl.html"
    assert cli("report", "ctl", "-o", str(page)).exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert "\x1b" not in html and "\u202e" not in html
    assert "Pact \\x1b[2J\\u202e" in html


def _move_read_models_ahead(db_url: str) -> None:
    """What a database file copied over one in use can leave: read models that have seen
    more events than the log holds."""
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE read_tracking SET position = position + 5 WHERE name = 'read_models'")
        )
    engine.dispose()


@pytest.mark.parametrize(
    "command",
    [
        ["show", "tisa-2014"],
        ["list"],
        ["append", "lost-1", "noted", "--field", "text=x", "--field", "occurred=2015"],
        ["append", "tisa-2014", "noted", "--field", "text=x", "--field", "occurred=2015"],
        ["import", "more.jsonl"],
    ],
    ids=["show", "list", "append-unknown", "append-known", "import"],
)
def test_read_models_ahead_of_the_log_say_events_are_missing(cli, db_url, command, tmp_path):
    """Not an answer from the read models, nor "not registered": the log lost events. And
    nothing is written to it: its ids would catch up with the read models' position, which
    would then look current, the lost events never noticed again."""
    assert cli("import", str(EXAMPLE)).exit_code == 0
    _move_read_models_ahead(db_url)
    before = count_events(db_url)
    if command[0] == "import":
        extra = tmp_path / "more.jsonl"
        extra.write_text(
            json.dumps({"agreement": "lost-1", "type": "noted", "text": "x", "occurred": "2015"})
            + "\n"
        )
        command = ["import", str(extra)]

    result = cli(*command)

    assert result.exit_code == 5, result.output
    assert "events are missing from the log" in result.output
    assert "restore it from a backup" in result.output
    assert count_events(db_url) == before


def test_the_program_says_events_are_missing_on_every_path(tmp_path):
    """The lean read and append paths (SQLite's) hand over to the full one, which says it."""
    db_url = f"sqlite:///{tmp_path / 'ahead.db'}"
    env = {**os.environ, "LEDGER_DB": db_url, "LEDGER_ACTOR": "tester"}
    program = shutil.which("ledger") or str(Path(sys.executable).parent / "ledger")
    subprocess.run([program, "import", str(EXAMPLE)], env=env, check=True, capture_output=True)
    _move_read_models_ahead(db_url)
    before = count_events(db_url)
    for args in (
        ["show", "tisa-2014"],
        ["append", "tisa-2014", "noted", "--field", "text=x", "--field", "occurred=2015"],
    ):
        done = subprocess.run([program, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 5, done.stderr
        assert "events are missing from the log" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert count_events(db_url) == before


def test_audit_reports_a_file_mixed_from_two_copies(tmp_path):
    """``cp`` of another ledger over one a process has open: SQLite later writes that
    process's pages of the old file into the new one. The file reads without error and
    every chain verifies; SQLite's integrity check, which the audit runs, sees it."""
    import sqlite3

    env = {**os.environ, "LEDGER_ACTOR": "tester"}
    program = shutil.which("ledger") or str(Path(sys.executable).parent / "ledger")
    used, empty = tmp_path / "x.db", tmp_path / "empty.db"
    subprocess.run(
        [program, "--db", f"sqlite:///{empty}", "list"], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [program, "--db", f"sqlite:///{used}", "import", str(EXAMPLE)],
        env=env,
        check=True,
        capture_output=True,
    )
    holder = sqlite3.connect(used, isolation_level=None)
    for step in (1, -1):  # the read models' page goes to the write-ahead log
        holder.execute("UPDATE read_agreements SET version = version + ?", (step,))
    shutil.copyfile(empty, used)  # over the open file, as `cp` does
    holder.close()  # its checkpoint writes the old page into the copied file

    done = subprocess.run(
        [program, "--db", f"sqlite:///{used}", "audit"], env=env, capture_output=True, text=True
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert "integrity check" in done.stdout
    assert "missing from index" in done.stdout
