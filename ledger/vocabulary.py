"""The event vocabulary of §2: envelope keys, event types and their fields.

Each field has a normaliser that returns the value in canonical form or raises
``InvalidField`` with a message that names the field. ``read_envelope`` turns
one JSON object (from ``--json``, ``--field`` or an import line) into a
``Envelope`` without looking at any stored state; rules that need the
agreement's history live in ``ledger.rules``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import isodate

from agreement_ledger.ledger.durations import DAYS_PER_UNIT, DURATION
from agreement_ledger.ledger.errors import InvalidField, UnknownEventType
from agreement_ledger.ledger.text import check_storable, has_control
from agreement_ledger.ledger.worldtime import check_zone_name

AGREEMENT_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
PARTY_CODE = re.compile(r"[A-Z][A-Z0-9_-]{0,31}")
MAX_ID_LENGTH = 128
DEPOSITARY = "depositary"

ENVELOPE_KEYS = ("agreement", "type", "occurred", "id", "source", "citation", "note", "after", "tz")
LEDGER_KEYS = ("seq", "version", "recorded_at", "recorded_by", "prev_hash", "hash", "corrected_by")
LEDGER_KEY_SET = frozenset(LEDGER_KEYS)

Normaliser = Callable[[str, Any], Any]


def _fail(name: str, expected: str, value: Any) -> InvalidField:
    return InvalidField(f"field '{name}' must be {expected}, got {value!r}")


def text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, "a non-empty string", value)
    return value


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(name, "true or false", value)
    return value


def one_of(*choices: str) -> Normaliser:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise _fail(name, "one of " + ", ".join(choices), value)
        return str(value)

    check.choices = choices  # type: ignore[attr-defined]  # listed by `ledger types`
    return check


_PARTY_CODES_SEEN: set[str] = set()
"""Party codes found well formed (a register names the same few hundred again and again:
a set lookup instead of the pattern); at most ``_SEEN_AT_MOST`` are kept."""
_SEEN_AT_MOST = 4096


def party_code(name: str, value: Any) -> str:
    if type(value) is str and value in _PARTY_CODES_SEEN:
        return value
    if not isinstance(value, str) or not PARTY_CODE.fullmatch(value):
        raise _fail(name, "a party code like KR or US-DOD ([A-Z][A-Z0-9_-]{0,31})", value)
    if type(value) is str and len(_PARTY_CODES_SEEN) < _SEEN_AT_MOST:
        _PARTY_CODES_SEEN.add(value)
    return value


def party_or_depositary(name: str, value: Any) -> str:
    return DEPOSITARY if value == DEPOSITARY else party_code(name, value)


FIRST_DATE = date(1, 1, 2)
LAST_DATE = date(9999, 12, 30)
"""Date fields lie within these days: the calendar's first and last day cannot be
read as instants in every zone (east of UTC, 0001-01-01 begins before year 1)."""


def iso_date(name: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise _fail(name, "a date YYYY-MM-DD", value)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _fail(name, "a real calendar date", value) from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise _fail(name, f"a date from {FIRST_DATE} to {LAST_DATE}", value)
    return value


MAX_DURATION_DAYS = 366_000
"""About a thousand years: the longest duration a requirement or notice period may state."""


def duration(name: str, value: Any) -> str:
    """An ISO-8601 duration in whole units (``P6M``, ``P30D``, ``P1Y6M``, ``PT12H``).

    Fractions and signs are refused: a notice period or a deadline counts forward.
    """
    expected = "an ISO-8601 duration in whole units such as P30D, P6M or P1Y"
    if not isinstance(value, str):
        raise _fail(name, expected, value)
    match = DURATION.fullmatch(value)
    if match is None or value in ("P", "PT") or value.endswith("T"):
        raise _fail(name, expected, value)
    days = sum(DAYS_PER_UNIT[unit] * int(n) for unit, n in match.groupdict().items() if n)
    if days > MAX_DURATION_DAYS:
        raise _fail(name, "a duration of at most about a thousand years", value)
    try:
        parse_duration(value)
    except (isodate.ISO8601Error, ValueError):
        raise _fail(name, expected, value) from None
    return value


@functools.lru_cache(maxsize=256)
def parse_duration(text: str) -> Any:
    """An ISO 8601 duration (remembered: a register repeats a handful of them)."""
    return isodate.parse_duration(text)


def time_zone(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(name, "an IANA time zone name such as Asia/Seoul", value)
    check_zone_name(value)
    return value


def event_ref(name: str, value: Any) -> str:
    """An event id: 1 to 128 characters, not blank, no control characters."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_ID_LENGTH
        or has_control(value)
    ):
        raise _fail(
            name, f"an event id (1 to {MAX_ID_LENGTH} characters, no control characters)", value
        )
    return value


