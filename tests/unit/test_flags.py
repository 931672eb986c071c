"""Every flag rule: when it is raised, when not, and definite versus possible."""

from __future__ import annotations

import pytest

from agreement_ledger.projections import flags as flag_rules
from tests.conftest import example_lines
from tests.histories import PARIS, VFA, codes, event, projected


def pact(*lines, **registration):
    base = event(
        "pact",
        "registered",
        id="reg",
        title="Pact",
        tz="Asia/Seoul",
        parties=["KR", "US"],
        **registration,
    )
    return [base, *lines]


def signed(party, when, **extra):
    return event(
        "pact", "signed", id=f"{party.lower()}-signed", party=party, occurred=when, **extra
    )


SIGNED = [signed("KR", "2014-12-26"), signed("US", "2014-12-23")]
EIF = event("pact", "entered_into_force", id="eif", occurred="2014-12-29")


def only(projection, code):
    return [c for c in codes(projection) if c[0] == code]


# -- the seed case -------------------------------------------------------------


def test_the_seed_case_flags_the_late_notification_definitely_and_the_dispute():
    projection = projected(example_lines())
    assert codes(projection) == [
        ("notified_after_entry_into_force", "KR", "definite"),
        ("ratification_disputed", "KR", "definite"),
    ]
    late = projection.flags[0]
    assert late.events == ("assembly-notified", "entered-into-force")
    assert "after the agreement entered into force on 2014-12-29" in late.message


def test_without_the_after_link_the_same_day_notification_is_only_possible():
    lines = [
        {k: v for k, v in line.items() if not (line["id"] == "assembly-notified" and k == "after")}
        for line in example_lines()
    ]
    assert only(projected(lines), "notified_after_entry_into_force") == [
        ("notified_after_entry_into_force", "KR", "possible")
    ]


# -- notifications -------------------------------------------------------------


def notified(when, **extra):
    return event(
        "pact",
        "notified",
        id="notified",
        party="KR",
        body="National Assembly",
        occurred=when,
        **extra,
    )


@pytest.mark.parametrize(
    ("when", "after", "expected"),
    [
        ("2014-12-28", None, []),
        ("2014-12-29", None, [("notified_after_entry_into_force", "KR", "possible")]),
        ("2014-12-29", ["eif"], [("notified_after_entry_into_force", "KR", "definite")]),
        ("2014-12-30", None, [("notified_after_entry_into_force", "KR", "definite")]),
        ("2014-12-29T09:00", None, [("notified_after_entry_into_force", "KR", "possible")]),
    ],
)
def test_notified_after_entry_into_force(when, after, expected):
    extra = {"after": after} if after else {}
    projection = projected(pact(*SIGNED, EIF, notified(when, **extra)))
    assert only(projection, "notified_after_entry_into_force") == expected


def test_a_requirement_that_allows_notice_after_entry_into_force_suppresses_the_flag():
    requirement = [{"party": "KR", "body": "National Assembly", "within": "P15D"}]
    projection = projected(pact(*SIGNED, EIF, notified("2015-01-05"), notify=requirement))
    assert codes(projection) == []


def test_a_requirement_of_notice_before_entry_into_force_keeps_the_flag():
    requirement = [{"party": "KR", "body": "National Assembly"}]
    projection = projected(pact(*SIGNED, EIF, notified("2015-01-05"), notify=requirement))
    assert only(projection, "notified_after_entry_into_force") == [
        ("notified_after_entry_into_force", "KR", "definite")
    ]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2015-01-12", []),  # within 15 days of 29 Dec
        ("2015-01-13", [("notified_late", "KR", "possible")]),  # the deadline day itself is open
        ("2015-01-14", [("notified_late", "KR", "definite")]),
    ],
)
def test_notified_late(when, expected):
    requirement = [{"party": "KR", "body": "National Assembly", "within": "P15D"}]
    projection = projected(pact(*SIGNED, EIF, notified(when), notify=requirement))
    assert only(projection, "notified_late") == expected


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2015-01-12", []),
        ("2015-01-13", [("notification_missing", "KR", "possible")]),
        ("2015-01-14", [("notification_missing", "KR", "definite")]),
    ],
)
def test_notification_missing_once_the_deadline_has_passed(as_of, expected):
    requirement = [{"party": "KR", "body": "National Assembly", "within": "P15D"}]
    projection = projected(pact(*SIGNED, EIF, notify=requirement), as_of, "Asia/Seoul")
    assert only(projection, "notification_missing") == expected


def test_a_missing_notification_made_later_is_late_instead():
    requirement = [{"party": "KR", "body": "National Assembly", "within": "P15D"}]
    lines = pact(*SIGNED, EIF, notified("2015-02-01"), notify=requirement)
    assert only(
        projected(lines, "2015-01-20", "Asia/Seoul"), "notification_missing"
    )  # as it stood then
    now = projected(lines)
    assert only(now, "notification_missing") == []
    assert only(now, "notified_late") == [("notified_late", "KR", "definite")]


