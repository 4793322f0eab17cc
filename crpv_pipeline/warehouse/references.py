"""PostgreSQL: checking the foreign keys of many new rows in one query per key, not row by row.

Belongs here: whether a connection may append rows without the server's per-row checks of the
foreign keys, the keys of a table as the server declares them, and checking the values of rows
about to be written against the referenced tables, each key in one query that also locks the
referenced rows as the server's checks do. Stays out: writing the rows (``bulk``), which rows
(``rows``).

Why: PostgreSQL checks each foreign key of each row written by a trigger, one query per row
and key. A year of 1 000 000 activities has seven keys a row (five on ``fact_activity``, two on
each ``fact_activity_public`` row): three quarters of its load went to those checks
(``benchmarks/PROFILES.md``). ``rows_written_checked`` checks the same keys, on the same rows,
with the same locks, in one query a key, then runs the ``COPY`` with
``session_replication_role = replica`` for that statement only: the setting that replication
and ``pg_restore`` use so that the server does not check again what was checked at the source.
The keys stay declared and enforced: every other statement (deletes, updates, other writers)
is checked by the server as always.

The setting needs the right to change it: a superuser has it, and from PostgreSQL 15 a
superuser can grant it to the pipeline's role (``GRANT SET ON PARAMETER
session_replication_role TO crpv``, in the deployment's role script). Without it, or when a
table has a key of several columns or a trigger of its own (which replica mode would skip),
the server checks each row as usual: the same result, slower.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["ForeignKey", "rows_written_checked"]

_MAY_SKIP = "crpv_may_skip_row_checks"
"""Key of ``connection.info``: whether this DBAPI connection may set the replication role."""


@dataclass(frozen=True)
class ForeignKey:
    """A single-column foreign key: ``column`` of the table references ``ref_table.ref_column``."""

    name: str
    column: str
    ref_table: str
    ref_column: str


_KEYS = sa.text(
    """
    select c.conname, a.attname, r.relname, ra.attname, cardinality(c.conkey),
        (select count(*) from pg_trigger where tgrelid = t.oid and not tgisinternal)
    from (select to_regclass(:table) as oid) as t
    left join pg_constraint c on c.conrelid = t.oid and c.contype = 'f'
    left join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    left join pg_class r on r.oid = c.confrelid
    left join pg_attribute ra on ra.attrelid = c.confrelid and ra.attnum = c.confkey[1]
    order by c.conname
    """
)
"""The table's foreign keys (none: one row of NULLs) and how many triggers of its own it has."""
_SUPERUSER = sa.text("select rolsuper from pg_roles where rolname = current_user")
_GRANTED = sa.text("select has_parameter_privilege('session_replication_role', 'SET')")


def _may_skip_row_checks(conn: Connection) -> bool:
    """Whether the session may set ``session_replication_role`` (asked once a connection)."""
    info = conn.connection.info
    if _MAY_SKIP not in info:
        may = bool(conn.scalar(_SUPERUSER))
        if not may and conn.dialect.server_version_info >= (15,):
            may = bool(conn.scalar(_GRANTED))
        info[_MAY_SKIP] = may
    return info[_MAY_SKIP]


def foreign_keys(conn: Connection, table: str) -> tuple[ForeignKey, ...] | None:
    """The table's foreign keys; None when replica mode would skip more than them.

    None when a key has several columns (not checked here) or the table has a trigger of its
    own (replica mode would skip it too).
    """
    keys = conn.execute(_KEYS, {"table": table}).all()
    if keys[0][-1] or any(width not in (None, 1) for *_, width, _ in keys):
        return None
    return tuple(ForeignKey(*key[:4]) for key in keys if key[0] is not None)


def check_references(
    conn: Connection,
    table: str,
    keys: Sequence[ForeignKey],
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
) -> None:
    """Raise ``IntegrityError`` as the server would if a row references no row; lock the others.

    Each key is checked in one query over the distinct values of its column (NULL references
    nothing and passes, as with the server's ``MATCH SIMPLE``), which locks the referenced rows
    ``FOR KEY SHARE`` until the transaction ends: as the server's own checks do, so that no
    other transaction deletes them before this one commits.
    """
    position = {name: i for i, name in enumerate(columns)}
    for key in keys:
        if key.column not in position:
            continue  # a column left out is NULL: it references nothing
        i = position[key.column]
        values = list({row[i] for row in rows} - {None})
        if not values:
            continue
        params = {"values": values}
        rows_of = f"{key.ref_table} where {key.ref_column} = any(:values)"
        locked = conn.scalar(  # a referenced column is unique: one row a distinct value
            sa.text(f"select count(*) from (select 1 from {rows_of} for key share) as r"), params
        )
        if locked == len(values):
            continue
        found = conn.scalars(sa.text(f"select {key.ref_column} from {rows_of}"), params)
        missing = sorted(set(values) - set(found), key=str)
        detail = (
            f'insert or update on table "{table}" violates foreign key constraint '
            f'"{key.name}"\nDETAIL:  Key ({key.column})=({missing[0]}) is not present in '
            f'table "{key.ref_table}".'
        )
        raise sa.exc.IntegrityError(f"COPY {table}", None, _ForeignKeyViolation(detail))


class _ForeignKeyViolation(Exception):
    """The error a missing reference raises, worded as PostgreSQL words it."""


@contextmanager
def rows_written_checked(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> Iterator[None]:
    """Around a ``COPY`` of ``rows`` into ``table``: its keys checked at once, not row by row.

    When the session may, checks every foreign key of the rows (``check_references``), then
    lets the statement run with ``session_replication_role = replica`` and sets it back to
    ``origin`` afterwards (``SET LOCAL``: a rolled-back transaction sets it back too).
    Otherwise does nothing: the server checks each row.
    """
    keys = foreign_keys(conn, table) if _may_skip_row_checks(conn) else None
    if not keys:
        yield
        return
    check_references(conn, table, keys, columns, rows)
    conn.exec_driver_sql("set local session_replication_role = replica")
    yield
    conn.exec_driver_sql("set local session_replication_role = origin")
