"""An attacker with the SQLite file: drop the triggers, then change history.

Every change is found by `verify` (or `verify --digest` for a cut-off tail),
naming the agreement and the version; an untouched ledger verifies clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from tests.conftest import EXAMPLE


@pytest.fixture
def attacked(cli, db_url, tmp_path):
    """The seed ledger with a digest taken, and a connection with the guards dropped."""
    assert cli("import", str(EXAMPLE)).exit_code == 0
    digest = tmp_path / "digest.json"
    assert cli("digest", "-o", str(digest)).exit_code == 0
    engine = create_engine(db_url)
    connection = Attacker(engine.connect())
    if engine.dialect.name == "postgresql":
        connection.execute("DROP TRIGGER ledger_events_refuse_update_delete ON ledger_events")
    else:
        connection.execute("DROP TRIGGER ledger_events_refuse_update")
        connection.execute("DROP TRIGGER ledger_events_refuse_delete")
    connection.commit()
    yield connection, digest
    connection.close()
    engine.dispose()


class Attacker:
    """Plain SQL on the event table, by someone who owns the database."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def execute(self, statement: str, **params: object):
        return self.connection.execute(text(statement), params)

    def commit(self) -> None:
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()


def problems(cli, *args: str) -> tuple[int, list[tuple[str, int, str]]]:
    result = cli("verify", *args, "--format", "json")
    report = json.loads(result.stdout)
    assert report["ok"] is (result.exit_code == 0)
    return result.exit_code, [
        (p["agreement"], p["version"], p["problem"]) for p in report["problems"]
    ]


def state_of(connection, version):
    return bytes(
        connection.execute(
            "SELECT state FROM ledger_events WHERE originator_version = :v", v=version
        ).scalar_one()
    )


def test_an_untouched_ledger_verifies(cli, attacked):
    _, digest = attacked
    assert problems(cli) == (0, [])
    assert problems(cli, "--digest", str(digest)) == (0, [])
    assert cli("verify").stdout == "ok: 12 events checked, every chain intact\n"


def test_an_edited_payload_is_found(cli, attacked):
    connection, _ = attacked
    state = state_of(connection, 5).replace(b"2014-12-26", b"2014-12-25")
    connection.execute("UPDATE ledger_events SET state = :s WHERE originator_version = 5", s=state)
    connection.commit()
    code, found = problems(cli)
    assert code == 1
    assert found == [("tisa-2014", 5, "content does not match its hash (edited or forged)")]


def test_a_deleted_middle_event_is_found(cli, attacked):
    connection, _ = attacked
    connection.execute("DELETE FROM ledger_events WHERE originator_version = 7")
    connection.commit()
    code, found = problems(cli)
    assert code == 1
    assert ("tisa-2014", 8, "missing event(s): expected version 7, found 8") in found
    assert (
        "tisa-2014",
        8,
        "does not follow the previous event (deleted, inserted or reordered)",
    ) in found


def test_a_deleted_last_event_is_found_against_the_digest(cli, attacked):
    connection, digest = attacked
    connection.execute("DELETE FROM ledger_events WHERE originator_version = 12")
    connection.commit()
    assert problems(cli) == (0, [])  # a chain alone cannot see its own missing tail
    code, found = problems(cli, "--digest", str(digest))
    assert code == 1
    assert found == [
        ("tisa-2014", 11, "stream truncated: the digest recorded version 12, the ledger holds 11")
    ]


def test_swapped_events_are_found(cli, attacked):
    connection, _ = attacked
    five, six = state_of(connection, 5), state_of(connection, 6)
    connection.execute("UPDATE ledger_events SET state = :s WHERE originator_version = 5", s=six)
    connection.execute("UPDATE ledger_events SET state = :s WHERE originator_version = 6", s=five)
    connection.commit()
    code, found = problems(cli)
    assert code == 1
    # both moved events fail their hash, and the event after them no longer links
    assert {(agreement, version) for agreement, version, _ in found} == {
        ("tisa-2014", 5),
        ("tisa-2014", 6),
        ("tisa-2014", 7),
    }


def test_an_inserted_forged_copy_is_found(cli, attacked):
    connection, _ = attacked
    connection.execute(
        "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
        "SELECT originator_id, 13, topic, state FROM ledger_events WHERE originator_version = 4"
    )
    connection.commit()
    code, found = problems(cli)
    assert code == 1
    assert [(a, v) for a, v, _ in found] == [("tisa-2014", 13), ("tisa-2014", 13)]


