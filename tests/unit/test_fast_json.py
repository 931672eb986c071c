"""The fast JSON paths write and read exactly what the standard library and the
event-sourcing library do: the hash of every event and the decoded stored state
never depend on which path ran."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC
from pathlib import Path
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, UUIDAsHex
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement_ledger.ledger.chain import canonical_bytes, standard_canonical_bytes
from agreement_ledger.ledger.codec import LedgerTranscoder
from tests.histories import stored

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HISTORIES = sorted((FIXTURES / "histories").glob("*.jsonl"))

# Every JSON value, with text drawn from all of Unicode but lone surrogates
# (refused before anything is written), integers well beyond 64 bits and floats.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def transcoder(kind: type[JSONTranscoder] = JSONTranscoder) -> JSONTranscoder:
    coder = kind()
    coder.register(UUIDAsHex())
    coder.register(DatetimeAsISO())
    return coder


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(TEXT, JSON_VALUES, max_size=6))
def test_canonical_bytes_are_the_standard_librarys_for_any_json(record: dict[str, Any]) -> None:
    assert canonical_bytes(record) == standard_canonical_bytes(record)


def test_canonical_bytes_of_every_real_history_event() -> None:
    checked = 0
    for path in HISTORIES:
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for event in stored(lines):
            record = event.record()
            assert canonical_bytes(record) == standard_canonical_bytes(record)
            checked += 1
    assert checked > 50


def test_an_enumeration_and_a_tuple_are_written_as_text_and_a_list() -> None:
    from agreement_ledger.ledger.vocabulary import EventKind

    record = {"type": EventKind.SIGNED, "after": ("a", "b"), "n": 2**64, "x": 1.0}
    assert canonical_bytes(record) == standard_canonical_bytes(record)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.datetimes(timezones=st.just(UTC)))
def test_stored_state_is_written_and_read_as_the_librarys_transcoder_does(value, stamp):
    library, ledger = transcoder(), transcoder(LedgerTranscoder)
    state = {"timestamp": stamp, "fields": {"text": value}, "note": value}
    data = library.encode(state)
    assert ledger.encode(state) == data
    assert repr(ledger.decode(data)) == repr(library.decode(data))  # types too


def test_every_state_of_the_release_database_decodes_alike() -> None:
    library, ledger = transcoder(), transcoder(LedgerTranscoder)
    connection = sqlite3.connect(FIXTURES / "release-0.1.db")
    states = [bytes(s) for (s,) in connection.execute("SELECT state FROM ledger_events")]
    connection.close()
    assert states
    for data in states:
        decoded = library.decode(data)
        assert repr(ledger.decode(data)) == repr(decoded)
        assert ledger.encode(decoded) == library.encode(decoded) == data


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_read_model_json_is_read_back_as_the_value_written(value: Any) -> None:
    from agreement_ledger.projections.rows import json_text as _json_text

    assert repr(json.loads(_json_text(value))) == repr(value)  # ints stay ints, floats floats


def test_a_stored_state_keeps_no_spare_buffer() -> None:
    import sys
    import tracemalloc
    from datetime import datetime

    coder = transcoder(LedgerTranscoder)
    state = {"timestamp": datetime(2026, 11, 27, tzinfo=UTC), "note": "x" * 700}
    tracemalloc.start()
    kept = [coder.encode(state) for _ in range(200)]
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert used < 2 * sum(sys.getsizeof(k) for k in kept)  # not 8 KiB apiece


ANY_TEXT = st.text(max_size=12)  # lone surrogates and NUL included
NESTED = st.recursive(
    st.none() | st.integers() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=500, deadline=None)
@given(NESTED, st.booleans())
def test_a_line_that_looks_storable_is(value: Any, ascii_only: bool) -> None:
    """The shortcut of an import line never lets through what the full check refuses."""
    from agreement_ledger.ledger.errors import InvalidField
    from agreement_ledger.ledger.text import check_storable, plainly_storable

    text = json.dumps(value, ensure_ascii=ascii_only)
    if not plainly_storable(text):
        return
    try:
        check_storable(json.loads(text))
    except InvalidField as refused:  # pragma: no cover - the failure this test looks for
        raise AssertionError(f"{text!r} looked storable: {refused}") from None


DEEP = st.integers(min_value=0, max_value=40).map(lambda depth: _nested(depth))


def _nested(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@settings(max_examples=500, deadline=None)
@given(NESTED | DEEP | st.lists(DEEP, max_size=2))
def test_an_event_that_looks_storable_is(value: Any) -> None:
    """The quick look of ``check_storable`` (one ``orjson`` pass) never lets through what
    the walk over every value refuses: NUL, a lone surrogate, nesting too deep."""
    from agreement_ledger.ledger.errors import InvalidField
    from agreement_ledger.ledger.text import _plainly_storable_value, _strings, unstorable

    if not _plainly_storable_value(value):
        return
    try:
        found = [text for _path, text in _strings(value, "", 0) if unstorable(text)]
    except InvalidField as refused:  # pragma: no cover - the failure this test looks for
        raise AssertionError(f"{value!r} looked storable: {refused}") from None
    assert not found, f"{value!r} looked storable but holds {found}"


def test_a_refused_event_is_refused_with_the_walks_words() -> None:
    from agreement_ledger.ledger.errors import InvalidField
    from agreement_ledger.ledger.text import MAX_DEPTH, check_storable

    cases = {
        "field 'note' contains U+0000": {"note": "a\x00b"},
        "field 'fields.x[1]' contains U+D800": {"fields": {"x": ["ok", "\ud800"]}},
        "a field name contains U+DFFF": {"\udfff": 1},
        f"nested deeper than {MAX_DEPTH}": _nested(MAX_DEPTH + 2),
    }
    for words, value in cases.items():
        try:
            check_storable(value)
        except InvalidField as refused:
            assert words in str(refused)
        else:  # pragma: no cover - the failure this test looks for
            raise AssertionError(f"{value!r} was not refused")
    check_storable(_nested(MAX_DEPTH))  # as deep as allowed: accepted


def test_every_character_is_written_as_the_standard_library_writes_it() -> None:
    """The canonical form's text, over all of Unicode but lone surrogates."""
    characters = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for first in range(0, len(characters), 4096):
        text = "".join(characters[first : first + 4096])
        record = {"note": text, "fields": {text[:50]: [text[-50:]]}}
        assert canonical_bytes(record) == standard_canonical_bytes(record)


