"""The Python API, call by call, as the twin of the command line: the same answers,
the same refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from eventsourcing.persistence import IntegrityError

from agreement_ledger import (
    InvalidArgument,
    Ledger,
    LedgerError,
    Rejected,
    StorageError,
    WriteConflict,
)
from tests.conftest import EXAMPLE, count_events, example_lines
from tests.integration.test_storage_faults import read_only_url


@pytest.fixture
def api(db_url):
    with Ledger(db_url, actor="api-clerk") as ledger:
        ledger.append(example_lines())
        yield ledger


def cli_json(cli, *args):
    result = cli(*args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_append_returns_the_ids_written_then_skips_exact_repeats(db_url):
    with Ledger(db_url) as ledger:
        first = ledger.append(example_lines())
        again = ledger.append(example_lines())
    ids = [line["id"] for line in example_lines()]
    assert first == {"appended": ids, "skipped": []}
    assert again == {"appended": [], "skipped": ids}


def test_append_records_the_actor(api):
    assert {r["recorded_by"] for r in api.history("tisa-2014")} == {"api-clerk"}


def test_a_refused_event_raises_rejected_and_writes_nothing(api, db_url):
    before = count_events(db_url)
    good = {"agreement": "tisa-2014", "type": "noted", "text": "x", "occurred": "2014-12-30"}
    bad = {"agreement": "tisa-2014", "type": "signed", "party": "CN", "occurred": "2014-12-26"}
    with pytest.raises(Rejected) as refused:
        api.append([good, bad])
    assert refused.value.rule == "unknown_party"
    assert refused.value.agreement == "tisa-2014"
    assert refused.value.where == "signed event"
    assert count_events(db_url) == before


def test_import_lines_names_the_line_like_the_cli(api, cli, db_url, tmp_path):
    lines = (
        EXAMPLE.read_bytes()
        + b'{"agreement": "tisa-2014", "type": "signed", "party": "CN", "occurred": "2014-12-26"}\n'
    )
    with pytest.raises(Rejected) as refused:
        api.import_lines(lines)
    path = tmp_path / "bad.jsonl"
    path.write_bytes(lines)
    assert cli("import", str(path)).stderr == f"Error: {refused.value}\n"
    assert refused.value.line == 13


def test_show_list_flags_timeline_replay_history_and_verify_answer_as_the_cli(api, cli):
    assert api.show("tisa-2014") == cli_json(cli, "show", "tisa-2014")
    assert api.agreements() == cli_json(cli, "list")
    assert api.flags() == cli_json(cli, "flags")
    assert api.flags("tisa-2014", code="ratification_disputed") == cli_json(
        cli, "flags", "tisa-2014", "--code", "ratification_disputed"
    )
    assert api.flags(party="KR", severity="warning") == cli_json(
        cli, "flags", "--party", "KR", "--severity", "warning"
    )
    assert api.timeline("tisa-2014") == cli_json(cli, "timeline", "tisa-2014")
    replayed = api.replay("tisa-2014", as_of="2014-12-27")
    assert replayed == cli_json(cli, "replay", "tisa-2014", "--as-of", "2014-12-27")
    assert replayed["status"] == "signed"
    history = cli(*["history", "tisa-2014", "--format", "json"]).stdout.splitlines()
    assert api.history("tisa-2014") == [json.loads(line) for line in history]
    assert (
        api.verify()
        == cli_json(cli, "verify")
        == {"ok": True, "events_checked": 12, "problems": []}
    )
    assert list(api.export()) == [json.loads(line) for line in cli("export").stdout.splitlines()]


def test_verify_against_a_digest(api):
    digest = api.digest()
    assert digest["verified"] is True
    assert api.verify(digest=digest)["ok"] is True
    assert api.verify(digest={**digest, "digest": "0" * 64})["ok"] is False


def test_unknown_agreements_and_filters_raise_like_the_cli_refuses(api, cli):
    with pytest.raises(Rejected) as unknown:
        api.show("no-such-pact")
    assert unknown.value.rule == "unknown_agreement"
    assert cli("show", "no-such-pact").exit_code == unknown.value.exit_code == 3
    for kwargs in ({"code": "nope"}, {"severity": "fatal"}, {"party": "ZZ"}):
        with pytest.raises(InvalidArgument):
            api.flags(**kwargs)
    with pytest.raises(LedgerError) as moment:
        api.replay("tisa-2014", as_of="last tuesday")
    assert moment.value.exit_code == 2


def test_a_storage_problem_raises_storage_error(api, db_url):
    readonly = read_only_url(db_url)
    with Ledger(readonly) as ledger, pytest.raises(StorageError):
        ledger.append([{"agreement": "ro", "type": "registered", "title": "t"}])


def test_a_race_lost_on_every_attempt_raises_write_conflict(api, monkeypatch):
    def always_lose(*args, **kwargs):
        raise IntegrityError("another writer took the version")

    application = api.application
    monkeypatch.setattr(application, "_write_batch", always_lose)
    monkeypatch.setattr("agreement_ledger.ledger.application.time.sleep", lambda seconds: None)
    with pytest.raises(WriteConflict):
        api.append(
            [{"agreement": "tisa-2014", "type": "noted", "text": "x", "occurred": "2014-12-30"}]
        )


def test_an_in_memory_database_is_refused():
    with pytest.raises(InvalidArgument):
        Ledger("sqlite://")
