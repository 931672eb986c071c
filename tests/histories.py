"""Realistic agreement histories written from public facts, and a helper that
turns event objects into stored events without a database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from agreement_ledger.ledger.domain import Agreement
from agreement_ledger.ledger.vocabulary import read_envelope
from agreement_ledger.ledger.worldtime import as_of_instant
from agreement_ledger.projections.project import Projection, project

RECORDED = datetime(2026, 11, 1, tzinfo=UTC)


def stored(lines: Iterable[dict[str, Any]], recorded: datetime = RECORDED) -> list[Agreement.Event]:
    """Record ``lines`` through the domain (rules enforced), one second apart."""
    agreement: Agreement | None = None
    for n, line in enumerate(lines):
        now = recorded + timedelta(seconds=n)
        envelope = read_envelope(line)
        if agreement is None:
            agreement = Agreement.register(envelope, recorded_by="test", now=now)
        else:
            agreement.record(envelope, recorded_by="test", now=now)
    assert agreement is not None
    return [e for e in agreement.collect_events() if isinstance(e, Agreement.Event)]


def at(when: str, zone: str | None = None) -> datetime:
    """The last instant of a date (or the instant of a time), like ``replay --as-of``."""
    return as_of_instant(when, zone)


def projected(
    lines: list[dict[str, Any]], when: str = "2026-10-31", zone: str = "UTC"
) -> Projection:
    projection = project(stored(lines), as_of=at(when, zone))
    assert projection is not None
    return projection


def party(projection: Projection, code: str) -> dict[str, Any]:
    return next(p for p in projection.show["parties"] if p["code"] == code)


def codes(projection: Projection) -> list[tuple[str, str | None, str]]:
    return [(f.code, f.party, f.certainty) for f in projection.flags]


def event(agreement: str, type_: str, **fields: Any) -> dict[str, Any]:
    return {"agreement": agreement, "type": type_, **fields}


# New START (United States - Russia): signed in Prague 8 April 2010; US Senate
# advice and consent 22 December 2010; instruments of ratification exchanged in
# Munich 5 February 2011, when it entered into force; extended on 3 February
# 2021 until 5 February 2026; Russia announced it was suspending its
# participation on 21 February 2023.
NEW_START = [
    event(
        "new-start",
        "registered",
        id="reg",
        title="New START",
        kind="treaty",
        binding="legal",
        tz="Europe/Moscow",
        requires_ratification=["US", "RU"],
        expires="2021-02-05",
        parties=[
            {"code": "US", "name": "United States", "tz": "America/New_York"},
            {"code": "RU", "name": "Russian Federation", "tz": "Europe/Moscow"},
        ],
    ),
    event(
        "new-start",
        "signed",
        id="us-signed",
        party="US",
        occurred="2010-04-08",
        tz="Europe/Prague",
        signatory="Barack Obama",
        place="Prague",
    ),
    event(
        "new-start",
        "signed",
        id="ru-signed",
        party="RU",
        occurred="2010-04-08",
        tz="Europe/Prague",
        signatory="Dmitry Medvedev",
        place="Prague",
    ),
    event(
        "new-start",
        "consent_given",
        id="senate",
        party="US",
        body="United States Senate",
        outcome="approved",
        occurred="2010-12-22",
    ),
    event(
        "new-start",
        "consent_given",
        id="duma",
        party="RU",
        body="State Duma",
        outcome="approved",
        occurred="2011-01-25",
    ),
    event("new-start", "ratified", id="ru-ratified", party="RU", occurred="2011-01-28"),
    event("new-start", "ratified", id="us-ratified", party="US", occurred="2011-02-02"),
    event(
        "new-start",
        "delivered",
        id="exchange",
        **{"from": "US", "to": "RU"},
        instrument="instruments of ratification",
        occurred="2011-02-05",
        tz="Europe/Berlin",
    ),
    event("new-start", "entered_into_force", id="eif", occurred="2011-02-05", after=["exchange"]),
    event("new-start", "extended", id="extended", until="2026-02-05", occurred="2021-02-03"),
    event(
        "new-start",
        "suspended",
        id="ru-suspends",
        party="RU",
        occurred="2023-02-21",
        reason="Russia suspends its participation",
    ),
]

# The Paris Agreement (open; every party must ratify, accept or approve): opened
# for signature 22 April 2016, in force 4 November 2016. China ratified on
# 3 September 2016; Algeria on 20 October 2016 and, by Article 21, entered into
# force for itself on 19 November 2016. The United States accepted on 3 September
# 2016, gave notice of withdrawal on 4 November 2019 effective 4 November 2020,
# accepted again on 20 January 2021 (in force for it 19 February 2021), and gave
# notice again on 27 January 2025, effective 27 January 2026.
PARIS = [
    event(
        "paris",
        "registered",
        id="reg",
        title="Paris Agreement",
        kind="treaty",
        binding="legal",
        open=True,
        tz="America/New_York",
        depositary="Secretary-General of the United Nations",
        requires_ratification=["US", "CN", "DZ"],
        notice_period="P1Y",
        parties=[{"code": "US"}, {"code": "CN"}, {"code": "DZ"}],
    ),
    event("paris", "signed", id="us-signed", party="US", occurred="2016-04-22"),
    event("paris", "signed", id="cn-signed", party="CN", occurred="2016-04-22"),
    event("paris", "signed", id="dz-signed", party="DZ", occurred="2016-04-22"),
    event("paris", "ratified", id="cn-ratified", party="CN", occurred="2016-09-03"),
    event(
        "paris",
        "ratified",
        id="us-accepted",
        party="US",
        instrument="acceptance",
        occurred="2016-09-03",
    ),
    event("paris", "ratified", id="dz-ratified", party="DZ", occurred="2016-10-20"),
    event("paris", "entered_into_force", id="eif", occurred="2016-11-04"),
    event("paris", "entered_into_force", id="dz-eif", party="DZ", occurred="2016-11-19"),
    event(
        "paris",
        "termination_notified",
        id="us-notice-1",
        party="US",
        effective="2020-11-04",
        occurred="2019-11-04",
    ),
    event(
        "paris",
        "ratified",
        id="us-accepted-again",
        party="US",
        instrument="acceptance",
        occurred="2021-01-20",
    ),
    event("paris", "entered_into_force", id="us-eif-2", party="US", occurred="2021-02-19"),
    event(
        "paris",
        "termination_notified",
        id="us-notice-2",
        party="US",
        effective="2026-01-27",
        occurred="2025-01-27",
    ),
]

# The Philippines - United States Visiting Forces Agreement: signed 10 February
# 1998, in force 1 June 1999. The Philippines gave notice of termination on
# 11 February 2020 (effective after 180 days), suspended the notice on 2 June
# 2020, and withdrew it on 30 July 2021.
VFA = [
    event(
        "vfa",
        "registered",
        id="reg",
        title="Visiting Forces Agreement",
        kind="agreement",
        binding="legal",
        tz="Asia/Manila",
        notice_period="P180D",
        parties=[{"code": "PH", "tz": "Asia/Manila"}, {"code": "US", "tz": "America/New_York"}],
    ),
    event("vfa", "signed", id="ph-signed", party="PH", occurred="1998-02-10", tz="Asia/Manila"),
    event("vfa", "signed", id="us-signed", party="US", occurred="1998-02-10", tz="Asia/Manila"),
    event(
        "vfa",
        "consent_given",
        id="senate",
        party="PH",
        body="Senate of the Philippines",
        outcome="approved",
        occurred="1999-05-27",
    ),
    event("vfa", "entered_into_force", id="eif", occurred="1999-06-01"),
    event(
        "vfa",
        "termination_notified",
        id="notice",
        party="PH",
        effective="2020-08-09",
        occurred="2020-02-11",
    ),
    event(
        "vfa",
        "termination_notice_suspended",
        id="notice-suspended",
        party="PH",
        occurred="2020-06-02",
    ),
    event(
        "vfa",
        "termination_notice_withdrawn",
        id="notice-withdrawn",
        party="PH",
        occurred="2021-07-30",
    ),
]