def test_keys_that_are_not_text_are_written_as_the_standard_library_sorts_them() -> None:
    record = {"fields": {10: "ten", 9: "nine", "a": {2: 1, 1: 2}}}
    record["fields"].pop("a")  # ``json.dumps`` cannot sort text and numbers together
    assert canonical_bytes(record) == standard_canonical_bytes(record)
    assert b'{"9":"nine","10":"ten"}' in canonical_bytes(record)


EDGE_NUMBERS = [
    b"123456789012345678901234567890",  # beyond 64 bits: a whole number, not a float
    b"-18446744073709551617",
    b"18446744073709551616",
    b"19933688932870350000",  # 65 bits, where msgspec before 0.19 read the wrong number
    b"19999999999999999999",
    b"-0",
    b"-0.0",
    b"1e400",  # beyond a float: infinity, read by the library's own code
    b"1e-400",
    b"2.2250738585072011e-308",
    b"0.30000000000000004",
    b"NaN",
    b"[" * 3000 + b"]" * 3000,  # deeper than either reader goes
]


def test_stored_numbers_and_oddities_are_read_as_the_librarys_transcoder_reads_them() -> None:
    library, ledger = transcoder(), transcoder(LedgerTranscoder)
    stamp = b'{"_type_":"datetime_iso","_data_":"2026-11-28T10:00:00+00:00"}'
    for value in [*EDGE_NUMBERS, b'"\\ud800"', b'"\\ud83d\\ude00"', b'{"a":1,"a":2}']:
        data = b'{"timestamp":' + stamp + b',"fields":{"n":' + value + b"}}"
        outcomes = []
        for coder in (library, ledger):
            try:
                outcomes.append(repr(coder.decode(data)))
            except (ValueError, RecursionError) as refused:
                outcomes.append(type(refused).__name__)
        assert outcomes[0] == outcomes[1], value[:40]


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**200), 2**200))
def test_any_number_as_text_is_read_as_the_library_reads_it(number: float | int) -> None:
    library, ledger = transcoder(), transcoder(LedgerTranscoder)
    stamp = b'{"_type_":"datetime_iso","_data_":"2026-11-28T10:00:00+00:00"}'
    written = json.dumps(number).encode()
    for text in (written, written.upper()):
        data = b'{"timestamp":' + stamp + b',"n":' + text + b"}"
        assert repr(ledger.decode(data)) == repr(library.decode(data))


def test_every_event_of_the_release_database_is_made_as_the_librarys_mapper_makes_it() -> None:
    from uuid import UUID

    from eventsourcing.persistence import Mapper, StoredEvent

    from agreement_ledger.ledger.codec import ledger_mapper

    ours = ledger_mapper()
    theirs = Mapper(transcoder=ours.transcoder)
    connection = sqlite3.connect(FIXTURES / "release-0.1.db")
    rows = connection.execute(
        "SELECT originator_id, originator_version, topic, state FROM ledger_events"
    ).fetchall()
    connection.close()
    assert rows
    for stream, version, topic, state in rows:
        stored = StoredEvent(UUID(bytes=stream), version, topic, bytes(state))
        made, expected = ours.to_domain_event(stored), theirs.to_domain_event(stored)
        assert type(made) is type(expected)
        assert repr(vars(made)) == repr(vars(expected))


