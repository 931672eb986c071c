"""Appending through the CLI: typed commands, generic append, import, actor."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE, count_events


def history(cli, key: str) -> list[dict]:
    result = cli("history", key, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_the_typed_commands_record_a_whole_lifecycle(cli, db_url):
    steps = [
        [
            "register",
            "pact",
            "--title",
            "Pact",
            "--party",
            "KR",
            "--party",
            "US",
            "--party-name",
            "KR=Republic of Korea",
            "--party-tz",
            "US=America/New_York",
            "--tz",
            "Asia/Seoul",
            "--kind",
            "treaty",
            "--binding",
            "legal",
            "--requires-ratification",
            "KR",
            "--notify",
            "KR:National Assembly:P30D",
            "--notice-period",
            "P6M",
            "--expires",
            "2030-01-01",
        ],
        [
            "sign",
            "pact",
            "US",
            "--occurred",
            "2014-12-23",
            "--signatory",
            "Robert Work",
            "--id",
            "us",
        ],
        ["sign", "pact", "KR", "--occurred", "2014-12-26T10:00", "--place", "Seoul"],
        ["deliver", "pact", "--from", "KR", "--to", "US", "--occurred", "2014-12-29", "--id", "dl"],
        ["ratify", "pact", "KR", "--occurred", "2014-12-28", "--instrument", "ratification"],
        ["enter-into-force", "pact", "--occurred", "2014-12-29", "--after", "dl", "--id", "eif"],
        [
            "notify",
            "pact",
            "KR",
            "--body",
            "National Assembly",
            "--occurred",
            "2014-12-29",
            "--after",
            "eif",
            "--subject",
            "signing",
        ],
    ]
    for step in steps:
        result = cli(*step)
        assert result.exit_code == 0, (step, result.stderr)
        assert result.stdout.startswith("appended ")

    events = history(cli, "pact")
    assert [e["type"] for e in events] == [
        "registered",
        "signed",
        "signed",
        "delivered",
        "ratified",
        "entered_into_force",
        "notified",
    ]
    registered = events[0]
    assert registered["parties"] == [
        {"code": "KR", "name": "Republic of Korea"},
        {"code": "US", "tz": "America/New_York"},
    ]
    assert registered["notify"] == [{"party": "KR", "body": "National Assembly", "within": "P30D"}]
    assert events[2]["occurred"] == "2014-12-26T10:00"  # echoed as written
    assert events[3]["instrument"] == "memorandum"  # the default
    assert events[6]["after"] == ["eif"]
    assert [e["version"] for e in events] == list(range(1, 8))
    assert [e["id"] for e in events] == ["pact/1", "us", "pact/3", "dl", "pact/5", "eif", "pact/7"]


def test_append_accepts_every_type_by_field_or_json(cli):
    cli("import", str(EXAMPLE))
    by_field = cli(
        "append",
        "tisa-2014",
        "extended",
        "--field",
        "until=2016-12-31",
        "--field",
        "occurred=2015-06-01",
        "--field",
        "source=press release",
    )
    by_json = cli(
        "append",
        "tisa-2014",
        "termination_notified",
        "--json",
        '{"party": "KR", "effective": "2016-11-23", "occurred": "2016-08-23"}',
    )
    suspended = cli(
        "append",
        "tisa-2014",
        "suspended",
        "--field",
        "party=JP",
        "--field",
        "occurred=2016-01",
        "--field",
        "after=us-signed,kr-signed",
    )
    assert (by_field.exit_code, by_json.exit_code, suspended.exit_code) == (0, 0, 0)
    events = history(cli, "tisa-2014")[-3:]
    assert events[0]["until"] == "2016-12-31" and events[0]["source"] == "press release"
    assert events[1]["effective"] == "2016-11-23"
    assert events[2]["after"] == ["us-signed", "kr-signed"] and events[2]["party"] == "JP"


def test_append_with_a_disagreeing_key_in_json_is_a_usage_error(cli, db_url):
    cli("import", str(EXAMPLE))
    result = cli("append", "tisa-2014", "noted", "--json", '{"agreement": "other", "text": "x"}')
    assert result.exit_code == 2
    assert "disagrees" in result.stderr
    assert count_events(db_url) == 12


def test_import_reads_standard_input_and_reports_counts_as_json(cli):
    first = cli("import", "-", "--format", "json", input=EXAMPLE.read_text())
    second = cli("import", "-", "--format", "json", input=EXAMPLE.read_text())
    assert json.loads(first.stdout) == {"appended": 12, "skipped": 0}
    assert json.loads(second.stdout) == {"appended": 0, "skipped": 12}


def test_a_missing_import_file_is_a_usage_error(cli, db_url):
    result = cli("import", "no-such-file.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "no such file" in result.stderr


def test_recorded_by_comes_from_actor_option_then_environment(cli):
    cli("--actor", "treaty-office", "import", str(EXAMPLE))
    cli(
        "append",
        "tisa-2014",
        "noted",
        "--field",
        "text=x",
        "--field",
        "occurred=2015",
        env={"LEDGER_ACTOR": "auditor"},
    )
    events = history(cli, "tisa-2014")
    assert events[0]["recorded_by"] == "treaty-office"
    assert events[-1]["recorded_by"] == "auditor"


def test_the_ledger_program_runs_as_a_real_process(tmp_path, db_url):
    """The installed console script, on a fresh database, from another folder."""
    program = shutil.which("ledger") or str(Path(sys.executable).with_name("ledger"))
    env = {**os.environ, "LEDGER_DB": db_url, "LEDGER_ACTOR": "clerk"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [program, *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    imported = run("import", str(EXAMPLE), "--format", "json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout) == {"appended": 12, "skipped": 0}
    rejected = run("sign", "tisa-2014", "KR", "--occurred", "2014-12-27")
    assert rejected.returncode == 3
    assert (
        rejected.stderr
        == "Error: tisa-2014, signed event: party 'KR' has already signed [already_signed]\n"
    )
    shown = run("history", "tisa-2014", "--format", "json")
    assert len(shown.stdout.splitlines()) == 12
    assert not (tmp_path / "ledger.db").exists()  # LEDGER_DB was honoured, not the default