def test_a_month_is_a_calendar_month_in_the_agreements_zone():
    requirement = [{"party": "KR", "body": "National Assembly", "within": "P1M"}]
    lines = pact(
        *SIGNED,
        event("pact", "entered_into_force", id="eif", occurred="2015-01-31"),
        notify=requirement,
    )
    assert only(projected(lines, "2015-02-27", "Asia/Seoul"), "notification_missing") == []
    assert only(projected(lines, "2015-03-01", "Asia/Seoul"), "notification_missing") == [
        ("notification_missing", "KR", "definite")
    ]


# -- signatures, delivery, ratification -----------------------------------------


@pytest.mark.parametrize(
    ("us_signed", "expected"),
    [
        ("2014-12-23", []),
        ("2014-12-29", [("entered_into_force_before_all_signatures", "US", "possible")]),
        ("2014-12-30", [("entered_into_force_before_all_signatures", "US", "definite")]),
        (None, [("entered_into_force_before_all_signatures", "US", "definite")]),
    ],
)
def test_entered_into_force_before_all_signatures(us_signed, expected):
    lines = [SIGNED[0], EIF] + ([signed("US", us_signed)] if us_signed else [])
    projection = projected(pact(*lines))
    assert only(projection, "entered_into_force_before_all_signatures") == expected


def test_an_open_agreement_in_force_before_everyone_signed_is_not_flagged():
    assert only(projected(PARIS), "entered_into_force_before_all_signatures") == []


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ("2014-12-27", []),
        ("2014-12-26", [("delivered_before_all_signatures", "KR", "possible")]),
        ("2014-12-24", [("delivered_before_all_signatures", "KR", "definite")]),
    ],
)
def test_delivered_before_all_signatures(delivered, expected):
    delivery = event("pact", "delivered", id="dl", **{"from": "US", "to": "KR"}, occurred=delivered)
    projection = projected(pact(*SIGNED, delivery))
    assert only(projection, "delivered_before_all_signatures") == expected


@pytest.mark.parametrize(
    ("ratified", "expected"),
    [
        ("2014-12-28", []),
        ("2014-12-29", [("entered_into_force_without_ratification", "KR", "possible")]),
        ("2015-01-02", [("entered_into_force_without_ratification", "KR", "definite")]),
        (None, [("entered_into_force_without_ratification", "KR", "definite")]),
    ],
)
def test_entered_into_force_without_ratification(ratified, expected):
    lines = [*SIGNED, EIF]
    if ratified:
        lines.append(event("pact", "ratified", id="kr-ratified", party="KR", occurred=ratified))
    projection = projected(pact(*lines, requires_ratification=["KR"]))
    assert only(projection, "entered_into_force_without_ratification") == expected


def test_paris_parties_ratified_before_they_were_bound():
    assert only(projected(PARIS), "entered_into_force_without_ratification") == []


def test_ratification_disputed_only_when_positions_differ():
    han = event(
        "pact", "ratification_assessed", party="KR", required=False, by="Han", occurred="2014-12-29"
    )
    jin = event(
        "pact", "ratification_assessed", party="KR", required=True, by="Jin", occurred="2014-12-29"
    )
    assert only(projected(pact(han)), "ratification_disputed") == []
    assert only(projected(pact(han, {**han, "by": "Another"})), "ratification_disputed") == []
    disputed = projected(pact(han, jin))
    assert only(disputed, "ratification_disputed") == [("ratification_disputed", "KR", "definite")]
    assert disputed.flags[0].severity == "info"


# -- termination ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notified_on", "expected"),
    [
        ("2020-02-11", []),  # 180 days to 9 August
        ("2020-02-12", [("short_notice", "PH", "definite")]),
        ("2020-02-11T12:00", []),
    ],
)
def test_short_notice(notified_on, expected):
    lines = [line for line in VFA if line["id"] not in ("notice-suspended", "notice-withdrawn")]
    lines = [
        {**line, "occurred": notified_on} if line["id"] == "notice" else line for line in lines
    ]
    assert only(projected(lines, "2020-03-01"), "short_notice") == expected


def _vfa_notice(**changes):
    lines = [line for line in VFA if line["id"] not in ("notice-suspended", "notice-withdrawn")]
    return [{**line, **changes} if line["id"] == "notice" else line for line in lines]


def test_a_notice_and_its_effective_date_are_read_in_one_zone():
    # Given on 11 Feb in New York, effective 9 Aug: both read in New York, exactly 180
    # days. (Reading the notice in New York and the date in Manila made it look short.)
    lines = _vfa_notice(effective="2020-08-09", occurred="2020-02-11", tz="America/New_York")
    assert only(projected(lines, "2020-03-01"), "short_notice") == []
    lines = _vfa_notice(effective="2020-08-08", occurred="2020-02-11", tz="America/New_York")
    assert only(projected(lines, "2020-03-01"), "short_notice") == [
        ("short_notice", "PH", "definite")
    ]


