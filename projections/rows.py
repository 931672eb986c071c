"""The rows a projection becomes in the read-model tables, as plain values.

``store`` defines the tables for SQLAlchemy and writes through it; the lean append
(``projections.lean_append``) writes a SQLite ledger through the standard
library's ``sqlite3``. Both take their rows from here, so they cannot write
different ones; the layout below (column order, JSON columns, the bounded text
columns and their widths) is kept equal to ``store``'s tables by a test, and
``sqlite_ready`` to what SQLAlchemy's SQLite dialect makes of each value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from agreement_ledger.ledger.errors import StorageError
from agreement_ledger.projections.lean import sqlite_instant

if TYPE_CHECKING:
    from agreement_ledger.projections.project import Projection

AGREEMENTS = "read_agreements"
PARTIES = "read_parties"
FLAGS = "read_flags"

PARTY_COLUMNS = (
    "code",
    "name",
    "status",
    "signed",
    "consented",
    "in_force",
    "withdrawn",
    "instrument",
    "succeeded_from",
    "provisional",
    "ended",
)

COLUMNS: dict[str, tuple[str, ...]] = {
    AGREEMENTS: (
        "agreement",
        "title",
        "kind",
        "status",
        "party_count",
        "flag_count",
        "version",
        "show",
        "changes_at",
    ),
    PARTIES: ("agreement", *PARTY_COLUMNS, "entry"),
    FLAGS: (
        "agreement",
        "position",
        "code",
        "severity",
        "certainty",
        "party",
        "message",
        "events",
    ),
}
"""Each read-model table's columns in order (the order rows are written in)."""

JSON_COLUMNS = {AGREEMENTS: {"show"}, PARTIES: {"entry"}, FLAGS: {"events"}}
INSTANT_COLUMNS = {AGREEMENTS: {"changes_at"}}

WIDTHS: dict[str, dict[str, int]] = {
    AGREEMENTS: {"agreement": 64, "kind": 32, "status": 16},
    PARTIES: {
        "agreement": 64,
        "code": 32,
        "status": 16,
        "signed": 32,
        "consented": 32,
        "in_force": 32,
        "withdrawn": 32,
        "instrument": 32,
        "succeeded_from": 32,
        "provisional": 32,
        "ended": 32,
    },
    FLAGS: {"agreement": 64, "code": 64, "severity": 16, "certainty": 16, "party": 32},
}
"""The widths of the bounded text columns (``VARCHAR(n)``)."""


Prepared = dict[str, list[Any]]
"""Read-model rows ready for the database, by table name: tuples in column order of
values already processed by each column's type."""

Ready = Callable[[str, str], "Callable[[Any], Any] | None"]
"""What makes a value of a table's column ready for the database (``None``: as it is)."""


def rows_of(projection: Projection, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    """Add the rows of one agreement's projection to ``rows``: by table, each a tuple of
    its values in column order (``COLUMNS``), as the projection holds them."""
    key, show = projection.key, projection.show
    rows[AGREEMENTS].append(
        (
            key,
            show["title"],
            show["kind"],
            show["status"],
            len(show["parties"]),
            len(projection.flags),
            show["version"],
            show,
            projection.changes_at,
        )
    )
    parties = rows[PARTIES]
    for party in show["parties"]:
        parties.append((key, *[party.get(name) for name in PARTY_COLUMNS], party))
    flags = rows[FLAGS]
    for n, flag in enumerate(projection.flag_rows):
        flags.append(
            (
                flag["agreement"],
                n,
                flag["code"],
                flag["severity"],
                flag["certainty"],
                flag["party"],
                flag["message"],
                flag["events"],
            )
        )


def prepare(projections: list[Projection], ready: Ready) -> Prepared:
    """The rows of ``projections``, checked and made ready by ``ready`` (in any process:
    the rows are plain values, cheap to pass from a projection worker to the writer)."""
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
    for projection in projections:
        rows_of(projection, rows)
    prepared: Prepared = {}
    for table, names in COLUMNS.items():
        found = rows[table]
        if not found:
            continue
        check_widths(table, found)
        steps = [(i, step) for i, name in enumerate(names) if (step := ready(table, name))]
        if steps:
            found = [_made_ready(row, steps) for row in found]
        prepared[table] = found
    return prepared


def _made_ready(
    row: tuple[Any, ...], steps: list[tuple[int, Callable[[Any], Any]]]
) -> tuple[Any, ...]:
    values = list(row)
    for index, step in steps:
        values[index] = step(values[index])
    return tuple(values)


def check_widths(table: str, rows: list[tuple[Any, ...]]) -> None:
    """Refuse a value longer than its column on every database, as PostgreSQL would.

    SQLite does not enforce ``VARCHAR(n)``; without this a projection that
    outgrew a column would work on SQLite and fail only on PostgreSQL.
    """
    names = COLUMNS[table]
    bounded = [(names.index(name), name, length) for name, length in WIDTHS[table].items()]
    for row in rows:
        for index, name, length in bounded:
            value = row[index]
            if isinstance(value, str) and len(value) > length:
                raise StorageError(
                    f"{table}.{name} holds at most {length} characters, "
                    f"the projection gave {len(value)} ({value[:40]!r})"
                )


def json_text(value: Any) -> str:
    """A JSON column's value as text, read back as the same value: orjson writes floats
    in fewer characters than ``json`` but they read back the same; what it cannot write
    (an integer beyond 64 bits) goes to ``json``. ``None`` is JSON ``null``, as
    SQLAlchemy's ``JSON`` type stores it."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def sqlite_ready(table: str, column: str) -> Callable[[Any], Any] | None:
    """``Ready`` for SQLite without SQLAlchemy: JSON as text, date-times as it writes them."""
    if column in JSON_COLUMNS.get(table, ()):
        return json_text
    if column in INSTANT_COLUMNS.get(table, ()):
        return sqlite_instant
    return None
