"""The warehouse engine: URL, SQLite hooks, the write lock, transactions and their retries.

Belongs here: opening the warehouse (SQLite in write-ahead-log mode, PostgreSQL), the write
transaction every load and rebuild goes through, trying again while the warehouse is
unavailable, and how a failure is told (password hidden). Stays out: the DDL (``schema``), the
derived tables (``derive``), reading tables (``tables``), configuration (callers pass the URL).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.settings import DEFAULT_LOCK_TIMEOUT_SECONDS
from crpv_pipeline.warehouse.retries import RetryPolicy, is_transient

"""The embedded default warehouse: a SQLite file in the current directory."""


WRITE_LOCK_KEY = 0x43525056  # "CRPV"
"""PostgreSQL advisory lock key held by every write transaction (``pg_advisory_xact_lock``)."""


SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another writer before failing with 'locked'."""


_WRITE_OPTION = "crpv_write_transaction"


_RETRY_OPTION = "crpv_retry_policy"  # the engine's RetryPolicy, a user-defined execution option


_LOCK_TIMEOUT_OPTION = "crpv_lock_timeout"  # seconds a write transaction waits for a lock


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout ran out


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the operation and the object."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse could not be reached (or stayed locked) for as many tries as allowed."""


_log = logging.getLogger(__name__)


def create_warehouse_engine(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    retry: RetryPolicy | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
) -> Engine:
    """An engine for any SQLAlchemy URL; ``postgresql://`` uses the psycopg (3) driver.

    SQLite engines enforce foreign keys, wait ``sqlite_busy_timeout_ms`` for a busy database,
    keep their journal in write-ahead-log mode (readers and the writer never block each other,
    so a long BI query cannot make a load fail with "database is locked") and sync it to disk at
    checkpoints rather than at every commit (``synchronous = NORMAL``), let SQLAlchemy emit
    BEGIN itself (so DDL is transactional and ``write_transaction`` can begin IMMEDIATE), and
    the folder of the database file must exist (it is never created: ``WarehouseError``).
    ``retry`` says how often the start of a write transaction is tried while the warehouse is
    unavailable (default: 5 tries, see ``retries``). ``lock_timeout``: how many seconds a
    PostgreSQL write transaction waits for a lock (the write lock, a table another session
    holds) before it fails.
    """
    parsed = _parse_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    shown = parsed.render_as_string(hide_password=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            database = sqlite_file(parsed)
            if database is not None and not database.parent.is_dir():  # never created: a
                raise WarehouseError(  # typo would scatter warehouses
                    f"no folder {database.parent} for the SQLite warehouse {shown}: create it first"
                )
            engine = sa.create_engine(parsed)
            _install_sqlite_hooks(engine, int(sqlite_busy_timeout_ms))
        else:
            engine = sa.create_engine(parsed, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, OSError) as err:
        raise WarehouseError(f"cannot open the warehouse {shown}: {err}") from err
    engine.update_execution_options(
        **{_RETRY_OPTION: retry or RetryPolicy(), _LOCK_TIMEOUT_OPTION: float(lock_timeout)}
    )
    return engine


def sqlite_file(url: sa.URL) -> Path | None:
    """The database file of a SQLite URL, ``~`` expanded; None when there is no such file.

    None for another backend, an in-memory database or a ``file:`` URI (SQLite opens those).
    """
    database = (url.database or "") if url.get_backend_name() == "sqlite" else ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _parse_url(url: str) -> sa.URL:
    """The parsed URL, or ``WarehouseError`` saying what is wrong without echoing a password."""
    scheme = url.split("://", 1)[0] if "://" in url else "no scheme"
    try:
        parsed = sa.make_url(url)
    except ValueError as err:  # SQLAlchemy's ArgumentError, or int() of a port that is no number
        problem = "the port is not a number" if "int()" in str(err) else "not a database URL"
        raise WarehouseError(
            f"invalid warehouse URL ({scheme}): {problem}; expected for example"
            " sqlite:///crpv.sqlite or postgresql+psycopg://user@host:5432/database"
        ) from err
    except SQLAlchemyError as err:
        raise WarehouseError(
            f"invalid warehouse URL ({scheme}): expected for example sqlite:///crpv.sqlite"
            " or postgresql+psycopg://user@host/database"
        ) from err
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise WarehouseError(
            f"invalid warehouse URL ({scheme}): port {parsed.port} is not between 1 and 65535"
        )
    return parsed


def _sqlite_on_begin(conn: Connection) -> None:
    """Emit BEGIN ourselves: IMMEDIATE (write lock at once) inside ``write_transaction``."""
    immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _switch_to_wal(cursor, timeout: float) -> None:
    """Put the database file in WAL mode (kept in the file; in-memory ones say no), waiting.

    Switching needs the file to itself for an instant, and SQLite answers "database is locked"
    at once, without its busy timeout, while another connection uses the file: two processes
    opening a brand-new warehouse together would see one of them fail. The switch is tried
    again, quietly, for as long as the busy timeout; a file already in WAL mode costs one read.
    """
    end = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            busy = getattr(err, "sqlite_errorcode", 0) & 0xFF in (5, 6)  # BUSY, LOCKED
            if not busy or time.monotonic() >= end:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int) -> None:
    # SQLAlchemy's documented recipe for SQLite transactions ("Enabling Non-Legacy SQLite
    # Transactional Modes"): the sqlite3 driver stops emitting BEGIN; the "begin" event does.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms:d}")  # PRAGMA takes no binds
        _switch_to_wal(cursor, busy_timeout_ms / 1000)
        # In WAL mode, NORMAL syncs at checkpoints rather than at every commit (SQLite's advice
        # for WAL): a crash of the process or the machine never corrupts the file, a power cut
        # may lose the last loads, which the next run (the returns stay in the inbox) redoes.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    event.listen(engine, "begin", _sqlite_on_begin)


