"""SQLite storage: migrations, append-only triggers, schema checks, batches."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from agreement_ledger.cli.main import app
from agreement_ledger.ledger.application import Ledger, Submission
from agreement_ledger.ledger.errors import SchemaOutdated, UnknownParty
from agreement_ledger.ledger.storage import BULK_CACHE_KIB, bulk_cache, head_revision, upgrade
from agreement_ledger.migrations import HEAD
from agreement_ledger.projections.version import PROJECTION_VERSION
from tests.conftest import count_events, example_lines

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tisa-2014.jsonl"


def test_first_use_creates_the_embedded_database_at_the_newest_migration(tmp_path):
    path = tmp_path / "fresh.db"
    Ledger(str(path)).close()
    engine = create_engine(f"sqlite:///{path}")
    assert "ledger_events" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        from alembic.runtime.migration import MigrationContext

        assert MigrationContext.configure(connection).get_current_revision() == head_revision()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_events SET topic = 'forged' WHERE id = 1",
        "DELETE FROM ledger_events WHERE id = 1",
        "DELETE FROM ledger_events",
    ],
)
def test_the_event_table_refuses_update_and_delete(ledger, db_url, statement):
    ledger.append(Submission(line) for line in example_lines())
    engine = create_engine(db_url)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()
    assert count_events(db_url) == 12


def test_a_database_behind_the_newest_migration_is_refused(tmp_path):
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"
        )
        connection.exec_driver_sql("CREATE TABLE something_else (x INTEGER)")
    with pytest.raises(SchemaOutdated, match="run `ledger db upgrade`"):
        Ledger(str(path))


def test_ledger_db_upgrade_brings_an_empty_database_to_the_newest_migration(new_db):
    db_url = new_db(migrated=False)
    result = CliRunner().invoke(app, ["--db", db_url, "db", "upgrade"])
    assert result.exit_code == 0, result.stderr
    assert f"database at revision {head_revision()}" in result.stdout


def test_a_database_without_the_schema_exits_5_naming_the_upgrade_command(new_db):
    db_url = new_db(migrated=False)
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE unrelated (x INTEGER)")
    engine.dispose()
    result = CliRunner().invoke(
        app, ["--db", db_url, "sign", "tisa-2014", "KR", "--occurred", "2014-12-26"]
    )
    assert result.exit_code == 5
    assert result.stderr == "Error: the database has no ledger schema; run `ledger db upgrade`\n"


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("foo://bar", "unknown kind of database 'foo'"),
        ("sqlite:////no/such/folder/x.db", "cannot open the database"),
    ],
)
def test_an_unusable_database_exits_5_with_one_line(db, message):
    result = CliRunner().invoke(app, ["--db", db, "list"])
    assert result.exit_code == 5
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_the_recorded_head_is_the_newest_migration():
    assert head_revision() == HEAD


def test_migrations_can_be_applied_through_the_upgrade_function_twice(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    upgrade(engine)
    assert "ledger_events" in inspect(engine).get_table_names()


def test_a_downgrade_past_0005_leaves_the_read_models_to_be_projected_again(tmp_path):
    """Revision 0004's code reads the timeline from its table: the downgrade makes the
    table again, empty, and forgets which projection wrote the read models, so that that
    code's next catch-up projects everything again; upgrading again drops the table."""
    from alembic import command

    from agreement_ledger.ledger.storage import alembic_config

    db = tmp_path / "ledger.db"
    runner = CliRunner()
    assert runner.invoke(app, ["--db", str(db), "import", str(EXAMPLE)]).exit_code == 0
    engine = create_engine(f"sqlite:///{db}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM read_timeline")).scalar() == 0
        names = {row[0] for row in connection.execute(text("SELECT name FROM read_tracking"))}
        assert names == {"read_models"}  # the position kept, the projection's version gone
    upgrade(engine)
    assert "read_timeline" not in inspect(engine).get_table_names()
    shown = runner.invoke(app, ["--db", str(db), "show", "tisa-2014", "--format", "json"])
    assert shown.exit_code == 0 and '"version": 12' in shown.stdout
    with engine.connect() as connection:  # projected again, by this projection
        version = "SELECT position FROM read_tracking WHERE name = 'projection_version'"
        assert connection.execute(text(version)).scalar() == PROJECTION_VERSION
    engine.dispose()


def test_a_batch_is_all_or_nothing(ledger, db_url):
    lines = example_lines()
    lines.append(
        {"agreement": "tisa-2014", "type": "signed", "party": "CN", "occurred": "2014-12-26"}
    )
    with pytest.raises(UnknownParty):
        ledger.append(Submission(line, line=n) for n, line in enumerate(lines, 1))
    assert count_events(db_url) == 0


def test_a_batch_written_in_chunks_is_still_all_or_nothing(ledger, db_url, monkeypatch):
    monkeypatch.setattr(
        "agreement_ledger.ledger.application.FLUSH_AGREEMENTS", 1
    )  # write after every agreement
    others = [
        {"agreement": f"other-{n}", "type": "registered", "title": "O", "parties": ["KR"]}
        for n in range(3)
    ]
    lines = [*example_lines()[:4], *others, *example_lines()[4:]]  # tisa-2014 comes back
    bad = {"agreement": "other-2", "type": "signed", "party": "CN", "occurred": "2015-01-01"}
    with pytest.raises(UnknownParty):
        ledger.append(Submission(line) for line in [*lines, bad])
    assert count_events(db_url) == 0  # the chunks already written were rolled back too
    result = ledger.append(Submission(line) for line in lines)
    assert len(result.appended) == 15 and count_events(db_url) == 15
    assert [r.record["version"] for r in ledger.store.stream("tisa-2014")] == list(range(1, 13))
    assert ledger.verify().ok


def test_a_bulk_write_enlarges_sqlites_page_cache_only_while_it_runs(tmp_path):
    """A long-lived process (a server) must not keep an import's 64 MB cache per connection."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")

    def cache_size(connection):
        return connection.exec_driver_sql("PRAGMA cache_size").scalar()

    with ledger.engine.connect() as connection:
        before = cache_size(connection)
        with bulk_cache(connection):
            assert cache_size(connection) == -BULK_CACHE_KIB
        assert cache_size(connection) == before
        with pytest.raises(UnknownParty), bulk_cache(connection):
            raise UnknownParty("a rejected line")
        assert cache_size(connection) == before != -BULK_CACHE_KIB
    ledger.close()


def test_importing_twice_appends_once_then_skips_every_line(ledger, db_url):
    first = ledger.append(Submission(line) for line in example_lines())
    second = ledger.append(Submission(line) for line in example_lines())
    assert (len(first.appended), len(first.skipped)) == (12, 0)
    assert (len(second.appended), len(second.skipped)) == (0, 12)
    assert count_events(db_url) == 12


def test_seq_is_the_global_order_and_version_the_place_in_the_stream(ledger):
    ledger.append(Submission(line) for line in example_lines())
    ledger.append(
        [
            Submission(
                {"agreement": "other", "type": "registered", "title": "Other", "parties": ["KR"]}
            )
        ]
    )
    ledger.append(
        [
            Submission(
                {"agreement": "tisa-2014", "type": "noted", "text": "later", "occurred": "2015"}
            )
        ]
    )
    records = ledger.store.stream("tisa-2014")
    assert [r.record["version"] for r in records] == list(range(1, 14))
    assert [r.seq for r in records] == [*range(1, 13), 14]
    assert records[-1].record["id"] == "tisa-2014/13"
