"""Every rule of §4, through the CLI: exit 3, one line naming agreement, event
and rule on stderr, and a ledger with exactly as many events as before."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLE, count_events

SIGN_CN = ["sign", "tisa-2014", "CN", "--occurred", "2014-12-26"]


def _json(event: dict) -> list[str]:
    return [
        "append",
        event.pop("agreement", "tisa-2014"),
        event.pop("type"),
        "--json",
        json.dumps(event),
    ]


CASES = {
    "unknown agreement": (
        ["sign", "no-such-pact", "KR", "--occurred", "2014-12-26"],
        "no-such-pact, signed event: agreement 'no-such-pact' is not registered "
        "[unknown_agreement]",
    ),
    "key registered twice": (
        ["register", "tisa-2014", "--title", "Again", "--party", "KR"],
        "tisa-2014, registered event: agreement 'tisa-2014' is already registered "
        "[already_registered]",
    ),
    "unknown type": (
        ["append", "tisa-2014", "ratifyed", "--field", "party=KR"],
        "tisa-2014, ratifyed event: unknown event type 'ratifyed'; known types: registered",
    ),
    "missing field": (
        [
            "append",
            "tisa-2014",
            "notified",
            "--field",
            "party=KR",
            "--field",
            "occurred=2014-12-30",
        ],
        "tisa-2014, notified event: field 'body' is required for notified [invalid_field]",
    ),
    "mistyped field": (
        _json(
            {
                "type": "ratification_assessed",
                "party": "KR",
                "required": "maybe",
                "by": "x",
                "occurred": "2014-12-29",
            }
        ),
        "field 'required' must be true or false, got 'maybe' [invalid_field]",
    ),
    "unknown field": (
        _json({"type": "signed", "party": "KR", "ocurred": "2014-12-29"}),
        "unknown field(s) ocurred for signed",
    ),
    "missing occurred": (
        _json({"type": "amended", "summary": "scope"}),
        "field 'occurred' is required for amended [invalid_field]",
    ),
    "unparseable occurred": (
        _json({"type": "entered_into_force", "occurred": "29 Dec 2014", "party": "KR"}),
        "cannot read occurred '29 Dec 2014'",
    ),
    "impossible occurred": (
        _json({"type": "entered_into_force", "occurred": "2014-02-30", "party": "KR"}),
        "impossible occurred '2014-02-30'",
    ),
    "a wall-clock time that never existed in the acting party's zone": (
        ["sign", "tisa-2014", "KR", "--occurred", "2011-12-30T10:00", "--tz", "Pacific/Apia"],
        "[invalid_occurred]",
    ),
    "occurred in the future": (
        ["enter-into-force", "tisa-2014", "--occurred", "2999-01-01", "--party", "KR"],
        "[occurred_in_future]",
    ),
    "unknown time zone": (
        _json({"type": "entered_into_force", "occurred": "2014-12-29", "tz": "Asia/Soul"}),
        "unknown IANA time zone 'Asia/Soul' [invalid_tz]",
    ),
    "party not in the agreement": (
        SIGN_CN,
        "tisa-2014, signed event: party 'CN' is not a party of the agreement "
        "(parties: JP, KR, NZ, US) [unknown_party]",
    ),
    "delivery to a stranger": (
        ["deliver", "tisa-2014", "--from", "KR", "--to", "CN", "--occurred", "2014-12-29"],
        "to 'CN' is not a party of the agreement",
    ),
    "party signing twice": (
        ["sign", "tisa-2014", "KR", "--occurred", "2014-12-27"],
        "party 'KR' has already signed [already_signed]",
    ),
    "second entry into force": (
        ["enter-into-force", "tisa-2014", "--occurred", "2014-12-30"],
        "the agreement already entered into force (event 'entered-into-force'); "
        "retract that event first [already_in_force]",
    ),
    "after names an unknown event": (
        [
            "notify",
            "tisa-2014",
            "KR",
            "--body",
            "Assembly",
            "--occurred",
            "2014-12-30",
            "--after",
            "no-such-event",
        ],
        "'after' names unknown event 'no-such-event' [unknown_event]",
    ),
    "after contradicts the dates": (
        [
            "notify",
            "tisa-2014",
            "KR",
            "--body",
            "Assembly",
            "--occurred",
            "2014-12-20",
            "--after",
            "entered-into-force",
        ],
        "[contradictory_order]",
    ),
    "target names an unknown event": (
        _json({"type": "corrected", "target": "no-such-event", "retracted": True}),
        "'target' names unknown event 'no-such-event' [unknown_event]",
    ),
    "conflicting re-use of an id": (
        ["sign", "tisa-2014", "KR", "--occurred", "2014-12-26", "--id", "us-signed"],
        "event 'us-signed' (signed): event id 'us-signed' already exists with different content "
        "[conflicting_id]",
    ),
    "an id of the ledger's own form": (
        [
            "enter-into-force",
            "tisa-2014",
            "--occurred",
            "2014-12-29",
            "--party",
            "KR",
            "--id",
            "tisa-2014/3",
        ],
        "ids of the form tisa-2014/N are assigned by the ledger",
    ),
    "a ledger-owned field": (
        _json({"type": "noted", "text": "x", "occurred": "2014-12-29", "seq": 7}),
        "field(s) seq are set by the ledger, not by a writer [invalid_field]",
    ),
    "bad agreement key": (
        ["sign", "TISA", "KR", "--occurred", "2014-12-26"],
        "field 'agreement' must be a key like tisa-2014",
    ),
    "retracting the registration": (
        _json({"type": "corrected", "target": "registered", "retracted": True}),
        "the registration cannot be retracted [invalid_correction]",
    ),
    "a correction that breaks a rule": (
        _json({"type": "corrected", "target": "kr-signed", "replacement": {"party": "US"}}),
        "correcting 'kr-signed' would break a rule: party 'US' has already signed",
    ),
    # -- version 2 ----------------------------------------------------------------------
    "a withdrawal effective before the notice was given": (
        _json(
            {
                "type": "termination_notified",
                "party": "KR",
                "effective": "2015-01-01",
                "occurred": "2015-03-01",
            }
        ),
        "a notice cannot take effect before it was given [effective_before_notice]",
    ),
    "a statement withdrawn before the withdrawal was given": (
        _json(
            {
                "type": "statement_withdrawn",
                "party": "KR",
                "target": "kr-declares",
                "effective": "2015-01-01",
                "occurred": "2015-03-01",
            }
        ),
        "[effective_before_notice]",
    ),
    "a provisional application ended before the notice": (
        _json(
            {
                "type": "provisional_application_terminated",
                "party": "KR",
                "effective": "2015-01-01",
                "occurred": "2015-03-01",
            }
        ),
        "[effective_before_notice]",
    ),
    "a suspension by a party that had not yet signed": (
        _json({"type": "suspended", "party": "KR", "occurred": "2014-12-20"}),
        "party 'KR' had not signed, consented, succeeded or applied the agreement "
        "provisionally before this suspended [not_a_participant]",
    ),
    "a suspension of the whole agreement before anyone signed": (
        _json({"type": "suspended", "occurred": "2014-12-01"}),
        "no party had signed, consented, succeeded or applied the agreement before this "
        "suspended: there is nothing to suspend or resume [not_a_participant]",
    ),
    "a withdrawal by a party that had not yet signed": (
        _json(
            {
                "type": "termination_notified",
                "party": "KR",
                "effective": "2015-06-20",
                "occurred": "2014-12-20",
            }
        ),
        "[not_a_participant]",
    ),
    "a party's own entry into force without consent": (
        ["enter-into-force", "tisa-2014", "--party", "NZ", "--occurred", "2015-01-02"],
        "party 'NZ' has neither signed, consented nor succeeded: nothing can enter into force "
        "for it [not_a_participant]",
    ),
    "a succession naming an unknown predecessor": (
        _json(
            {
                "type": "succeeded",
                "party": "CZ",
                "predecessor": "CS",
                "effective": "2015-01-01",
                "occurred": "2015-01-02",
            }
        ),
        "predecessor 'CS' is not a party of the agreement",
    ),
    "a succession by a party already bound": (
        _json(
            {
                "type": "succeeded",
                "party": "JP",
                "predecessor": "KR",
                "effective": "2015-01-01",
                "occurred": "2015-01-02",
            }
        ),
        "party 'JP' is already bound by the agreement: it cannot succeed 'KR' [invalid_succession]",
    ),
    "an objection naming something that is not a statement": (
        _json(
            {
                "type": "statement_made",
                "party": "JP",
                "kind": "objection",
                "text": "no",
                "objects_to": "kr-signed",
                "occurred": "2015-01-02",
            }
        ),
        "event 'kr-signed' is not a statement (statement_made) [invalid_statement]",
    ),
    "an objection to one's own statement": (
        _json(
            {
                "type": "statement_made",
                "party": "KR",
                "kind": "objection",
                "text": "no",
                "objects_to": "kr-declares",
                "occurred": "2015-01-02",
            }
        ),
        "cannot object to its own statement 'kr-declares' [invalid_statement]",
    ),
    "a statement withdrawn by another party": (
        _json(
            {
                "type": "statement_withdrawn",
                "party": "JP",
                "target": "kr-declares",
                "occurred": "2015-01-02",
            }
        ),
        "(or its author's successor) withdraws it [invalid_statement]",
    ),
    "a date field on a day its zone skipped": (
        _json(
            {
                "type": "extended",
                "until": "2011-12-30",
                "occurred": "2015-01-02",
                "tz": "Pacific/Apia",
            }
        ),
        "2011-12-30 is a day that did not exist in Pacific/Apia",
    ),
}


@pytest.mark.parametrize(("args", "message"), CASES.values(), ids=list(CASES))
def test_rejected_event_exits_3_names_the_rule_and_writes_nothing(cli, db_url, args, message):
    assert cli("import", str(EXAMPLE)).exit_code == 0
    for extra in (
        {
            "type": "statement_made",
            "party": "KR",
            "kind": "declaration",
            "id": "kr-declares",
            "text": "a declaration",
            "occurred": "2014-12-29",
        },
        {"type": "party_added", "party": "NZ", "name": "New Zealand", "occurred": "2015-01-01"},
    ):
        assert cli(*_json(extra)).exit_code == 0
    before = count_events(db_url)

    result = cli(*args)

    assert result.exit_code == 3, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert result.stdout == ""
    assert count_events(db_url) == before


def test_a_bad_import_line_writes_no_line_and_names_the_line(cli, db_url, tmp_path):
    lines = EXAMPLE.read_text().splitlines()
    lines.insert(
        5,
        json.dumps(
            {"agreement": "tisa-2014", "type": "signed", "party": "CN", "occurred": "2014-12-26"}
        ),
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")

    result = cli("import", str(bad))

    assert result.exit_code == 3
    assert result.stderr == (
        "Error: tisa-2014, line 6, signed event: party 'CN' is not a party of the agreement "
        "(parties: JP, KR, US) [unknown_party]\n"
    )
    assert count_events(db_url) == 0


def test_an_unreadable_import_line_is_rejected_with_its_number(cli, db_url, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(EXAMPLE.read_text() + '{"agreement": "tisa-2014", "type": \n')

    result = cli("import", str(bad))

    assert result.exit_code == 3
    assert "line 13: not valid JSON" in result.stderr
    assert count_events(db_url) == 0


def test_the_same_id_twice_in_one_file_with_different_content_is_rejected(cli, db_url, tmp_path):
    first = {"agreement": "tisa-2014", "type": "noted", "id": "n", "text": "a", "occurred": "2015"}
    second = {**first, "text": "b"}
    path = tmp_path / "twice.jsonl"
    path.write_text(EXAMPLE.read_text() + json.dumps(first) + "\n" + json.dumps(second) + "\n")

    result = cli("import", str(path))

    assert result.exit_code == 3
    assert "line 14" in result.stderr and "[conflicting_id]" in result.stderr
    assert count_events(db_url) == 0


def test_an_entry_into_force_may_be_recorded_again_once_the_first_is_retracted(cli, db_url):
    cli("import", str(EXAMPLE))
    retract = cli(
        "append",
        "tisa-2014",
        "corrected",
        "--field",
        "target=entered-into-force",
        "--field",
        "retracted=true",
    )
    assert retract.exit_code == 0, retract.stderr

    again = cli("enter-into-force", "tisa-2014", "--occurred", "2014-12-30")

    assert again.exit_code == 0, again.stderr
    assert count_events(db_url) == 14


def test_a_retraction_keeps_the_original_in_history(cli, db_url):
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
    history = [
        json.loads(line)
        for line in cli("history", "tisa-2014", "--format", "json").stdout.splitlines()
    ]
    assert [e["id"] for e in history if e["type"] == "signed"] == [
        "us-signed",
        "kr-signed",
        "jp-signed",
    ]
    assert history[-1]["target"] == "us-signed"
    # the retracted signature no longer counts: US may sign (again)
    assert cli("sign", "tisa-2014", "US", "--occurred", "2014-12-24").exit_code == 0
