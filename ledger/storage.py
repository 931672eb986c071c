"""Where the ledger lives: database URLs, the schema's migration state.

Alembic owns the whole schema; the migration scripts ship as the ``migrations``
package so that an installed ``ledger`` can create and upgrade a database from
any folder. An empty SQLite database (the embedded default) is migrated on
first use; anything else behind the newest migration is refused with a message
that names ``ledger db upgrade``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, column, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from agreement_ledger.ledger.errors import InvalidArgument, SchemaOutdated, StorageError
from agreement_ledger.migrations import HEAD

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_DB = "sqlite:///ledger.db"
SQLITE_BUSY_SECONDS = 30
EVENTS_TABLE = "ledger_events"
BULK_CACHE_KIB = 65_536
"""SQLite's page cache while a bulk write runs, instead of its 2 MB (see ``bulk_cache``)."""


def normalise_url(db: str | None) -> str:
    """A SQLAlchemy URL from ``--db``: a URL, or a path to a SQLite file.

    ``postgresql://`` means psycopg 3, like ``postgresql+psycopg://``.
    """
    value = db or DEFAULT_DB
    if "://" not in value and "?" in value:
        raise InvalidArgument(
            f"the file path {value!r} would be read as a URL with a query (?); rename the file"
        )
    if "://" not in value:
        value = "sqlite:///" + str(Path(value).expanduser().resolve())
    if value.startswith("postgresql://") or value.startswith("postgres://"):
        value = "postgresql+psycopg://" + value.split("://", 1)[1]
    try:
        url = make_url(value)
        url.get_dialect()
    except NoSuchModuleError:  # a kind of ArgumentError: check it first
        raise StorageError(
            f"unknown kind of database {url.drivername!r}: use sqlite:///FILE or postgresql://…"
        ) from None
    except ArgumentError:
        raise StorageError(f"cannot read database URL {value!r}") from None
    supported = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",)}
    drivers = supported.get(url.get_backend_name())
    if drivers is None or url.get_driver_name() not in drivers:
        raise StorageError(
            f"unsupported database {url.drivername!r}: use sqlite:///FILE or postgresql://…"
        )
    if url.get_backend_name() == "sqlite":
        timeout = url.query.get("timeout", str(SQLITE_BUSY_SECONDS))
        if not isinstance(timeout, str) or not _is_number(timeout):
            raise StorageError(f"the database URL's timeout {timeout!r} is not a number")
        # Concurrent writers on one SQLite file wait for each other's lock.
        url = url.update_query_dict({"timeout": timeout})
    return url.render_as_string(hide_password=False)


def _is_number(text: str) -> bool:
    try:
        return float(text) >= 0
    except ValueError:
        return False


def is_in_memory(url: str) -> bool:
    """Whether ``url`` names an in-memory SQLite database, which keeps nothing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    return (
        database in ("", ":memory:")
        or database.startswith("file::memory:")
        or parsed.query.get("mode") == "memory"
        or "mode=memory" in database
    )


# Lock and serialisation failures: another writer got there first; worth a retry.
_RETRY_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_RETRY_SQLITE_TEXT = ("database is locked", "database table is locked", "database is busy")


def _driver_error(exc: BaseException) -> BaseException | None:
    """The database driver's own exception behind a library or SQLAlchemy error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            return orig
        if current.args and isinstance(current.args[0], BaseException):
            current = current.args[0]
        else:
            current = current.__cause__
    return None


