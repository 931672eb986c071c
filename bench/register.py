"""A generated, realistic treaty register: full lifecycles, mixed types, several zones.

Deterministic for a given seed, so that runs compare. About 15 events per
agreement: registration, signatures, ratifications, entry into force,
notifications, and for some an extension, a termination notice (sometimes
suspended), a suspension, a correction or a note.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

ZONES = [
    "Asia/Seoul",
    "America/New_York",
    "Europe/Paris",
    "Asia/Tokyo",
    "Africa/Nairobi",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "UTC",
]
PARTIES = ["KR", "US", "JP", "FR", "DE", "BR", "KE", "AU", "IN", "ZA", "MX", "NO"]


def _day(rng: random.Random, start: date, days: int) -> date:
    return start + timedelta(days=rng.randrange(days))


def agreement(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """One agreement's events, in recording order."""
    key = f"agr-{n:07d}"
    count = rng.choice([2, 2, 3, 4])
    parties = rng.sample(PARTIES, count)
    is_open = count > 3 and rng.random() < 0.5
    ratify = [p for p in parties if rng.random() < 0.4]
    tz = rng.choice(ZONES)
    signed = _day(rng, date(1990, 1, 1), 6_000)
    events: list[dict[str, Any]] = [
        {
            "agreement": key,
            "type": "registered",
            "id": f"{key}-reg",
            "title": f"Agreement {n} between {', '.join(parties)}",
            "kind": rng.choice(["treaty", "agreement", "mou", "protocol"]),
            "binding": rng.choice(["legal", "political"]),
            "open": is_open,
            "tz": tz,
            "parties": [{"code": p, "tz": rng.choice(ZONES)} for p in parties],
            "requires_ratification": ratify,
            "notice_period": "P6M",
            "notify": [{"party": parties[0], "body": "Parliament", "within": "P30D"}],
            "expires": (signed + timedelta(days=rng.randrange(3_000, 20_000))).isoformat(),
            "source": f"register entry {n}",
        }
    ]

    def add(type_: str, when: date, **fields: Any) -> None:
        events.append(
            {
                "agreement": key,
                "type": type_,
                "id": f"{key}-{len(events)}",
                "occurred": when.isoformat(),
                **fields,
            }
        )

    for party in parties:
        add(
            "signed",
            signed + timedelta(days=rng.randrange(0, 30)),
            party=party,
            signatory=f"Signatory for {party}",
            place="Capital",
        )
    for party in ratify:
        add("ratified", signed + timedelta(days=rng.randrange(40, 200)), party=party)
    force = signed + timedelta(days=rng.randrange(100, 400))
    add("delivered", force - timedelta(days=1), **{"from": parties[0], "to": parties[-1]})
    add("entered_into_force", force, after=[events[-1]["id"]])
    add(
        "notified",
        force + timedelta(days=rng.randrange(-5, 60)),
        party=parties[0],
        body="Parliament",
        subject="entry into force",
    )
    add(
        "noted",
        force + timedelta(days=rng.randrange(1, 900)),
        category="statement",
        text="The ministry reported on the implementation.",
    )
    if rng.random() < 0.3:
        add(
            "extended",
            force + timedelta(days=800),
            until=(force + timedelta(days=20_000)).isoformat(),
        )
    if rng.random() < 0.25:
        notice = force + timedelta(days=rng.randrange(400, 4000))
        add(
            "termination_notified",
            notice,
            party=parties[-1],
            effective=(notice + timedelta(days=rng.choice([150, 200]))).isoformat(),
        )
        if rng.random() < 0.4:
            add("termination_notice_suspended", notice + timedelta(days=30), party=parties[-1])
    if rng.random() < 0.15:
        add("suspended", force + timedelta(days=500), party=parties[0], reason="review")
        add("resumed", force + timedelta(days=560), party=parties[0])
    if rng.random() < 0.1:
        events.append(
            {
                "agreement": key,
                "type": "corrected",
                "id": f"{key}-{len(events)}",
                "target": f"{key}-1",
                "replacement": {"place": "Geneva"},
            }
        )
    add(
        "ratification_assessed",
        force + timedelta(days=3),
        party=parties[0],
        required=True,
        by="A lawmaker",
    )
    return events


def register(events: int, seed: int = 2014) -> Iterator[dict[str, Any]]:
    """About ``events`` events of whole agreements."""
    rng = random.Random(seed)
    written = 0
    n = 0
    while written < events:
        for line in agreement(rng, n):
            yield line
            written += 1
        n += 1
