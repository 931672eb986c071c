"""The read-model tables (created by migration 0002) and how rows are written and read."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.exc import SQLAlchemyError

from agreement_ledger.ledger.errors import StorageError
from agreement_ledger.ledger.storage import copy_rows
from agreement_ledger.projections import rows as layout
from agreement_ledger.projections.lean import well_formed_show
from agreement_ledger.projections.rows import Prepared, json_text
from agreement_ledger.projections.version import (
    PROJECTION_VERSION,
    TRACKING_NAME,
    VERSION_NAME,
)

if TYPE_CHECKING:
    from agreement_ledger.projections.project import Projection

metadata = MetaData()
KEY = String(64)

agreements = Table(
    "read_agreements",
    metadata,
    Column("agreement", KEY, primary_key=True),
    Column("title", Text, nullable=False),
    Column("kind", String(32)),
    Column("status", String(16), nullable=False),
    Column("party_count", Integer, nullable=False),
    Column("flag_count", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("show", JSON, nullable=False),
    Column("changes_at", DateTime(timezone=True)),
)
parties = Table(
    "read_parties",
    metadata,
    Column("agreement", KEY, primary_key=True),
    Column("code", String(32), primary_key=True),
    Column("name", Text),
    Column("status", String(16), nullable=False),
    Column("signed", String(32)),
    Column("consented", String(32)),
    Column("in_force", String(32)),
    Column("withdrawn", String(32)),
    Column("instrument", String(32)),
    Column("succeeded_from", String(32)),
    Column("provisional", String(32)),
    Column("ended", String(32)),
    Column("entry", JSON),
)
flags = Table(
    "read_flags",
    metadata,
    Column("agreement", KEY, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("code", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("certainty", String(16), nullable=False),
    Column("party", String(32)),
    Column("message", Text, nullable=False),
    Column("events", JSON, nullable=False),
)
tracking = Table(
    "read_tracking",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
)
READ_MODELS = (agreements, parties, flags)
"""No timeline: it is made from the agreement's events when asked (see docs/decisions.md)."""
TABLES = {table.name: table for table in READ_MODELS}


P = ParamSpec("P")
R = TypeVar("R")


def guarded(read: Callable[P, R]) -> Callable[P, R]:
    """A read of the read models: damage (a dropped table, a mangled row) is a ``StorageError``."""

    @functools.wraps(read)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return read(*args, **kwargs)
        except StorageError:
            raise
        except (SQLAlchemyError, ValueError, TypeError, KeyError) as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""]
            raise StorageError(
                f"the read models cannot be read ({type(exc).__name__}: {detail[0]}); "
                "run `ledger rebuild`"
            ) from None

    return checked


def ensure_tables(connection: Connection) -> None:
    """Re-create read-model tables that are missing (a rebuild repairs a dropped one)."""
    metadata.create_all(connection, checkfirst=True)
    found = connection.execute(
        select(tracking.c.name).where(tracking.c.name == TRACKING_NAME)
    ).first()
    if found is None:
        connection.execute(insert(tracking).values(name=TRACKING_NAME, position=0))


@guarded
def position(connection: Connection) -> int:
    found = connection.execute(
        select(tracking.c.position).where(tracking.c.name == TRACKING_NAME)
    ).scalar_one()
    return int(found)


EVENT_IDS = sql_table("ledger_events", sql_column("id"))


@guarded
def head(connection: Connection) -> int:
    """The position of the newest event in the log."""
    return int(connection.execute(select(func.max(EVENT_IDS.c.id))).scalar() or 0)


def newest_before(connection: Connection, event: int) -> int:
    """The position of the newest event stored before position ``event`` (0: none)."""
    newest = select(func.max(EVENT_IDS.c.id)).where(EVENT_IDS.c.id < event)
    return int(connection.execute(newest).scalar() or 0)


