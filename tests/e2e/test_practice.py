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
