"""ISO 8601 durations in whole units, and how a person says them.

Kept apart from the vocabulary so that a query answered on the lean read path can say
``P6M`` as "6 months" without loading the vocabulary's validators.
"""

from __future__ import annotations

import re
from functools import lru_cache

DURATION = re.compile(
    r"P(?:(?P<Y>\d{1,7})Y)?(?:(?P<M>\d{1,7})M)?(?:(?P<W>\d{1,7})W)?(?:(?P<D>\d{1,7})D)?"
    r"(?:T(?:(?P<h>\d{1,9})H)?(?:(?P<m>\d{1,11})M)?(?:(?P<s>\d{1,12})S)?)?"
)
"""A duration in whole units; each group is the count of one unit."""

DAYS_PER_UNIT = {"Y": 366, "M": 31, "W": 7, "D": 1, "h": 1 / 24, "m": 1 / 1440, "s": 1 / 86400}
"""The most days one of each unit can span (for bounding a duration's length)."""

_UNIT_WORDS = {
    "Y": "year",
    "M": "month",
    "W": "week",
    "D": "day",
    "h": "hour",
    "m": "minute",
    "s": "second",
}


@lru_cache(maxsize=256)
def duration_words(value: str) -> str:
    """A duration said in words: ``P6M`` → ``6 months``, ``P1Y6M`` → ``1 year 6 months``
    (remembered: a register says a handful of durations, in every flag and deadline)."""
    match = DURATION.fullmatch(value)
    if match is None:
        return value
    parts = []
    for unit, number in match.groupdict().items():
        if number:
            count = int(number)
            parts.append(f"{count} {_UNIT_WORDS[unit]}{'' if count == 1 else 's'}")
    return " ".join(parts) or value
