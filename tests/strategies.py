"""Hypothesis strategies: random but realistic lifecycle events."""

from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

PARTIES = ["AA", "BB", "CC"]
DAYS = st.dates(min_value=datetime(2000, 1, 1).date(), max_value=datetime(2020, 12, 31).date())


@st.composite
def occurred(draw):
    day = draw(DAYS)
    form = draw(st.sampled_from(["day", "day", "month", "minute"]))
    if form == "month":
        return day.strftime("%Y-%m")
    if form == "minute":
        return f"{day.isoformat()}T{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
    return day.isoformat()


@st.composite
def lifecycle_event(draw, key):
    kind = draw(
        st.sampled_from(
            [
                "signed",
                "ratified",
                "entered_into_force",
                "entered_into_force_party",
                "notified",
                "termination_notified",
                "termination_notice_suspended",
                "suspended",
                "resumed",
                "extended",
                "noted",
                "retract",
                "delivered",
                "ratification_assessed",
            ]
        )
    )
    party = draw(st.sampled_from(PARTIES))
    when = draw(occurred())
    base = {"agreement": key, "occurred": when}
    if kind == "entered_into_force_party":
        return {**base, "type": "entered_into_force", "party": party}
    if kind == "retract":
        return {
            "agreement": key,
            "type": "corrected",
            "target": f"{key}/{draw(st.integers(2, 12))}",
            "retracted": True,
        }
    extra = {
        "notified": {"party": party, "body": "Parliament"},
        "termination_notified": {"party": party, "effective": draw(DAYS).isoformat()},
        "termination_notice_suspended": {"party": party},
        "extended": {"until": draw(DAYS).isoformat()},
        "noted": {"text": "context"},
        "delivered": {"from": party, "to": "depositary"},
        "ratification_assessed": {"party": party, "required": draw(st.booleans()), "by": "someone"},
    }.get(kind, {"party": party} if kind in ("signed", "ratified") else {})
    return {**base, "type": kind, **extra}


RANDOM_REGISTRATION = {
    "agreement": "random",
    "type": "registered",
    "title": "Random",
    "tz": "Europe/Paris",
    "parties": PARTIES,
    "requires_ratification": ["AA"],
    "notice_period": "P6M",
    "expires": "2019-06-30",
    "notify": [{"party": "BB", "body": "Parliament", "within": "P30D"}],
}
