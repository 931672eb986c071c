"""A ledger written by release 0.1 keeps working after the package took one import name.

``tests/fixtures/release-0.1.db`` was written by release 0.1, whose stored rows
name their event classes ``ledger.domain:Agreement.…``; the ``show`` documents
beside it are what that release printed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from agreement_ledger.cli.main import app
from agreement_ledger.ledger.storage import upgrade

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def old_ledger(tmp_path: Path) -> str:
    """A copy of the release 0.1 ledger, upgraded as its owner would after installing."""
    copy = tmp_path / "release-0.1.db"
    shutil.copy(FIXTURES / "release-0.1.db", copy)
    assert run(str(copy), "db", "upgrade").exit_code == 0
    return str(copy)


def test_until_upgraded_it_asks_for_ledger_db_upgrade(tmp_path):
    copy = tmp_path / "release-0.1.db"
    shutil.copy(FIXTURES / "release-0.1.db", copy)
    refused = run(str(copy), "show", "tisa-2014")
    assert refused.exit_code == 5 and "ledger db upgrade" in refused.stderr


def keeps(old: object, new: object) -> bool:
    """Whether ``new`` has every key of ``old`` with the same value (keys may be added)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return all(key in new and keeps(value, new[key]) for key, value in old.items())
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(keeps(a, b) for a, b in zip(old, new, strict=True))
    return old == new


def run(db: str, *args: str):
    return CliRunner().invoke(app, ["--db", db, *args])


def topics(db: str) -> list[str]:
    with sqlite3.connect(db) as connection:
        return [row[0] for row in connection.execute("SELECT topic FROM ledger_events ORDER BY id")]


def test_the_fixture_is_a_release_0_1_ledger(old_ledger):
    assert all(topic.startswith("ledger.domain:Agreement.") for topic in topics(old_ledger))


@pytest.mark.parametrize("key", ["tisa-2014", "pact-b"])
def test_it_shows_what_release_0_1_showed_and_only_adds_keys(old_ledger, key):
    shown = run(old_ledger, "show", key, "--format", "json")
    assert shown.exit_code == 0, shown.output
    expected = json.loads((FIXTURES / f"show-{key}.json").read_text())
    assert keeps(expected, json.loads(shown.stdout))


def test_it_verifies_replays_and_audits(old_ledger):
    verified = run(old_ledger, "verify")
    assert verified.stdout == "ok: 19 events checked, every chain intact\n"
    replayed = json.loads(
        run(old_ledger, "replay", "pact-b", "--as-of", "2019-11-23", "--format", "json").stdout
    )
    assert replayed["termination"]["status"] == "suspended"
    assert run(old_ledger, "audit").exit_code == 0
    history = run(old_ledger, "history", "pact-b", "--format", "json").stdout.splitlines()
    assert json.loads(history[2])["corrected_by"] == ["pact-b/7"]


def test_it_accepts_appends_and_the_chain_runs_on_across_the_rename(old_ledger):
    appended = run(
        old_ledger,
        "append",
        "tisa-2014",
        "noted",
        "--field",
        "text=later",
        "--field",
        "occurred=2015-01-05",
    )
    assert appended.stdout == "appended tisa-2014/13\n"
    assert topics(old_ledger)[-1] == "agreement_ledger.ledger.domain:Agreement.Noted"
    assert run(old_ledger, "verify").stdout == "ok: 20 events checked, every chain intact\n"
    assert run(old_ledger, "rebuild").exit_code == 0
    shown = json.loads(run(old_ledger, "show", "tisa-2014", "--format", "json").stdout)
    assert shown["version"] == 13


def test_its_timeline_holds_every_event_once(old_ledger):
    """The upgrade drops the timeline's table (migration 0005: no read model keeps it) and
    ``timeline`` makes it from the stored events: every one, once, in world order."""
    with sqlite3.connect(old_ledger) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    assert "read_timeline" not in tables and "read_agreements" in tables
    shown = run(old_ledger, "timeline", "tisa-2014", "--format", "json")
    assert shown.exit_code == 0, shown.output
    entries = json.loads(shown.stdout)
    history = run(old_ledger, "history", "tisa-2014", "--format", "json").stdout.splitlines()
    assert (
        sorted(e["version"] for e in entries) == list(range(1, len(history) + 1)) == [*range(1, 13)]
    )
    assert entries[0]["id"] == "registered" and entries[-1]["occurred"] == "2014-12-29"


def test_a_ledger_whose_timeline_table_was_dropped_still_upgrades(tmp_path):
    """Migrations 0004 and 0005 replace and drop the timeline's table: neither needs it."""
    copy = tmp_path / "release-0.1.db"
    shutil.copy(FIXTURES / "release-0.1.db", copy)
    engine = create_engine(f"sqlite:///{copy}")
    upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE read_timeline"))
    engine.dispose()
    assert run(str(copy), "db", "upgrade").exit_code == 0
    shown = run(str(copy), "timeline", "tisa-2014", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert len(json.loads(shown.stdout)) == 12
