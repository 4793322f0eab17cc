"""The derived tables of a year: the SELECTs of ``sql/derived``, rebuilt in one transaction.

Belongs here: which derived tables there are, the parameters their SQL takes (the year, its
deadline) and their rebuild, the plausibility warnings included (``plausibility``, computed in
Python in the same transaction). Stays out: the SQL itself (``sql/derived``).
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from crpv_pipeline.reference.deadlines import Deadlines
from crpv_pipeline.warehouse.catalogue import COMPUTED_TABLES
from crpv_pipeline.warehouse.dictionary import (
    DERIVED_TABLES,
    READS_PREVIOUS_YEAR,
    sql_dir,
    table_doc,
)
from crpv_pipeline.warehouse.engine import WarehouseError, failure_reason, write_transaction
from crpv_pipeline.warehouse.plausibility import compute_plausibility
from crpv_pipeline.warehouse.schema import schema_table


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
    try:
        with write_transaction(engine, f"deriving the tables of {year}") as conn:
            return derive_in(conn, year, deadlines)
    except _DeriveFailed as err:
        raise WarehouseError(
            f"deriving {err.table} for {year} failed: {failure_reason(err.cause)}"
        ) from err.cause
    except (SQLAlchemyError, OSError) as err:
        reason = failure_reason(err)
        raise WarehouseError(f"deriving the tables of {year} failed: {reason}") from err


class _DeriveFailed(Exception):
    def __init__(self, table: str, cause: Exception):
        super().__init__(table)
        self.table, self.cause = table, cause


def derive_in(conn: Connection, year: int, deadlines: Deadlines | None = None) -> dict[str, int]:
    """``derive_year`` in the caller's write transaction (a steward's decision re-derives)."""
    year = int(year)
    deadlines = deadlines or Deadlines()
    counts: dict[str, int] = {}
    for name in DERIVED_TABLES:
        try:
            table = schema_table(name)
            for rebuilt in (year, year + 1) if name in READS_PREVIOUS_YEAR else (year,):
                if name in COMPUTED_TABLES:
                    compute_plausibility(conn, rebuilt, deadlines, if_derived=rebuilt != year)
                    continue
                conn.execute(sa.delete(table).where(table.c.year == rebuilt))
                conn.execute(_derive_statement(name), _derive_params(rebuilt, deadlines))
            counts[name] = int(
                conn.scalar(
                    sa.select(sa.func.count()).select_from(table).where(table.c.year == year)
                )
            )
        except (SQLAlchemyError, OSError) as err:
            raise _DeriveFailed(name, err) from err
    return counts
