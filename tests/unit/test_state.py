"""The state machine of §5 on realistic histories, at many instants."""

from __future__ import annotations

import pytest

from tests.conftest import example_lines
from tests.histories import NEW_START, PARIS, VFA, party, projected


def test_the_seed_case_is_in_force_with_every_signature_on_its_day():
    state = projected(example_lines()).show
    assert state["status"] == "in_force"
    assert state["entered_into_force"] == "2014-12-29"
    assert {p["code"]: p["signed"] for p in state["parties"]} == {
        "KR": "2014-12-26",
        "US": "2014-12-23",
        "JP": "2014-12-26",
    }
    assert {p["status"] for p in state["parties"]} == {"in_force"}


@pytest.mark.parametrize(
    ("when", "status", "signed_by"),
    [
        ("2014-12-22", "registered", set()),
        ("2014-12-24", "signing", {"US"}),
        ("2014-12-27", "signed", {"US", "KR", "JP"}),
        ("2014-12-29", "in_force", {"US", "KR", "JP"}),
    ],
)
def test_the_seed_case_day_by_day(when, status, signed_by):
    state = projected(example_lines(), when, "Asia/Seoul").show
    assert state["status"] == status
    assert {p["code"] for p in state["parties"] if p["signed"]} == signed_by


def test_a_seoul_day_begins_at_15_utc_the_day_before():
    # 28 Dec 15:00Z is already 29 Dec in Seoul: the pact has (possibly) begun.
    assert projected(example_lines(), "2014-12-28T15:00Z").show["status"] == "in_force"
    assert projected(example_lines(), "2014-12-28T14:59Z").show["status"] == "signed"


@pytest.mark.parametrize(
    ("when", "status", "us", "ru"),
    [
        ("2010-04-07", "registered", "pending", "pending"),
        ("2010-04-09", "signed", "signed", "signed"),
        ("2011-01-30", "signed", "signed", "consented"),
        ("2011-02-06", "in_force", "in_force", "in_force"),
        ("2021-02-04", "in_force", "in_force", "in_force"),  # extended the day before it expired
        ("2023-03-01", "in_force", "in_force", "suspended"),
        ("2026-02-05", "expired", "ended", "ended"),  # expires at the start of the day
    ],
)
def test_new_start_bilateral_with_ratification_extension_and_expiry(when, status, us, ru):
    projection = projected(NEW_START, when, "Europe/Moscow")
    assert projection.show["status"] == status
    assert (party(projection, "US")["status"], party(projection, "RU")["status"]) == (us, ru)


def test_new_start_without_extension_expired_on_its_original_date():
    projection = projected(NEW_START[:-2], "2021-02-05", "Europe/Moscow")
    assert projection.show["status"] == "expired"
    assert projection.show["expires"] == "2021-02-05"
    assert projected(NEW_START[:-2], "2021-02-04", "Europe/Moscow").show["status"] == "in_force"


def test_expiry_applies_by_time_alone_and_says_when_the_answer_changes():
    before = projected(NEW_START, "2026-02-04", "Europe/Moscow")
    assert before.show["status"] == "in_force"
    assert (
        before.changes_at is not None
        and before.changes_at.isoformat() == "2026-02-04T21:00:00+00:00"
    )
    assert projected(NEW_START, "2026-11-26").changes_at is None


@pytest.mark.parametrize(
    ("when", "us", "cn", "dz"),
    [
        ("2016-09-01", "signed", "signed", "signed"),
        ("2016-11-01", "consented", "consented", "consented"),
        ("2016-11-10", "in_force", "in_force", "consented"),  # Algeria waits for its own date
        ("2016-11-20", "in_force", "in_force", "in_force"),
        ("2020-11-03", "in_force", "in_force", "in_force"),
        ("2020-11-04", "withdrawn", "in_force", "in_force"),
        ("2021-01-25", "consented", "in_force", "in_force"),  # re-joining, not yet in force
        ("2021-02-19", "in_force", "in_force", "in_force"),
        ("2026-01-27", "withdrawn", "in_force", "in_force"),
    ],
)
def test_paris_per_party_entry_into_force_withdrawal_and_rejoining(when, us, cn, dz):
    projection = projected(PARIS, when, "America/New_York")
    statuses = tuple(party(projection, code)["status"] for code in ("US", "CN", "DZ"))
    assert statuses == (us, cn, dz)
    assert projection.show["status"] == ("in_force" if when >= "2016-11-04" else "signed")


