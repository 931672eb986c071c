"""Text as data: what the ledger can store, and how stored text is shown safely.

Input arrives as JSON (an import line, ``--json``, a ``--field`` value) or as
command-line text. Three things about it matter beyond the vocabulary's types:

- *Can it be stored everywhere?* PostgreSQL cannot hold U+0000 in text, and a
  lone surrogate (an undecodable byte smuggled through ``surrogateescape``)
  cannot be encoded as UTF-8. Such text is refused before anything is written.
- *Can it be read without exhausting the reader?* JSON nested hundreds deep or
  numbers thousands of digits long serve no treaty and crash parsers: refused.
- *Is it safe to show?* Stored text is shown to people in terminals and pages.
  ``visible`` turns control characters (escape sequences, bidirectional
  overrides, line separators) into a visible ``\\x1b``-style escape, so a title
  cannot clear a reader's screen, retitle their terminal or reorder a line.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import re
from collections.abc import Iterator
from typing import Any

from agreement_ledger.ledger.errors import InvalidField

MAX_DEPTH = 32
"""Deepest nesting of objects and lists accepted in one event (the vocabulary needs 4)."""

MAX_NUMBER_DIGITS = 64

# Characters shown as escapes: C0 and C1 controls, DEL, line and paragraph
# separators, bidirectional embedding/override/isolate marks, surrogates.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# What ``json.dumps(ensure_ascii=False)`` leaves raw but a terminal or a line
# splitter may act on: DEL and C1 controls, line separators, bidirectional marks.
_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: str) -> str:
    """``value`` with every control character written as a visible escape."""
    return _INVISIBLE.sub(_escape, value)


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text, non-ASCII as itself, but every control or separator character escaped.

    JSON Lines readers split on U+2028, U+2029 or U+0085 as often as on a newline,
    and a terminal obeys C1 controls: written as ``\\u2028`` they are the same JSON
    value and cannot cut a line or steer a screen.
    """
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def has_control(value: str) -> bool:
    """Whether ``value`` holds a character that ``visible`` would escape."""
    return _INVISIBLE.search(value) is not None


def unstorable(value: str) -> str | None:
    """The first character of ``value`` the ledger cannot store, as ``U+XXXX``."""
    found = _UNSTORABLE.search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def check_storable(raw: Any) -> None:
    """Refuse text no supported database can store, anywhere in ``raw``, and deep nesting."""
    if _plainly_storable_value(raw):
        return
    for path, value in _strings(raw, "", 0):
        bad = unstorable(value)
        if bad is not None:
            where = f"field '{path}'" if path else "a field name"
            raise InvalidField(f"{where} contains {bad}, which the ledger cannot store")


def _plainly_storable_value(raw: Any) -> bool:
    """Whether ``raw`` shows at a glance what ``check_storable`` would find by walking it:
    ``orjson`` (a tenth of the walk's cost) refuses a lone surrogate and writes U+0000 as
    ``\\u0000``, and nesting is at most the number of brackets in its text. Anything
    else (a refusal, an escape, many brackets) is left to the walk, which words the
    problem. (Not ``msgspec``: it writes a key that is an enumeration or a subclass of
    text by its value, where the walk reads ``str(key)``; ``orjson`` refuses such keys.)"""
    import orjson  # here, not above: the lean read path shows text without loading it

    try:
        text = orjson.dumps(raw)
    except (orjson.JSONEncodeError, TypeError):
        return False
    return b"\\u0000" not in text and text.count(b"{") + text.count(b"[") <= MAX_DEPTH


