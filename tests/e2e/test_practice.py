"""The typed commands of treaty practice, as a clerk would use them."""

from __future__ import annotations

import json

import pytest


def ok(result):
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def treaty(cli):
    ok(
        cli(
            "register",
            "pact",
            "--title",
            "A multilateral pact",
            "--open",
            "--tz",
            "UTC",
            "--party",
            "AA",
            "--party",
            "BB",
            "--party",
            "CS",
            "--party",
            "RU",
            *[
                arg
                for code in ("AA", "BB", "CS", "RU")
                for arg in ("--requires-ratification", code)
            ],
        )
    )
    for code in ("AA", "BB", "CS", "RU"):
        ok(cli("sign", "pact", code, "--occurred", "1990-01-10", "--id", f"{code.lower()}-signed"))
    for code in ("AA", "BB", "CS"):
        ok(cli("ratify", "pact", code, "--occurred", "1990-06-01"))
    ok(cli("enter-into-force", "pact", "--occurred", "1991-01-01", "--id", "eif"))
    return cli


def show(cli, *args):
    return json.loads(ok(cli("replay", "pact", *args, "--format", "json")).stdout)


def parties(state):
    return {p["code"]: p for p in state["parties"]}


def test_accession_with_a_name_and_zone(treaty):
    ok(
        treaty(
            "add-party",
            "pact",
            "NZ",
            "--name",
            "New Zealand",
            "--party-tz",
            "Pacific/Auckland",
            "--occurred",
            "1995-03-01",
        )
    )
    nz = parties(show(treaty))["NZ"]
    assert (nz["name"], nz["status"]) == ("New Zealand", "pending")


def test_succession_statements_provisional_application_and_withdrawal(treaty):
    ok(
        treaty(
            "state",
            "pact",
            "CS",
            "--kind",
            "reservation",
            "--text",
            "Article 9 aside",
            "--made-at",
            "consent",
            "--occurred",
            "1990-06-01",
            "--id",
            "cs-res",
        )
    )
    ok(
        treaty(
            "state",
            "pact",
            "AA",
            "--kind",
            "objection",
            "--text",
            "incompatible",
            "--objects-to",
            "cs-res",
            "--occurred",
            "1990-09-01",
            "--id",
            "aa-obj",
        )
    )
    ok(
        treaty(
            "succeed",
            "pact",
            "CZ",
            "--predecessor",
            "CS",
            "--effective",
            "1993-01-01",
            "--occurred",
            "1993-05-20",
            "--name",
            "Czech Republic",
        )
    )
    ok(treaty("apply-provisionally", "pact", "--party", "RU", "--occurred", "1990-01-10"))
    ok(
        treaty(
            "end-provisional-application",
            "pact",
            "RU",
            "--effective",
            "2009-10-19",
            "--occurred",
            "2009-08-20",
        )
    )
    ok(treaty("withdraw-statement", "pact", "AA", "aa-obj", "--occurred", "1999-01-01"))
    ok(treaty("withdraw", "pact", "BB", "--effective", "2020-11-22", "--occurred", "2020-05-22"))
    ok(
        treaty(
            "notify",
            "pact",
            "BB",
            "--body",
            "Parliament",
            "--about",
            "withdrawal",
            "--occurred",
            "2020-05-22",
        )
    )

    early = parties(show(treaty, "--as-of", "1992-06-30"))
    assert early["CS"]["status"] == "in_force" and early["CZ"]["status"] == "pending"
    assert early["RU"]["status"] == "provisional"
    assert [s["id"] for s in early["AA"]["statements"]] == ["aa-obj"]

    # known since May 1993, the succession counts from 1 January 1993
    later = parties(show(treaty, "--as-of", "1993-02-01"))
    assert later["CS"]["status"] == "succeeded"
    assert (later["CZ"]["status"], later["CZ"]["instrument"], later["CZ"]["in_force"]) == (
        "in_force",
        "succession",
        "1993-01-01",
    )
    assert [s["id"] for s in later["CZ"]["statements"]] == ["cs-res"]

    now = show(treaty)
    by_code = parties(now)
    assert by_code["AA"]["statements"] == []  # the objection was withdrawn
    assert (
        by_code["RU"]["status"] == "signed" and by_code["RU"]["provisional_until"] == "2009-10-19"
    )
    assert by_code["BB"]["status"] == "withdrawn"
    assert [f["code"] for f in now["flags"] if f["code"] == "notified_after_entry_into_force"] == []


# -- found by a clerk's review --------------------------------------------------------------


