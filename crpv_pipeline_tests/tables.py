"""Load returns and read warehouse tables back as plain rows (warehouse and loading tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.engine import Engine

from crpv_pipeline.model import ReturnResult
from crpv_pipeline.warehouse.dictionary import SCHEMA_TABLES
from crpv_pipeline.warehouse.loading import LoadOutcome, load_return
from crpv_pipeline.warehouse.tables import read_table

RECEIVED = dt.datetime(2022, 1, 15, 9, 30)
LOADED = dt.datetime(2022, 1, 16, 8, 0)


def load(
    engine: Engine, result: ReturnResult, run_id: str = "run-1", received_at: dt.datetime = RECEIVED
) -> LoadOutcome:
    """``load_return`` received at ``RECEIVED`` and loaded at ``LOADED`` unless told otherwise."""
    return load_return(engine, result, run_id=run_id, received_at=received_at, loaded_at=LOADED)


def dump(engine: Engine, tables=SCHEMA_TABLES) -> dict[str, list[dict[str, Any]]]:
    """Full contents of the tables, for before/after comparisons."""
    return {table: read_table(engine, table).to_dict("records") for table in tables}


def rows(engine: Engine, table: str, year: int | None = None) -> list[dict[str, Any]]:
    """The rows of a table (of one year if ``year`` is given) as dicts, in primary-key order."""
    return read_table(engine, table, year).to_dict("records")
