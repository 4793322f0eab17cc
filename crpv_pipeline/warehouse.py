"""The warehouse: engine and write lock, schema and dimensions, derived tables, reading tables.

Belongs here: the engine, the write lock and the transaction boundaries, the DDL of
``sql/schema`` and the dimension rows, running the BI views' statements (built by ``bi``), the
SELECTs of ``sql/derived`` and reading tables back, on SQLite or PostgreSQL alike. Stays out:
loading a validated return (``loading``, which writes through ``write_transaction`` and
``schema_table``), reading and validating workbooks, orchestration (Dagster), configuration
(callers pass the URL; nothing here reads the environment) and table descriptions (the DDL
comments, parsed by ``dictionary``).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.bi import view_statements
from crpv_pipeline.deadlines import Deadlines
from crpv_pipeline.dictionary import (
    SCHEMA_TABLES,
    bi_view_name,
    comment_statements,
    index_names,
    schema_sql,
    sql_dir,
    table_doc,
    view_docs,
)
from crpv_pipeline.refdata import Nomenclature, default_nomenclature
from crpv_pipeline.retries import RetryPolicy, is_transient
from crpv_pipeline.schema_checks import widen_checks
from crpv_pipeline.schema_upgrade import SchemaUpgradeError, relax_not_null

__all__ = [
    "DEFAULT_WAREHOUSE_URL",
    "DERIVED_TABLES",
    "SCHEMA_TABLES",
    "WarehouseError",
    "WarehouseUnavailable",
    "connect_with_retries",
    "count_rows",
    "create_warehouse_engine",
    "derive_year",
    "derived_sql",
    "ensure_schema",
    "failure_reason",
    "read_table",
    "retry_policy",
    "schema_table",
    "sql_dir",
    "write_transaction",
]

DEFAULT_WAREHOUSE_URL = "sqlite:///crpv_warehouse.sqlite"
"""The embedded default warehouse: a SQLite file in the current directory."""

DERIVED_TABLES = (
    "activity_counts",
    "theme_shares",
    "modality_shares",
    "completeness",
    "yearly_summary",
    "yearly_trend",
)
"""Tables rebuilt per year from ``sql/derived/<table>.sql``, in this order."""

READS_PREVIOUS_YEAR = ("yearly_trend",)
"""Derived tables whose row for a year reads the previous year's figures: deriving a year also
rebuilds the next year's rows (when that year is derived), whatever order years are run in."""

WRITE_LOCK_KEY = 0x43525056  # "CRPV"
"""PostgreSQL advisory lock key held by every write transaction (``pg_advisory_xact_lock``)."""

DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0
"""How long a run waits for a lock another session holds (``locks``, ``CRPV_LOCK_TIMEOUT``)."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another writer before failing with 'locked'."""

_WRITE_OPTION = "crpv_write_transaction"
_RETRY_OPTION = "crpv_retry_policy"  # the engine's RetryPolicy, a user-defined execution option
_LOCK_TIMEOUT_OPTION = "crpv_lock_timeout"  # seconds a write transaction waits for a lock
_NO_PARAMS = {"no_parameters": True}  # run DDL text as is: no ':name' or '%' parsing

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout ran out

_DIMENSIONS = (
    "dim_centre",
    "dim_activity_type",
    "dim_modality",
    "dim_public",
    "dim_theme",
    "dim_rule",
)
_SQL_TYPES = {
    "TEXT": sa.Text,
    "INTEGER": sa.Integer,
    "BIGINT": sa.BigInteger,
    "DATE": sa.Date,
    "TIMESTAMP": sa.DateTime,
    "DOUBLE PRECISION": sa.Double,
    "BOOLEAN": sa.Boolean,
}


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the operation and the object."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse could not be reached (or stayed locked) for as many tries as allowed."""


_log = logging.getLogger(__name__)