def retryable(exc: BaseException) -> bool:
    """Whether a failed write lost a race (retry it) rather than hit a storage fault.

    A read-only database, a full disk or a broken file fail at once instead of
    being retried as if other writers were in the way.
    """
    driver = _driver_error(exc) or exc
    sqlstate = getattr(driver, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _RETRY_SQLSTATES
    message = str(driver).lower()
    return any(text in message for text in _RETRY_SQLITE_TEXT)


def storage_error(doing: str, exc: BaseException) -> StorageError:
    """One line naming what failed and the database's own reason."""
    driver = _driver_error(exc) or exc
    return StorageError(f"{doing}: {_first_line(driver)}")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the shipped migration scripts."""
    from alembic.config import Config  # Alembic is loaded only to migrate

    config = Config()
    config.set_main_option("script_location", str(files("agreement_ledger.migrations")))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest migration, as Alembic reads it from the scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


ALEMBIC_VERSION = table("alembic_version", column("version_num"))


def current_revision(engine: Engine) -> str | None:
    """The database's migration revision, or ``None`` where it has none.

    A plain query, so that the common case (a database at ``HEAD``) costs one
    round trip and no Alembic import.
    """
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(select(ALEMBIC_VERSION.c.version_num)).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``engine``."""
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise storage_error("migration failed", exc) from None
    except CommandError as exc:
        raise StorageError(
            f"cannot migrate the database: {_first_line(exc)} "
            "(is it from a newer release of the ledger? upgrade the ledger)"
        ) from None


def ensure_schema(engine: Engine) -> None:
    """Make sure the schema is at the newest migration, or say what to do.

    An empty SQLite database is created on first use; any other database behind
    the newest migration raises ``SchemaOutdated``.
    """
    try:
        current = current_revision(engine)
        if current == HEAD:
            return
        if (
            current is None
            and engine.dialect.name == "sqlite"
            and not inspect(engine).get_table_names()
        ):
            upgrade(engine)
            return
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot open the database: {_first_line(exc)}") from None
    if current is None:
        raise SchemaOutdated("the database has no ledger schema; run `ledger db upgrade`")
    if current not in known_revisions():
        raise StorageError(
            f"the database schema ({current}) is newer than this ledger knows; upgrade the ledger"
        )
    raise SchemaOutdated(
        f"the database schema ({current}) is behind the newest ({HEAD}); run `ledger db upgrade`"
    )


def integrity_problems(connection: Connection) -> list[str]:
    """What SQLite's own integrity check finds wrong with the database file (nothing on
    PostgreSQL, which checks its pages itself): an index that lost rows, a damaged page;
    the first five problems.

    A file copied over a database in use can mix pages of two copies into one that reads
    without error; only this check sees it.
    """
    if connection.dialect.name != "sqlite":
        return []
    found = [str(row[0]) for row in connection.exec_driver_sql("PRAGMA integrity_check(5)")]
    return [] if found == ["ok"] else found


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def copy_rows(
    connection: Connection,
    table_name: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[str] | None = None,
) -> None:
    """``COPY … FROM STDIN`` through the connection's own psycopg connection (PostgreSQL's
    bulk path), the rows' values in ``columns`` order, typed as ``types`` if given.

    A failure is raised as SQLAlchemy raises a driver error (a duplicate key as
    ``IntegrityError``), so that callers and retries see what an ``INSERT`` would give.
    """
    import psycopg
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table_name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    driver: Any = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            if types is not None:
                copy.set_types(list(types))
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise DBAPIError.instance(f"COPY {table_name}", None, exc, psycopg.Error) from exc


@contextmanager
def bulk_cache(connection: Connection) -> Iterator[None]:
    """A larger SQLite page cache for the bulk write in ``connection``'s transaction.

    An import inserts into indexes in no order (stream ids are hashes; read models by
    date and party): with SQLite's 2 MB cache a page is read back and written out again
    several times over before the commit (at 2 x 10^5 events, 214,000 page writes and
    118,000 reads). The cache grows only as far as the write needs it, and is put back
    afterwards; other databases keep their own settings.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size = -{int(BULK_CACHE_KIB)}")
    try:
        yield
    finally:
        # If the write's failure left the connection unusable, this fails too: the
        # write's own error is the one to report.
        with suppress(SQLAlchemyError):
            connection.exec_driver_sql(f"PRAGMA cache_size = {previous}")