@guarded
def read_only(connection: Connection) -> bool:
    """Whether this database is a read-only replica (a PostgreSQL hot standby)."""
    if connection.dialect.name != "postgresql":
        return False
    return bool(connection.execute(select(func.pg_is_in_recovery())).scalar())


@guarded
def up_to_date(connection: Connection, now: datetime) -> bool:
    """Whether the read models reflect every stored event and the time ``now``.

    SQLAlchemy Core only, so that a query whose read models are current needs
    neither the event store's library nor a write.
    """
    tracked, newest = position(connection), head(connection)
    check_not_ahead(tracked, newest)
    return (
        projection_version(connection) == PROJECTION_VERSION
        and tracked == newest
        and not stale(connection, now)
    )


def check_not_ahead(tracked: int, newest: int) -> None:
    """Refuse read models that have seen more of the log than it holds.

    The log only grows (its triggers refuse updates and deletes), so this means events
    went missing: a database file copied over one in use, or write-ahead-log files of
    another copy beside it. A query would otherwise answer from the read models, and an
    append call an agreement they show "not registered".
    """
    if tracked > newest:
        raise StorageError(
            f"the read models have seen events up to {tracked} but the event log ends at "
            f"{newest}: events are missing from the log (was the database file replaced or "
            "copied while in use?); restore it from a backup and check it with "
            "`ledger verify --digest`"
        )


def lock_position(connection: Connection) -> int:
    """Lock the tracked position for this transaction and read it.

    A no-op UPDATE takes SQLite's write lock and PostgreSQL's row lock alike, so
    a second projector waits here until the first commits.
    """
    connection.execute(
        update(tracking)
        .where(tracking.c.name == TRACKING_NAME)
        .values(position=tracking.c.position)
    )
    return position(connection)


@guarded
def projection_version(connection: Connection) -> int | None:
    """The version of the projection code that wrote the rows (``None``: unknown)."""
    found = connection.execute(
        select(tracking.c.position).where(tracking.c.name == VERSION_NAME)
    ).scalar()
    return None if found is None else int(found)


def set_projection_version(connection: Connection, version: int) -> None:
    done = connection.execute(
        update(tracking).where(tracking.c.name == VERSION_NAME).values(position=version)
    )
    if done.rowcount == 0:
        connection.execute(insert(tracking).values(name=VERSION_NAME, position=version))


def set_position(connection: Connection, new: int) -> None:
    connection.execute(
        update(tracking).where(tracking.c.name == TRACKING_NAME).values(position=new)
    )


def write(connection: Connection, projection: Projection) -> None:
    """Replace one agreement's rows with ``projection``."""
    write_many(connection, [projection])


def write_many(
    connection: Connection, projections: list[Projection], *, replace: bool = True
) -> None:
    """Replace the rows of several agreements: one statement per table, not per agreement.

    ``replace=False`` skips the deletes, for tables known to be empty (rebuild).
    """
    if not projections:
        return
    if replace:
        forget(connection, [p.key for p in projections])
    write_prepared(connection, prepare(connection.dialect, projections))


def prepare(dialect: Any, projections: list[Projection]) -> Prepared:
    """The rows of ``projections`` made ready for ``dialect`` by each column's own bind
    processor (JSON by ``rows.json_text``)."""

    def ready(table: str, column: str) -> Callable[[Any], Any] | None:
        found = TABLES[table].columns[column]
        if isinstance(found.type, JSON):
            return json_text
        # The dialect's own type: SQLite's DATETIME writes its text format, where the
        # generic type would leave the value to the driver's (deprecated) adapter.
        return found.type.dialect_impl(dialect).bind_processor(dialect)

    return layout.prepare(projections, ready)


