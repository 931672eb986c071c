"""Replay: world time (--as-of) and ledger time (--known-at), evaluated with the
same projection as `show`, flags included."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from tests.conftest import EXAMPLE, example_lines


def replay(cli, *args):
    result = cli("replay", "tisa-2014", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def statuses(state):
    return {p["code"]: p["status"] for p in state["parties"]}


@pytest.mark.parametrize(
    ("as_of", "status", "parties", "flags"),
    [
        ("2014-12-24", "signing", {"KR": "pending", "US": "signed", "JP": "pending"}, []),
        ("2014-12-27", "signed", {"KR": "signed", "US": "signed", "JP": "signed"}, []),
        (
            "2014-12-29",
            "in_force",
            {"KR": "in_force", "US": "in_force", "JP": "in_force"},
            ["notified_after_entry_into_force", "ratification_disputed"],
        ),
        # 15:30Z on the 28th is already 00:30 on the 29th in Seoul: in force.
        (
            "2014-12-28T15:30Z",
            "in_force",
            {"KR": "in_force", "US": "in_force", "JP": "in_force"},
            ["notified_after_entry_into_force", "ratification_disputed"],
        ),
        # 14:30Z on the 28th is still the 28th in Seoul.
        ("2014-12-28T14:30Z", "signed", {"KR": "signed", "US": "signed", "JP": "signed"}, []),
        ("2014-12-28T23:30+09:00", "signed", {"KR": "signed", "US": "signed", "JP": "signed"}, []),
    ],
)
def test_the_seed_case_as_of_days_and_instants(cli, as_of, status, parties, flags):
    cli("import", str(EXAMPLE))
    state = replay(cli, "--as-of", as_of)
    assert (state["status"], statuses(state)) == (status, parties)
    assert [f["code"] for f in state["flags"]] == flags


def test_a_signature_in_new_york_counts_from_new_york_midnight(cli):
    cli("import", str(EXAMPLE))
    assert (
        statuses(replay(cli, "--as-of", "2014-12-23T04:59Z"))["US"] == "pending"
    )  # 23:59 on the 22nd in New York
    assert statuses(replay(cli, "--as-of", "2014-12-23T05:00Z"))["US"] == "signed"


def test_replay_has_the_shape_of_show_plus_its_instants(cli):
    cli("import", str(EXAMPLE))
    state = replay(cli)
    shown = json.loads(cli("show", "tisa-2014", "--format", "json").stdout)
    assert {k: v for k, v in state.items() if k not in ("as_of", "known_at")} == shown
    assert replay(cli, "--as-of", "2014-12-29")["as_of"] == "2014-12-29T14:59:59.999999Z"


def test_known_at_shows_what_the_ledger_said_between_two_imports(cli, tmp_path):
    lines = example_lines()
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(json.dumps(line) + "\n" for line in lines[:7]))
    second.write_text("".join(json.dumps(line) + "\n" for line in lines[7:]))
    cli("import", str(first))
    time.sleep(1.1)
    between = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # a whole second after the first
    time.sleep(1.1)
    cli("import", str(second))
    then = replay(cli, "--known-at", between)
    assert then["status"] == "signed" and then["version"] == 7
    assert then["flags"] == [] and then["known_at"] == between
    now = replay(cli)
    assert now["status"] == "in_force" and now["version"] == 12
    # both clocks: what the ledger said then about 27 December
    assert replay(cli, "--as-of", "2014-12-27", "--known-at", between)["status"] == "signed"


def test_known_at_before_the_agreement_was_recorded_is_rejected(cli):
    cli("import", str(EXAMPLE))
    result = cli("replay", "tisa-2014", "--known-at", "2001-01-01")
    assert result.exit_code == 3
    assert "the ledger held no event of 'tisa-2014' at 2001-01-01" in result.stderr


def test_a_notification_due_but_not_yet_made_is_missing_on_that_day(cli):
    cli(
        "register",
        "pact",
        "--title",
        "Pact",
        "--party",
        "KR",
        "--party",
        "US",
        "--tz",
        "Asia/Seoul",
        "--notify",
        "KR:National Assembly:P10D",
    )
    cli("sign", "pact", "KR", "--occurred", "2015-01-01")
    cli("sign", "pact", "US", "--occurred", "2015-01-01")
    cli("enter-into-force", "pact", "--occurred", "2015-01-02")
    cli("notify", "pact", "KR", "--body", "National Assembly", "--occurred", "2015-02-01")
    result = cli("replay", "pact", "--as-of", "2015-01-20", "--format", "json")
    flags = [(f["code"], f["certainty"]) for f in json.loads(result.stdout)["flags"]]
    assert flags == [("notification_missing", "definite")]
    assert json.loads(result.stdout)["required_notifications"][0]["status"] == "missing"
    now = json.loads(cli("show", "pact", "--format", "json").stdout)
    assert [(f["code"], f["certainty"]) for f in now["flags"]] == [("notified_late", "definite")]
    assert now["required_notifications"] == [
        {
            "party": "KR",
            "body": "National Assembly",
            "within": "P10D",
            "status": "late",
            "notified_by": "pact/5",
            # entry into force on 2 January at some time: on 12 January a notification may
            # already be more than ten days after it; the 11th is the last day that is safe
            "deadline": "2015-01-11",
        }
    ]
    assert now["notifications"] == [
        {
            "id": "pact/5",
            "party": "KR",
            "body": "National Assembly",
            "subject": None,
            "about": "conclusion",
            "notified": "2015-02-01",
        }
    ]
    due = json.loads(cli("replay", "pact", "--as-of", "2015-01-05", "--format", "json").stdout)
    assert due["required_notifications"][0]["status"] == "due"
    before = json.loads(cli("replay", "pact", "--as-of", "2015-01-01", "--format", "json").stdout)
    assert before["required_notifications"][0]["status"] == "awaiting_entry_into_force"


def test_an_unreadable_as_of_is_a_usage_error_naming_the_option(cli):
    cli("import", str(EXAMPLE))
    result = cli("replay", "tisa-2014", "--as-of", "last tuesday")
    assert result.exit_code == 2
    assert "'--as-of'" in result.stderr and "cannot read occurred 'last tuesday'" in result.stderr


def test_replay_as_a_table(cli):
    cli("import", str(EXAMPLE))
    out = cli("replay", "tisa-2014", "--as-of", "2014-12-27").stdout
    assert out.startswith("as of the end of 2014-12-27 in Asia/Seoul (2014-12-27T14:59:59.999999Z)")
    assert "status signed" in out


def test_known_at_takes_the_ledger_s_own_timestamps_to_the_microsecond(cli):
    cli("import", str(EXAMPLE))
    history = [
        json.loads(line)
        for line in cli("history", "tisa-2014", "--format", "json").stdout.splitlines()
    ]
    first, last = history[0]["recorded_at"], history[-1]["recorded_at"]
    assert first.endswith("Z") and "." in first
    then = cli("replay", "tisa-2014", "--known-at", first, "--format", "json")
    assert then.exit_code == 0, then.output
    assert json.loads(then.stdout)["version"] == 1
    assert (
        json.loads(cli("replay", "tisa-2014", "--known-at", last, "--format", "json").stdout)[
            "version"
        ]
        == 12
    )
