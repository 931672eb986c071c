"""The status table a depositary publishes: one row per participant.

As the UN Treaty Collection prints it, the date of consent carries a marker for
its instrument: ``a`` accession, ``A`` acceptance, ``AA`` approval, ``d``
succession, ``s`` definitive signature, none for ratification. The row is
built from a party object of ``show`` (or ``replay``), so the table, its JSON,
its CSV and the report cannot disagree.
"""

from __future__ import annotations

from typing import Any

from agreement_ledger.ledger.durations import duration_words

MARKERS = {
    "accession": "a",
    "acceptance": "A",
    "approval": "AA",
    "succession": "d",
    "definitive_signature": "s",
}


def consent_text(party: dict[str, Any]) -> str | None:
    """The date of consent with its instrument's marker (``2016-04-22 a``)."""
    consented = party.get("consented")
    if consented is None:
        return None
    marker = MARKERS.get(party.get("instrument") or "")
    return f"{consented} {marker}" if marker else str(consented)


def end_text(party: dict[str, Any]) -> str | None:
    """How the party's participation ended, if it has: withdrawal, succession, or the end."""
    if party.get("withdrawn"):
        return f"withdrawn {party['withdrawn']}"
    if party.get("succeeded"):
        return f"succeeded {party['succeeded']}"
    if party.get("ended"):
        return f"ended {party['ended']}"
    return None


def provisional_text(party: dict[str, Any]) -> str | None:
    since, until = party.get("provisional"), party.get("provisional_until")
    if since is None:
        return None
    return f"{since} to {until}" if until else f"from {since}"


def statements_text(party: dict[str, Any]) -> str | None:
    """Its reservations, declarations and objections in force, by kind and id."""
    statements = party.get("statements") or []
    if not statements:
        return None
    return "; ".join(
        f"{s['kind'].replace('_', ' ')} {s['id']}"
        + (f" (to {s['objects_to']})" if s.get("objects_to") else "")
        for s in statements
    )


def participant(party: dict[str, Any]) -> str:
    name = party.get("name")
    label = f"{party['code']} {name}" if name else str(party["code"])
    if party.get("succeeded_from"):
        label += f" (successor of {party['succeeded_from']})"
    return label


STEPS = {
    "consent": "consent to be bound",
    "entry_into_force": "entry into force",
    "termination_notified": "notice of termination",
}


def requirement_text(requirement: dict[str, Any]) -> str:
    """What a required notification asks, in words: ``at least P120D before notice of
    termination (about withdrawal)``, ``within P30D after entry into force``."""
    if requirement.get("within"):
        when = f"within {duration_words(requirement['within'])} after entry into force"
    else:
        step = STEPS[requirement.get("before") or "entry_into_force"]
        lead = requirement.get("lead")
        when = f"at least {duration_words(lead)} before {step}" if lead else f"before {step}"
    about = requirement.get("about")
    return f"{when} (about {about.replace('_', ' ')})" if about and about != "conclusion" else when