def write_prepared(connection: Connection, prepared: Prepared) -> None:
    """One ``executemany`` per table (SQLite), one ``COPY`` (PostgreSQL).

    SQLAlchemy's ``insert`` would do the work of ``prepare`` per row and per value
    through its general machinery, which cost more than the projection itself on a
    rebuild.
    """
    for table in READ_MODELS:
        rows = prepared.get(table.name)
        if not rows:
            continue
        if connection.dialect.name == "postgresql":
            copy_rows(connection, table.name, [column.name for column in table.columns], rows)
        else:
            connection.exec_driver_sql(_insert_statement(connection.dialect, table), rows)


def _insert_statement(dialect: Any, table: Table) -> str:
    names = [column.name for column in table.columns]
    return str(insert(table).compile(dialect=dialect, column_keys=names))


KEYS_PER_STATEMENT = 500
"""Agreements named per ``DELETE`` (databases limit the parameters of one statement)."""


def forget(connection: Connection, keys: Iterable[str]) -> None:
    keys = list(keys)
    for first in range(0, len(keys), KEYS_PER_STATEMENT):
        some = keys[first : first + KEYS_PER_STATEMENT]
        for table in READ_MODELS:
            connection.execute(delete(table).where(table.c.agreement.in_(some)))


def clear(connection: Connection) -> None:
    for table in READ_MODELS:
        connection.execute(delete(table))


@guarded
def stale(connection: Connection, now: datetime) -> list[str]:
    """Agreements whose stored answer has changed by time alone since it was projected."""
    return list(
        connection.execute(
            select(agreements.c.agreement)
            .where(agreements.c.changes_at.is_not(None), agreements.c.changes_at <= now)
            .order_by(agreements.c.agreement)
        ).scalars()
    )


@guarded
def show(connection: Connection, key: str) -> dict[str, Any] | None:
    found = connection.execute(
        select(agreements.c.show).where(agreements.c.agreement == key)
    ).scalar()
    if found is None:
        return None
    if not well_formed_show(found):
        raise ValueError(f"the stored answer of {key!r} is not the shape of `show`")
    return dict(found)


@guarded
def states(connection: Connection) -> list[dict[str, Any]]:
    """Every agreement's ``show`` answer, by key."""
    query = select(agreements.c.show).order_by(agreements.c.agreement)
    return [dict(found) for found in connection.execute(query).scalars()]


@guarded
def listing(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(agreements).order_by(agreements.c.agreement)).mappings()
    return [
        {
            "agreement": r["agreement"],
            "title": r["title"],
            "kind": r["kind"],
            "status": r["status"],
            "parties": r["party_count"],
            "flags": r["flag_count"],
        }
        for r in rows
    ]


@guarded
def has_party(connection: Connection, code: str) -> bool:
    """Whether any agreement has a party with ``code``."""
    query = select(parties.c.code).where(parties.c.code == code).limit(1)
    return connection.execute(query).first() is not None


@guarded
def agreements_of(connection: Connection, code: str) -> list[str]:
    """The agreements that have a party with ``code``, by key."""
    query = select(parties.c.agreement).where(parties.c.code == code).order_by(parties.c.agreement)
    return list(connection.execute(query).scalars())


@guarded
def flag_rows(
    connection: Connection,
    key: str | None = None,
    code: str | None = None,
    party: str | None = None,
    severity: str | None = None,
) -> list[dict[str, Any]]:
    query = select(flags).order_by(flags.c.agreement, flags.c.position)
    for column, value in (
        (flags.c.agreement, key),
        (flags.c.code, code),
        (flags.c.party, party),
        (flags.c.severity, severity),
    ):
        if value is not None:
            query = query.where(column == value)
    return [
        {
            k: r[k]
            for k in ("agreement", "code", "severity", "certainty", "party", "message", "events")
        }
        for r in connection.execute(query).mappings()
    ]


def dump(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model row, in a stable order (to compare rebuilds and audits)."""
    result = {}
    for table in READ_MODELS:
        order = [c for c in table.primary_key.columns]
        rows = connection.execute(select(table).order_by(*order)).all()
        result[table.name] = [tuple(comparable(v) for v in row) for row in rows]
    return result


def comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value