def _strings(value: Any, path: str, depth: int) -> Iterator[tuple[str, str]]:
    if depth > MAX_DEPTH:
        raise InvalidField(f"the event is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            yield "", key_text
            yield from _strings(item, f"{path}.{key_text}" if path else key_text, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]", depth + 1)


def _refuse_constant(name: str) -> Any:
    raise InvalidField(f"not valid JSON: {name} is not a number JSON allows")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise InvalidField(f"not valid JSON: a number with more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise InvalidField(f"not valid JSON: a number with more than {MAX_NUMBER_DIGITS} digits")
    return float(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are each given once: a repeated key is ambiguous, not "last wins"."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidField(f"not valid JSON: key {key!r} is given twice")
        result[key] = value
    return result


MAX_ACTOR_LENGTH = 128


def actor_problem(actor: str) -> str | None:
    """Why ``actor`` cannot be recorded as ``recorded_by``, or ``None`` when it can."""
    if not actor.strip() or len(actor) > MAX_ACTOR_LENGTH or has_control(actor):
        return f"must be 1 to {MAX_ACTOR_LENGTH} characters without control characters"
    return None


def default_actor() -> str:
    """Who is recording: ``LEDGER_ACTOR``, else the operating-system user."""
    actor = os.environ.get("LEDGER_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def plainly_storable(text: str) -> bool:
    """Whether the JSON ``text`` shows by itself that what it holds is storable and nested
    no deeper than ``MAX_DEPTH``: with no ``\\u`` escape, no text in it can hold NUL or a
    surrogate (JSON refuses them raw, and strict UTF-8 has no surrogates), and nesting is
    at most the number of brackets. Most lines of an import pass, and skip the walk over
    every value that ``check_storable`` makes."""
    return "\\u" not in text and text.count("{") + text.count("[") <= MAX_DEPTH


_NUMBER_AS_ZERO = bytes.maketrans(b"0123456789.eE+-", b"0" * 15)
_TOO_LONG = b"0" * (MAX_NUMBER_DIGITS + 1)


def plain_json(data: bytes) -> dict[str, Any] | None:
    """The JSON object ``data`` holds, when ``data`` shows at a glance that ``read_json``
    would read the same object and find it ``plainly_storable``; else ``None``, and
    ``read_json`` reads it (and words what it refuses).

    ``msgspec`` reads it, at a third of the cost, when: nothing is escaped (no
    backslash: no ``\\u`` can hide NUL or a surrogate, and every quote ends a string);
    no number can be too long (no run of more than ``MAX_NUMBER_DIGITS`` characters
    that numbers are written with); nesting is plainly shallow; and no key is given
    twice, which ``read_json`` refuses where ``msgspec`` keeps the last. For that, each
    key must be followed by its colon at once, so that ``":`` counts the keys written;
    the object's keys, counted at every level, then equal that count only if none
    repeats. ``msgspec`` refuses the rest of what ``read_json`` refuses (malformed JSON,
    ``NaN``, control characters in text, invalid UTF-8) and reads numbers alike.
    """
    objects = data.count(b"{")
    if (
        b"\\" in data
        or b" :" in data  # white space before a key's colon (JSON's four kinds)
        or b"\t:" in data
        or b"\r:" in data
        or b"\n:" in data
        or objects + data.count(b"[") > MAX_DEPTH
        or _TOO_LONG in data.translate(_NUMBER_AS_ZERO)
    ):
        return None
    decoder, refused = _line_reader()
    try:
        value = decoder.decode(data)
    except (refused, ValueError):  # malformed; invalid UTF-8 in a text (UnicodeDecodeError)
        return None
    if type(value) is not dict:
        return None
    keys = len(value) if objects == 1 else _keys_read(value)  # 1: no object within
    return value if keys == data.count(b'":') else None


@functools.cache
def _line_reader() -> tuple[Any, type[Exception]]:
    """``msgspec``'s decoder, and the error it raises for what it refuses."""
    import msgspec  # here, not above: the lean read path shows text without loading it

    return msgspec.json.Decoder(), msgspec.DecodeError


def _keys_read(value: dict[str, Any]) -> int:
    """How many keys the objects in ``value`` hold, at every level."""
    count = 0
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            count += len(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return count


def read_json(text: str, *, storable: bool = True, checked: bool = False) -> Any:
    """Parse one JSON document as the ledger accepts it, or raise ``InvalidField``.

    Refused besides malformed JSON: ``NaN`` and ``Infinity``, numbers longer
    than ``MAX_NUMBER_DIGITS``, nesting deeper than ``MAX_DEPTH``, and (unless
    ``storable`` is false, leaving that to the event's own check) text the
    ledger cannot store. ``checked``: ``plainly_storable(text)`` already said so.
    """
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise InvalidField(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise InvalidField(f"the event is nested deeper than {MAX_DEPTH} levels") from None
    if checked:
        return value
    if storable:
        check_storable(value)
    else:
        list(_strings(value, "", 0))  # the depth check alone
    return value


def decode_utf8(data: bytes) -> str:
    """Bytes as UTF-8 text, or ``InvalidField`` naming the offending byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidField(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at column {exc.start + 1}"
        ) from None