def test_a_forged_event_appended_with_a_valid_chain_is_found_against_the_digest(
    cli, db_url, attacked
):
    _, digest = attacked
    # A forger who knows the chain format appends a well-formed event: the chain is
    # valid, but the head the digest recorded is no longer the head.
    assert (
        cli(
            "append", "tisa-2014", "noted", "--field", "text=forged", "--field", "occurred=2015"
        ).exit_code
        == 0
    )
    assert problems(cli) == (0, [])
    code, found = problems(cli, "--digest", str(digest))
    assert code == 0  # appending after a digest is legitimate: the recorded head is still there
    assert found == []


def test_a_rewritten_tail_is_found_against_the_digest(cli, attacked):
    connection, digest = attacked
    # Replace the last event by a copy of another one at the same version: the
    # digest's head hash is gone even if the attacker re-chained everything.
    connection.execute("DELETE FROM ledger_events WHERE originator_version = 12")
    connection.execute(
        "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
        "SELECT originator_id, 12, topic, state FROM ledger_events WHERE originator_version = 11"
    )
    connection.commit()
    code, found = problems(cli, "--digest", str(digest))
    assert code == 1
    assert ("tisa-2014", 12, "stream rewritten since the digest: head hash differs") in found


def test_a_damaged_stream_still_lists_its_history_and_names_what_cannot_be_read(cli, attacked):
    connection, _ = attacked
    connection.execute("DELETE FROM ledger_events WHERE originator_version = 7")
    connection.commit()
    listed = cli("history", "tisa-2014", "--format", "json")
    assert listed.exit_code == 0
    assert [json.loads(line)["version"] for line in listed.stdout.splitlines()] == [
        1,
        2,
        3,
        4,
        5,
        6,
        8,
        9,
        10,
        11,
        12,
    ]
    connection.execute("UPDATE ledger_events SET state = :s WHERE originator_version = 3", s=b"{}")
    connection.commit()
    unreadable = cli("history", "tisa-2014")
    assert unreadable.exit_code == 5
    assert (
        unreadable.stderr.startswith("Error: stored event ")
        and "run `ledger verify`" in unreadable.stderr
    )
    assert cli("sign", "tisa-2014", "KR", "--occurred", "2014-12-26").exit_code == 5  # no traceback


def test_an_undecodable_event_is_a_finding_not_a_crash(cli, attacked):
    connection, _ = attacked
    connection.execute(
        "UPDATE ledger_events SET state = :s WHERE originator_version = 3", s=b"\x00garbage"
    )
    connection.commit()
    code, found = problems(cli)
    assert code == 1
    assert found[0][:2] == ("tisa-2014", 3) and found[0][2].startswith(
        "stored event cannot be decoded"
    )


def test_an_altered_digest_file_is_found(cli, attacked):
    _, digest = attacked
    document = json.loads(Path(digest).read_text())
    document["streams"][0]["version"] = 11
    Path(digest).write_text(json.dumps(document))
    code, found = problems(cli, "--digest", str(digest))
    assert code == 1
    assert found[0] == ("(digest)", None, "the digest file does not match its own hash (altered)")


def test_verify_one_agreement_and_the_table_report(cli, attacked):
    connection, _ = attacked
    connection.execute("DELETE FROM ledger_events WHERE originator_version = 7")
    connection.commit()
    result = cli("verify", "tisa-2014")
    assert result.exit_code == 1
    assert "missing event(s)" in result.stdout and "tisa-2014" in result.stdout


def test_a_tampered_ledger_gets_no_digest(cli, attacked, tmp_path):
    connection, _ = attacked
    connection.execute("DELETE FROM ledger_events WHERE originator_version = 7")
    connection.commit()
    result = cli("digest", "-o", str(tmp_path / "new.json"))
    assert result.exit_code == 1
    assert not (tmp_path / "new.json").exists()


def test_the_read_models_refuse_nothing_but_audit_finds_drift(cli, db_url):
    cli("import", str(EXAMPLE))
    assert cli("audit").stdout == "ok: 1 agreements, read models match the log\n"
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE read_parties SET status = 'withdrawn' WHERE code = 'JP'"))
        connection.execute(text("DELETE FROM read_flags WHERE code = 'ratification_disputed'"))
    engine.dispose()
    result = cli("audit", "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["differences"] == [
        {
            "table": "read_parties",
            "agreement": "tisa-2014",
            "problem": "status: stored 'withdrawn', the log gives 'in_force'",
        },
        {
            "table": "read_flags",
            "agreement": "tisa-2014",
            "problem": "1 stored rows, the log gives 2",
        },
    ]