def test_short_notice_is_possible_when_the_notice_is_known_only_to_the_month():
    lines = _vfa_notice(effective="2020-08-09", occurred="2020-02")
    assert only(projected(lines, "2020-03-01"), "short_notice") == [
        ("short_notice", "PH", "possible")
    ]


def test_paris_withdrawal_notice_of_exactly_one_year_is_not_short():
    assert only(projected(PARIS), "short_notice") == []


def test_an_event_after_the_agreement_ended_is_flagged():
    lines = [line for line in VFA if not line["id"].startswith("notice-")]
    lines.append(event("vfa", "suspended", id="late", occurred="2021-01-01"))
    lines.append(event("vfa", "noted", id="note", text="commentary", occurred="2021-01-02"))
    assert only(projected(lines), "event_after_termination") == [
        ("event_after_termination", None, "definite")
    ]


def test_an_event_on_the_day_the_agreement_ended_is_possible():
    lines = [
        *pact(*SIGNED, EIF),
        event("pact", "terminated", id="end", occurred="2016-01-01"),
        event("pact", "amended", id="amend", summary="scope", occurred="2016-01-01"),
    ]
    assert only(projected(lines), "event_after_termination") == [
        ("event_after_termination", None, "possible")
    ]


def test_a_withdrawn_partys_own_events_are_flagged_until_it_rejoins():
    lines = [
        *PARIS,
        event(
            "paris",
            "notified",
            id="us-notified",
            party="US",
            body="Congress",
            occurred="2020-12-01",
        ),
    ]
    assert only(projected(lines), "event_after_termination") == [
        ("event_after_termination", "US", "definite")
    ]
    # Re-joining by a new consent (and what follows it) is not flagged: the plain Paris history.
    assert only(projected(PARIS), "event_after_termination") == []


# -- the runner --------------------------------------------------------------------


def test_a_crashing_rule_becomes_a_reported_flag(monkeypatch):
    def broken(facts, state):
        raise ValueError("boom")
        yield  # pragma: no cover

    monkeypatch.setitem(flag_rules.RULES, "broken", broken)
    projection = projected(example_lines())
    failed = [f for f in projection.flags if f.code == "rule_failed"]
    assert len(failed) == 1 and "the broken rule failed: ValueError: boom" in failed[0].message
    assert only(projection, "notified_after_entry_into_force")  # the other rules still ran


# -- requirements that point at a step, with a lead (contract version 2) ----------------


def _required_before(before, lead, *extra):
    notify = {"party": "AA", "body": "Parliament", "before": before, "lead": lead}
    if before == "termination_notified":
        notify["about"] = "withdrawal"
    return [
        event(
            "req",
            "registered",
            title="T",
            tz="UTC",
            open=True,
            parties=["AA", "BB"],
            requires_ratification=["AA"],
            notify=[notify],
        ),
        event("req", "signed", party="AA", occurred="2020-01-01"),
        event("req", "signed", party="BB", occurred="2020-01-01"),
        *extra,
    ]


def _notified(day, about=None):
    fields = {"party": "AA", "body": "Parliament", "occurred": day}
    if about:
        fields["about"] = about
    return event("req", "notified", id="told", **fields)


@pytest.mark.parametrize(
    ("told", "expected"),
    [
        ("2020-03-01", []),  # 92 days ahead of consent: in time
        ("2020-05-01", [("notified_late", "AA", "definite")]),  # 31 days ahead, 60 required
        ("2020-04-02", [("notified_late", "AA", "possible")]),  # the deadline falls that day
    ],
)
def test_a_notification_due_sixty_days_before_consent(told, expected):
    lines = _required_before(
        "consent",
        "P60D",
        _notified(told),
        event("req", "ratified", party="AA", occurred="2020-06-01"),
    )
    flags = [
        c
        for c in codes(projected(lines, "2020-07-01T12:00Z"))
        if c[0] in ("notified_late", "notification_missing")
    ]
    assert flags == expected


def test_a_notification_before_consent_never_made_is_missing_once_consent_is_given():
    before = _required_before("consent", "P60D")
    assert only(projected(before, "2020-12-31"), "notification_missing") == []  # no consent yet
    lines = [*before, event("req", "ratified", party="AA", occurred="2020-06-01")]
    assert only(projected(lines, "2020-06-02"), "notification_missing") == [
        ("notification_missing", "AA", "definite")
    ]


def test_a_withdrawal_must_be_notified_120_days_ahead_and_is_no_late_entry_into_force():
    lines = _required_before(
        "termination_notified",
        "P120D",
        event("req", "ratified", party="AA", occurred="2020-02-01"),
        event("req", "entered_into_force", occurred="2020-03-01"),
        _notified("2023-01-10", about="withdrawal"),
        event(
            "req", "termination_notified", party="AA", effective="2023-09-01", occurred="2023-03-01"
        ),
    )
    flags = codes(projected(lines, "2023-04-01"))
    assert ("notified_late", "AA", "definite") in flags  # 50 days ahead, 120 required
    assert not [c for c in flags if c[0] == "notified_after_entry_into_force"]