def test_paris_dates_per_party_today():
    projection = projected(PARIS, "2026-11-26")
    assert party(projection, "DZ")["in_force"] == "2016-11-19"
    assert party(projection, "CN")["in_force"] == "2016-11-04"
    us = party(projection, "US")
    assert (us["in_force"], us["consented"], us["withdrawn"]) == (
        "2021-02-19",
        "2021-01-20",
        "2026-01-27",
    )
    assert projection.show["termination"] == {
        "party": "US",
        "notified": "2025-01-27",
        "effective": "2026-01-27",
        "status": "effective",
    }


@pytest.mark.parametrize(
    ("when", "notice", "status"),
    [
        ("2020-02-10", None, "in_force"),
        ("2020-03-01", "pending", "in_force"),
        ("2020-07-01", "suspended", "in_force"),
        ("2020-08-10", "suspended", "in_force"),  # a suspended notice does not take effect
        ("2021-08-01", "withdrawn", "in_force"),  # the suspended notice is then revoked for good
    ],
)
def test_vfa_termination_notice_suspended(when, notice, status):
    projection = projected(VFA, when, "Asia/Manila")
    termination = projection.show["termination"]
    assert (termination and termination["status"]) == notice
    assert projection.show["status"] == status


def test_a_pending_notice_can_be_withdrawn():
    lines = [line for line in VFA if line["id"] != "notice-suspended"]
    assert projected(lines, "2020-03-01", "Asia/Manila").show["termination"]["status"] == "pending"
    lines[-1] = {**lines[-1], "occurred": "2020-06-02"}
    after = projected(lines, "2020-08-10", "Asia/Manila")
    assert after.show["termination"]["status"] == "withdrawn"
    assert after.show["status"] == "in_force"


def test_a_partys_withdrawal_ends_a_bilateral_agreement_on_the_effective_day():
    lines = [line for line in VFA if not line["id"].startswith("notice-")]
    assert projected(lines, "2020-08-08", "Asia/Manila").show["status"] == "in_force"
    ended = projected(lines, "2020-08-09", "Asia/Manila")
    assert ended.show["status"] == "terminated"
    assert party(ended, "PH")["status"] == "withdrawn"
    assert party(ended, "PH")["withdrawn"] == "2020-08-09"
    assert ended.show["termination"]["status"] == "effective"


def test_explicit_termination_ends_the_agreement():
    lines = [*VFA, {"agreement": "vfa", "type": "terminated", "occurred": "2022-01-01"}]
    assert projected(lines, "2022-01-02", "Asia/Manila").show["status"] == "terminated"


def test_an_agreement_wide_suspension_and_resumption():
    lines = [
        *VFA[:5],
        {"agreement": "vfa", "type": "suspended", "occurred": "2005-01-01"},
        {"agreement": "vfa", "type": "resumed", "occurred": "2006-01-01"},
    ]
    assert projected(lines, "2005-06-01").show["status"] == "suspended"
    assert projected(lines, "2006-06-01").show["status"] == "in_force"


def test_a_retracted_entry_into_force_no_longer_counts():
    lines = [
        *example_lines(),
        {
            "agreement": "tisa-2014",
            "type": "corrected",
            "target": "entered-into-force",
            "retracted": True,
        },
    ]
    state = projected(lines).show
    assert state["status"] == "signed"
    assert state["entered_into_force"] is None


def test_a_corrected_date_is_what_the_state_uses():
    lines = [
        *example_lines(),
        {
            "agreement": "tisa-2014",
            "type": "corrected",
            "target": "us-signed",
            "replacement": {"occurred": "2014-12-22"},
        },
    ]
    assert party(projected(lines), "US")["signed"] == "2014-12-22"
