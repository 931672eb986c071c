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
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import orjson

from agreement_ledger.ledger.errors import StorageError
from agreement_ledger.projections.lean import sqlite_instant

if TYPE_CHECKING:
    from agreement_ledger.projections.project import Projection

AGREEMENTS = "read_agreements"
PARTIES = "read_parties"
FLAGS = "read_flags"
TIMELINE = "read_timeline"

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
    TIMELINE: ("agreement", "position", "event_id", "type", "occurred", "entry"),
}
"""Each read-model table's columns in order (the order rows are written in)."""

JSON_COLUMNS = {AGREEMENTS: {"show"}, PARTIES: {"entry"}, FLAGS: {"events"}, TIMELINE: {"entry"}}
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
    TIMELINE: {"agreement": 64, "event_id": 128, "type": 64, "occurred": 32},
}
"""The widths of the bounded text columns (``VARCHAR(n)``)."""

Prepared = dict[str, list[Any]]
"""Read-model rows ready for the database, by table name: tuples in column order of
values already processed by each column's type."""

Ready = Callable[[str, str], "Callable[[Any], Any] | None"]
"""What makes a value of a table's column ready for the database (``None``: as it is)."""


def rows_of(projection: Projection) -> Iterable[tuple[str, dict[str, Any]]]:
    """The rows of one agreement's projection, by table."""
    key, show = projection.key, projection.show
    yield (
        AGREEMENTS,
        {
            "agreement": key,
            "title": show["title"],
            "kind": show["kind"],
            "status": show["status"],
            "party_count": len(show["parties"]),
            "flag_count": len(projection.flags),
            "version": show["version"],
            "show": show,
            "changes_at": projection.changes_at,
        },
    )
    for party in show["parties"]:
        yield (
            PARTIES,
            {"agreement": key, **{name: party.get(name) for name in PARTY_COLUMNS}, "entry": party},
        )
    for n, row in enumerate(projection.flag_rows):
        yield FLAGS, {"position": n, **row}
    for n, entry in enumerate(projection.timeline):
        yield (
            TIMELINE,
            {
                "agreement": key,
                "position": n,
                "event_id": entry["id"],
                "type": entry["type"],
                "occurred": entry["occurred"],
                "entry": entry,
            },
        )


def prepare(projections: list[Projection], ready: Ready) -> Prepared:
    """The rows of ``projections``, checked and made ready by ``ready`` (in any process:
    the rows are plain values, cheap to pass from a projection worker to the writer)."""
    rows: dict[str, list[dict[str, Any]]] = {table: [] for table in COLUMNS}
    for projection in projections:
        for table, row in rows_of(projection):
            rows[table].append(row)
    prepared: Prepared = {}
    for table, names in COLUMNS.items():
        if rows[table]:
            check_widths(table, rows[table])
            columns = [(name, ready(table, name)) for name in names]
            prepared[table] = [
                tuple([row.get(n) if p is None else p(row.get(n)) for n, p in columns])
                for row in rows[table]
            ]
    return prepared


def check_widths(table: str, rows: list[dict[str, Any]]) -> None:
    """Refuse a value longer than its column on every database, as PostgreSQL would.

    SQLite does not enforce ``VARCHAR(n)``; without this a projection that
    outgrew a column would work on SQLite and fail only on PostgreSQL.
    """
    bounded = WIDTHS[table].items()
    for row in rows:
        for name, length in bounded:
            value = row.get(name)
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