def retry_policy(engine: Engine) -> RetryPolicy:
    """The engine's retry policy (``create_warehouse_engine``), else the default one."""
    return engine.get_execution_options().get(_RETRY_OPTION) or RetryPolicy()


def connect_with_retries(
    engine: Engine, what: str, prepare: Callable[[Connection], object] | None = None
) -> Connection:
    """A connection on which ``prepare`` (begin, take a lock…) succeeded, tried per the policy.

    A transient error (``retries.is_transient``: refused or lost connection, a busy SQLite
    database…) while connecting or preparing is tried again after the policy's waits; when the
    tries are spent, ``WarehouseUnavailable`` says what failed, names the warehouse (password
    hidden) and gives the last error. Other errors are raised as they are, at once.
    """
    policy = retry_policy(engine)
    delays = policy.delays()
    for attempt, delay in enumerate([*delays, None], start=1):
        conn = None
        try:
            conn = engine.connect()
            if prepare is not None:
                prepare(conn)
            return conn
        except SQLAlchemyError as err:
            if conn is not None:
                with suppress(SQLAlchemyError):
                    conn.close()  # rolls back whatever prepare began
            if not is_transient(err):
                raise
            shown = engine.url.render_as_string(hide_password=True)
            if delay is None:
                tries = f"{policy.tries} tries over {sum(delays):g} s" if delays else "1 try"
                raise WarehouseUnavailable(
                    f"{what} failed: the warehouse {shown} was still unavailable after {tries}:"
                    f" {failure_reason(err)}"
                ) from err
            _log.warning(
                "%s: the warehouse %s is unavailable (%s), try %d of %d in %g s",
                what,
                shown,
                failure_reason(err),
                attempt + 1,
                policy.tries,
                delay,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # the last try returns or raises


@contextmanager
def write_transaction(
    engine: Engine, what: str = "writing to the warehouse", *, rebuilding_tables: bool = False
) -> Iterator[Connection]:
    """A transaction holding the warehouse write lock; commits on success, rolls back on error.

    PostgreSQL: ``pg_advisory_xact_lock`` on ``WRITE_LOCK_KEY``, released at commit/rollback;
    every lock the transaction waits for is waited for at most the engine's ``lock_timeout``.
    SQLite: the transaction begins IMMEDIATE, taking the database's write lock at once (other
    writers wait up to the busy timeout, readers are not blocked). Connecting, beginning and
    taking the lock are tried again while the warehouse is unavailable
    (``connect_with_retries``; ``what`` names the operation in the error); once the transaction
    has begun, nothing is retried: an error rolls it all back.

    ``rebuilding_tables`` (schema migrations): on SQLite, foreign keys are not enforced while
    the transaction runs, as SQLite prescribes for rebuilding a table others refer to (its DROP
    TABLE would otherwise delete, or refuse, the rows referring to it); they are all checked
    before the commit (``WarehouseError`` naming the first broken one: nothing is committed)
    and enforced again after. Other dialects: no difference.
    """
    dialect = engine.dialect.name
    if dialect == "sqlite" and not event.contains(engine, "begin", _sqlite_on_begin):
        raise WarehouseError(
            "this SQLite engine cannot take the write lock: create it with"
            " create_warehouse_engine()"
        )

    lock_timeout = engine.get_execution_options().get(
        _LOCK_TIMEOUT_OPTION, DEFAULT_LOCK_TIMEOUT_SECONDS
    )

    unenforced = rebuilding_tables and dialect == "sqlite"

    def begin_writing(conn: Connection) -> None:
        conn.execution_options(**{_WRITE_OPTION: True})
        if unenforced:  # a no-op inside a transaction: set before BEGIN, on the DBAPI connection
            conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        conn.begin()
        if dialect == "postgresql":
            # Every lock this transaction waits for, from the write lock on, is waited for a
            # bounded time: a session holding one forever fails the write, never stalls it.
            conn.execute(
                sa.text("SELECT set_config('lock_timeout', :ms, true)"),
                {"ms": f"{max(1, round(lock_timeout * 1000))}"},
            )
            try:
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(CAST(:key AS BIGINT))"),
                    {"key": WRITE_LOCK_KEY},
                )
            except sa.exc.OperationalError as err:
                if getattr(err.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                    raise
                shown = engine.url.render_as_string(hide_password=True)
                conn.close()  # rolls back; the wait was bounded already: not tried again
                raise WarehouseError(
                    f"{what} failed: the write lock on {shown} is held by another session"
                    f" (waited {lock_timeout:g} s)"
                ) from err

    conn = connect_with_retries(engine, what, begin_writing)
    with conn:
        try:
            with conn.get_transaction():
                yield conn
                if unenforced:
                    _check_foreign_keys(conn, what)
        finally:
            if unenforced:
                _enforce_foreign_keys(conn)


def _check_foreign_keys(conn: Connection, what: str) -> None:
    """``WarehouseError`` naming the first row whose foreign key refers to nothing (SQLite)."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        table, rowid, parent = broken[0], broken[1], broken[2]
        raise WarehouseError(
            f"{what} failed: row {rowid} of {table} refers to a row of {parent} that is not"
            " there; nothing was changed"
        )


def _enforce_foreign_keys(conn: Connection) -> None:
    """Enforce foreign keys again on a pooled SQLite connection, or discard the connection."""
    try:
        conn.connection.driver_connection.execute("PRAGMA foreign_keys = ON")
    except (SQLAlchemyError, sqlite3.Error):
        conn.invalidate()


def failure_reason(err: BaseException) -> str:
    """The first line of a database error (the driver's message), for ``WarehouseError``."""
    orig = getattr(err, "orig", None)
    lines = str(orig if orig is not None else err).strip().splitlines()
    return lines[0] if lines else type(err).__name__
