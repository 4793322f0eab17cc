"""Widening the CHECK constraints of tables an earlier version created, when values were added.

Belongs here: a table created by an earlier version keeps the CHECK constraints of its time (a
``status`` that did not allow ``held`` yet); ``ensure_schema`` calls ``widen_checks`` so that the
constraints of the DDL in ``sql/schema`` hold. Only ``check (<column> in (<values>))`` clauses are
handled, and only widened: rows of the earlier version stay valid. Stays out: creating tables and
adding columns (``warehouse``), the DDL itself (``sql/schema``).

PostgreSQL: the constraint (named ``<table>_<column>_check``, PostgreSQL's name for a column's
CHECK) is dropped and added again. SQLite cannot alter a constraint: the table's definition in
``sqlite_master`` is edited as SQLite documents for changes that leave the stored rows as they are
("Making Other Kinds Of Table Schema Changes", https://www.sqlite.org/lang_altertable.html).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.engine import Connection

from crpv_pipeline.warehouse.dictionary import schema_sql

_IN_CHECK = re.compile(r"check\s*\(\s*([a-z_][a-z0-9_]*)\s+in\s*\(([^()]*)\)\s*\)", re.IGNORECASE)
_VALUE = re.compile(r"'([^']*)'")
_NO_PARAMS = {"no_parameters": True}


def _in_checks(ddl: str) -> dict[str, tuple[str, set[str]]]:
    """The ``check (column in (…))`` clauses of a DDL: column → (clause, values)."""
    return {
        m.group(1).lower(): (m.group(0), set(_VALUE.findall(m.group(2))))
        for m in _IN_CHECK.finditer(ddl)
    }


def widen_checks(conn: Connection, tables: Iterable[str]) -> list[str]:
    """Widen the CHECK constraints of ``tables`` that allow fewer values than their DDL.

    Returns ``table.column`` of each constraint widened. Runs in the caller's transaction.
    """
    widened = []
    for table in tables:
        for column, (clause, values) in _in_checks(schema_sql(table)).items():
            if conn.dialect.name == "postgresql":
                done = _widen_postgresql(conn, table, column, clause, values)
            elif conn.dialect.name == "sqlite":
                done = _widen_sqlite(conn, table, column, clause, values)
            else:
                done = False
            if done:
                widened.append(f"{table}.{column}")
    return widened


def _widen_postgresql(
    conn: Connection, table: str, column: str, clause: str, values: set[str]
) -> bool:
    name = f"{table}_{column}_check"  # identifiers of the parsed DDL: [a-z_][a-z0-9_]* only
    current = conn.exec_driver_sql(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conname = %(name)s AND conrelid = to_regclass(%(table)s)",
        {"name": name, "table": table},
    ).scalar()
    if current is None or values <= set(_VALUE.findall(current)):
        return False
    for statement in (f"DROP CONSTRAINT {name}", f"ADD CONSTRAINT {name} {clause}"):
        conn.exec_driver_sql(f"ALTER TABLE {table} {statement}", execution_options=_NO_PARAMS)
    return True


def _widen_sqlite(conn: Connection, table: str, column: str, clause: str, values: set[str]) -> bool:
    ddl = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar()
    current = _in_checks(ddl or "").get(column)
    if current is None or values <= current[1]:
        return False
    version = int(conn.exec_driver_sql("PRAGMA schema_version").scalar())
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
            (ddl.replace(current[0], clause), table),
        )
        conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1:d}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    return True
