"""Writing many rows into one warehouse table at once, inside the caller's transaction.

Belongs here: the fastest way the connection's driver offers to append rows (COPY on PostgreSQL
with psycopg, the sqlite3 cursor's executemany, else a SQLAlchemy insert) and raising its errors
as SQLAlchemy's. Stays out: which rows and values to write (``loading``), the transaction, the
write lock and the schema (``warehouse``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crpv_pipeline.warehouse.references import rows_written_checked
from crpv_pipeline.warehouse.schema import schema_table

__all__ = ["bulk_insert"]

_IDENTIFIER = re.compile(r"[a-z_]+")
"""Table and column names composed into the statements: names of the parsed DDL, checked."""

_PROBE_DATES = (date(1, 2, 3), date(2021, 12, 31), date(9999, 1, 1))


def bulk_insert(
    conn: Connection, table_name: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> int:
    """Append ``rows`` (tuples ordered as ``columns``) to a warehouse table; the rows written.

    Runs in ``conn``'s transaction, on its DBAPI connection (nothing is committed): ``COPY ...
    FROM STDIN`` on PostgreSQL with psycopg 3 (its foreign keys checked in one query each, not
    row by row by the server, when the role may: ``references``), the cursor's ``executemany``
    on SQLite (values go through the same SQLAlchemy type processing as an insert, so dates are
    stored alike), and a SQLAlchemy executemany insert with any other driver. Values are plain
    Python (None, int, str, ``datetime.date``…) and always sent apart from the statement; the
    table and columns must be of the warehouse schema (``schema_table``), their names are
    checked before being composed into it. A driver error is raised as SQLAlchemy's
    (``IntegrityError``…), as any statement's.
    """
    table = schema_table(table_name)
    columns = tuple(columns)
    _check_names(table, columns)
    width = len(columns)
    if set(map(len, rows)) - {width}:
        raise ValueError(f"every row written to {table_name} must have {width} values")
    if not rows:
        return 0
    dialect = conn.dialect
    names = ", ".join(columns)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        statement = f"COPY {table_name} ({names}) FROM STDIN"
        cursor = conn.connection.dbapi_connection.cursor()
        with rows_written_checked(conn, table_name, columns, rows), cursor:
            with _driver_errors(conn, statement), cursor.copy(statement) as copy:
                for row in rows:  # text format: the server parses each value
                    copy.write_row(row)
    elif dialect.name == "sqlite" and dialect.driver == "pysqlite":
        statement = f"INSERT INTO {table_name} ({names}) VALUES ({', '.join('?' * width)})"
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            with _driver_errors(conn, statement):
                cursor.executemany(statement, _processed(conn, table, columns, rows))
        finally:
            cursor.close()
    else:
        conn.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
    return len(rows)


def _check_names(table: sa.Table, columns: tuple[str, ...]) -> None:
    unknown = [c for c in columns if c not in table.c]
    if not columns or unknown or len(set(columns)) != len(columns):
        raise ValueError(
            f"columns {columns!r} are not distinct columns of {table.name}"
            + (f" (unknown: {', '.join(map(repr, unknown))})" if unknown else "")
        )
    for name in (table.name, *columns):
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"{name!r} cannot be composed into a statement: not [a-z_]+")


def _processed(
    conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: Sequence[Sequence[object]]
) -> Iterable[Sequence[object]]:
    """The rows with the values SQLAlchemy would bind for them (on SQLite: dates as ISO text)."""
    dialect = conn.dialect
    processors = {
        i: processor
        for i, name in enumerate(columns)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    }
    if not processors:
        return rows
    by_column: list[Iterable[object]] = list(zip(*rows, strict=True))
    for i, processor in processors.items():
        if _stores_dates_as_iso(processor):  # the same text, each distinct date written once
            texts = {v: v.isoformat() for v in set(by_column[i]) if type(v) is date}
            by_column[i] = [texts[v] if type(v) is date else processor(v) for v in by_column[i]]
        else:
            by_column[i] = map(processor, by_column[i])
    return zip(*by_column, strict=True)


def _stores_dates_as_iso(processor: Callable[[object], object]) -> bool:
    """Whether a bind processor turns dates into ``date.isoformat()`` (SQLite's default DATE)."""
    try:
        return all(processor(d) == d.isoformat() for d in _PROBE_DATES)
    except Exception:  # a processor of other values (numbers, booleans…)
        return False


@contextmanager
def _driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """Raise the driver's errors as SQLAlchemy does for a statement (``DBAPIError`` subclasses)."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as err:
        raise sa.exc.DBAPIError.instance(
            statement, None, err, dbapi_error, dialect=conn.dialect, ismulti=True
        ) from err
