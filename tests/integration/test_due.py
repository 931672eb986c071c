"""`ledger due`: the compliance calendar a treaty office reads every Monday."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import count_events

TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def register(cli, lines: list[dict]) -> None:
    imported = cli("import", "-", input="\n".join(json.dumps(line) for line in lines))
    assert imported.exit_code == 0, imported.stderr


def pact(key: str, entry: int, **registration) -> list[dict]:
    """A bilateral pact of KR and US that entered into force ``entry`` days from today."""
    return [
        {
            "agreement": key,
            "type": "registered",
            "title": key,
            "tz": "UTC",
            "parties": ["KR", "US"],
            **registration,
        },
        {"agreement": key, "type": "signed", "party": "KR", "occurred": day(entry - 10)},
        {"agreement": key, "type": "signed", "party": "US", "occurred": day(entry - 10)},
        {"agreement": key, "type": "entered_into_force", "occurred": day(entry)},
    ]


NOTIFY_KR = {"notify": [{"party": "KR", "body": "National Assembly", "within": "P30D"}]}


@pytest.fixture
def calendar(cli):
    register(cli, pact("owed", -10, **NOTIFY_KR))  # due in 19 days
    register(cli, pact("missed", -60, **NOTIFY_KR))  # was due 31 days ago
    register(cli, pact("expiring", -400, expires=day(45)))
    register(
        cli,
        [
            *pact("ending", -900, notice_period="P6M"),
            {
                "agreement": "ending",
                "type": "termination_notified",
                "party": "US",
                "effective": day(70),
                "occurred": day(-110),
            },
        ],
    )
    register(cli, pact("quiet", -5))  # nothing owed
    return cli


def rows(result) -> list[dict]:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_what_falls_due_soonest_first_with_the_overdue_first_of_all(calendar):
    found = rows(calendar("due", "--format", "json"))
    assert [(r["agreement"], r["kind"], r["due"], r["overdue"]) for r in found] == [
        ("missed", "notification", day(-31), True),  # the last safe day: see below
        ("owed", "notification", day(19), False),
        ("expiring", "expiry", day(45), False),
        ("ending", "termination", day(70), False),
    ]
    assert found[1]["party"] == "KR"
    assert found[1]["what"] == "notify National Assembly within 30 days after entry into force"


def test_the_window_says_how_far_ahead_and_the_overdue_always_show(calendar):
    found = rows(calendar("due", "--within", "P30D", "--format", "json"))
    assert [r["agreement"] for r in found] == ["missed", "owed"]


def test_one_party_sees_what_it_owes_and_what_ends_for_it(calendar):
    for_us = rows(calendar("due", "--party", "US", "--format", "json"))
    assert [(r["agreement"], r["kind"]) for r in for_us] == [
        ("expiring", "expiry"),
        ("ending", "termination"),
    ]


def test_a_notification_once_made_is_no_longer_due(calendar):
    made = calendar(
        "append",
        "owed",
        "notified",
        "--field",
        "party=KR",
        "--field",
        "body=National Assembly",
        "--field",
        f"occurred={day(0)}",
    )
    assert made.exit_code == 0, made.stderr
    assert "owed" not in [r["agreement"] for r in rows(calendar("due", "--format", "json"))]


def test_table_and_csv_say_the_same(calendar):
    table = calendar("due", env={"COLUMNS": "100"})
    assert table.exit_code == 0
    assert "overdue" in table.stdout and "National Assembly" in table.stdout
    parsed = list(csv.DictReader(io.StringIO(calendar("due", "--format", "csv").stdout)))
    assert [r["agreement"] for r in parsed] == ["missed", "owed", "expiring", "ending"]
    assert parsed[0]["overdue"] == "overdue" and parsed[1]["overdue"] == ""


def test_nothing_due_is_one_line(cli):
    register(cli, pact("quiet", -5))
    result = cli("due")
    assert result.exit_code == 0 and result.stdout == "nothing due within 90 days\n"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--within", "3days"], "'--within'"),
        (["--within", "P-1D"], "'--within'"),
        (["--party", "XX"], "no agreement has a party 'XX'"),
    ],
)
def test_a_bad_option_is_one_line_and_writes_nothing(calendar, db_url, args, says):
    before = count_events(db_url)
    result = calendar("due", *args)
    assert result.exit_code == 2
    assert says in result.stderr and result.stderr.count("\n") == 1
    assert count_events(db_url) == before


def test_the_last_day_before_a_step_leaves_the_lead_whole():
    """Notice at least 30 days before ratification on 1 March: the last safe day is 29
    January (notified on the 30th, at some time, it may be less than 30 days before a
    ratification early on 1 March: a possible ``notified_late``)."""
    from tests.histories import projected

    lines = [
        {
            "agreement": "lead",
            "type": "registered",
            "title": "Lead",
            "tz": "Asia/Seoul",
            "parties": ["KR", "US"],
            "requires_ratification": ["KR"],
            "notify": [
                {"party": "KR", "body": "National Assembly", "before": "consent", "lead": "P30D"}
            ],
        },
        {"agreement": "lead", "type": "signed", "party": "KR", "occurred": "2015-01-01"},
        {"agreement": "lead", "type": "ratified", "party": "KR", "occurred": "2015-03-01"},
    ]
    [requirement] = projected(lines).show["required_notifications"]
    assert requirement["deadline"] == "2015-01-29"