@pytest.fixture
def dissolved(cli):
    ok(
        cli(
            "register",
            "vcdr",
            "--title",
            "VCDR",
            "--party",
            "YU",
            "--party",
            "GB",
            "--open",
            "--requires-ratification",
            "YU",
            "--occurred",
            "1961-04-18",
        )
    )
    for code in ("YU", "GB"):
        ok(cli("sign", "vcdr", code, "--occurred", "1961-04-18"))
    ok(cli("ratify", "vcdr", "YU", "--occurred", "1963-04-01"))
    ok(cli("enter-into-force", "vcdr", "--occurred", "1964-04-24"))
    ok(
        cli(
            "state",
            "vcdr",
            "YU",
            "--kind",
            "reservation",
            "--text",
            "r",
            "--id",
            "yu-res",
            "--occurred",
            "1963-04-01",
        )
    )
    ok(
        cli(
            "succeed",
            "vcdr",
            "SI",
            "--predecessor",
            "YU",
            "--effective",
            "1991-06-25",
            "--occurred",
            "1992-07-06",
        )
    )
    ok(
        cli(
            "succeed",
            "vcdr",
            "HR",
            "--predecessor",
            "YU",
            "--effective",
            "1991-10-08",
            "--occurred",
            "1992-10-12",
        )
    )
    return cli


def test_every_successor_of_a_dissolution_takes_the_predecessor_s_place(dissolved):
    rows = {
        r["code"]: r for r in json.loads(dissolved("parties", "vcdr", "--format", "json").stdout)
    }
    for code, since in (("SI", "1991-06-25"), ("HR", "1991-10-08")):
        assert (rows[code]["status"], rows[code]["instrument"], rows[code]["in_force"]) == (
            "in_force",
            "succession",
            since,
        )
    flags = json.loads(dissolved("flags", "vcdr", "--format", "json").stdout)
    assert [f for f in flags if f["code"] == "entered_into_force_without_ratification"] == []


def test_one_successor_withdrawing_an_inherited_statement_leaves_the_other_s(dissolved):
    ok(dissolved("withdraw-statement", "vcdr", "SI", "yu-res", "--occurred", "1994-03-01"))
    rows = {
        r["code"]: r for r in json.loads(dissolved("parties", "vcdr", "--format", "json").stdout)
    }
    assert rows["SI"]["statements"] == []
    assert [s["id"] for s in rows["HR"]["statements"]] == ["yu-res"]


def test_a_predecessor_no_longer_acts_once_succeeded(dissolved, db_url):
    from tests.conftest import count_events

    before = count_events(db_url)
    result = dissolved(
        "state", "vcdr", "YU", "--kind", "declaration", "--text", "late", "--occurred", "1994-02-01"
    )
    assert result.exit_code == 3 and "was succeeded by" in result.stderr
    assert count_events(db_url) == before


@pytest.mark.parametrize(
    "args",
    [
        ["withdraw-statement", "vcdr", "YU", "yu-res", "--occurred", "1962-01-01"],
        [
            "state",
            "vcdr",
            "GB",
            "--kind",
            "objection",
            "--text",
            "o",
            "--objects-to",
            "yu-res",
            "--occurred",
            "1962-01-01",
        ],
    ],
    ids=["withdrawn before it was made", "objected to before it was made"],
)
def test_a_statement_cannot_be_answered_before_it_was_made(dissolved, db_url, args):
    from tests.conftest import count_events

    before = count_events(db_url)
    result = dissolved(*args)
    assert result.exit_code == 3 and "dated before statement 'yu-res'" in result.stderr
    assert count_events(db_url) == before


def test_an_own_entry_into_force_without_the_required_ratification_is_flagged(cli):
    ok(
        cli(
            "register",
            "t",
            "--title",
            "T",
            "--party",
            "A",
            "--party",
            "B",
            "--party",
            "NZ",
            "--open",
            "--requires-ratification",
            "NZ",
            "--occurred",
            "2013-01-01",
        )
    )
    for code in ("A", "B", "NZ"):
        ok(cli("sign", "t", code, "--occurred", "2013-06-03"))
    ok(cli("enter-into-force", "t", "--occurred", "2014-01-01"))
    ok(cli("enter-into-force", "t", "--party", "NZ", "--occurred", "2015-01-01"))
    flags = json.loads(cli("flags", "t", "--format", "json").stdout)
    assert [(f["code"], f["party"]) for f in flags] == [
        ("entered_into_force_without_ratification", "NZ")
    ]


def test_the_show_table_says_what_each_requirement_asks(cli):
    register = {
        "title": "FTA",
        "tz": "Asia/Seoul",
        "parties": ["KR", "US"],
        "notify": [
            {"party": "KR", "body": "National Assembly", "before": "consent", "lead": "P60D"},
            {
                "party": "KR",
                "body": "National Assembly",
                "about": "withdrawal",
                "before": "termination_notified",
                "lead": "P10D",
            },
        ],
    }
    ok(cli("append", "fta", "registered", "--json", json.dumps(register)))
    shown = cli("show", "fta", env={"COLUMNS": "250"}).stdout
    assert "at least 60 days before consent to be bound" in shown
    assert "at least 10 days before notice of termination (about withdrawal)" in shown
