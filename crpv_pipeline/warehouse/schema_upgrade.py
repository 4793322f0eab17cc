"""Bringing a warehouse created by an earlier version to the DDL of ``sql/schema``: nullability.

``relax_not_null`` lets a column that an earlier version declared NOT NULL hold NULL when the
DDL now says it may (``activity_counts.participants`` became NULL for "not given" instead of 0).
PostgreSQL drops the constraint in place; SQLite cannot, so the table is rebuilt from its DDL
with its rows copied, which this module does for the derived tables only (nothing refers to
them, and every row is kept). What stays out: adding columns and creating tables and views
(``schema.ensure_schema``, which calls this inside its transaction).
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crpv_pipeline.warehouse.dictionary import schema_sql, table_doc

__all__ = ["SchemaUpgradeError", "relax_not_null"]

_NO_PARAMS = {"no_parameters": True}
_REBUILT_SUFFIX = "__crpv_rebuilt"


class SchemaUpgradeError(RuntimeError):
    """A column must become nullable in a table this module cannot rebuild safely."""


def relax_not_null(conn: Connection, tables: Collection[str], rebuildable: Collection[str]) -> None:
    """Let every column of ``tables`` that the DDL declares nullable hold NULL.

    On SQLite a table of ``rebuildable`` is rebuilt (views reading it must be dropped first:
    the caller recreates them); a column to relax in any other table is a
    ``SchemaUpgradeError`` naming it. Identifiers come from the parsed DDL.
    """
    inspector = sa.inspect(conn)
    for name in tables:
        declared = {c.name: c.nullable for c in table_doc(name).columns}
        stuck = [
            c["name"]
            for c in inspector.get_columns(name)
            if not c["nullable"] and declared.get(c["name"]) is True
        ]
        if not stuck:
            continue
        if conn.dialect.name == "postgresql":
            for column in stuck:
                conn.exec_driver_sql(
                    f"ALTER TABLE {name} ALTER COLUMN {column} DROP NOT NULL",
                    execution_options=_NO_PARAMS,
                )
        elif name in rebuildable:
            _rebuild(conn, name)
        else:
            raise SchemaUpgradeError(
                f"{name}.{stuck[0]} is NOT NULL in a table created by an earlier version and"
                " cannot be relaxed in place; rebuild the warehouse"
            )


def _rebuild(conn: Connection, name: str) -> None:
    """Recreate ``name`` from its DDL and copy its rows (SQLite has no ALTER COLUMN)."""
    rebuilt = f"{name}{_REBUILT_SUFFIX}"
    create = f"create table if not exists {name} ("
    ddl = schema_sql(name)
    if create not in ddl:
        raise SchemaUpgradeError(f"sql/schema/{name}.sql does not start with {create!r}")
    ddl = ddl.replace(create, f"create table {rebuilt} (", 1)
    columns = ", ".join(table_doc(name).column_names)
    for statement in (
        f"DROP TABLE IF EXISTS {rebuilt}",
        ddl,
        f"INSERT INTO {rebuilt} ({columns}) SELECT {columns} FROM {name}",
        f"DROP TABLE {name}",
        f"ALTER TABLE {rebuilt} RENAME TO {name}",
    ):
        conn.exec_driver_sql(statement, execution_options=_NO_PARAMS)
