"""Every kind of damage to the stored ledger, with every command: one line, never a traceback.

An attacker (or a failing disk) changes the SQLite file behind the ledger's
back: the triggers are dropped and rows are edited, deleted or forged, read
models are mangled, bytes of the file are overwritten. Whatever the damage, each
command either still answers or says what is wrong in one line: `verify` and
`audit` report a finding with exit 1, every other command exits 5 (or 1 where
it checks the chains itself, like `digest`). A stored topic is never imported.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from agreement_ledger.cli.main import app
from tests.conftest import EXAMPLE

Damage = Callable[[Path], None]


def _sql(*statements: str, **params: object) -> Damage:
    def damage(path: Path) -> None:
        engine = create_engine(f"sqlite:///{path}")
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS ledger_events_refuse_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS ledger_events_refuse_delete"))
            for statement in statements:
                connection.execute(text(statement), params)
        engine.dispose()

    return damage


def _overwrite_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0:100] = b"\xde\xad\xbe\xef" * 25  # the header: no longer a database
    path.write_bytes(bytes(data))


def _scramble_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(4096, len(data), 4096):  # every page but the first
        data[offset + 8 : offset + 64] = b"\xff" * 56
    path.write_bytes(bytes(data))


DAMAGES: dict[str, Damage] = {
    "a topic changed to no event": _sql(
        "UPDATE ledger_events SET topic = 'ledger.domain:Agreement.Nothing' "
        "WHERE originator_version = 4"
    ),
    "a topic naming a module to import": _sql(
        "UPDATE ledger_events SET topic = 'this:s' WHERE originator_version = 4"
    ),
    "the registration deleted": _sql("DELETE FROM ledger_events WHERE originator_version = 1"),
    "state that is not JSON": _sql(
        "UPDATE ledger_events SET state = x'7b7b7b00ff' WHERE originator_version = 5"
    ),
    "state of the wrong shape": _sql(
        "UPDATE ledger_events SET state = CAST('[1, 2, 3]' AS BLOB) WHERE originator_version = 6"
    ),
    "a date out of range in stored state": _sql(
        "UPDATE ledger_events SET state = CAST(REPLACE(CAST(state AS TEXT), '\"2026-', "
        "'\"99999-') AS BLOB) WHERE originator_version = 3",
        "UPDATE ledger_events SET state = CAST(REPLACE(CAST(state AS TEXT), '\"20', '\"99') "
        "AS BLOB) WHERE originator_version = 3",
    ),
    "a stream id that is not a UUID": _sql(
        "UPDATE ledger_events SET originator_id = x'0102030405' WHERE originator_version = 7"
    ),
    "a version 0 row": _sql(
        "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
        "SELECT originator_id, 0, topic, state FROM ledger_events WHERE originator_version = 2"
    ),
    "a recording time made a number": _sql(
        "UPDATE ledger_events SET state = CAST(json_set(CAST(state AS TEXT), '$.timestamp', 5) "
        "AS BLOB) WHERE originator_version = 5"
    ),
    "garbage in a read model": _sql(
        "UPDATE read_agreements SET show = 'not json {', status = 'x' || status",
        "UPDATE read_flags SET events = '[[[', severity = 'x'",
    ),
    "a read-model table dropped": _sql("DROP TABLE read_flags"),
    "the tracking row deleted": _sql("DELETE FROM read_tracking"),
    "the file's header overwritten": _overwrite_bytes,
    "the file's pages scrambled": _scramble_pages,
}

# Damage a command may not notice at all (0) or must name (1 for the checkers, 5 otherwise).
COMMANDS: dict[str, list[str]] = {
    "list": ["list"],
    "show": ["show", "tisa-2014"],
    "flags": ["flags"],
    "timeline": ["timeline", "tisa-2014"],
    "chart": ["timeline", "tisa-2014", "--chart"],
    "history": ["history", "tisa-2014"],
    "replay": ["replay", "tisa-2014", "--as-of", "2014-12-27"],
    "verify": ["verify"],
    "verify --digest": ["verify", "--digest", "{digest}"],
    "digest": ["digest", "-o", "{out}"],
    "audit": ["audit"],
    "export": ["export"],
    "rebuild": ["rebuild"],
    "report": ["report", "tisa-2014", "-o", "{out}"],
    "append": ["append", "tisa-2014", "noted", "--field", "text=x", "--field", "occurred=2015"],
    "import": ["import", "{events}"],
}
CHECKERS = {"verify", "verify --digest", "audit"}
READ_MODEL_DAMAGE = {
    "garbage in a read model",
    "a read-model table dropped",
    "the tracking row deleted",
}
EVENT_DAMAGE = {name for name in DAMAGES if name not in READ_MODEL_DAMAGE and "file" not in name}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The seed ledger, its digest, once for the module."""
    folder = tmp_path_factory.mktemp("pristine")
    db = folder / "ledger.db"
    digest = folder / "digest.json"
    runner = CliRunner()
    assert runner.invoke(app, ["--db", str(db), "import", str(EXAMPLE)]).exit_code == 0
    assert runner.invoke(app, ["--db", str(db), "digest", "-o", str(digest)]).exit_code == 0
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:  # everything into the one file that is copied
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return db, digest


@pytest.mark.parametrize("damage_name", list(DAMAGES))
def test_every_command_on_a_damaged_ledger_answers_in_one_line(
    pristine, damage_name, tmp_path, capfd
):
    source, digest = pristine
    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps(
            {
                "agreement": "tisa-2014",
                "type": "noted",
                "text": "x",
                "occurred": "2014-12-30",
                "id": "imported",
            }
        )
        + "\n"
    )
    outcomes = {}
    for command_name, template in COMMANDS.items():
        db = tmp_path / f"{command_name}.db"
        shutil.copy(source, db)
        DAMAGES[damage_name](db)
        args = [a.format(digest=digest, out=tmp_path / "out", events=events) for a in template]
        result = CliRunner().invoke(app, ["--db", str(db), *args])
        outcomes[command_name] = result.exit_code
        where = f"{command_name} after {damage_name}: {result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), where
        assert "Traceback" not in result.output and "internal error" not in result.output, where
        assert "Beautiful is better than ugly" not in result.output, where
        allowed = (
            {0, 1}
            if command_name in CHECKERS
            else {0, 1, 5}
            if command_name == "digest"
            else {0, 5}
        )
        assert result.exit_code in allowed or ("file" in damage_name and result.exit_code == 5), (
            where
        )
        if result.exit_code == 5 or (result.exit_code == 1 and result.stderr):
            assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, where
    assert "Beautiful is better than ugly" not in capfd.readouterr().out
    assert "this" not in sys.modules  # a stored topic never imports the module it names
    if damage_name in EVENT_DAMAGE:
        assert outcomes["verify"] == 1, outcomes  # the log's damage is always found
    if damage_name in READ_MODEL_DAMAGE:
        assert outcomes["audit"] == 1, outcomes  # the read models' damage is always found
        assert outcomes["rebuild"] == 0, outcomes  # ...and a rebuild repairs it