# Lines as a hostile writer might send them: JSON-like text from pieces that matter to
# the shortcut (quotes, colons, spaces, backslashes, long numbers, repeats, nesting).
PIECES = st.sampled_from(
    [
        '"a"',
        '"b"',
        ":",
        " :",
        ",",
        "{",
        "}",
        "[",
        "]",
        "1",
        "-0",
        "1.5e3",
        "9" * 64,
        "9" * 65,
        "null",
        "true",
        "NaN",
        '"\\u0000"',
        '"x:y"',
        '"\\""',
        "\t",
        " ",
        "\u00e9",
        '"\ud800"'.encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    ]
)
LINES = st.lists(PIECES, max_size=30).map("".join) | st.builds(
    lambda value, spaced: json.dumps(value, separators=(", ", " : ") if spaced else (",", ":")),
    st.dictionaries(TEXT, NESTED, max_size=4),
    st.booleans(),
)


@settings(max_examples=1500, deadline=None)
@given(LINES | st.binary(max_size=40))
def test_a_line_read_by_the_shortcut_is_read_alike_by_the_full_reader(line: str | bytes) -> None:
    """Whatever ``plain_json`` reads, ``read_json`` reads as the same value, storable,
    without refusing it (a repeated key, a number too long, NUL, invalid UTF-8, ...)."""
    from agreement_ledger.ledger.errors import InvalidField
    from agreement_ledger.ledger.text import plain_json, plainly_storable, read_json

    data = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
    value = plain_json(data)
    if value is None:
        return
    text = data.decode("utf-8")
    assert plainly_storable(text)
    try:
        expected = read_json(text)
    except InvalidField as refused:  # pragma: no cover - the failure this test looks for
        raise AssertionError(f"{data!r} was read by the shortcut: {refused}") from None
    assert repr(value) == repr(expected)


def test_the_shortcut_leaves_what_the_full_reader_refuses_to_it() -> None:
    from agreement_ledger.ledger.text import plain_json

    refused = [
        b'{"a":1,"a":2}',
        b'{"a":{"b":1,"b":2}}',
        b'{"a" :1,"a":2}',  # a repeat behind a space
        b'{"n":' + b"1" * 65 + b"}",
        b'{"n":1.' + b"0" * 64 + b"}",
        b'{"a":"\\u0000"}',
        b'{"a":"\xed\xa0\x80"}',  # a surrogate written in UTF-8
        b'{"a":NaN}',
        b"[1]",
        b"{" * 40 + b"}" * 40,
        b'{"a":"\xff"}',  # invalid UTF-8 in a text
    ]
    for data in refused:
        assert plain_json(data) is None, data
    for number in (b"19933688932870350000", b"19999999999999999999", b"-9223372036854775809"):
        assert plain_json(b'{"n":' + number + b"}") == {"n": int(number)}
    assert plain_json(b'{"n":' + b"1" * 64 + b',"a":"x:y","b":[{"c":null}]}') == {
        "n": int("1" * 64),
        "a": "x:y",
        "b": [{"c": None}],
    }


STAMP = b'{"_type_":"datetime_iso","_data_":"2026-11-28T10:00:00+00:00"}'


def test_a_damaged_state_is_refused_in_the_librarys_words() -> None:
    """Invalid UTF-8 in a text: the library's reader words it (its position in the
    document), as before the fast reader."""
    library, ledger = transcoder(), transcoder(LedgerTranscoder)
    data = b'{"timestamp":' + STAMP + b',"x":"\xed\xa0\x80"}'
    refusals = []
    for coder in (library, ledger):
        try:
            coder.decode(data)
        except ValueError as refused:
            refusals.append(str(refused))
    assert len(refusals) == 2 and refusals[0] == refusals[1]


def test_the_hash_of_a_state_the_fast_reader_refuses_is_still_found() -> None:
    from agreement_ledger.ledger.codec import hash_of

    data = b'{"timestamp":' + STAMP + b',"x":"\xed\xa0\x80","hash":"abc"}'
    assert hash_of(data) == json.loads(data)["hash"] == "abc"


def test_a_custom_value_behind_an_escape_is_read_as_the_library_reads_it() -> None:
    library, ledger = transcoder(), transcoder(LedgerTranscoder)
    hidden = b'{"\\u005ftype_":"uuid_hex","_data_":"' + b"0" * 32 + b'"}'
    data = b'{"timestamp":' + STAMP + b',"x":' + hidden + b"}"
    assert repr(ledger.decode(data)) == repr(library.decode(data))  # a UUID in both


def test_a_state_whose_keys_are_not_all_text_is_written_by_the_library() -> None:
    from datetime import datetime

    library, ledger = transcoder(), transcoder(LedgerTranscoder)
    stamp = datetime(2026, 11, 28, tzinfo=UTC)
    for key in (1e16, 1e-7, 2, True):
        state = {"timestamp": stamp, key: 1}
        assert ledger.encode(state) == library.encode(state)


def test_a_key_that_only_looks_like_text_is_walked() -> None:
    """An enumeration or a subclass of text as a key: the walk reads ``str(key)``."""
    import enum

    from agreement_ledger.ledger.text import _plainly_storable_value

    class Sneaky(str):
        def __str__(self) -> str:
            return "k\x00"

    keyed = enum.Enum("Keyed", {"A": "x"})
    for key in (Sneaky("k"), keyed.A):
        assert not _plainly_storable_value({key: 1})
