"""The query commands: JSON shapes of §7, filters, tables, and rebuild."""

from __future__ import annotations

import json

from tests.conftest import EXAMPLE
from tests.histories import PARIS

SHOW_KEYS = {
    "agreement",
    "title",
    "kind",
    "binding",
    "status",
    "parties",
    "entered_into_force",
    "expires",
    "termination",
    "flags",
    "version",
}
PARTY_KEYS = {"code", "name", "status", "signed", "consented", "in_force", "withdrawn"}
FLAG_KEYS = {"agreement", "code", "severity", "certainty", "party", "message", "events"}


def load(cli, tmp_path, *histories):
    for n, lines in enumerate(histories):
        path = tmp_path / f"h{n}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        assert cli("import", str(path)).exit_code == 0


def as_json(result):
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_show_answers_the_seed_case(cli):
    cli("import", str(EXAMPLE))
    state = as_json(cli("show", "tisa-2014", "--format", "json"))
    assert set(state) >= SHOW_KEYS
    assert state["status"] == "in_force"
    assert state["version"] == 12
    assert state["termination"] is None and state["expires"] is None
    assert state["notifications"] == [
        {
            "id": "assembly-notified",
            "party": "KR",
            "body": "National Assembly",
            "subject": "signing of the agreement",
            "about": "conclusion",  # version 1 events: a notification without about
            "notified": "2014-12-29",
        }
    ]
    assert state["required_notifications"] == []  # the pact required none: hence the flag
    assert all(set(p) >= PARTY_KEYS for p in state["parties"])
    assert [(p["code"], p["signed"]) for p in state["parties"]] == [
        ("KR", "2014-12-26"),
        ("US", "2014-12-23"),
        ("JP", "2014-12-26"),
    ]
    assert [(f["code"], f["certainty"]) for f in state["flags"]] == [
        ("notified_after_entry_into_force", "definite"),
        ("ratification_disputed", "definite"),
    ]


def test_flags_filter_by_agreement_code_party_and_severity(cli, tmp_path):
    cli("import", str(EXAMPLE))
    load(cli, tmp_path, PARIS)
    everything = as_json(cli("flags", "--format", "json"))
    assert all(set(f) == FLAG_KEYS for f in everything)
    assert {f["agreement"] for f in everything} == {"tisa-2014"}
    assert [
        f["code"]
        for f in as_json(
            cli("flags", "tisa-2014", "--code", "ratification_disputed", "--format", "json")
        )
    ] == ["ratification_disputed"]
    assert as_json(cli("flags", "--party", "JP", "--format", "json")) == []
    warnings = as_json(cli("flags", "--severity", "warning", "--format", "json"))
    assert [f["code"] for f in warnings] == ["notified_after_entry_into_force"]


def test_list_counts_parties_and_flags(cli, tmp_path):
    cli("import", str(EXAMPLE))
    load(cli, tmp_path, PARIS)
    rows = as_json(cli("list", "--format", "json"))
    assert rows == [
        {
            "agreement": "paris",
            "title": "Paris Agreement",
            "kind": "treaty",
            "status": "in_force",
            "parties": 3,
            "flags": 0,
        },
        {
            "agreement": "tisa-2014",
            "title": "Trilateral information-sharing arrangement on North Korea's nuclear and missile threats",
            "kind": "mou",
            "status": "in_force",
            "parties": 3,
            "flags": 2,
        },
    ]


def test_timeline_is_in_world_order_with_precision_and_recording_time(cli):
    cli("import", str(EXAMPLE))
    entries = as_json(cli("timeline", "tisa-2014", "--format", "json"))
    assert [e["occurred"] for e in entries][:5] == [
        None,
        "2012",
        "2014-12",
        "2014-12-23",
        "2014-12-26",
    ]
    assert [e["precision"] for e in entries][1:4] == ["year", "month", "day"]
    notified = next(e for e in entries if e["id"] == "assembly-notified")
    assert notified["flags"] == ["notified_after_entry_into_force"]
    assert notified["start"] == "2014-12-28T15:00:00Z" and notified["end"] == "2014-12-29T15:00:00Z"
    assert all(e["recorded_at"].endswith("Z") for e in entries)
    table = cli("timeline", "tisa-2014")
    assert "assembly-notified" in table.stdout and "notified_after_entry_into_force" in table.stdout


def test_a_correction_shows_in_the_timeline_and_the_state(cli):
    cli("import", str(EXAMPLE))
    cli(
        "append",
        "tisa-2014",
        "corrected",
        "--field",
        "target=us-signed",
        "--field",
        "retracted=true",
    )
    entries = as_json(cli("timeline", "tisa-2014", "--format", "json"))
    us = next(e for e in entries if e["id"] == "us-signed")
    assert us["retracted"] and us["corrected_by"] == ["tisa-2014/13"]
    state = as_json(cli("show", "tisa-2014", "--format", "json"))
    assert next(p for p in state["parties"] if p["code"] == "US")["signed"] is None
    assert "entered_into_force_before_all_signatures" in [f["code"] for f in state["flags"]]


def test_rebuild_leaves_every_show_output_unchanged(cli, tmp_path):
    cli("import", str(EXAMPLE))
    load(cli, tmp_path, PARIS)
    before = {key: cli("show", key, "--format", "json").stdout for key in ("tisa-2014", "paris")}
    result = cli("rebuild")
    assert (
        result.exit_code == 0
        and "rebuilt read models of 2 agreements from 25 events" in result.stdout
    )
    assert {key: cli("show", key, "--format", "json").stdout for key in before} == before


def test_show_of_an_unknown_agreement_is_rejected(cli):
    cli("import", str(EXAMPLE))
    result = cli("show", "nope", "--format", "json")
    assert result.exit_code == 3
    assert result.stderr == "Error: nope: agreement 'nope' is not registered [unknown_agreement]\n"


def test_show_as_a_table_names_status_parties_and_flags(cli):
    cli("import", str(EXAMPLE))
    out = cli("show", "tisa-2014").stdout
    for expected in ("status in_force", "2014-12-23", "notified_after_entry_into_force", "Parties"):
        assert expected in out