def party(name: str, value: Any) -> dict[str, str]:
    """A party as ``{code, name?, tz?}``; a bare code is accepted too."""
    if isinstance(value, str):
        value = {"code": value}
    if not isinstance(value, Mapping):
        raise _fail(name, "a party code or an object {code, name?, tz?}", value)
    unknown = set(value) - {"code", "name", "tz"}
    if unknown:
        raise InvalidField(f"field '{name}' has unknown key(s) {', '.join(sorted(unknown))}")
    result = {"code": party_code(f"{name}.code", value.get("code"))}
    if value.get("name") is not None:
        result["name"] = text(f"{name}.name", value["name"])
    if value.get("tz") is not None:
        result["tz"] = time_zone(f"{name}.tz", value["tz"])
    return result


def list_of(item: Normaliser) -> Normaliser:
    def check(name: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _fail(name, "a list", value)
        try:
            return [item(name, element) for element in value]
        except Exception:  # checked again below, naming the element
            pass
        # Naming each element costs more than checking it: done only to say which failed.
        return [item(f"{name}[{i}]", element) for i, element in enumerate(value)]

    check.description = f"list of {describe_value(item)}"  # type: ignore[attr-defined]
    return check


NOTIFICATION_SUBJECTS = (
    "conclusion",
    "entry_into_force",
    "amendment",
    "extension",
    "suspension",
    "withdrawal",
    "other",
)
"""What a notification is ``about``; without ``about``, the conclusion."""

DEADLINE_EVENTS = ("consent", "entry_into_force", "termination_notified")
"""What a required notification may have to precede (``before``)."""

REQUIREMENT_KEYS = ("party", "body", "within", "about", "before", "lead")


def notification_requirement(name: str, value: Any) -> dict[str, str]:
    """A required notification: ``within`` a duration after entry into force, or
    ``before`` a step (at least ``lead`` ahead of it); with neither, before entry into force."""
    if not isinstance(value, Mapping):
        raise _fail(name, "an object {" + ", ".join(f"{k}?" for k in REQUIREMENT_KEYS) + "}", value)
    unknown = set(value) - set(REQUIREMENT_KEYS)
    if unknown:
        raise InvalidField(f"field '{name}' has unknown key(s) {', '.join(sorted(unknown))}")
    result = {
        "party": party_code(f"{name}.party", value.get("party")),
        "body": text(f"{name}.body", value.get("body")),
    }
    checks: dict[str, Normaliser] = {
        "within": duration,
        "about": one_of(*NOTIFICATION_SUBJECTS),
        "before": one_of(*DEADLINE_EVENTS),
        "lead": duration,
    }
    for key, check in checks.items():
        if value.get(key) is not None:
            result[key] = check(f"{name}.{key}", value[key])
    if "within" in result and ("before" in result or "lead" in result):
        raise InvalidField(
            f"field '{name}' gives 'within' (after entry into force) and 'before'/'lead' "
            "(ahead of a step): give one or the other"
        )
    return result


CITATION_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")


def citation(name: str, value: Any) -> dict[str, str]:
    """Structured references: an object of strings (``unts``, ``cn``, ``url``, …)."""
    if not isinstance(value, Mapping) or not value:
        raise _fail(name, 'an object of references such as {"unts": "2162 UNTS 3"}', value)
    result = {}
    for key, reference in value.items():
        if not CITATION_KEY.fullmatch(str(key)):
            raise InvalidField(f"field '{name}' has a key {key!r}: use lowercase names like unts")
        result[str(key)] = text(f"{name}.{key}", reference)
    return result


def mapping(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise _fail(name, "a non-empty object of corrected fields", value)
    return dict(value)


VALUE_DESCRIPTIONS: dict[Normaliser, str] = {
    text: "text",
    boolean: "true or false",
    party_code: "party code (KR, US-DOD)",
    party_or_depositary: "party code, or depositary",
    iso_date: "date YYYY-MM-DD",
    duration: "ISO-8601 duration (P30D, P6M, P1Y)",
    time_zone: "IANA time zone (Asia/Seoul)",
    event_ref: "event id",
    party: "party: a code, or {code, name?, tz?}",
    notification_requirement: "requirement {party, body, within?, about?, before?, lead?}",
    citation: 'references {"unts": …, "cn": …, "url": …}',
    mapping: "the corrected fields, as an object",
}


def describe_value(normalise: Normaliser) -> str:
    """What a field takes, in words (for ``ledger types`` and ``docs/vocabulary.md``)."""
    choices = getattr(normalise, "choices", None)
    if choices:
        return "one of " + ", ".join(choices)
    return str(
        getattr(normalise, "description", None) or VALUE_DESCRIPTIONS.get(normalise, "value")
    )


@dataclass(frozen=True)
class Field:
    """One field of an event type."""

    name: str
    normalise: Normaliser
    required: bool = False
    party_ref: bool = False  # names a party that must belong to the agreement
    default: Any = None


class EventKind(StrEnum):
    """Every type of event the ledger records (the ``type`` of an envelope)."""

    REGISTERED = "registered"
    PARTY_ADDED = "party_added"
    SUCCEEDED = "succeeded"
    STATEMENT_MADE = "statement_made"
    STATEMENT_WITHDRAWN = "statement_withdrawn"
    PROVISIONALLY_APPLIED = "provisionally_applied"
    PROVISIONAL_APPLICATION_TERMINATED = "provisional_application_terminated"
    SIGNING_POSTPONED = "signing_postponed"
    SIGNED = "signed"
    DELIVERED = "delivered"
    CONSENT_GIVEN = "consent_given"
    RATIFIED = "ratified"
    RATIFICATION_ASSESSED = "ratification_assessed"
    ENTERED_INTO_FORCE = "entered_into_force"
    NOTIFIED = "notified"
    AMENDED = "amended"
    EXTENDED = "extended"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    TERMINATION_NOTIFIED = "termination_notified"
    TERMINATION_NOTICE_SUSPENDED = "termination_notice_suspended"
    TERMINATION_NOTICE_WITHDRAWN = "termination_notice_withdrawn"
    TERMINATED = "terminated"
    EXPIRED = "expired"
    NOTED = "noted"
    CORRECTED = "corrected"

    @property
    def class_name(self) -> str:
        """The name of the event class on the aggregate: ``termination_notified`` →
        ``TerminationNotified``."""
        return "".join(part.capitalize() for part in self.value.split("_"))


Summary = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class EventType:
    """One type of the vocabulary, defined once: its kind, what it means, its fields,
    how it is dated, and the line the timeline prints for it."""

    kind: EventKind
    meaning: str
    summary: Summary
    fields: tuple[Field, ...] = ()
    occurred_required: bool = True
    acting_party: str | None = None  # the field whose party's zone reads `occurred`
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)
    allowed_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    """The envelope's keys and this type's fields: what a writer may give."""
    plain_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    """Those that are no key the ledger sets: an event given only these needs no look at
    its keys beyond that (most events)."""
    party_refs: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The fields that name a party of the agreement (``Field.party_ref``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        object.__setattr__(self, "allowed_keys", frozenset(ENVELOPE_KEYS) | frozenset(self.by_name))
        object.__setattr__(self, "plain_keys", self.allowed_keys - LEDGER_KEY_SET)
        object.__setattr__(self, "party_refs", tuple(f.name for f in self.fields if f.party_ref))

    @property
    def name(self) -> str:
        return self.kind.value


KINDS = ("treaty", "agreement", "mou", "arrangement", "exchange_of_notes", "protocol", "other")
BINDINGS = ("legal", "political", "unknown")
INSTRUMENTS = ("ratification", "acceptance", "approval", "accession", "definitive_signature")
STATEMENT_KINDS = ("reservation", "declaration", "interpretative_declaration", "objection")
STATEMENT_TIMES = ("signature", "consent", "later")
SUCCESSION_KINDS = ("succession", "continuation")
OUTCOMES = ("approved", "rejected")
CATEGORIES = ("statement", "protest", "consultation", "other")


def _t(
    kind: EventKind,
    meaning: str,
    summary: Summary,
    *fields: Field,
    occurred: bool = True,
    acting: str | None = None,
) -> EventType:
    return EventType(kind, meaning, summary, tuple(fields), occurred, acting)


def _party(required: bool = True, name: str = "party") -> Field:
    return Field(name, party_code, required=required, party_ref=True)


def _for_party(f: Mapping[str, Any]) -> str:
    return f" for {f['party']}" if f.get("party") else ""


def _optional_text(label: str, f: Mapping[str, Any], key: str) -> str:
    return f"{label}{f[key]}" if f.get(key) else ""


E = EventKind
EVENT_TYPES: dict[str, EventType] = {
    t.kind: t
    for t in (
        _t(
            E.REGISTERED,
            "An agreement enters the register with its title and parties (first event, once).",
            lambda f: f"registered: {f['title']}",
            Field("title", text, required=True),
            Field("kind", one_of(*KINDS)),
            Field("binding", one_of(*BINDINGS)),
            Field("open", boolean, default=False),
            Field("tz", time_zone),
            Field("parties", list_of(party), default=[]),
            Field("depositary", text),
            Field("requires_ratification", list_of(party_code)),
            Field("notify", list_of(notification_requirement)),
            Field("notice_period", duration),
            Field("expires", iso_date),
            occurred=False,
        ),
        _t(
            E.PARTY_ADDED,
            "A party joins the agreement (accession to a multilateral agreement).",
            lambda f: f"{f['party']['code']} became a party",
            Field("party", party, required=True),
            Field("name", text),  # beside a bare code: folded into `party`
            acting="party",
        ),
        _t(
            E.SUCCEEDED,
            "A state succeeded to (or continued) another's participation, from a date.",
            lambda f: (
                f"{f['party']['code']} succeeded {f['predecessor']}"
                f" ({f.get('kind', 'succession')}, effective {f['effective']})"
            ),
            Field("party", party, required=True),
            Field("predecessor", party_code, required=True, party_ref=True),
            Field("effective", iso_date, required=True),
            Field("kind", one_of(*SUCCESSION_KINDS)),
            Field("name", text),  # beside a bare code: folded into `party`
            acting="party",
        ),
        _t(
            E.STATEMENT_MADE,
            "A party made a reservation, declaration or objection.",
            lambda f: (
                f"{f['party']}: {f['kind'].replace('_', ' ')}"
                + _optional_text(" to ", f, "objects_to")
            ),
            _party(),
            Field("kind", one_of(*STATEMENT_KINDS), required=True),
            Field("text", text, required=True),
            Field("objects_to", event_ref),
            Field("made_at", one_of(*STATEMENT_TIMES)),
            acting="party",
        ),
        _t(
            E.STATEMENT_WITHDRAWN,
            "A party withdrew one of its reservations or objections.",
            lambda f: (
                f"{f['party']} withdrew {f['target']}"
                + _optional_text(", effective ", f, "effective")
            ),
            _party(),
            Field("target", event_ref, required=True),
            Field("effective", iso_date),
            acting="party",
        ),
        _t(
            E.PROVISIONALLY_APPLIED,
            "Provisional application began (for one party, or every signatory).",
            lambda f: (
                "provisional application" + _for_party(f) + _optional_text(" from ", f, "effective")
            ),
            _party(required=False),
            Field("effective", iso_date),
            acting="party",
        ),
        _t(
            E.PROVISIONAL_APPLICATION_TERMINATED,
            "A party gave notice ending its provisional application, effective on a date.",
            lambda f: f"{f['party']} ended provisional application effective {f['effective']}",
            _party(),
            Field("effective", iso_date, required=True),
            acting="party",
        ),
        _t(
            E.SIGNING_POSTPONED,
            "A planned signing did not happen.",
            lambda f: "signing postponed" + _optional_text(": ", f, "reason"),
            Field("reason", text),
        ),
        _t(
            E.SIGNED,
            "A party signed (once per party).",
            lambda f: (
                f"signed by {f['party']}" + (f" ({f['signatory']})" if f.get("signatory") else "")
            ),
            _party(),
            Field("signatory", text),
            Field("capacity", text),
            Field("place", text),
            acting="party",
        ),
        _t(
            E.DELIVERED,
            "The instrument was delivered or exchanged, to a party or the depositary.",
            lambda f: f"{f.get('instrument', 'memorandum')} delivered {f['from']} → {f['to']}",
            Field("from", party_code, required=True, party_ref=True),
            Field("to", party_or_depositary, required=True, party_ref=True),
            Field("instrument", text, default="memorandum"),
            acting="from",
        ),
        _t(
            E.CONSENT_GIVEN,
            "A body of a party gave (or refused) its consent, e.g. a senate's advice and consent.",
            lambda f: f"{f['body']} ({f['party']}): {f.get('outcome', 'consent given')}",
            _party(),
            Field("body", text, required=True),
            Field("outcome", one_of(*OUTCOMES)),
            acting="party",
        ),
        _t(
            E.RATIFIED,
            "A party deposited its consent to be bound (ratification, acceptance, …).",
            lambda f: f"{f.get('instrument', 'ratification')} by {f['party']}",
            _party(),
            Field("instrument", one_of(*INSTRUMENTS)),
            acting="party",
        ),
        _t(
            E.RATIFICATION_ASSESSED,
            "Someone stated whether a party's ratification is required.",
            lambda f: (
                f"{f['by']}: ratification by {f['party']} "
                f"{'required' if f['required'] else 'not required'}"
            ),
            _party(),
            Field("required", boolean, required=True),
            Field("by", text, required=True),
            acting="party",
        ),
        _t(
            E.ENTERED_INTO_FORCE,
            "The agreement entered into force, as a whole or for one party.",
            lambda f: "entered into force" + _for_party(f),
            _party(required=False),
            acting="party",
        ),
        _t(
            E.NOTIFIED,
            "A parliament or other body of a party was notified.",
            lambda f: (
                f"{f['body']} ({f['party']}) notified"
                + _optional_text(" of ", f, "subject")
                + (f" [{f['about'].replace('_', ' ')}]" if f.get("about") else "")
            ),
            _party(),
            Field("body", text, required=True),
            Field("subject", text),
            Field("about", one_of(*NOTIFICATION_SUBJECTS)),
            acting="party",
        ),
        _t(
            E.AMENDED,
            "The agreement was amended.",
            lambda f: f"amended: {f['summary']}",
            Field("summary", text, required=True),
        ),
        _t(
            E.EXTENDED,
            "The agreement was extended to a new expiry date.",
            lambda f: f"extended until {f['until']}",
            Field("until", iso_date, required=True),
        ),
        _t(
            E.SUSPENDED,
            "The agreement (or its application to one party) was suspended.",
            lambda f: "suspended" + _for_party(f),
            _party(required=False),
            Field("reason", text),
            acting="party",
        ),
        _t(
            E.RESUMED,
            "A suspension ended.",
            lambda f: "resumed" + _for_party(f),
            _party(required=False),
            Field("reason", text),
            acting="party",
        ),
        _t(
            E.TERMINATION_NOTIFIED,
            "A party gave notice of termination or withdrawal, effective on a date.",
            lambda f: f"{f['party']} gave notice of termination effective {f['effective']}",
            _party(),
            Field("effective", iso_date, required=True),
            acting="party",
        ),
        _t(
            E.TERMINATION_NOTICE_SUSPENDED,
            "A termination notice was put on hold; it does not take effect.",
            lambda f: f"{f['party']}'s termination notice suspended",
            _party(),
            acting="party",
        ),
        _t(
            E.TERMINATION_NOTICE_WITHDRAWN,
            "A termination notice was revoked for good.",
            lambda f: f"{f['party']}'s termination notice withdrawn",
            _party(),
            acting="party",
        ),
        _t(
            E.TERMINATED,
            "The agreement ended, where no notice or expiry covers it.",
            lambda f: "terminated",
        ),
        _t(
            E.EXPIRED, "The agreement expired, where no expiry date covers it.", lambda f: "expired"
        ),
        _t(
            E.NOTED,
            "Context an auditor wants on the timeline: a statement, protest, consultation.",
            lambda f: f"{f.get('category', 'note')}: {f['text']}",
            Field("category", one_of(*CATEGORIES)),
            Field("text", text, required=True),
        ),
        _t(
            E.CORRECTED,
            "A mistake corrected by a later event: corrected fields, or a retraction.",
            lambda f: "corrected",
            Field("target", event_ref, required=True),
            Field("replacement", mapping),
            Field("retracted", boolean),
            occurred=False,
        ),
    )
}


_set_attribute = object.__setattr__


@dataclass(frozen=True, init=False)
class Envelope:
    """One event as a writer gave it, validated and in canonical form."""

    agreement: str
    type: EventKind
    fields: dict[str, Any]
    occurred: str | None = None
    id: str | None = None
    source: str | None = None
    note: str | None = None
    after: tuple[str, ...] = ()
    tz: str | None = None
    citation: dict[str, str] | None = None

    def __init__(
        self,
        agreement: str,
        type: EventKind,
        fields: dict[str, Any],
        occurred: str | None = None,
        id: str | None = None,
        source: str | None = None,
        note: str | None = None,
        after: tuple[str, ...] = (),
        tz: str | None = None,
        citation: dict[str, str] | None = None,
    ) -> None:
        # What the generated frozen ``__init__`` does, in one assignment instead of one
        # ``object.__setattr__`` a field: an envelope is made for every event read.
        _set_attribute(
            self,
            "__dict__",
            {
                "agreement": agreement,
                "type": type,
                "fields": fields,
                "occurred": occurred,
                "id": id,
                "source": source,
                "note": note,
                "after": after,
                "tz": tz,
                "citation": citation,
            },
        )

    @property
    def spec(self) -> EventType:
        return EVENT_TYPES[self.type]

    def summary(self) -> str:
        """The line the timeline prints for this event."""
        return self.spec.summary(self.fields)

    def content(self) -> dict[str, Any]:
        """The envelope as a JSON object, present keys only (what ``id`` re-use compares)."""
        data: dict[str, Any] = {"agreement": self.agreement, "type": self.type}
        for key in ("occurred", "id", "source", "citation", "note", "tz"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.after:
            data["after"] = list(self.after)
        data.update(self.fields)
        return data

    def acting_party(self) -> str | None:
        name = self.spec.acting_party
        if name is None:
            return None
        value = self.fields.get(name)
        if isinstance(value, dict):
            return str(value["code"])
        return value if isinstance(value, str) and value != DEPOSITARY else None

    def party_refs(self) -> list[tuple[str, str]]:
        """``(field, code)`` for every field that must name a party of the agreement."""
        refs = []
        for name in self.spec.party_refs:
            value = self.fields.get(name)
            if isinstance(value, str) and value != DEPOSITARY:
                refs.append((name, value))
        return refs


def read_type_fields(event_type: EventType, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the type-specific fields of ``raw``; absent optional fields stay absent."""
    fields: dict[str, Any] = {}
    for spec in event_type.fields:
        value = raw.get(spec.name)
        if value is None:
            if spec.required:
                raise InvalidField(f"field '{spec.name}' is required for {event_type.name}")
            if spec.default is not None:
                fields[spec.name] = spec.default
            continue
        fields[spec.name] = spec.normalise(spec.name, value)
    return fields


def read_envelope(raw: Any, *, ignore_ledger_keys: bool = True, checked: bool = False) -> Envelope:
    """Validate one event object as written on import or with ``append``.

    Keys the ledger sets itself (``seq``, ``version``, hashes, …) are ignored on
    import so that an export can be imported again; with ``ignore_ledger_keys``
    false they are refused, since a writer never sets them. ``checked``: the text
    it was read from showed it storable (``text.plainly_storable``).
    """
    if type(raw) is not dict and not isinstance(raw, Mapping):  # (a dict: at once)
        raise InvalidField("an event must be a JSON object")
    if not checked:
        check_storable(raw)
    agreement = raw.get("agreement")
    if not isinstance(agreement, str) or not AGREEMENT_KEY.fullmatch(agreement):
        raise InvalidField(
            f"field 'agreement' must be a key like tisa-2014 ([a-z0-9][a-z0-9-]{{0,63}}), "
            f"got {agreement!r}"
        )
    type_name = raw.get("type")
    if type_name is None:
        raise InvalidField("field 'type' is required", agreement=agreement, where=describe(raw))
    event_type = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if event_type is None:
        raise UnknownEventType(
            f"unknown event type {type_name!r}; known types: {', '.join(EVENT_TYPES)}",
            agreement=agreement,
        )
    try:
        return _read_checked(raw, agreement, event_type, ignore_ledger_keys)
    except InvalidField as error:
        raise error.locate(agreement=agreement, where=describe(raw)) from None


_event_refs = list_of(event_ref)


def describe(raw: Any) -> str | None:
    """How an error message names an event: ``event 'ID' (TYPE)`` or ``TYPE event``."""
    if not isinstance(raw, Mapping):
        return None
    event_type, event_id = raw.get("type"), raw.get("id")
    if isinstance(event_id, str):
        return f"event {event_id!r} ({event_type})"
    return f"{event_type} event" if isinstance(event_type, str) else None


def _fold_party(kind: EventKind, fields: dict[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """A joining party given as a code with ``name`` (and ``tz``) beside it becomes one object."""
    if kind not in (EventKind.PARTY_ADDED, EventKind.SUCCEEDED):
        return fields
    given = dict(fields["party"])
    name = fields.pop("name", None)
    if isinstance(raw.get("party"), str):
        if name is not None:
            given["name"] = name
        if raw.get("tz") is not None and "tz" not in given:
            given["tz"] = time_zone("tz", raw["tz"])
    elif name is not None:
        raise InvalidField("give the party's name inside 'party' or beside a bare code, not both")
    return {**fields, "party": given}


def _check_keys(raw: Mapping[str, Any], event_type: EventType, ignore_ledger_keys: bool) -> None:
    """Refuse a key the ledger sets (unless ignored) and one the type does not know."""
    allowed = event_type.allowed_keys
    ledger_keys = raw.keys() & LEDGER_KEY_SET
    if ledger_keys and not ignore_ledger_keys:
        raise InvalidField(
            f"field(s) {', '.join(sorted(ledger_keys))} are set by the ledger, not by a writer"
        )
    unknown = raw.keys() - allowed - LEDGER_KEY_SET
    if unknown:
        raise InvalidField(
            f"unknown field(s) {', '.join(sorted(unknown))} for {event_type.name}; "
            f"allowed: {', '.join(sorted(allowed - {'agreement', 'type'}))}"
        )


def _read_checked(
    raw: Mapping[str, Any], agreement: str, event_type: EventType, ignore_ledger_keys: bool
) -> Envelope:
    if not raw.keys() <= event_type.plain_keys:
        _check_keys(raw, event_type, ignore_ledger_keys)
    occurred = raw.get("occurred")
    if occurred is None and event_type.occurred_required:
        raise InvalidField(f"field 'occurred' is required for {event_type.name}")
    if occurred is not None and not isinstance(occurred, str):
        raise _fail("occurred", "a string such as 2014-12-29", occurred)
    after = raw.get("after") or []
    if isinstance(after, str):
        after = [after]
    # Each optional key is normalised only when given (most are absent): looked at here,
    # not through a helper, whose call each cost more than the look (every event).
    get = raw.get
    return Envelope(
        agreement=agreement,
        type=event_type.kind,
        fields=_fold_party(event_type.kind, read_type_fields(event_type, raw), raw),
        citation=None if (value := get("citation")) is None else citation("citation", value),
        occurred=occurred,
        id=None if (value := get("id")) is None else event_ref("id", value),
        source=None if (value := get("source")) is None else text("source", value),
        note=None if (value := get("note")) is None else text("note", value),
        after=tuple(_event_refs("after", after)) if after else (),
        tz=(
            None
            if event_type.kind is EventKind.REGISTERED or (value := get("tz")) is None
            else time_zone("tz", value)
        ),
    )
