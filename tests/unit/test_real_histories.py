"""Four public treaty histories of version 2 of the contract, tested day by day.

Each fixture in ``tests/fixtures/histories/`` was written from public sources
(the ``source`` of every event; the companion ``.md`` quotes them and lists the
answers tested here). Approximate dates keep the precision their source gives.

- the WIPO Convention and the succession of the Czech Republic and Slovakia to
  Czechoslovakia after its dissolution on 1 January 1993;
- the Energy Charter Treaty and Russia's provisional application, ended by its
  notice of 20 August 2009;
- the ICCPR, the United States' reservations and the objections to them;
- the Treaty on Open Skies and the US withdrawal of 2020, which a statute
  required to be notified to Congress at least 120 days ahead.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agreement_ledger.projections.project import project
from tests.histories import at, codes, party, projected, stored

HISTORIES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"


def history(name: str) -> list[dict[str, Any]]:
    lines = (HISTORIES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def statuses(lines, when, zone, *codes_):
    projection = projected(lines, when, zone)
    return tuple(party(projection, code)["status"] for code in codes_)


def test_every_event_of_every_history_cites_its_source():
    for path in HISTORIES.glob("*.jsonl"):
        for line in history(path.stem):
            assert line.get("source"), (path.name, line.get("id"))


# -- succession after a dissolution: the WIPO Convention -----------------------------

WIPO = history("czechoslovak-succession")
GENEVA = "Europe/Zurich"


@pytest.mark.parametrize(
    ("when", "cs", "cz", "sk"),
    [
        # parties known to the ledger are listed from the start, pending until they act
        ("1970-09-22", "consented", "pending", "pending"),
        ("1970-12-22", "in_force", "pending", "pending"),
        ("1992-12-20", "in_force", "pending", "pending"),
        ("1992-12-31", "in_force", "pending", "pending"),
        ("1992-12-31T22:59Z", "in_force", "pending", "pending"),
        ("1992-12-31T23:30Z", "succeeded", "in_force", "in_force"),  # 1 Jan 1993 in Geneva
        ("1993-06-30", "succeeded", "in_force", "in_force"),
    ],
)
def test_wipo_the_czech_republic_and_slovakia_succeed_czechoslovakia(when, cs, cz, sk):
    projection = projected(WIPO, when, GENEVA)
    by_code = {p["code"]: p for p in projection.show["parties"]}
    assert by_code["CS"]["status"] == cs
    assert by_code["CZ"]["status"] == cz
    assert by_code["SK"]["status"] == sk


def test_wipo_successors_consent_by_notification_in_force_from_the_succession():
    projection = projected(WIPO, "1993-06-30", GENEVA)
    cz, sk, cs = (party(projection, code) for code in ("CZ", "SK", "CS"))
    assert (cz["consented"], cz["instrument"], cz["in_force"]) == (
        "1992-12-18",
        "succession",
        "1993-01-01",
    )
    assert (sk["consented"], sk["instrument"], sk["in_force"]) == (
        "1992-12-30",
        "succession",
        "1993-01-01",
    )
    assert cz["succeeded_from"] == sk["succeeded_from"] == "CS"
    assert cs["succeeded"] == "1993-01-01" and cs["instrument"] == "accession"
    inherited = [s["id"] for s in cz["statements"]]
    assert inherited == [s["id"] for s in sk["statements"]] == ["cs-declaration-art5"]
    bound = {p["code"] for p in projection.show["parties"] if p["status"] == "in_force"}
    assert bound == {"GB", "RO", "HU", "BG", "CZ", "SK"}
    assert projection.show["status"] == "in_force"


def test_wipo_a_succession_counts_from_its_date_only_once_the_ledger_knows_of_it():
    events = stored(WIPO)
    recorded = {e.event_id: e.timestamp for e in events}
    just_before = recorded["sk-succession"] - timedelta(microseconds=1)
    known_then = project(events, as_of=at("1993-06-30", GENEVA), known_at=just_before)
    assert known_then is not None
    assert party(known_then, "CZ")["status"] == "in_force"
    assert "SK" not in {p["code"] for p in known_then.show["parties"]}
    known_now = project(events, as_of=at("1993-06-30", GENEVA))
    assert known_now is not None and party(known_now, "SK")["status"] == "in_force"


def test_wipo_a_party_with_its_own_later_date_waits_for_it():
    assert statuses(WIPO, "1970-04-26", GENEVA, "GB", "BG") == ("in_force", "consented")
    assert statuses(WIPO, "1970-05-19", GENEVA, "BG") == ("in_force",)


# -- provisional application ended by notice: the Energy Charter Treaty ----------------

ECT = history("energy-charter-russia")
LISBON = "Europe/Lisbon"


@pytest.mark.parametrize(
    ("when", "ru", "agreement"),
    [
        ("1994-12-16T22:30Z", "pending", "registered"),
        ("1994-12-16T23:30Z", "provisional", "signing"),
        ("1998-04-16", "provisional", "in_force"),
        ("2009-10-18", "provisional", "in_force"),
        ("2009-10-18T22:30Z", "provisional", "in_force"),
        ("2009-10-18T23:30Z", "signed", "in_force"),  # 19 October in Lisbon
        ("2015-01-01", "signed", "in_force"),
    ],
)
def test_ect_russia_applies_provisionally_until_its_notice_takes_effect(when, ru, agreement):
    projection = projected(ECT, when, LISBON)
    assert party(projection, "RU")["status"] == ru
    assert projection.show["status"] == agreement


def test_ect_provisional_application_is_not_being_bound():
    projection = projected(ECT, "2009-10-18", LISBON)
    ru = party(projection, "RU")
    assert ru["provisional"] == "1994-12-17" and ru["provisional_until"] is None
    assert party(projection, "AU")["status"] == "signed"  # declared it would not apply it
    after = party(projected(ECT, "2010-01-01", LISBON), "RU")
    assert after["provisional_until"] == "2009-10-19"


def test_ect_a_party_consenting_before_entry_into_force_waits_for_its_own_date():
    assert statuses(ECT, "1998-04-16", LISBON, "NL", "HU") == ("in_force", "consented")
    assert statuses(ECT, "1998-07-07", LISBON, "HU") == ("in_force",)
    assert party(projected(ECT, "1998-01-01", LISBON), "NL")["instrument"] == "acceptance"


# -- a reservation and the objections to it: the ICCPR -------------------------------

ICCPR = history("iccpr-us-reservations")
NEW_YORK = "America/New_York"


@pytest.mark.parametrize(
    ("when", "us", "be"),
    [
        ("1976-03-23", "pending", "signed"),
        ("1977-10-05", "signed", "signed"),
        ("1983-07-20", "signed", "consented"),
        ("1983-07-21", "signed", "in_force"),
        ("1992-06-08", "consented", "in_force"),
        ("1992-09-07", "consented", "in_force"),
        ("1992-09-08", "in_force", "in_force"),
    ],
)
def test_iccpr_parties_enter_into_force_three_months_after_their_instrument(when, us, be):
    assert statuses(ICCPR, when, NEW_YORK, "US", "BE") == (us, be)


def test_iccpr_the_senate_s_consent_is_a_consent_step():
    us = party(projected(ICCPR, "1992-04-02", NEW_YORK), "US")
    assert us["status"] == "signed"
    assert us["consent_steps"] == [{"body": "Senate", "outcome": "approved", "date": "1992-04-02"}]


def test_iccpr_reservations_and_the_objections_to_them_are_in_force():
    before = projected(ICCPR, "1992-12-31", NEW_YORK)
    assert [s["id"] for s in party(before, "FI")["statements"]] == []
    projection = projected(ICCPR, "1993-12-31", NEW_YORK)
    us = party(projection, "US")
    assert {(s["id"], s["kind"]) for s in us["statements"]} == {
        ("iccpr-us-res-2", "reservation"),
        ("iccpr-us-res-3", "reservation"),
        ("iccpr-us-decl-1", "declaration"),
    }
    assert {s["made_at"] for s in us["statements"]} == {"consent"}
    for code, objection in (("FI", "iccpr-fi-obj-us"), ("DE", "iccpr-de-obj-us")):
        (statement,) = party(projection, code)["statements"]
        assert (statement["id"], statement["kind"], statement["objects_to"]) == (
            objection,
            "objection",
            "iccpr-us-res-2",
        )
    assert codes(projection) == []


# -- notice to a legislature required ahead of a withdrawal: Open Skies ----------------

OPEN_SKIES = history("open-skies-us-withdrawal")


@pytest.mark.parametrize(
    ("when", "us", "ru"),
    [
        ("2001-12-31", "consented", "consented"),
        ("2002-01-01", "in_force", "in_force"),
        ("2020-11-21", "in_force", "in_force"),
        ("2020-11-22", "withdrawn", "in_force"),
        ("2021-12-17T15:00-05:00", "withdrawn", "in_force"),
        ("2021-12-17", "withdrawn", "withdrawn"),  # Moscow's 18 December began at 21:00Z
    ],
)
def test_open_skies_withdrawals_take_effect_in_the_notifying_party_s_zone(when, us, ru):
    assert statuses(OPEN_SKIES, when, NEW_YORK, "US", "RU") == (us, ru)


def test_open_skies_congress_was_notified_late_and_no_other_notice_flag():
    projection = projected(OPEN_SKIES, "2021-01-01", NEW_YORK)
    flags = codes(projection)
    assert ("notified_late", "US", "definite") in flags
    assert not [
        f
        for f in flags
        if f[0] in ("notification_missing", "notified_after_entry_into_force", "short_notice")
    ]
    late = next(f for f in projection.flags if f.code == "notified_late")
    assert set(late.events) >= {"os-us-congress-notified", "os-us-notice"}
    assert "at least 120 days before notice of termination" in late.message


def test_open_skies_nothing_is_due_before_the_withdrawal_notice():
    assert codes(projected(OPEN_SKIES, "2002-01-01", NEW_YORK)) == []
    assert codes(projected(OPEN_SKIES, "2019-12-31", NEW_YORK)) == []
    required = projected(OPEN_SKIES, "2019-12-31", NEW_YORK).show["required_notifications"]
    assert [r["status"] for r in required] == ["due"]


TEXT, TEXT_OR_NONE = (str,), (str, type(None))
TIMELINE_ENTRY = {
    "id": TEXT,
    "version": (int,),
    "type": TEXT,
    "occurred": TEXT_OR_NONE,
    "precision": TEXT_OR_NONE,
    "start": TEXT_OR_NONE,
    "end": TEXT_OR_NONE,
    "zone": TEXT_OR_NONE,
    "party": TEXT_OR_NONE,
    "summary": TEXT,
    "recorded_at": TEXT,
    "recorded_by": TEXT,
    "corrected_by": (list,),
    "retracted": (bool,),
    "flags": (list,),
}
"""A timeline entry as ``ledger timeline --format json`` and the report read it."""


@pytest.mark.parametrize("name", sorted(p.stem for p in HISTORIES.glob("*.jsonl")))
def test_every_timeline_entry_has_the_keys_readers_rely_on(name):
    """Every entry has exactly these keys and types, for every event, retracted or
    corrected ones too."""
    entries = projected(history(name)).timeline
    assert entries
    assert all(entry.keys() == TIMELINE_ENTRY.keys() for entry in entries)
    for entry in entries:
        assert all(isinstance(entry[k], types) for k, types in TIMELINE_ENTRY.items()), entry