# --- engine and transactions -------------------------------------------------------------


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
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                folder = Path(database).expanduser().parent
                if not folder.is_dir():  # never created: a typo would scatter warehouses
                    raise WarehouseError(
                        f"no folder {folder} for the SQLite warehouse {shown}: create it first"
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
    engine: Engine, what: str = "writing to the warehouse"
) -> Iterator[Connection]:
    """A transaction holding the warehouse write lock; commits on success, rolls back on error.

    PostgreSQL: ``pg_advisory_xact_lock`` on ``WRITE_LOCK_KEY``, released at commit/rollback;
    every lock the transaction waits for is waited for at most the engine's ``lock_timeout``.
    SQLite: the transaction begins IMMEDIATE, taking the database's write lock at once (other
    writers wait up to the busy timeout, readers are not blocked). Connecting, beginning and
    taking the lock are tried again while the warehouse is unavailable
    (``connect_with_retries``; ``what`` names the operation in the error); once the transaction
    has begun, nothing is retried: an error rolls it all back.
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

    def begin_writing(conn: Connection) -> None:
        conn.execution_options(**{_WRITE_OPTION: True})
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
    with conn, conn.get_transaction():
        yield conn


def failure_reason(err: BaseException) -> str:
    """The first line of a database error (the driver's message), for ``WarehouseError``."""
    orig = getattr(err, "orig", None)
    lines = str(orig if orig is not None else err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


# --- schema and dimensions ---------------------------------------------------------------


@cache
def _metadata() -> sa.MetaData:
    """Core ``Table`` objects built from the parsed DDL (used for typed inserts and reads)."""
    metadata = sa.MetaData()
    for name in SCHEMA_TABLES:
        doc = table_doc(name)
        sa.Table(
            name,
            metadata,
            *(
                sa.Column(
                    c.name,
                    _SQL_TYPES[c.sql_type](),
                    primary_key=c.primary_key,
                    nullable=c.nullable,
                    autoincrement=False,
                )
                for c in doc.columns
            ),
        )
    return metadata


def schema_table(name: str) -> sa.Table:
    """The Core ``Table`` of a warehouse table, typed from its DDL (``SCHEMA_TABLES`` only)."""
    if name not in SCHEMA_TABLES:
        raise WarehouseError(f"{name!r} is not a warehouse table ({', '.join(SCHEMA_TABLES)})")
    return _metadata().tables[name]


def ensure_schema(engine: Engine, nomenclature: Nomenclature | None = None) -> None:
    """Create missing tables, indexes and BI views, describe them and upsert the dimensions.

    The BI views of ``sql/bi`` are recreated every time (``bi.<name>`` on PostgreSQL, where
    descriptions are comments, ``bi_<name>`` on SQLite). Idempotent and in one write
    transaction. Dimension rows are inserted or updated from the nomenclature (the packaged one
    by default), never deleted: facts refer to them. A column that an earlier version declared
    NOT NULL and the DDL now lets be NULL is relaxed (``schema_upgrade``).
    """
    if nomenclature is None:
        nomenclature = default_nomenclature()
    step = "reading sql/schema"
    try:
        statements = [(name, schema_sql(name)) for name in SCHEMA_TABLES + index_names()]
        with write_transaction(engine, "updating the warehouse schema") as conn:
            for name, ddl in statements:
                step = f"creating {name}"
                conn.exec_driver_sql(ddl, execution_options=_NO_PARAMS)
            step = "dropping the indexes of earlier versions"
            _drop_stale_indexes(conn)
            step = "adding the columns of this version"
            _add_missing_columns(conn)
            step = "widening the checks of earlier versions"
            widen_checks(conn, SCHEMA_TABLES)
            if conn.dialect.name == "postgresql":
                step = "commenting the tables"
                for statement in comment_statements():
                    conn.exec_driver_sql(statement, execution_options=_NO_PARAMS)
            for name, rows in _dimension_rows(nomenclature).items():
                step = f"updating {name}"
                conn.execute(_upsert_statement(name), rows)
            step = "letting the columns of this version hold NULL"  # after the dimensions:
            if conn.dialect.name != "postgresql":  # rebuilt rows refer to them; views read them
                for view in view_docs():
                    conn.exec_driver_sql(
                        f"DROP VIEW IF EXISTS {bi_view_name(view.name, conn.dialect.name)}",
                        execution_options=_NO_PARAMS,
                    )
            relax_not_null(conn, SCHEMA_TABLES, DERIVED_TABLES)
            step = "creating the BI views"
            for statement in view_statements(conn.dialect.name, _unchanged_views(conn)):
                conn.exec_driver_sql(statement, execution_options=_NO_PARAMS)
    except SchemaUpgradeError as err:
        raise WarehouseError(f"warehouse schema: {step} failed: {err}") from err
    except (SQLAlchemyError, OSError) as err:
        raise WarehouseError(f"warehouse schema: {step} failed: {failure_reason(err)}") from err


def _unchanged_views(conn: Connection) -> set[str]:
    """The BI views that PostgreSQL already holds with the definition they would get.

    Replacing a view takes a lock that waits for every transaction reading it, so a BI tool
    holding a long read would stall the run (and every reader queued behind it). PostgreSQL
    stores a view's definition normalised: each view's SELECT is compared, normalised the same
    way through a temporary view, with the stored one. Other dialects: none.
    """
    if conn.dialect.name != "postgresql":
        return set()
    definition = sa.text("SELECT pg_get_viewdef(to_regclass(:name))")
    unchanged = set()
    for view in view_docs():
        current = conn.scalar(definition, {"name": bi_view_name(view.name, "postgresql")})
        if current is None:
            continue
        try:
            with conn.begin_nested():  # a SELECT reading what is not there yet: replace it
                conn.exec_driver_sql(
                    f"CREATE TEMPORARY VIEW crpv_candidate_view AS\n{view.select}",
                    execution_options=_NO_PARAMS,
                )
                candidate = conn.scalar(definition, {"name": "crpv_candidate_view"})
                conn.exec_driver_sql("DROP VIEW crpv_candidate_view", execution_options=_NO_PARAMS)
        except SQLAlchemyError:
            continue
        if candidate == current:
            unchanged.add(view.name)
    return unchanged


_OWN_INDEX = re.compile(r"index_[a-z0-9_]+")
"""Names of the indexes this project creates (``sql/schema/index_*.sql``)."""


def _drop_stale_indexes(conn: Connection) -> None:
    """Drop the indexes an earlier version created (``index_*``) that this one no longer does.

    A widened index has a new name: its old, narrower one would only slow the loads.
    """
    inspector = sa.inspect(conn)
    current = set(index_names())
    for table in SCHEMA_TABLES:
        for index in inspector.get_indexes(table):
            name = index.get("name") or ""
            if _OWN_INDEX.fullmatch(name) and name not in current:  # checked: safe to compose
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}", execution_options=_NO_PARAMS)


def _add_missing_columns(conn: Connection) -> None:
    """Add to tables created by an earlier version the nullable columns they lack.

    Identifiers come from the parsed DDL (``[a-z_][a-z0-9_]*`` only). A missing NOT NULL column
    cannot be added to existing rows: that is an error naming it.
    """
    inspector = sa.inspect(conn)
    for name in SCHEMA_TABLES:
        present = {c["name"] for c in inspector.get_columns(name)}
        for column in table_doc(name).columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise WarehouseError(
                    f"warehouse schema: {name}.{column.name} (NOT NULL) is missing from a table"
                    " created by an earlier version; rebuild the warehouse"
                )
            conn.exec_driver_sql(
                f"ALTER TABLE {name} ADD COLUMN {column.name} {column.sql_type}",
                execution_options=_NO_PARAMS,
            )


def _year(text: str | None) -> int | None:
    return int(text) if text and text.strip() else None


def _dimension_rows(nomenclature: Nomenclature) -> dict[str, list[dict]]:
    themes = nomenclature.themes
    pillars = list(dict.fromkeys(t.attrs.get("pillar", "") for t in themes))
    return {
        "dim_centre": [
            {
                "centre_code": e.code,
                "name": e.label,
                "region": e.attrs.get("region", ""),
                "active_from": _year(e.attrs.get("active_from")),
                "active_to": _year(e.attrs.get("active_to")),
                "sort_order": i,
            }
            for i, e in enumerate(nomenclature.centres, 1)
        ],
        "dim_activity_type": [
            {"activity_type_code": e.code, "label": e.label, "sort_order": i}
            for i, e in enumerate(nomenclature.activity_types, 1)
        ],
        "dim_modality": [
            {"modality_code": e.code, "label": e.label, "sort_order": i}
            for i, e in enumerate(nomenclature.modalities, 1)
        ],
        "dim_public": [
            {"public_code": e.code, "label": e.label, "sort_order": i}
            for i, e in enumerate(nomenclature.publics, 1)
        ],
        "dim_theme": [
            {
                "theme_code": e.code,
                "label": e.label,
                "pillar": e.attrs.get("pillar", ""),
                "pillar_order": pillars.index(e.attrs.get("pillar", "")) + 1,
                "sort_order": i,
            }
            for i, e in enumerate(themes, 1)
        ],
        "dim_rule": [
            {
                "rule": r.rule,
                "label": r.label,
                "level": r.level,
                "severity": r.severity,
                "sort_order": i,
            }
            for i, r in enumerate(nomenclature.rules.values(), 1)
        ],
    }


@cache
def _upsert_statement(name: str) -> sa.TextClause:
    """Portable upsert (SQLite >= 3.24, PostgreSQL): identifiers from the DDL, values bound."""
    if name not in _DIMENSIONS:
        raise WarehouseError(f"{name!r} is not a dimension table")
    doc = table_doc(name)
    (key,) = doc.primary_key
    columns = doc.column_names
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return sa.text(
        f"INSERT INTO {name} ({', '.join(columns)})"
        f" VALUES ({', '.join(':' + c for c in columns)})"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


# --- derived tables ----------------------------------------------------------------------


def derived_sql(name: str) -> str:
    """The SELECT of ``sql/derived/<name>.sql`` (one statement, bound parameter ``:year``)."""
    if name not in DERIVED_TABLES:
        raise WarehouseError(f"{name!r} is not a derived table ({', '.join(DERIVED_TABLES)})")
    text = (sql_dir() / "derived" / f"{name}.sql").read_text(encoding="utf-8")
    return text.strip().rstrip(";").rstrip()


_DEADLINE_PARAMS = (
    sa.bindparam("deadline", type_=sa.Date),
    sa.bindparam("received_before", type_=sa.DateTime),
)
"""Typed parameters of the derived SQL that uses the year's deadline (``completeness``)."""


@cache
def _derive_statement(name: str) -> sa.TextClause:
    columns = ", ".join(table_doc(name).column_names)
    statement = sa.text(f"INSERT INTO {name} ({columns})\n{derived_sql(name)}")
    typed = [p for p in _DEADLINE_PARAMS if f":{p.key}" in statement.text]
    return statement.bindparams(*typed) if typed else statement


def _derive_params(year: int, deadlines: Deadlines) -> dict[str, object]:
    deadline = deadlines.for_year(year)
    return {
        "year": year,
        "deadline": deadline,
        "received_before": Deadlines.received_before(deadline),
    }


def derive_year(engine: Engine, year: int, deadlines: Deadlines | None = None) -> dict[str, int]:
    """Rebuild every derived table for ``year`` in one write transaction; rows per table.

    BI tools therefore see either the previous state of the year or the new one, never a
    half-built year. The tables of ``READS_PREVIOUS_YEAR`` are rebuilt for the next year too,
    in the same transaction (nothing is inserted for a year that was never derived).
    ``deadlines`` gives each year's deadline (default: 31 March of the following year).
    """
    year = int(year)
    deadlines = deadlines or Deadlines()
    counts: dict[str, int] = {}
    name = DERIVED_TABLES[0]
    try:
        with write_transaction(engine, f"deriving the tables of {year}") as conn:
            for name in DERIVED_TABLES:
                table = schema_table(name)
                for rebuilt in (year, year + 1) if name in READS_PREVIOUS_YEAR else (year,):
                    conn.execute(sa.delete(table).where(table.c.year == rebuilt))
                    conn.execute(_derive_statement(name), _derive_params(rebuilt, deadlines))
                counts[name] = int(
                    conn.scalar(
                        sa.select(sa.func.count()).select_from(table).where(table.c.year == year)
                    )
                )
    except (SQLAlchemyError, OSError) as err:
        raise WarehouseError(f"deriving {name} for {year} failed: {failure_reason(err)}") from err
    return counts


# --- reading -----------------------------------------------------------------------------


def _table_with_year(
    table: str, year: int | None
) -> tuple[sa.Table, sa.FromClause, list[sa.ColumnElement[bool]]]:
    """The table, what to select its rows from, and the condition selecting one year of them.

    ``fact_activity_public`` has no year column: its rows belong to their activity's year, so
    they are selected from its join with ``fact_activity`` (probing each activity of the year
    once, twice as fast as testing each row against the list of the year's activities).
    """
    source = schema_table(table)
    if year is None:
        return source, source, []
    if "year" in source.c:
        return source, source, [source.c.year == int(year)]
    if table == "fact_activity_public":
        fact = schema_table("fact_activity")
        joined = source.join(fact, source.c.activity_id == fact.c.activity_id)
        return source, joined, [fact.c.year == int(year)]
    raise WarehouseError(f"{table} has no year column")


def count_rows(engine: Engine, table: str, year: int | None = None) -> int:
    """Number of rows of a warehouse table (of one year if ``year`` is given)."""
    _, rows, where = _table_with_year(table, year)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(rows).where(*where)))
    except SQLAlchemyError as err:
        raise WarehouseError(f"counting the rows of {table} failed: {failure_reason(err)}") from err


def read_table(engine: Engine, table: str, year: int | None = None) -> pd.DataFrame:
    """A warehouse table (one year of it if ``year`` is given) ordered by its primary key.

    Columns have the object dtype and hold the values as the database returns them, typed the
    same on every dialect: None for NULL, ``datetime.date`` for dates, naive UTC ``datetime``
    for timestamps, Python int, float and str otherwise.
    """
    source, rows, where = _table_with_year(table, year)
    query = (
        sa.select(source)
        .select_from(rows)
        .where(*where)
        .order_by(*(source.c[c] for c in table_doc(table).primary_key))
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except SQLAlchemyError as err:
        raise WarehouseError(f"reading {table} failed: {failure_reason(err)}") from err
    return pd.DataFrame([tuple(row) for row in rows], columns=list(source.c.keys()), dtype=object)
