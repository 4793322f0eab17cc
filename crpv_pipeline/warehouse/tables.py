"""Reading warehouse tables back as DataFrames, or counting their rows, for one year or all."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.warehouse.dictionary import (
    table_doc,
)
from crpv_pipeline.warehouse.engine import WarehouseError, failure_reason
from crpv_pipeline.warehouse.schema import schema_table


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
